"""Human performances aligned to score measures through beat annotations (ASAP), as small pure functions.

The chain from a score measure to performance time:

1. ``measure_lengths`` — each <measure>'s real length in quarter notes (its content, so a pickup or a measure
   split around a repeat sign is short), and ``play_order`` — the measures in the order they are played
   (repeat barlines and first/second endings unfolded; D.C./D.S. jumps are not supported and reject).
2. ``ScoreClock`` — quarter notes → score-MIDI milliseconds, from the tempo changes of ``midi_score.mid``
   (ASAP's MIDI score has the same metrical grid as the MusicXML, with its repeats unfolded).
3. ``anchor_downbeats`` — the downbeats give measure starts: each played measure whose clock start is near the
   next annotated downbeat (a quarter of its length) starts exactly there, and later measures shift with it.
   It also tells whether (1)+(2) describe the annotated score: no downbeat may be left between measure
   starts, and the annotations must end in the last two played measures. Two play orders are tried (repeats
   unfolded, then as written), because some ASAP folders hold a performance that skips repeats; the first
   that passes is used, else the performance is rejected with both reasons.
   Measures *without* a downbeat (pickups, the second half of a measure split by a repeat sign, a first
   measure whose annotations start after beat 1) need no special rule: their start comes from the clock.
   Beats labelled 'bR' (irregular beats in ASAP) are plain beats: anchors of the time map, not downbeats.
4. ``TimeMap`` — score-MIDI ms → performance ms, piecewise linear through the matching beats of
   ``midi_score_annotations.txt`` and ``PERFORMER_annotations.txt`` (same count and downbeat pattern, or the
   performance is rejected). Before the first and after the last beat it extrapolates with the slope of the
   nearest beat interval (an edge beat interval, not a guess from elsewhere) and never goes below 0.

Performance notes of a span are cut by ``data.cutting.cut_notes`` with ``tied=False``: onsets in [start, end),
times relative to start, notes still sounding at the end cut there, notes struck before the span left out (the
system's notation shows what is struck in it, and the audio, cut from the whole performance, still carries their
sound). Long windows keep tied-in notes (``data.cutting.window_samples``), since their MIDI target is the full
sounding state.
"""

from __future__ import annotations

import bisect
import logging
import os
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from scorebridge.data.contract import PieceRejected
from scorebridge.data.schema import Sample
from scorebridge.errors import InputError
from scorebridge.midi import Note

log = logging.getLogger(__name__)

DOWNBEAT_TOLERANCE = 0.25  # a downbeat this close to a measure's clock start (× its length) is its start
DOWNBEAT_MIN_SLACK_MS = 5  # and at least this close (ms rounding on both sides)
COUNT_TOLERANCE = 0.05  # the check: performance note count within ±5% of the score's
MIN_PITCH_F1 = 0.9  # and pitch multisets with F1 >= 0.9
BOUNDARY_LEAD_MS = 50  # measure boundaries this much before the mapped beat: 74.8% of blocks pass vs 70.3% at 0


# -- annotations ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Beat:
    """One annotated beat: time in ms of its own timeline, downbeat flag, and what changes there."""

    time_ms: int
    downbeat: bool
    time_signature: str | None = None  # e.g. '3/4', where it changes
    key: int | None = None  # sharps (+) or flats (-), where it changes


def parse_annotations(text: str, path: str | os.PathLike[str] | None = None) -> tuple[Beat, ...]:
    """Beats of an ASAP ``*_annotations.txt``: per line 'SECONDS<TAB>SECONDS<TAB>b|db[,TIME-SIG[,KEY]]'.

    Raises InputError naming the line for anything else, or for times that go backwards.
    """
    beats: list[Beat] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        beats.append(_parse_line(line, number, path))
        if len(beats) > 1 and beats[-1].time_ms < beats[-2].time_ms:
            raise InputError(path, f"line {number}: time {beats[-1].time_ms} ms goes back before the previous beat")
    if not beats:
        raise InputError(path, "no beats in the annotation file")
    return tuple(beats)


def read_annotations(path: str | os.PathLike[str]) -> tuple[Beat, ...]:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such annotation file")
    return parse_annotations(path.read_text(encoding="utf-8", errors="replace"), path)


