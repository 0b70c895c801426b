"""Pitch-level comparison of two single-part MusicXML scores, through music21 (checks alter restoration)."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass

from lmx.symbolic.part_to_score import part_to_score


@dataclass(frozen=True)
class PitchAgreement:
    """Measures whose sounding MIDI pitches agree as multisets, out of the measures compared."""

    equal_measures: int
    measures: int
    first_mismatch: int | None  # 0-based measure position, None if all agree

    @property
    def ratio(self) -> float:
        return self.equal_measures / self.measures if self.measures else 1.0


def part_to_musicxml(part: ET.Element) -> str:
    """A single-part score-partwise document (text) holding a copy of ``part``."""
    tree = part_to_score(copy.deepcopy(part), part_id="P1")
    return ET.tostring(tree.getroot(), encoding="unicode")


def midi_pitches_by_measure(musicxml: str) -> list[Counter[int]]:
    """MIDI pitch multiset of each measure of the first part, as music21 reads the MusicXML text."""
    import music21  # slow import; only needed for checks

    score = music21.converter.parseData(musicxml, format="musicxml")
    part = score.parts[0]
    return [
        Counter(p.midi for n in measure.recurse().notes for p in n.pitches)
        for measure in part.getElementsByClass("Measure")
    ]


def compare_pitches(original: str, other: str) -> PitchAgreement:
    """Compare two MusicXML texts measure by measure (by position)."""
    a, b = midi_pitches_by_measure(original), midi_pitches_by_measure(other)
    n = max(len(a), len(b))
    equal = [i < len(a) and i < len(b) and a[i] == b[i] for i in range(n)]
    first = next((i for i, ok in enumerate(equal) if not ok), None)
    return PitchAgreement(sum(equal), n, first)
