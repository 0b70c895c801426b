"""Generated target steps -> `Translation` results, one class per target modality, each with ``save(path)``.

Building a result never raises on odd model output: what could not be decoded is skipped and described in
``problems``. Only asking for something that does not exist raises (``musicxml()`` of invalid LMX, saving an
empty image), as a ScorebridgeError with one line.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scorebridge.codecs.image import codes_to_image
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.fileio import atomic_path, write_text
from scorebridge.midi import MidiTokenizer, Note, write_midi
from scorebridge.modality import Modality
from scorebridge.notation import lmx_to_musicxml
from scorebridge.tokens.image_grid import unflatten_grid
from scorebridge.tokens.layout import Steps, decode_audio, decode_lmx, decode_midi
from scorebridge.tokens.shifts import WHITE
from scorebridge.tokens.vocabulary import Vocabulary

log = logging.getLogger(__name__)


def _suffix(path: str | os.PathLike[str], allowed: tuple[str, ...]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise InputError(path, f"write this result as {' or '.join(allowed)}")
    return suffix


@dataclass(frozen=True, kw_only=True, eq=False)
class Translation:
    """One translated window: the target ``modality``, the generated ``steps`` (SOS/EOS stripped, as
    ``tokens.layout`` lays out targets), ``problems`` met while decoding them and ``end``, why the model's
    decoding stopped (``decoding.stopping.END_REASONS``: eos, loop, source_length, max_steps)."""

    modality: Modality
    steps: Steps
    problems: tuple[str, ...] = ()
    end: str | None = None

    def save(self, path: str | os.PathLike[str]) -> Path:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True, eq=False)
class NotationTranslation(Translation):
    """``lmx``: the generated LMX tokens; ``musicxml()`` the score, when they form a valid one."""

    lmx: tuple[str, ...] = ()
    xml: str | None = field(default=None, repr=False)

    def musicxml(self) -> str:
        if self.xml is None:
            raise ScorebridgeError("the generated LMX does not form a MusicXML score: " + "; ".join(self.problems))
        return self.xml

    def save(self, path: str | os.PathLike[str]) -> Path:
        """.musicxml/.xml/.mxl: the score (raises like ``musicxml()``); .lmx/.txt: the tokens on one line."""
        from scorebridge.scorefile import write_musicxml

        suffix = _suffix(path, (".musicxml", ".xml", ".mxl", ".lmx", ".txt"))
        if suffix in (".lmx", ".txt"):
            write_text(path, " ".join(self.lmx) + "\n")
        else:
            write_musicxml(path, self.musicxml())
        return Path(path)


@dataclass(frozen=True, kw_only=True, eq=False)
class MidiTranslation(Translation):
    """``notes``: the window's notes, times in ms from its start."""

    notes: tuple[Note, ...] = ()

    def save(self, path: str | os.PathLike[str]) -> Path:
        _suffix(path, (".mid", ".midi"))
        write_midi(self.notes, path)  # atomic
        return Path(path)


@dataclass(frozen=True, kw_only=True, eq=False)
class AudioTranslation(Translation):
    """``audio``: float32 mono samples at ``sample_rate`` (the audio codec's rate)."""

    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32), repr=False)
    sample_rate: int = 0

    def save(self, path: str | os.PathLike[str]) -> Path:
        import soundfile as sf

        fmt = {".wav": "WAV", ".flac": "FLAC"}[_suffix(path, (".wav", ".flac"))]
        if not self.audio.size:  # an empty FLAC cannot be read back
            raise ScorebridgeError("the model generated no audio: " + "; ".join(self.problems))
        with atomic_path(path) as tmp:
            sf.write(str(tmp), np.clip(self.audio, -1, 1), self.sample_rate, format=fmt)
        return Path(path)


@dataclass(frozen=True, kw_only=True, eq=False)
class ImageTranslation(Translation):
    """``systems``: each generated system as a uint8 (16h, 16w) image (the codec's output: the centre
    placement's white margins included); ``image``: the systems stacked vertically, left-aligned on white."""

    systems: tuple[np.ndarray, ...] = field(default=(), repr=False)
    image: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8), repr=False)

    def save(self, path: str | os.PathLike[str]) -> Path:
        from PIL import Image

        _suffix(path, (".png",))
        if not self.image.size:
            raise ScorebridgeError("the model generated no complete image system: " + "; ".join(self.problems))
        with atomic_path(path) as tmp:
            Image.fromarray(self.image, mode="L").save(tmp, format="PNG")
        return Path(path)