def _parse_line(line: str, number: int, path: str | os.PathLike[str] | None) -> Beat:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) != 3:
        raise InputError(path, f"line {number}: expected 3 tab-separated fields, got {len(fields)}: {line!r}")
    try:
        seconds = float(fields[0])
    except ValueError:
        raise InputError(path, f"line {number}: time {fields[0]!r} is not a number") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise InputError(path, f"line {number}: time {fields[0]!r} must be a finite time >= 0")
    label, *changes = fields[2].strip().split(",")
    if label not in ("b", "bR", "db") or len(changes) > 2:
        raise InputError(path, f"line {number}: label {fields[2]!r} is not b|db[,TIME-SIG[,KEY]]")
    signature = changes[0] if changes and changes[0] else None
    if signature is not None and not _is_time_signature(signature):
        raise InputError(path, f"line {number}: bad time signature {signature!r}")
    key = None
    if len(changes) == 2 and changes[1]:
        try:
            key = int(changes[1])
        except ValueError:
            raise InputError(path, f"line {number}: key {changes[1]!r} is not a number of sharps/flats") from None
    return Beat(int(round(seconds * 1000)), label == "db", signature, key)


def _is_time_signature(text: str) -> bool:
    top, _, bottom = text.partition("/")
    return bool(top) and all(p.isdigit() for p in top.split("+")) and bottom.isdigit()


# -- time map ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimeMap:
    """Monotone piecewise-linear map between two timelines (ms), through matching anchor points."""

    src: tuple[int, ...]
    dst: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.src) != len(self.dst) or len(self.src) < 2:
            raise ValueError("a time map needs at least two matching anchors")
        if any(b <= a for a, b in zip(self.src, self.src[1:], strict=False)) or any(
                b <= a for a, b in zip(self.dst, self.dst[1:], strict=False)):
            raise ValueError("time map anchors must be strictly increasing on both sides")

    def __call__(self, t: int) -> int:
        i = min(max(bisect.bisect_right(self.src, t) - 1, 0), len(self.src) - 2)  # edge segments extrapolate
        x0, x1, y0, y1 = self.src[i], self.src[i + 1], self.dst[i], self.dst[i + 1]
        return max(0, y0 + round((t - x0) * (y1 - y0) / (x1 - x0)))


def beat_time_map(score_beats: Sequence[Beat], performance_beats: Sequence[Beat]) -> TimeMap:
    """Score-MIDI ms → performance ms from the two annotation files of one performance.

    Raises PieceRejected when the beat lists do not correspond (count, downbeat pattern) or a timeline
    does not strictly advance (two beats at one time cannot be mapped).
    """
    if len(score_beats) != len(performance_beats):
        raise PieceRejected(f"{len(performance_beats)} performance beats for {len(score_beats)} score beats")
    flips = [i for i, (a, b) in enumerate(zip(score_beats, performance_beats, strict=True))
             if a.downbeat != b.downbeat]
    if flips:
        raise PieceRejected(f"downbeat pattern differs from the score's at beat {flips[0]}")
    try:
        return TimeMap(tuple(b.time_ms for b in score_beats), tuple(b.time_ms for b in performance_beats))
    except ValueError as exc:
        raise PieceRejected(f"beat annotations cannot be mapped: {exc}") from None


# -- score clock ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoreClock:
    """Quarter notes → ms on the score-MIDI timeline; tempo steps at the given quarter positions."""

    quarters: tuple[Fraction, ...]  # where each tempo starts (the first is 0)
    start_ms: tuple[float, ...]  # the time there
    ms_per_quarter: tuple[float, ...]

    def ms(self, quarter: Fraction) -> int:
        i = max(bisect.bisect_right(self.quarters, quarter) - 1, 0)
        return int(round(self.start_ms[i] + float(quarter - self.quarters[i]) * self.ms_per_quarter[i]))


