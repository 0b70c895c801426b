"""Notes in milliseconds → notes on the tokenizer's 10 ms grid, with the two fixes the grid needs.

1. Short notes: a note whose onset and offset round to the same tick is re-quantized outward (onset
   floored, offset ceiled, at least one tick), so it keeps a duration and both ends stay within 10 ms.
2. Re-struck keys: on one key (program, pitch) a note ends no later than the next onset (one channel,
   and the vocabulary, hold one note per key). Two onsets on the same tick leave the first note zero
   ticks long; the encoder writes it as two onsets, so no note is dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from scorebridge.constants import MIDI_TICK_MS
from scorebridge.midi.notes import Note, ms_to_tick, tick_to_ms


@dataclass(frozen=True, slots=True, order=True)
class TickNote:
    """A note on the 10 ms grid (ticks from the start of the piece). ``velocity`` is a MIDI velocity."""

    onset: int
    offset: int
    pitch: int
    program: int
    is_drum: bool
    velocity: int

    @property
    def key(self) -> tuple[bool, int, int]:
        return (self.is_drum, self.program, self.pitch)

    def to_note(self) -> Note:
        return Note(tick_to_ms(self.onset), tick_to_ms(self.offset), self.pitch, self.velocity, self.program,
                    self.is_drum)


def quantize_note(note: Note) -> TickNote:
    """Round both ends to the nearest tick; widen notes that would collapse (see module docstring)."""
    onset, offset = ms_to_tick(note.onset), ms_to_tick(note.offset)
    if note.is_drum:
        offset = onset + 1  # drums are onset-only events; one tick is their nominal length
    elif offset <= onset:
        onset = note.onset // MIDI_TICK_MS
        offset = max(-(-note.offset // MIDI_TICK_MS), onset + 1)
    return TickNote(onset, offset, note.pitch, note.program, note.is_drum, note.velocity)


def end_at_restrike(notes: Sequence[TickNote]) -> list[TickNote]:
    """End each pitched note no later than the next onset on its key; drums are left alone."""
    by_key: dict[tuple[bool, int, int], list[TickNote]] = defaultdict(list)
    out: list[TickNote] = []
    for n in notes:
        (out if n.is_drum else by_key[n.key]).append(n)
    for group in by_key.values():
        group.sort(key=lambda n: n.onset)  # stable: same-tick onsets keep their order in milliseconds
        for a, b in zip(group, group[1:], strict=False):
            out.append(replace(a, offset=b.onset) if a.offset > b.onset else a)
        out.append(group[-1])
    out.sort(key=lambda n: n.onset)
    return out


def quantize_notes(notes: Sequence[Note]) -> list[TickNote]:
    """The tokenizer's view of a note list: on the 10 ms grid, one note per key at a time, sorted."""
    return end_at_restrike([quantize_note(n) for n in sorted(notes)])
