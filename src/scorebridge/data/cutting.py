"""Cutting a piece's timeline into samples: the one note cut, the one audio cut, the one long-window builder.

Every timed sample holds the notes sounding in its span [start_ms, end_ms), times relative to start_ms. A note
still sounding at the end is cut there. A note struck before the span and still sounding at its start is
**tied in**: it starts at 0 and its index in the sample's notes is listed in ``Sample.tied_in`` (it has no
onset in this sample). Joining consecutive windows through those indices gives back the piece's notes exactly
(``eval.pieces.join_truth_windows``); a note struck again at a boundary stays a note of its own.

Score systems, ASAP performances and the audio datasets (MAESTRO, MusicNet, Slakh, BPSD) all cut here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from scorebridge.data.contract import BuildConfig, PieceSpec, sample_id
from scorebridge.data.schema import Sample, ms_to_sample_floor
from scorebridge.midi import Note


@dataclass(frozen=True)
class NoteCut:
    """The notes of one span (relative to its start, sorted) and the indices of those tied in from before."""

    notes: tuple[Note, ...]
    tied_in: tuple[int, ...]


def cut_notes(notes: Sequence[Note], start_ms: int, end_ms: int, *, tied: bool = True,
              snap_ms: int = 0) -> NoteCut:
    """Notes sounding in [start_ms, end_ms), relative to start_ms, cut at the end, sorted; see the module docstring.

    ``tied=False`` leaves out the notes struck before the span (only what is struck in it: a performed system,
    whose notation shows its strikes). ``snap_ms``: onsets this close to a boundary count as on it (Verovio's
    MIDI and its timemap round independently).
    """
    span = end_ms - start_ms
    cut: list[tuple[Note, bool]] = []
    for n in notes:
        onset = n.onset
        if snap_ms and abs(onset - start_ms) <= snap_ms:
            onset = start_ms
        elif snap_ms and abs(onset - end_ms) <= snap_ms:
            onset = end_ms
        if onset >= end_ms or onset < start_ms and (not tied or n.offset <= start_ms):
            continue
        rel_on = max(0, onset - start_ms)
        rel_off = min(span, max(n.offset - start_ms, rel_on))
        cut.append((replace(n, onset=rel_on, offset=rel_off), onset < start_ms))
    cut.sort(key=lambda pair: pair[0])  # stable: equal notes keep their flags in order
    return NoteCut(tuple(n for n, _ in cut), tuple(i for i, (_, was_tied) in enumerate(cut) if was_tied))


def cut_audio(audio: np.ndarray, start_ms: int, end_ms: int, sample_rate: int) -> np.ndarray:
    """Exactly the samples of [start_ms, end_ms), padded with silence past the end of the recording."""
    a, b = ms_to_sample_floor(start_ms, sample_rate), ms_to_sample_floor(end_ms, sample_rate)
    out = np.zeros(b - a, np.float32)
    piece = audio[a:b]
    out[: len(piece)] = piece
    return out


def long_windows(duration_ms: int, window_ms: int, min_last_ms: int = 1) -> list[tuple[int, int]]:
    """Consecutive [start, end) windows over [0, duration_ms); a last partial window is kept if >= min_last_ms."""
    out = []
    for start in range(0, duration_ms, window_ms):
        end = min(start + window_ms, duration_ms)
        if end - start == window_ms or end - start >= min_last_ms:
            out.append((start, end))
    return out


def window_samples(spec: PieceSpec, notes: Sequence[Note], audio: np.ndarray | None, config: BuildConfig, *,
                   meta: Mapping[str, Any] | None = None, soundfont: str | None = None, min_last_ms: int = 1,
                   keep_silent: bool = False) -> list[Sample]:
    """Consecutive ``config.window_ms`` (performance MIDI, audio) windows over a whole performance.

    The piece lasts until its last note ends or its audio does (whichever is later). ``keep_silent=False`` skips
    windows where no note sounds (they teach nothing and make up long silent tails); ``min_last_ms`` drops a
    shorter last window. Ids number the windows written, in order.
    """
    duration = max([n.offset for n in notes], default=0)
    if audio is not None:
        duration = max(duration, len(audio) * 1000 // config.sample_rate)
    samples: list[Sample] = []
    for start, end in long_windows(duration, config.window_ms, min_last_ms):
        cut = cut_notes(notes, start, end)
        if not cut.notes and not keep_silent:
            continue
        samples.append(Sample(
            id=sample_id(spec, "window", len(samples)), source=spec.source, piece=spec.piece, split=spec.split,
            kind="window", start_ms=start, end_ms=end, timeline="performance", soundfont=soundfont,
            sample_rate=config.sample_rate, notes=cut.notes, tied_in=cut.tied_in,
            audio=None if audio is None else cut_audio(audio, start, end, config.sample_rate), meta=dict(meta or {}),
        ))
    return samples