# decoding ----------------------------------------------------------------------------------------------
def notation_result(steps: Steps, vocab: Vocabulary) -> NotationTranslation:
    problems: list[str] = []
    try:
        lmx = tuple(decode_lmx(steps, vocab))
    except ValueError as exc:
        return NotationTranslation(modality=Modality.NOTATION, steps=steps, problems=(str(exc),))
    xml = None
    if not lmx:
        problems.append("no LMX tokens were generated")
    else:
        try:
            xml = lmx_to_musicxml(lmx)
        except Exception as exc:  # noqa: BLE001  # the delinearizer rejects bad sequences with assorted errors
            problems.append(f"cannot turn the LMX into MusicXML ({type(exc).__name__}: {exc})")
    return NotationTranslation(modality=Modality.NOTATION, steps=steps, problems=tuple(problems), lmx=lmx, xml=xml)


def midi_result(steps: Steps, vocab: Vocabulary) -> MidiTranslation:
    try:
        tokens = decode_midi(steps, vocab)
    except ValueError as exc:
        return MidiTranslation(modality=Modality.MIDI, steps=steps, problems=(str(exc),))
    tokenizer = MidiTokenizer(vocab.config.midi)
    window = tokenizer.decode_window(tokens, 0)
    notes = tuple(tokenizer.stitch([window]))
    return MidiTranslation(modality=Modality.MIDI, steps=steps, problems=tuple(window.problems), notes=notes)


def audio_result(steps: Steps, vocab: Vocabulary, codec: Any) -> AudioTranslation:
    rate = codec.config.sample_rate
    empty = np.zeros(0, np.float32)
    try:
        codes = decode_audio(steps, vocab)
    except ValueError as exc:
        return AudioTranslation(modality=Modality.AUDIO, steps=steps, problems=(str(exc),), audio=empty,
                                sample_rate=rate)
    if codes.shape[1] == 0:
        return AudioTranslation(modality=Modality.AUDIO, steps=steps, problems=("no audio frames were generated",),
                                audio=empty, sample_rate=rate)
    device = next(codec.parameters()).device
    with torch.inference_mode():
        wav = codec.decode(torch.from_numpy(codes).to(device)[None])[0, 0]
    audio = wav.float().cpu().numpy().astype(np.float32)
    return AudioTranslation(modality=Modality.AUDIO, steps=steps, audio=audio, sample_rate=rate)


def image_result(steps: Steps, vocab: Vocabulary, codec: Any) -> ImageTranslation:
    grids, problems = image_grids(steps, vocab)
    if not grids:
        problems.append("no complete image system was generated")
    systems = [codes_to_image(codec, grid) for grid in grids]
    return ImageTranslation(modality=Modality.IMAGE, steps=steps, problems=tuple(problems), systems=tuple(systems),
                            image=stack_systems(systems))


def image_grids(steps: Steps, vocab: Vocabulary) -> tuple[list[np.ndarray], list[str]]:
    """The (h, w, Q) code grids of generated image steps (target layout: [height, codes...] joined by SEP),
    tolerant: an incomplete last column is dropped, a system without a height token or whole column skipped,
    each recorded as a problem."""
    first = steps.tokens[:, 0]
    cuts = np.flatnonzero(first == vocab.sep)
    grids: list[np.ndarray] = []
    problems: list[str] = []
    for i, (a, b) in enumerate(zip(np.r_[0, cuts + 1], np.r_[cuts, len(first)], strict=True)):
        part = steps.tokens[a:b]
        rows = vocab.height_of(int(part[0, 0])) if len(part) else None
        if rows is None:
            problems.append(f"system {i + 1} does not start with a height token")
            continue
        body = part[1:]
        markers = np.flatnonzero(body[:, 0] < vocab.specials.stop)
        if len(markers):
            problems.append(f"system {i + 1}: a marker inside the codes; cut there")
            body = body[:markers[0]]
        whole = len(body) // rows * rows
        if whole < len(body):
            problems.append(f"system {i + 1}: the last column is incomplete ({len(body) - whole} of {rows} rows); "
                            f"dropped")
        if whole == 0:
            problems.append(f"system {i + 1} has no complete column")
            continue
        try:
            codes = vocab.code_values(Modality.IMAGE, body[:whole])
        except ValueError as exc:
            problems.append(f"system {i + 1}: {exc}")
            continue
        grids.append(unflatten_grid(codes, rows))
    return grids, problems


def stack_systems(systems: list[np.ndarray]) -> np.ndarray:
    """uint8 images stacked top to bottom, narrower ones padded with white on the right; (0, 0) for none."""
    if not systems:
        return np.zeros((0, 0), np.uint8)
    width = max(s.shape[1] for s in systems)
    return np.concatenate([np.pad(s, ((0, 0), (0, width - s.shape[1])), constant_values=WHITE) for s in systems])


def build_result(steps: Steps, vocab: Vocabulary, codec: Any = None) -> Translation:
    """The result for generated ``steps`` of their modality (``codec`` for image and audio targets)."""
    if steps.modality is Modality.NOTATION:
        return notation_result(steps, vocab)
    if steps.modality is Modality.MIDI:
        return midi_result(steps, vocab)
    if steps.modality is Modality.AUDIO:
        return audio_result(steps, vocab, codec)
    return image_result(steps, vocab, codec)
