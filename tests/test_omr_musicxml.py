"""A page read system by system becomes MusicXML with its key, time signature, clefs and measure numbers."""

from __future__ import annotations

import numpy as np
from music21 import converter

from scorebridge.inference.longform import read_systems
from scorebridge.inference.results import NotationTranslation
from scorebridge.modality import Modality
from scorebridge.notation import lmx_to_musicxml

# F major, 3/4, stated in the first system only; the second system restates the clef alone
SYSTEM_1 = ("measure key:fifths:-1 time beats:3 beat-type:4 clef:G2 F4 quarter A4 quarter C5 quarter "
            "measure B4 flat quarter A4 half").split()
SYSTEM_2 = "measure clef:G2 G4 quarter B4 flat quarter D5 quarter measure F4 half dot".split()


class SystemReader:
    """Stands in for the model: system i reads as the i-th LMX given."""

    def __init__(self, per_system: list[list[str]]):
        self.per_system = per_system

    def translate(self, system, to, source_modality, options):
        index = int(system[0, 0])
        return NotationTranslation(modality=Modality.NOTATION, steps=None, lmx=tuple(self.per_system[index]))

    def translate_batch(self, systems, to, source_modality, options):  # long-form reads systems in batches
        return [self.translate(s, to, source_modality, options) for s in systems]


def page(per_system: list[list[str]]) -> str:
    images = [np.full((8, 8), i, np.uint8) for i in range(len(per_system))]
    result = read_systems(SystemReader(per_system), images)
    assert not result.problems, result.problems
    return result.musicxml()


def measures_of(xml: str):
    return list(converter.parseData(xml, format="musicxml").parts[0].getElementsByClass("Measure"))


def test_key_and_time_of_the_first_system_hold_for_the_page_and_measures_are_numbered() -> None:
    xml = page([SYSTEM_1, SYSTEM_2])
    assert "<fifths>-1</fifths>" in xml and "<time>" in xml
    measures = measures_of(xml)
    assert [m.number for m in measures] == [1, 2, 3, 4]
    first = measures[0]
    assert first.keySignature.sharps == -1
    assert first.timeSignature.ratioString == "3/4"
    assert all(m.keySignature is None and m.timeSignature is None for m in measures[1:])  # stated once
    assert [p.name for n in measures[1].notes for p in n.pitches][0] == "B-"


def test_a_key_first_stated_in_a_later_system_holds_from_the_start() -> None:
    no_key = [t for t in SYSTEM_1 if not t.startswith("key:")]
    late_key = ["measure", "key:fifths:-1"] + SYSTEM_2[1:]
    measures = measures_of(page([no_key, late_key]))
    assert measures[0].keySignature.sharps == -1
    assert all(m.keySignature is None for m in measures[1:])


def test_a_page_without_time_tokens_gets_the_meter_its_measures_imply() -> None:
    no_time = [t for t in SYSTEM_1 if t not in ("time", "beats:3", "beat-type:4")]
    measures = measures_of(page([no_time, SYSTEM_2]))
    assert measures[0].timeSignature.ratioString == "3/4"
    assert measures[0].keySignature.sharps == -1


def test_a_real_key_change_stays_and_exact_lmx_round_trips_add_no_time() -> None:
    change = ["measure", "key:fifths:2"] + SYSTEM_2[1:]
    measures = measures_of(page([SYSTEM_1, change]))
    assert [m.keySignature.sharps if m.keySignature else None for m in measures] == [-1, None, 2, None]
    no_time = [t for t in SYSTEM_1 if t not in ("time", "beats:3", "beat-type:4")]
    assert "<time>" not in lmx_to_musicxml(no_time)  # infer_time is for pages only
    assert 'number="2"' in lmx_to_musicxml(no_time)
