"""Beats, tempo and meter of a performed note list (no score): what MIDI -> notation needs to write bars.

- Beats: librosa's dynamic-programming beat tracker (Ellis 2007) run on an onset-strength envelope made from the
  notes themselves (10 ms frames, a velocity-weighted impulse per onset, smoothed), not from audio.
- Subdivision: where the onsets fall between two beats. Mass near 1/3 and 2/3 of the beat against mass near 1/2
  says whether a beat divides in three (compound meters: 6/8, 9/8, 12/8; the beat is a dotted quarter) or two.
- Beats per bar and the downbeat: each beat gets an accent (onset strength, a bass note, long notes starting
  there); for each bar length m in ``BAR_LENGTHS`` (in tracked beats) and phase, the contrast between accents on
  the candidate downbeats and on the other beats, plus how well each beat's rhythm repeats m beats later; the
  best (bar length, phase) wins, with margins (``MeterOptions``). A bar of 6, 8, 9 or 12 tracked beats means the
  tracker followed eighth notes: 6 is 6/8 when its beats group in threes, else 3/4; 8 is 4/4; 9 and 12 are 9/8
  and 12/8.

The thresholds (``MeterOptions``) were chosen on ASAP pieces listed in docs/formats.md, not on the test pieces.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from scorebridge.midi.notes import Note

log = logging.getLogger(__name__)

FRAME_MS = 10  # the envelope's frame: the MIDI grid's tick
BAR_LENGTHS = (2, 3, 4, 6, 8, 9, 12)  # in tracked beats


@dataclass(frozen=True)
class MeterOptions:
    """Knobs of the estimate. ``start_bpm``: the tempo prior's centre (librosa's); ``tightness``: how strictly
    beats keep an even spacing; ``compound_ratio``: triple-subdivision mass over duple needed to call the beat
    compound; ``four_margin``: how much stronger the bar-of-4 contrast must be than the bar-of-2 one to pick 4
    (their downbeats coincide, so 4 wins only when beat 3 is clearly weaker than beat 1);
    ``eighths_margin``: the same for bars of 6 or more tracked beats (the tracker followed eighths);
    ``repetition_weight``: weight of how well beat rhythms repeat at the bar length (``repetition``);
    ``min_onsets``/``min_seconds``: below this a performance is too short to estimate (fixed tempo instead)."""

    start_bpm: float = 100.0
    tightness: float = 100.0
    compound_ratio: float = 2.0
    four_margin: float = -0.2
    triple_margin: float = 0.4
    eighths_margin: float = 2.0
    repetition_weight: float = 2.0
    bar_lengths: tuple[int, ...] = BAR_LENGTHS
    min_onsets: int = 16
    min_seconds: float = 6.0


DEFAULT_METER = MeterOptions()


@dataclass(frozen=True)
class Meter:
    """The estimate: ``beats_ms`` (each tracked beat's time), ``beats_per_bar`` (tracked beats in a bar),
    ``compound`` (a tracked beat divides in three), ``beat_quarters`` (a tracked beat in quarter notes: 1, 3/2 or
    1/2), ``time_signature`` ("3/4"), ``downbeat`` (index in ``beats_ms`` of a bar's first beat), ``bpm`` (tracked
    beats per minute); the evidence: ``contrasts`` ({bar length: (contrast, phase)}), ``triple_ratio`` (thirds over
    halves between beats) and ``repeats`` ({bar length: rhythm repetition})."""

    beats_ms: tuple[int, ...]
    beats_per_bar: int
    compound: bool
    beat_quarters: Fraction
    time_signature: str
    downbeat: int
    bpm: float
    contrasts: dict[int, tuple[float, int]] = field(default_factory=dict, compare=False)
    triple_ratio: float = 0.0
    repeats: dict[int, float] = field(default_factory=dict, compare=False)

    @property
    def is_compound_time(self) -> bool:
        """6/8, 9/8, 12/8: the felt beat is a dotted quarter."""
        top, bottom = (int(x) for x in self.time_signature.split("/"))
        return bottom == 8 and top % 3 == 0

    @property
    def quarter_bpm(self) -> float:
        """Quarter notes per minute."""
        return self.bpm * float(self.beat_quarters)


def onset_envelope(notes: Sequence[Note]) -> np.ndarray:
    """Onset strength per 10 ms frame: each onset adds its (0..1) velocity, a chord's notes add up (at most 4
    count, so a dense texture does not drown the beat), smoothed over about +-30 ms."""
    if not notes:
        return np.zeros(1, np.float32)
    end = max(n.onset for n in notes) // FRAME_MS + 64
    env = np.zeros(end, np.float32)
    for n in notes:
        env[n.onset // FRAME_MS] += n.velocity / 127
    env = np.minimum(env, 4 * 0.8)
    kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2).astype(np.float32)
    return np.convolve(env, kernel / kernel.sum(), mode="same")


def track_beats(notes: Sequence[Note], options: MeterOptions = DEFAULT_METER) -> tuple[float, np.ndarray]:
    """(tempo in bpm, beat times in ms) from librosa's beat tracker over ``onset_envelope``."""
    import librosa

    env = onset_envelope(notes)
    rate = 1000 // FRAME_MS
    tempo, frames = librosa.beat.beat_track(onset_envelope=env, sr=rate, hop_length=1, start_bpm=options.start_bpm,
                                            tightness=options.tightness, trim=False, units="frames")
    beats = np.asarray(frames, dtype=np.int64) * FRAME_MS
    return float(np.atleast_1d(tempo)[0]), beats


