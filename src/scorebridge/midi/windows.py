"""Long-form MIDI as small pure functions: plan windows, and stitch decoded windows back into notes.

Times are 10 ms ticks here; ``stitch_segments`` returns notes in milliseconds (the ``Note`` unit).
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Sequence
from dataclasses import dataclass

from scorebridge.midi.notes import Note, tick_to_ms

log = logging.getLogger(__name__)
_NOTE_ORDER = operator.attrgetter("onset", "offset", "pitch", "velocity", "program", "is_drum")

DEFAULT_WINDOW_TICKS = 1000  # 10 s


@dataclass(frozen=True, slots=True)
class Window:
    """Ticks [start, end)."""

    start: int
    end: int


def plan_windows(duration: int, window: int = DEFAULT_WINDOW_TICKS) -> list[Window]:
    """Consecutive windows [k * window, (k + 1) * window) covering [0, duration]; none for duration <= 0.

    An event exactly at ``duration`` = k * window (a last offset) belongs to window k - 1: offsets are
    encoded at the window's end, onsets never are.
    """
    if window <= 0:
        raise ValueError(f"window must be positive, got {window}")
    count = -(-duration // window) if duration > 0 else 0
    return [Window(k * window, (k + 1) * window) for k in range(count)]


@dataclass(frozen=True, slots=True)
class NoteSegment:
    """The part of a note inside one window. ``onset`` None = tied from the previous window;
    ``offset`` None = still sounding at the window's end. ``velocity`` None for a tied segment."""

    pitch: int
    program: int
    is_drum: bool
    velocity: int | None
    onset: int | None
    offset: int | None

    @property
    def key(self) -> tuple[int, int]:
        return (self.program, self.pitch)

    def sort_key(self) -> tuple[int, int, int, int]:
        # tied segments first, then by onset, so stitching meets each key's segments in time order
        return (0 if self.onset is None else 1, self.onset or 0, self.program, self.pitch)


@dataclass(frozen=True, slots=True)
class DecodedWindow:
    """One window's decoded content: tie-section keys (program, pitch), segments, and repaired problems."""

    start: int
    end: int
    ties: tuple[tuple[int, int], ...]
    segments: tuple[NoteSegment, ...]
    problems: tuple[str, ...] = ()


def _note(program: int, pitch: int, onset: int, offset: int, velocity: int, is_drum: bool = False) -> Note:
    return Note(tick_to_ms(onset), tick_to_ms(max(onset, offset)), pitch, velocity, program, is_drum)


def stitch_segments(windows: Sequence[DecodedWindow], default_velocity: int = 127) -> list[Note]:
    """Join decoded windows (in time order) into notes sorted by (onset, pitch).

    A note open at the end of a window continues if the next window's tie section lists its key, and
    ends at that window's start if not. Irregular input is repaired, never fatal: a tie with nothing to
    continue starts a note at the window start (velocity ``default_velocity``); notes still open after the
    last window end at its end. Each repair is logged, with the windows' own problems, in one warning.
    """
    notes: list[Note] = []
    open_: dict[tuple[int, int], tuple[int, int]] = {}  # key -> (onset tick, velocity)
    repairs = sum(len(w.problems) for w in windows)
    previous_end = None
    for w in windows:
        if previous_end is not None and w.start < previous_end:
            log.warning("stitch: window at tick %d overlaps the previous one (ends %d)", w.start,
                        previous_end)
        previous_end = w.end
        ties = set(w.ties)
        for key in [k for k in open_ if k not in ties]:
            onset, velocity = open_.pop(key)
            notes.append(_note(*key, onset, w.start, velocity))
            repairs += 1
            log.debug("stitch: note %s open at tick %d not tied into the next window", key, w.start)
        for seg in sorted(w.segments, key=NoteSegment.sort_key):
            if seg.is_drum:
                onset = w.start if seg.onset is None else seg.onset
                offset = onset + 1 if seg.offset is None else seg.offset
                velocity = seg.velocity or default_velocity
                notes.append(_note(seg.program, seg.pitch, onset, offset, velocity, True))
                continue
            if seg.onset is None:
                if seg.key in open_:
                    onset, velocity = open_.pop(seg.key)
                else:
                    onset, velocity = w.start, default_velocity
                    repairs += 1
                    log.debug("stitch: tie of %s at tick %d continues nothing", seg.key, w.start)
            else:
                onset, velocity = seg.onset, seg.velocity or default_velocity
                if seg.key in open_:  # cannot come from decode_window; end the older note defensively
                    old_onset, old_velocity = open_.pop(seg.key)
                    notes.append(_note(*seg.key, old_onset, onset, old_velocity))
                    repairs += 1
            if seg.offset is None:
                open_[seg.key] = (onset, velocity)
            else:
                notes.append(_note(*seg.key, onset, seg.offset, velocity))
    if open_:
        end = windows[-1].end
        repairs += len(open_)
        log.debug("stitch: %d notes still open at the end (tick %d) closed there", len(open_), end)
        for key, (onset, velocity) in open_.items():
            notes.append(_note(*key, onset, end, velocity))
    if repairs:
        log.warning("stitch: repaired %d irregularities in %d windows", repairs, len(windows))
    notes.sort(key=_NOTE_ORDER)  # Note's own order, without dataclass comparison overhead
    return notes
