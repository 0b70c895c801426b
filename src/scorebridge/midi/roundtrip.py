"""How a decoded note list is compared with the notes it was encoded from (used by tests and the bench).

Matching rule: notes are grouped by key (pitch, program, drum flag; drums ignore program), each group is
sorted by (onset, offset), and the i-th reference note of a group is paired with the i-th decoded note.
A pair matches when |onset difference| <= tolerance and (pitched notes only) |offset difference| <=
tolerance. Groups of different sizes count their surplus as missing or extra notes. Velocity is not
compared (binary by default).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from scorebridge.constants import MIDI_TICK_MS
from scorebridge.midi.notes import Note


@dataclass(frozen=True)
class NoteMismatch:
    reference: Note | None
    decoded: Note | None


@dataclass(frozen=True)
class NoteComparison:
    reference_notes: int
    decoded_notes: int
    matched: int  # pairs within tolerance
    mismatches: tuple[NoteMismatch, ...]  # pairs out of tolerance, then missing (decoded None), extra

    @property
    def all_matched(self) -> bool:
        return self.matched == self.reference_notes == self.decoded_notes


def _group(notes: Sequence[Note]) -> dict[tuple[bool, int, int], list[Note]]:
    groups: dict[tuple[bool, int, int], list[Note]] = defaultdict(list)
    for n in notes:
        groups[(n.is_drum, 0 if n.is_drum else n.program, n.pitch)].append(n)
    for g in groups.values():
        g.sort(key=lambda n: (n.onset, n.offset))
    return groups


def compare_notes(reference: Sequence[Note], decoded: Sequence[Note], tolerance_ms: int = MIDI_TICK_MS
                  ) -> NoteComparison:
    """Pair notes 1:1 per key in time order and count those within ``tolerance_ms`` (inclusive)."""
    ref_groups, dec_groups = _group(reference), _group(decoded)
    matched = 0
    bad: list[NoteMismatch] = []
    surplus: list[NoteMismatch] = []
    for key in sorted(ref_groups.keys() | dec_groups.keys()):
        refs, decs = ref_groups.get(key, []), dec_groups.get(key, [])
        for r, d in zip(refs, decs, strict=False):
            offset_ok = r.is_drum or abs(r.offset - d.offset) <= tolerance_ms
            ok = abs(r.onset - d.onset) <= tolerance_ms and offset_ok
            if ok:
                matched += 1
            else:
                bad.append(NoteMismatch(r, d))
        surplus += [NoteMismatch(r, None) for r in refs[len(decs):]]
        surplus += [NoteMismatch(None, d) for d in decs[len(refs):]]
    return NoteComparison(len(reference), len(decoded), matched, tuple(bad + surplus))
