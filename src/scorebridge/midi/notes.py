"""Notes and the pure functions that normalise note lists.

Time representation (one rule for the whole MIDI area):
- ``Note.onset`` / ``Note.offset`` are **integer milliseconds** from the start of the piece. Seconds as floats
  exist only at file I/O (``read_midi`` rounds to the nearest millisecond, ``write_midi`` writes exact ms).
  1 ms keeps performance timing (ASAP / MAESTRO files resolve about 1 ms) while staying an integer.
- The event tokenizer works in **ticks of 10 ms** (``MIDI_TICKS_PER_SECOND``); ``ms_to_tick`` rounds to the
  nearest tick (half up), ``tick_to_ms`` is exact. Notes decoded from tokens therefore have times that are
  multiples of 10 ms.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from scorebridge.constants import MIDI_TICK_MS

MAX_MIDI_VALUE = 127


@dataclass(frozen=True, slots=True, order=True)
class Note:
    """One sounding note. Times in integer milliseconds; ``offset >= onset``.

    Field order makes the natural sort order (onset, pitch, ...). Drum notes are onset-only events for the
    tokenizer; their ``program`` is kept as read but is not encoded.
    """

    onset: int
    offset: int
    pitch: int
    velocity: int = 100
    program: int = 0
    is_drum: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= MAX_MIDI_VALUE:
            raise ValueError(f"pitch {self.pitch} outside 0..127")
        if not 1 <= self.velocity <= MAX_MIDI_VALUE:
            raise ValueError(f"velocity {self.velocity} outside 1..127")
        if not 0 <= self.program <= MAX_MIDI_VALUE:
            raise ValueError(f"program {self.program} outside 0..127")
        if self.onset < 0 or self.offset < self.onset:
            raise ValueError(f"bad times onset={self.onset} offset={self.offset} (ms)")

    @property
    def key(self) -> tuple[bool, int, int]:
        """What identifies a sounding key: two notes with the same key cannot sound at once in one channel."""
        return (self.is_drum, self.program, self.pitch)

    @property
    def onset_s(self) -> float:
        return self.onset / 1000

    @property
    def offset_s(self) -> float:
        return self.offset / 1000


@dataclass(frozen=True, slots=True)
class PedalSpan:
    """An interval [start, end) in ms during which the sustain pedal (CC64 >= 64) is down."""

    start: int
    end: int


def ms_to_tick(ms: int) -> int:
    """Nearest 10 ms tick, halves rounded up (integer arithmetic, no float error)."""
    return (ms + MIDI_TICK_MS // 2) // MIDI_TICK_MS


def tick_to_ms(tick: int) -> int:
    return tick * MIDI_TICK_MS


def seconds_to_ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def sort_notes(notes: Iterable[Note]) -> list[Note]:
    """Canonical order: onset, then pitch, then the rest of the fields."""
    return sorted(notes)


def pedal_spans(changes: Iterable[tuple[int, int]], end: int) -> list[PedalSpan]:
    """Sustain spans from CC64 ``(time_ms, value)`` changes; value >= 64 is down. A pedal still down at the
    end of the data is released at ``end``."""
    spans: list[PedalSpan] = []
    down_at: int | None = None
    for time, value in sorted(changes):
        if value >= 64 and down_at is None:
            down_at = time
        elif value < 64 and down_at is not None:
            if time > down_at:
                spans.append(PedalSpan(down_at, time))
            down_at = None
    if down_at is not None and end > down_at:
        spans.append(PedalSpan(down_at, end))
    return spans


def apply_sustain_pedal(notes: Sequence[Note], spans: Sequence[PedalSpan]) -> list[Note]:
    """Extend offsets that fall while the pedal is down (``start <= offset < end``) to the pedal release.

    ``notes`` and ``spans`` belong to one channel (one instrument). A re-struck key ends the sustained
    note: an extended offset never passes the next onset of the same key. Notes are never shortened:
    an offset that already lies past the next same-key onset (overlapping input) is left to
    ``resolve_overlaps``. Drum notes are unchanged. Returns notes in canonical order.
    """
    if not spans:
        return sort_notes(notes)
    starts = [s.start for s in spans]
    onsets_by_key: dict[tuple[bool, int, int], list[int]] = defaultdict(list)
    for n in notes:
        onsets_by_key[n.key].append(n.onset)
    for onsets in onsets_by_key.values():
        onsets.sort()
    out = []
    for n in notes:
        i = bisect.bisect_right(starts, n.offset) - 1
        if n.is_drum or i < 0 or not n.offset < spans[i].end:
            out.append(n)
            continue
        new_offset = spans[i].end
        onsets = onsets_by_key[n.key]
        j = bisect.bisect_right(onsets, n.onset)
        if j < len(onsets):
            new_offset = min(new_offset, onsets[j])
        out.append(replace(n, offset=max(n.offset, new_offset)) if new_offset > n.offset else n)
    return sort_notes(out)


def resolve_overlaps(notes: Sequence[Note]) -> list[Note]:
    """End each note no later than the next onset of the same key (program, pitch, drum flag).

    One MIDI channel cannot hold the same key twice, and neither can the event vocabulary (an offset
    names only a pitch), so a re-struck note ends the sounding one; this mirrors what a piano does.
    The later note is untouched; no note is dropped (a note can become zero-length when two share an onset).
    """
    by_key: dict[tuple[bool, int, int], list[Note]] = defaultdict(list)
    for n in notes:
        by_key[n.key].append(n)
    out: list[Note] = []
    for group in by_key.values():
        group.sort()
        for a, b in zip(group, group[1:], strict=False):
            out.append(replace(a, offset=b.onset) if a.offset > b.onset else a)
        out.append(group[-1])
    return sort_notes(out)
