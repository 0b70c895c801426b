"""Every result of a translation, one window or long-form, each with ``save(path)``; building one-window
results from generated target steps.

One window (`Translation` and one class per target modality) comes from ``inference.model``; long-form
results (`Transcription`, `LongAudio`, `LongImage`, `PageTranslation`) from ``inference.longform``. Each file
format is written by one function here (`_save_score`, `_save_notes`, `_save_audio`, `_save_png`), whatever
result holds the data. Building a result never raises on odd model output: what could not be decoded is
skipped and described in ``problems``. Only asking for something that does not exist raises (``musicxml()`` of
invalid LMX, saving an empty image), as a ScorebridgeError with one line.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scorebridge.codecs.files import audio_format, write_audio
from scorebridge.codecs.image import codes_to_image
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.fileio import atomic_path, write_text
from scorebridge.filetypes import MUSICXML_SUFFIXES, writable
from scorebridge.inference.windows import AlignmentSpan
from scorebridge.midi import MidiTokenizer, Note, write_midi
from scorebridge.modality import Modality
from scorebridge.notation import lmx_to_musicxml
from scorebridge.scorefile import write_musicxml
from scorebridge.tokens.image_grid import unflatten_grid
from scorebridge.tokens.layout import Steps, decode_audio, decode_lmx, decode_midi
from scorebridge.tokens.shifts import WHITE
from scorebridge.tokens.vocabulary import Vocabulary

log = logging.getLogger(__name__)

# LMX is plain text: a result's tokens are also written as .txt (one line), beside the table's .lmx
LMX_TEXT_SUFFIXES = (*(s for s in writable(Modality.NOTATION) if s not in MUSICXML_SUFFIXES), ".txt")
SCORE_SUFFIXES = (*MUSICXML_SUFFIXES, *LMX_TEXT_SUFFIXES)
PNG_SUFFIXES = (".png",)  # a generated image is raster only (the table's .pdf is engraved notation)
DECODE_CHUNK_FRAMES = 4096  # audio codec frames decoded at once


# writers: one per file format ---------------------------------------------------------------------------
def _suffix(path: str | os.PathLike[str], allowed: Sequence[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise InputError(path, f"write this result as {' or '.join(allowed)}")
    return suffix


def _musicxml(xml: str | None, problems: Sequence[str]) -> str:
    if xml is None:
        raise ScorebridgeError("the generated LMX does not form a MusicXML score: " + "; ".join(problems))
    return xml


def _save_score(path: str | os.PathLike[str], lmx: Sequence[str], xml: str | None,
                problems: Sequence[str]) -> Path:
    """.musicxml/.xml/.mxl: the score (raises like ``musicxml()``); .lmx/.txt: the tokens on one line."""
    if _suffix(path, SCORE_SUFFIXES) in LMX_TEXT_SUFFIXES:
        write_text(path, " ".join(lmx) + "\n")
    else:
        write_musicxml(path, _musicxml(xml, problems))
    return Path(path)


def _save_notes(path: str | os.PathLike[str], notes: Sequence[Note]) -> Path:
    _suffix(path, writable(Modality.MIDI))
    write_midi(notes, path)  # atomic
    return Path(path)


def _save_audio(path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int, problems: Sequence[str]) -> Path:
    """WAV, FLAC, OGG or MP3 by the suffix (``codecs.files.write_audio``)."""
    audio_format(path)  # the suffix is refused before the emptiness check
    if not audio.size:  # an empty FLAC cannot be read back
        raise ScorebridgeError("the model generated no audio: " + "; ".join(problems))
    return write_audio(path, audio, sample_rate)


def _save_png(path: str | os.PathLike[str], image: np.ndarray, problems: Sequence[str]) -> Path:
    from PIL import Image

    _suffix(path, PNG_SUFFIXES)
    if not image.size:
        raise ScorebridgeError("the model generated no complete image system: " + "; ".join(problems))
    with atomic_path(path) as tmp:
        Image.fromarray(image, mode="L").save(tmp, format="PNG")
    return Path(path)


# one window ---------------------------------------------------------------------------------------------
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
        return _musicxml(self.xml, self.problems)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """.musicxml/.xml/.mxl: the score (raises like ``musicxml()``); .lmx/.txt: the tokens on one line."""
        return _save_score(path, self.lmx, self.xml, self.problems)


@dataclass(frozen=True, kw_only=True, eq=False)
class MidiTranslation(Translation):
    """``notes``: the window's notes, times in ms from its start."""

    notes: tuple[Note, ...] = ()

    def save(self, path: str | os.PathLike[str]) -> Path:
        return _save_notes(path, self.notes)


