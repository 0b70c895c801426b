"""The translator's unified vocabulary: one id space for every modality, built only from tokenizer settings.

Layout (contiguous blocks, in this order; u-must.md section 2.1):

    0                    PAD, shared by every modality and every slot
    1                    SEP, between image systems
    2 .. 5               SOS of each target modality (``Modality`` order: image, notation, midi, audio)
    6 .. 9               EOS of each target modality
    10 ..                height tokens 1 .. max_image_height (rows of a generated image system)
    LMX block            one id per LMX token (the token list is stored in the config)
    MIDI block           the MIDI tokenizer's ids from its first non-special on, offset; its PAD maps to our
                         PAD and its EOS to ``eos(MIDI)``; its UNK has no id here (the tokenizer never emits it)
    image block          n_slots sub-blocks of ``image_codebook_size`` ids, sub-block k for codebook k
    audio block          n_slots sub-blocks of ``audio_codebook_size`` ids

Unlike the reference (one PAD = SOS = EOS special inside each modality's block, plus one more per image
codebook) specials live in one block and there is no per-modality padding id: a padding image cell is PAD.

The vocabulary is a pure function of ``VocabularyConfig``; a checkpoint stores ``to_dict()`` and inference
rebuilds it with ``from_dict()``, never from training data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scorebridge.checkpoint import config_from_dict, config_to_dict
from scorebridge.errors import InputError
from scorebridge.midi.vocab import EventType, MidiEventConfig, MidiVocab
from scorebridge.modality import Modality
from scorebridge.notation.vocabulary import VOCABULARY as LMX_VOCABULARY

RVQ_MODALITIES = frozenset({Modality.IMAGE, Modality.AUDIO})  # one sub-block per codebook
DEFAULT_MAX_IMAGE_HEIGHT = 32  # rows of 16 px = 512 px; the reference's crops reach 26 rows (416 px)


@dataclass(frozen=True)
class VocabularyConfig:
    """Everything the id space depends on (stored in checkpoints).

    lmx_tokens: the LMX token list itself (not a package version), so a checkpoint keeps meaning the same
        ids after ``linearized-musicxml`` changes.
    max_image_height: height tokens 1..max_image_height, in 16-px rows of a generated image system.
    """

    lmx_tokens: tuple[str, ...] = LMX_VOCABULARY
    midi: MidiEventConfig = field(default_factory=MidiEventConfig)
    image_codebook_size: int = 1024
    audio_codebook_size: int = 1024
    n_slots: int = 4
    max_image_height: int = DEFAULT_MAX_IMAGE_HEIGHT

    def __post_init__(self) -> None:
        if not self.lmx_tokens or len(set(self.lmx_tokens)) != len(self.lmx_tokens):
            raise ValueError("lmx_tokens must be a non-empty list of distinct tokens")
        for name in ("image_codebook_size", "audio_codebook_size", "n_slots", "max_image_height"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


class Vocabulary:
    """Ids of the unified vocabulary for one ``VocabularyConfig``. Blocks are ``range``s; specials are methods."""

    def __init__(self, config: VocabularyConfig | None = None):
        self.config = config or VocabularyConfig()
        cfg = self.config
        self.n_slots = cfg.n_slots
        self._midi = MidiVocab(cfg.midi)
        # MIDI ids below this are the tokenizer's specials (PAD, EOS, UNK)
        self._midi_first = self._midi.range_of(EventType.SHIFT).start
        self._lmx_index = {token: i for i, token in enumerate(cfg.lmx_tokens)}

        n = len(Modality)
        self._sos = 2
        self._eos = self._sos + n
        self._height = self._eos + n  # id of height 1
        start = self._height + cfg.max_image_height
        self._n_special = start
        self._blocks: dict[tuple[Modality, int], range] = {}
        sizes = {Modality.NOTATION: (len(cfg.lmx_tokens),),
                 Modality.MIDI: (self._midi.vocab_size - self._midi_first,),
                 Modality.IMAGE: (cfg.image_codebook_size,) * cfg.n_slots,
                 Modality.AUDIO: (cfg.audio_codebook_size,) * cfg.n_slots}
        for modality in (Modality.NOTATION, Modality.MIDI, Modality.IMAGE, Modality.AUDIO):
            for slot, size in enumerate(sizes[modality]):
                self._blocks[modality, slot] = range(start, start + size)
                start += size
        self.size = start

    # serialization ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data for a checkpoint; ``size`` is stored so a rebuilt vocabulary can be checked."""
        return {"config": config_to_dict(self.config), "size": self.size}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "vocabulary") -> Vocabulary:
        """Inverse of ``to_dict``; raises InputError on unknown keys or a size that does not match."""
        if not isinstance(data, dict) or set(data) != {"config", "size"}:
            raise InputError(where, "expected an object with keys 'config' and 'size'")
        vocab = cls(config_from_dict(VocabularyConfig, data["config"], where))
        if vocab.size != data["size"]:
            raise InputError(where, f"vocabulary rebuilt with {vocab.size} ids, the checkpoint says {data['size']}")
        return vocab

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and other.config == self.config

    def __hash__(self) -> int:
        return hash(self.config)

    def __repr__(self) -> str:
        return f"Vocabulary(size={self.size}, n_slots={self.n_slots})"

    # specials --------------------------------------------------------------------------------------
    @property
    def pad(self) -> int:
        return 0

    @property
    def sep(self) -> int:
        return 1

    def sos(self, modality: Modality) -> int:
        return self._sos + Modality(modality).index

    def eos(self, modality: Modality) -> int:
        return self._eos + Modality(modality).index

    def height(self, rows: int) -> int:
        """The height token of a generated image system ``rows`` (1..max_image_height) rows tall."""
        if not 1 <= rows <= self.config.max_image_height:
            raise ValueError(f"image height {rows} outside 1..{self.config.max_image_height} rows")
        return self._height + rows - 1

    def height_of(self, token: int) -> int | None:
        """The row count of a height token, None for any other id."""
        rows = token - self._height + 1
        return rows if 1 <= rows <= self.config.max_image_height else None

    @property
    def heights(self) -> range:
        return range(self._height, self._height + self.config.max_image_height)

    @property
    def specials(self) -> range:
        return range(0, self._n_special)

    # blocks ----------------------------------------------------------------------------------------
    def block(self, modality: Modality, slot: int = 0) -> range:
        """The ids of ``modality`` (of codebook ``slot`` for image and audio)."""
        key = (Modality(modality), slot)
        if key not in self._blocks:
            raise ValueError(f"{modality} has no block for slot {slot}")
        return self._blocks[key]

    def full_block(self, modality: Modality) -> range:
        """All of a modality's ids (every codebook sub-block)."""
        modality = Modality(modality)
        slots = self.n_slots if modality in RVQ_MODALITIES else 1
        return range(self.block(modality, 0).start, self.block(modality, slots - 1).stop)

    def modality_of(self, token: int) -> Modality | None:
        """The modality whose block holds ``token``; None for specials. Raises ValueError outside the vocabulary."""
        if not 0 <= token < self.size:
            raise ValueError(f"id {token} outside the vocabulary of {self.size} ids")
        for (modality, _slot), ids in self._blocks.items():
            if token in ids:
                return modality
        return None

    def slot_of(self, token: int) -> int | None:
        """The codebook of an image or audio id, 0 for LMX/MIDI ids, None for specials."""
        for (_modality, slot), ids in self._blocks.items():
            if token in ids:
                return slot
        return None

    # per-modality conversions ----------------------------------------------------------------------
    def lmx_ids(self, tokens: Sequence[str]) -> np.ndarray:
        """LMX tokens -> ids (int64); an unknown token raises ValueError naming it and its position."""
        start = self.block(Modality.NOTATION).start
        out = np.empty(len(tokens), np.int64)
        for i, token in enumerate(tokens):
            if token not in self._lmx_index:
                raise ValueError(f"unknown LMX token {token!r} at position {i}")
            out[i] = start + self._lmx_index[token]
        return out

    def lmx_tokens(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        ids = self._check_in(np.asarray(ids, np.int64), self.block(Modality.NOTATION), "LMX")
        start = self.block(Modality.NOTATION).start
        return [self.config.lmx_tokens[i - start] for i in ids.tolist()]

    def midi_ids(self, tokens: Sequence[int] | np.ndarray) -> np.ndarray:
        """MidiTokenizer ids -> ids; its PAD -> PAD, its EOS -> eos(MIDI), its UNK (or out of range) raises."""
        src = np.asarray(tokens, np.int64).reshape(-1)
        m = self._midi
        bad = (src < 0) | (src >= m.vocab_size) | (src == m.unk)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"MIDI token {int(src[i])} at position {i} has no id "
                             f"(UNK or outside 0..{m.vocab_size - 1})")
        out = src - self._midi_first + self.block(Modality.MIDI).start
        out[src == m.pad] = self.pad
        out[src == m.eos] = self.eos(Modality.MIDI)
        return out

    def midi_tokens(self, ids: Sequence[int] | np.ndarray) -> list[int]:
        """Inverse of ``midi_ids``."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        block = self.block(Modality.MIDI)
        special = (ids == self.pad) | (ids == self.eos(Modality.MIDI))
        self._check_in(np.where(special, block.start, ids), block, "MIDI")
        out = ids - block.start + self._midi_first
        out[ids == self.pad] = self._midi.pad
        out[ids == self.eos(Modality.MIDI)] = self._midi.eos
        return out.tolist()

    def code_ids(self, modality: Modality, codes: Any, pad_code: int | None = None) -> np.ndarray:
        """Codes (..., n_slots) in [0, codebook_size) -> ids (slot k in codebook k's sub-block).

        Cells equal to ``pad_code`` in every slot become PAD (an encoder-side padding cell)."""
        modality = Modality(modality)
        codes = np.asarray(codes, np.int64)
        if modality not in RVQ_MODALITIES or codes.ndim < 1 or codes.shape[-1] != self.n_slots:
            raise ValueError(f"expected {modality} codes of shape (..., {self.n_slots}), got {codes.shape}")
        pad = (codes == pad_code).all(axis=-1) if pad_code is not None else np.zeros(codes.shape[:-1], bool)
        size = len(self.block(modality, 0))
        real = codes[~pad]
        if real.size and (real.min() < 0 or real.max() >= size):
            raise ValueError(f"{modality} codes outside [0, {size})")
        starts = np.array([self.block(modality, k).start for k in range(self.n_slots)], np.int64)
        out = codes + starts
        out[pad] = self.pad
        return out

    def code_values(self, modality: Modality, ids: Any, pad_code: int | None = None) -> np.ndarray:
        """Inverse of ``code_ids``: ids (..., n_slots) -> codes; PAD cells (every slot) become ``pad_code``."""
        modality = Modality(modality)
        ids = np.asarray(ids, np.int64)
        if modality not in RVQ_MODALITIES or ids.ndim < 1 or ids.shape[-1] != self.n_slots:
            raise ValueError(f"expected {modality} ids of shape (..., {self.n_slots}), got {ids.shape}")
        pad = (ids == self.pad).all(axis=-1) if pad_code is not None else np.zeros(ids.shape[:-1], bool)
        starts = np.array([self.block(modality, k).start for k in range(self.n_slots)], np.int64)
        out = ids - starts
        size = len(self.block(modality, 0))
        real = out[~pad]
        if real.size and (real.min() < 0 or real.max() >= size):
            raise ValueError(f"ids outside the {modality} codebook sub-blocks of their slots")
        if pad_code is not None:
            out[pad] = pad_code
        return out

    @staticmethod
    def _check_in(ids: np.ndarray, block: range, name: str) -> np.ndarray:
        bad = (ids < block.start) | (ids >= block.stop)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"id {int(ids[i])} at position {i} is not a {name} id ({block.start}..{block.stop - 1})")
        return ids