def score_clock(tempo_changes: Sequence[tuple[float, float]]) -> ScoreClock:
    """From ``(time_s, quarter_bpm)`` tempo changes (pretty_midi's ``get_tempo_changes``), the first at 0."""
    if not tempo_changes:
        tempo_changes = [(0.0, 120.0)]  # the MIDI default
    quarters, starts, rates = [Fraction(0)], [0.0], [60_000.0 / tempo_changes[0][1]]
    for seconds, bpm in tempo_changes[1:]:
        ms = seconds * 1000
        q = quarters[-1] + Fraction(ms - starts[-1]) / Fraction(rates[-1])
        quarters.append(q.limit_denominator(10_000))
        starts.append(ms)
        rates.append(60_000.0 / bpm)
    return ScoreClock(tuple(quarters), tuple(starts), tuple(rates))


def read_score_clock(midi_path: str | os.PathLike[str]) -> ScoreClock:
    import pretty_midi

    try:
        with warnings.catch_warnings():
            # ASAP score MIDIs put tempo events on every track; pretty_midi warns but reads them right
            warnings.simplefilter("ignore", RuntimeWarning)
            pm = pretty_midi.PrettyMIDI(str(midi_path))
    except Exception as exc:  # mido/pretty_midi raise many types for broken files
        raise InputError(midi_path, f"cannot read the score MIDI ({type(exc).__name__}: {exc})") from exc
    times, tempi = pm.get_tempo_changes()
    return score_clock([(float(t), float(b)) for t, b in zip(times, tempi, strict=True)])


# -- measures ---------------------------------------------------------------------------------------------

def measure_lengths(part: ET.Element) -> list[Fraction]:
    """Length of each <measure> in quarter notes: the furthest point its notes, rests and forwards reach,
    at most its time signature; a measure with no timed content lasts its time signature."""
    divisions = Fraction(1)
    beats, beat_type = 4, 4
    out: list[Fraction] = []
    for measure in part.iterfind("measure"):
        pos = furthest = Fraction(0)
        for child in measure:
            if child.tag == "attributes":
                divisions = Fraction(child.findtext("divisions") or divisions)
                time = child.find("time")
                if time is not None and (time.findtext("beats") or "").isdigit():
                    beats, beat_type = int(time.findtext("beats") or 4), int(time.findtext("beat-type") or 4)
            elif child.tag in ("note", "forward", "backup"):
                if child.tag == "note" and (child.find("chord") is not None or child.find("grace") is not None):
                    continue
                step = Fraction(child.findtext("duration") or 0) / divisions
                pos = pos - step if child.tag == "backup" else pos + step
                furthest = max(furthest, pos)
        nominal = Fraction(4 * beats, beat_type)
        # Overfull measures (a cadenza's extra notes, tuplets that do not add up) last their time signature in
        # ASAP's MIDI scores; short ones (pickups, halves split by a repeat sign) last their content.
        out.append(min(furthest, nominal) if furthest > 0 else nominal)
    return out


def play_order(part: ET.Element) -> list[int]:
    """Measure positions in playing order with repeat barlines and numbered endings unfolded.

    A backward repeat jumps to the latest forward repeat (or the measure after the previous finished
    repeat, or the start); ``times`` gives the plays (default 2). A measure inside an ending is played only
    on the passes its numbers name. Raises PieceRejected for D.C./D.S./coda jumps, which are not unfolded.
    """
    measures = part.findall("measure")
    for m in measures:
        for sound in m.iter("sound"):
            jump = next((k for k in ("dacapo", "dalsegno", "tocoda") if sound.get(k)), None)
            if jump:
                raise PieceRejected(f"measure {m.get('number')}: {jump} jumps are not unfolded")
    endings = _ending_numbers(measures)
    forward = [any(r.get("direction") == "forward" for r in m.iterfind("barline/repeat")) for m in measures]
    backward = [next((int(r.get("times") or 2) for r in m.iterfind("barline/repeat")
                      if r.get("direction") == "backward"), 0) for m in measures]
    order: list[int] = []
    i, start, pass_no, reset_pending, jumped = 0, 0, 1, False, [0] * len(measures)
    arrived_by_jump = False
    limit = 10 * len(measures) + 10  # malformed repeat structures must not loop forever
    while i < len(measures):
        if len(order) > limit:
            raise PieceRejected("repeat structure does not terminate")
        if endings[i] is None and reset_pending:
            pass_no, reset_pending = 1, False
        if endings[i] is not None and pass_no not in endings[i]:
            if backward[i]:  # the repeat of a first ending not taken: its section is done
                start, reset_pending = i + 1, True
            i += 1
            continue
        if forward[i] and not arrived_by_jump:
            start, pass_no = i, 1
        arrived_by_jump = False
        order.append(i)
        if backward[i] and jumped[i] < backward[i] - 1:
            jumped[i] += 1
            pass_no += 1
            i, arrived_by_jump = start, True
            continue
        if backward[i]:
            start, reset_pending = i + 1, True
        i += 1
    return order