@dataclass(frozen=True, kw_only=True, eq=False)
class AudioTranslation(Translation):
    """``audio``: float32 mono samples at ``sample_rate`` (the audio codec's rate)."""

    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32), repr=False)
    sample_rate: int = 0

    def save(self, path: str | os.PathLike[str]) -> Path:
        """WAV, FLAC, OGG or MP3 by the suffix."""
        return _save_audio(path, self.audio, self.sample_rate, self.problems)


@dataclass(frozen=True, kw_only=True, eq=False)
class ImageTranslation(Translation):
    """``systems``: each generated system as a uint8 (16h, 16w) image (the codec's output: the centre
    placement's white margins included); ``image``: the systems stacked vertically, left-aligned on white."""

    systems: tuple[np.ndarray, ...] = field(default=(), repr=False)
    image: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8), repr=False)

    def save(self, path: str | os.PathLike[str]) -> Path:
        return _save_png(path, self.image, self.problems)


# long-form ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Transcription:
    """Notes of a whole recording (ms from its start), how many windows it took, and decoding problems."""

    notes: tuple[Note, ...]
    windows: int
    problems: tuple[str, ...] = ()

    def save(self, path: str | os.PathLike[str]) -> Path:
        return _save_notes(path, self.notes)


@dataclass(frozen=True, eq=False)
class LongAudio:
    """Float32 mono ``audio`` at ``sample_rate``; ``alignment``: the span of each system, in order, when the
    source was a list of systems."""

    audio: np.ndarray = field(repr=False)
    sample_rate: int
    windows: int
    alignment: tuple[AlignmentSpan, ...] = ()
    problems: tuple[str, ...] = ()

    def alignment_json(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "samples": int(len(self.audio)),
                "systems": [span.to_json(self.sample_rate) for span in self.alignment]}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """WAV, FLAC, OGG or MP3 by the suffix."""
        return _save_audio(path, self.audio, self.sample_rate, self.problems)

    def save_alignment(self, path: str | os.PathLike[str]) -> Path:
        write_text(path, json.dumps(self.alignment_json(), indent=1) + "\n")
        return Path(path)


@dataclass(frozen=True, eq=False)
class LongImage:
    """The systems generated for each window of a recording, in order, and ``image``: them stacked (see
    `stack_systems`); ``windows`` the windows read."""

    systems: tuple[np.ndarray, ...] = field(repr=False)
    image: np.ndarray = field(repr=False)
    windows: int
    problems: tuple[str, ...] = ()

    def save(self, path: str | os.PathLike[str]) -> Path:
        return _save_png(path, self.image, self.problems)


@dataclass(frozen=True, eq=False)
class PageTranslation:
    """Systems translated one by one and joined: ``systems`` the per-system results; for notation ``lmx`` (the
    page's LMX), ``xml`` (one MusicXML, None when the LMX does not form one) and ``measures`` (each system's
    [first, last) measures); for MIDI ``notes`` in reading order (each system after the previous one ends)."""

    modality: Modality
    systems: tuple[Translation, ...]
    lmx: tuple[str, ...] = ()
    xml: str | None = field(default=None, repr=False)
    measures: tuple[tuple[int, int], ...] = ()
    notes: tuple[Note, ...] = ()
    problems: tuple[str, ...] = ()

    def musicxml(self) -> str:
        return _musicxml(self.xml, self.problems)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """.musicxml/.xml/.mxl (the page), .lmx/.txt (one line) for notation; .mid/.midi for MIDI targets."""
        if self.modality is Modality.MIDI:
            return _save_notes(path, self.notes)
        return _save_score(path, self.lmx, self.xml, self.problems)


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
    return AudioTranslation(modality=Modality.AUDIO, steps=steps, audio=decode_audio_codes(codec, codes),
                            sample_rate=rate)


def decode_audio_codes(codec: Any, codes: np.ndarray, chunk: int = DECODE_CHUNK_FRAMES) -> np.ndarray:
    """Codes (Q, T) -> float32 samples, ``chunk`` frames at a time (bounded memory for long pieces; a window
    is shorter than one chunk)."""
    parts = [np.zeros(0, np.float32)]
    device = next(codec.parameters()).device
    for start in range(0, codes.shape[1], chunk):
        with torch.inference_mode():
            wav = codec.decode(torch.from_numpy(codes[:, start:start + chunk]).to(device)[None])[0, 0]
        parts.append(wav.float().cpu().numpy())
    return np.concatenate(parts).astype(np.float32)


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