def _extend(beats: np.ndarray, first_ms: int, last_ms: int) -> np.ndarray:
    """Beats continued at the edge spacing so that every onset lies between two beats."""
    if len(beats) < 2:
        return beats
    head, tail = list(beats), []
    step = head[1] - head[0]
    if step <= 0 or beats[-1] - beats[-2] <= 0:
        return beats
    while head[0] > first_ms:
        head.insert(0, head[0] - step)
    step = beats[-1] - beats[-2]
    last = beats[-1]
    while last <= last_ms:
        last += step
        tail.append(last)
    return np.asarray(head + tail, dtype=np.int64)


def beat_positions(onsets_ms: np.ndarray, beats_ms: np.ndarray) -> np.ndarray:
    """Each onset as a fractional beat index (beat i + the fraction of the way to beat i+1)."""
    index = np.clip(np.searchsorted(beats_ms, onsets_ms, side="right") - 1, 0, len(beats_ms) - 2)
    span = np.maximum(beats_ms[index + 1] - beats_ms[index], 1)
    return index + (onsets_ms - beats_ms[index]) / span


def triple_ratio(positions: np.ndarray) -> float:
    """Onsets between beats near 1/3 and 2/3 of the beat over those near 1/2 (and, half-weighted, 1/4 and 3/4):
    above about 1, beats divide in three (see ``MeterOptions.compound_ratio``)."""
    frac = positions - np.floor(positions)
    inner = frac[(frac > 0.12) & (frac < 0.88)]
    if len(inner) < 8:
        return 0.0
    near = lambda centre: float(np.sum(np.abs(inner - centre) < 0.06))  # noqa: E731
    triple = near(1 / 3) + near(2 / 3)
    duple = near(1 / 2) + 0.5 * (near(1 / 4) + near(3 / 4))
    return triple / max(duple, 1.0)


def beat_accents(notes: Sequence[Note], beats_ms: np.ndarray) -> np.ndarray:
    """An accent per beat: onset strength within +-70 ms, plus a bonus for a low (bass) note and for notes that
    last (harmonic rhythm: new chords and long notes come on strong beats), each normalised over the piece."""
    onsets = np.array([n.onset for n in notes], np.int64)
    lengths = np.array([n.offset - n.onset for n in notes], np.float64)
    pitches = np.array([n.pitch for n in notes], np.float64)
    velocity = np.array([n.velocity for n in notes], np.float64) / 127
    strength, bass, long = (np.zeros(len(beats_ms)) for _ in range(3))
    median_pitch = float(np.median(pitches))
    for i, t in enumerate(beats_ms):
        near = np.abs(onsets - t) <= 70
        if not near.any():
            continue
        strength[i] = velocity[near].sum()
        bass[i] = max(0.0, median_pitch - pitches[near].min()) / 12
        long[i] = np.log1p(lengths[near].max() / 100)
    parts = [x / (x.std() + 1e-9) for x in (strength, bass, long)]
    return sum(parts)


def beat_patterns(positions: np.ndarray, pitches: np.ndarray) -> np.ndarray:
    """A rhythm vector per beat: onsets near 0, 1/4, 1/3, 1/2, 2/3, 3/4 of it, and whether the bass moves on it."""
    beats = int(np.floor(positions.max())) + 1
    vectors = np.zeros((beats, 7))
    centres = np.array([0, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 3 / 4, 1])
    low = pitches < np.median(pitches) - 7
    for position, is_low in zip(positions, low, strict=True):
        beat, frac = int(np.floor(position)), position - np.floor(position)
        slot = int(np.argmin(np.abs(centres - frac)))
        if slot == 6:
            beat, slot = beat + 1, 0
        if beat < beats:
            vectors[beat, slot] += 1
            vectors[beat, 6] += is_low and slot == 0
    return np.minimum(vectors, 3)