def _ending_numbers(measures: list[ET.Element]) -> list[frozenset[int] | None]:
    """For each measure, the pass numbers of the ending (volta) it lies in, or None outside endings."""
    out: list[frozenset[int] | None] = []
    current: frozenset[int] | None = None
    for m in measures:
        stop_here = False
        for ending in m.iterfind("barline/ending"):
            if ending.get("type") == "start":
                numbers = [int(x) for x in (ending.get("number") or "").replace(" ", "").replace(".", "").split(",")
                           if x.isdigit()]
                current = frozenset(numbers) or frozenset({1})
            elif ending.get("type") in ("stop", "discontinue"):
                stop_here = True
        out.append(current)
        if stop_here:
            current = None
    return out


@dataclass(frozen=True)
class PlayedMeasure:
    """One play of a measure: its 0-based position and its span on the score-MIDI and performance timelines."""

    measure: int
    score_start_ms: int
    score_end_ms: int
    start_ms: int  # performance time
    end_ms: int


def score_plays(order: Sequence[int], lengths: Sequence[Fraction], clock: ScoreClock) -> list[tuple[int, int, int]]:
    """(measure, score start ms, score end ms) for each play, laid end to end from quarter 0."""
    out, q = [], Fraction(0)
    for m in order:
        start = clock.ms(q)
        q += lengths[m]
        out.append((m, start, clock.ms(q)))
    return out


def anchor_downbeats(plays: Sequence[tuple[int, int, int]], downbeats_ms: Sequence[int],
                     tolerance: float = DOWNBEAT_TOLERANCE) -> list[tuple[int, int, int]] | str:
    """Snap the plays' score-MIDI starts to the annotated downbeats; the plays, or the reason it fails.

    Walking in order, a play whose start is within ``tolerance`` × its length of the next downbeat takes the
    downbeat's time, and every later play moves with it (a fermata or rounding in the MIDI score then shifts
    the rest instead of piling up). A play with no downbeat near keeps its clock time. It fails when a
    downbeat is left between two play starts, or the annotations end before the last two plays (the final
    measure may be unannotated) — both mean the play order or the measure lengths are not the annotated ones.
    """
    out: list[tuple[int, int, int]] = []
    shift, j = 0, 0
    for m, start, end in plays:
        start, end = start + shift, end + shift
        slack = max(DOWNBEAT_MIN_SLACK_MS, tolerance * (end - start))
        if j < len(downbeats_ms) and downbeats_ms[j] < start - slack:
            return f"downbeat {j} at {downbeats_ms[j]} ms (score MIDI) is not the start of a measure"
        if j < len(downbeats_ms) and abs(downbeats_ms[j] - start) <= slack:
            shift += downbeats_ms[j] - start
            start, end, j = downbeats_ms[j], end + downbeats_ms[j] - start, j + 1
        if out:
            out[-1] = (out[-1][0], out[-1][1], start)  # measures abut: each ends where the next starts
        out.append((m, start, end))
    if j < len(downbeats_ms):
        return f"downbeat {j} at {downbeats_ms[j]} ms (score MIDI) is after the last measure"
    last = max((i for i, p in enumerate(out) if p[1] in set(downbeats_ms)), default=len(out) - 1)
    if downbeats_ms and last < len(out) - 2:
        return f"the annotations end {len(out) - 1 - last} measures before the score"
    return out


@dataclass(frozen=True)
class MeasureAlignment:
    plays: tuple[PlayedMeasure, ...]
    unfolded: bool  # repeats unfolded (True) or played as written


