"""Performed times -> written rhythm on tracked beats, preferring plain rhythms over tuplets.

Each note's onset becomes a fractional beat position (``meter.beat_positions``: the beats follow the player's
tempo). The onsets of one beat are snapped together to one grid of that beat: plain grids first (halves and
quarters of a simple beat; thirds and sixths of a compound one), tuplet grids (triplets in a simple beat, duplets
in a compound one) only when they fit better by more than ``tuplet_penalty`` beats per onset. Note ends snap to
the grid of the beat they fall in, are at least one grid step after the onset, and are cut at the next onset on
the same staff (performed legato overlaps would otherwise be written as ties under every following note).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

SIMPLE_GRIDS = ((Fraction(1, 2), 0.0), (Fraction(1, 4), 0.02))  # (grid step in beats, penalty per onset)
SIMPLE_TUPLETS = ((Fraction(1, 3), 0.0), (Fraction(1, 6), 0.03))
COMPOUND_GRIDS = ((Fraction(1, 3), 0.0), (Fraction(1, 6), 0.02))
COMPOUND_TUPLETS = ((Fraction(1, 2), 0.0), (Fraction(1, 4), 0.03))


@dataclass(frozen=True)
class RhythmOptions:
    """``tuplet_penalty``: extra mean error (in beats) a tuplet grid must save over the best plain one to be
    chosen for a beat (0.07 beat is 35 ms at 120 bpm); chosen on ASAP dev pieces (docs/formats.md)."""

    tuplet_penalty: float = 0.07


DEFAULT_RHYTHM = RhythmOptions()


@dataclass(frozen=True)
class Rhythm:
    """Written positions in beats from the first bar line: ``onsets`` and ``offsets`` per note (input order) and
    how many beats used a tuplet grid."""

    onsets: tuple[Fraction, ...]
    offsets: tuple[Fraction, ...]
    tuplet_beats: int


def _snap(values: np.ndarray, step: Fraction) -> tuple[list[Fraction], float]:
    s = float(step)
    counts = np.round(values / s)
    error = float(np.abs(values - counts * s).mean()) if len(values) else 0.0
    return [int(c) * step for c in counts], error


def beat_grids(fractions: np.ndarray, compound: bool, options: RhythmOptions) -> tuple[Fraction, bool]:
    """The grid step (in beats) for onsets at these within-beat ``fractions`` (in [-0.5, 1)), and whether it is a
    tuplet grid."""
    plain = COMPOUND_GRIDS if compound else SIMPLE_GRIDS
    tuplets = COMPOUND_TUPLETS if compound else SIMPLE_TUPLETS
    best = min(((_snap(fractions, step)[1] + penalty, step, False) for step, penalty in plain),
               key=lambda c: c[0])
    tuplet = min(((_snap(fractions, step)[1] + penalty + options.tuplet_penalty, step, True)
                  for step, penalty in tuplets), key=lambda c: c[0])
    chosen = tuplet if tuplet[0] < best[0] else best
    return chosen[1], chosen[2]


def quantize_rhythm(positions: np.ndarray, end_positions: np.ndarray, staves: Sequence[int], compound: bool,
                    origin: int, options: RhythmOptions = DEFAULT_RHYTHM) -> Rhythm:
    """Written onsets/offsets (beats from the bar line at beat ``origin``) for notes at fractional beat
    ``positions`` ending at ``end_positions``; ``staves`` (one per note) limit where ends are cut."""
    plain_step = COMPOUND_GRIDS[0][0] if compound else SIMPLE_GRIDS[0][0]
    # an onset just before a beat belongs to that beat (a grid step's half early at most)
    half = float(min(s for s, _ in (COMPOUND_GRIDS if compound else SIMPLE_GRIDS))) / 2
    owner = np.floor(positions + half).astype(np.int64)
    step_of: dict[int, Fraction] = {}
    onsets: list[Fraction] = [Fraction(0)] * len(positions)
    tuplet_beats = 0
    for beat in np.unique(owner):
        members = np.flatnonzero(owner == beat)
        fractions = positions[members] - beat
        step, is_tuplet = beat_grids(fractions, compound, options)
        tuplet_beats += is_tuplet
        step_of[int(beat)] = step
        snapped, _ = _snap(fractions, step)
        for i, value in zip(members, snapped, strict=True):
            onsets[i] = Fraction(int(beat) - origin) + value
    offsets: list[Fraction] = []
    for i, end in enumerate(end_positions):
        beat = math.floor(end)
        step = step_of.get(beat, plain_step)
        value = Fraction(beat - origin) + round(Fraction(float(end - beat)) / step) * step
        offsets.append(max(value, onsets[i] + step_of.get(int(owner[i]), plain_step)))
    _cut_at_next_onset(onsets, offsets, staves)
    return Rhythm(tuple(onsets), tuple(offsets), tuplet_beats)


def _cut_at_next_onset(onsets: list[Fraction], offsets: list[Fraction], staves: Sequence[int]) -> None:
    for staff in set(staves):
        members = [i for i, s in enumerate(staves) if s == staff]
        times = sorted({onsets[i] for i in members})
        for i in members:
            later = [t for t in times[_index_after(times, onsets[i]):] if t > onsets[i]]
            if later and offsets[i] > later[0]:
                offsets[i] = later[0]


def _index_after(times: list[Fraction], value: Fraction) -> int:
    import bisect

    return bisect.bisect_right(times, value)