def repetition(vectors: np.ndarray, lag: int) -> float:
    """Mean cosine similarity of each beat's rhythm vector with the one ``lag`` beats later: rhythms repeat bar
    by bar, so the bar length repeats best."""
    a, b = vectors[:-lag], vectors[lag:]
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    keep = norms > 0
    return float(((a * b).sum(axis=1)[keep] / norms[keep]).mean()) if keep.any() else 0.0


def bar_contrast(accents: np.ndarray, beats_per_bar: int) -> tuple[float, int]:
    """(contrast, phase): the largest mean accent on every ``beats_per_bar``-th beat minus the mean on the others."""
    best = (-np.inf, 0)
    for phase in range(beats_per_bar):
        on = accents[phase::beats_per_bar]
        mask = np.ones(len(accents), bool)
        mask[phase::beats_per_bar] = False
        if len(on) < 2 or not mask.any():
            continue
        best = max(best, (float(on.mean() - accents[mask].mean()), phase))
    return best


def estimate_meter(notes: Sequence[Note], options: MeterOptions = DEFAULT_METER) -> Meter | None:
    """Beats, tempo, beats per bar, subdivision and first downbeat of a performance; None when it is too short
    (fewer than ``min_onsets`` distinct onsets or ``min_seconds``) or no beats are found."""
    pitched = sorted((n for n in notes if not n.is_drum), key=lambda n: n.onset)
    distinct = len({n.onset // 30 for n in pitched})
    if distinct < options.min_onsets or (pitched[-1].offset - pitched[0].onset) / 1000 < options.min_seconds:
        return None
    tempo, beats = track_beats(pitched, options)
    if len(beats) < 8:
        return None
    beats = _extend(beats, pitched[0].onset, pitched[-1].offset)
    positions = beat_positions(np.array([n.onset for n in pitched]), beats)
    ratio = triple_ratio(positions)
    accents = beat_accents(pitched, beats)
    patterns = beat_patterns(positions, np.array([n.pitch for n in pitched], np.float64))
    scores = {m: bar_contrast(accents, m) for m in BAR_LENGTHS if 2 * m < len(accents)}
    repeats = {m: repetition(patterns, m) for m in BAR_LENGTHS if m < len(patterns)}
    bar, compound, signature, unit = decide(scores, ratio, options, repeats)
    log.debug("meter: tempo %.1f, triple ratio %.2f, contrasts %s", tempo, ratio,
              {m: round(s, 3) for m, (s, _) in scores.items()})
    period = float(np.median(np.diff(beats)))
    return Meter(tuple(int(b) for b in beats), bar, compound, unit, signature, scores[bar][1], 60_000 / period,
                 scores, ratio, repeats)


def decide(contrasts: dict[int, tuple[float, int]], ratio: float, options: MeterOptions = DEFAULT_METER,
           repeats: dict[int, float] | None = None) -> tuple[int, bool, str, Fraction]:
    """(tracked beats per bar, compound, time signature, tracked beat in quarters) from the evidence
    ``estimate_meter`` gathers, with ``options``' margins and weight (see the module docstring)."""
    repeats = repeats or {}

    def margin(m: int) -> float:
        return {2: 0.0, 3: options.triple_margin, 4: options.four_margin}.get(m, options.eighths_margin)

    candidates = [m for m in BAR_LENGTHS if m in contrasts and m in options.bar_lengths]
    bar = max(candidates, key=lambda m: contrasts[m][0] - margin(m) + options.repetition_weight * repeats.get(m, 0.0))
    if bar <= 4:
        compound = ratio > options.compound_ratio
        if compound:
            return bar, True, f"{3 * bar}/8", Fraction(3, 2)
        return bar, False, f"{bar}/4", Fraction(1)
    if bar == 6:
        in_threes = contrasts.get(3, (0.0, 0))[0] > contrasts.get(2, (0.0, 0))[0]
        return bar, False, "6/8" if in_threes else "3/4", Fraction(1, 2)
    return bar, False, {8: "4/4", 9: "9/8", 12: "12/8"}[bar], Fraction(1, 2)