def align_measures(part: ET.Element, clock: ScoreClock, score_beats: Sequence[Beat],
                   performance_beats: Sequence[Beat], lead_ms: int = BOUNDARY_LEAD_MS) -> MeasureAlignment:
    """Every played measure with its performance span; raises PieceRejected if none of the play orders fits.

    Performance boundaries are moved ``lead_ms`` earlier than the mapped score time: pianists spread a chord
    on a downbeat over some tens of ms around the annotated beat, and its early notes belong to the new measure.
    """
    time_map = beat_time_map(score_beats, performance_beats)
    lengths = measure_lengths(part)
    downbeats = [b.time_ms for b in score_beats if b.downbeat]
    reasons = []
    for unfolded, order in ((True, play_order(part)), (False, list(range(len(lengths))))):
        if not unfolded and reasons and order == play_order(part):
            break  # no repeats: the same order again
        plays = anchor_downbeats(score_plays(order, lengths, clock), downbeats)
        if not isinstance(plays, str):
            return MeasureAlignment(tuple(
                PlayedMeasure(m, s, e, max(0, time_map(s) - lead_ms), max(0, time_map(e) - lead_ms))
                for m, s, e in plays), unfolded)
        reason = plays
        reasons.append(f"{'unfolded' if unfolded else 'as written'}: {reason}")
    raise PieceRejected("measures do not match the score annotations (" + "; ".join(reasons) + ")")


@dataclass(frozen=True)
class PlayedRange:
    """A run of plays that covers measures [measure_start, measure_end) once, in order."""

    start_ms: int  # performance time
    end_ms: int
    score_start_ms: int
    score_end_ms: int
    first_play: int  # index into MeasureAlignment.plays


def measure_spans(alignment: MeasureAlignment, measure_start: int, measure_end: int) -> list[PlayedRange]:
    """Every time measures [measure_start, measure_end) are played as a consecutive run (repeats give several).

    A range whose measures are never played in a row (a repeat sign or an ending inside it) gives none.
    """
    wanted = list(range(measure_start, measure_end))
    plays = alignment.plays
    out = []
    for i in range(len(plays) - len(wanted) + 1):
        if [p.measure for p in plays[i:i + len(wanted)]] == wanted:
            first, last = plays[i], plays[i + len(wanted) - 1]
            out.append(PlayedRange(first.start_ms, max(last.end_ms, first.start_ms + 1), first.score_start_ms,
                            last.score_end_ms, i))
    return out


# -- the alignment check ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PerformanceCheck:
    """Performance notes of a span against the score notes of the same measures."""

    performance_notes: int
    score_notes: int
    pitch_f1: float  # F1 of the two pitch multisets

    @property
    def count_ratio(self) -> float:
        return self.performance_notes / self.score_notes if self.score_notes else float("inf")

    @property
    def ok(self) -> bool:
        if self.score_notes == 0:
            return self.performance_notes == 0
        close = abs(self.performance_notes - self.score_notes) <= round(COUNT_TOLERANCE * self.score_notes, 9)
        return close and self.pitch_f1 >= MIN_PITCH_F1

    @property
    def reason(self) -> str | None:
        if self.ok:
            return None
        return (f"{self.performance_notes} performance notes for {self.score_notes} score notes, "
                f"pitch F1 {self.pitch_f1:.3f}")


def pitch_f1(a: Sequence[Note], b: Sequence[Note]) -> float:
    """F1 of two pitch multisets (1.0 when both are empty)."""
    ca, cb = Counter(n.pitch for n in a), Counter(n.pitch for n in b)
    total = sum(ca.values()) + sum(cb.values())
    return 1.0 if total == 0 else 2 * sum((ca & cb).values()) / total


def check_notes(performance: Sequence[Note], score: Sequence[Note]) -> PerformanceCheck:
    return PerformanceCheck(len(performance), len(score), pitch_f1(performance, score))


def check_performance_sample(sample: Sample, score_notes: Sequence[Note]) -> PerformanceCheck:
    """The alignment check of a performance sample against the score notes of the same measures (struck in
    them, both cut by ``cut_notes(..., tied=False)``): count within ±5% and pitch-multiset F1 >= 0.9."""
    if sample.notes is None:
        raise ValueError(f"{sample.id}: no MIDI to check")
    return check_notes(sample.notes, score_notes)
