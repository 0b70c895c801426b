"""Slices of measures/staves that stand alone; LMX → MusicXML that music21 and Verovio read; pitch restoration."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorebridge.notation import linearize_part, lmx_to_musicxml, load_musicxml, select_part
from scorebridge.notation.compare import compare_pitches, part_to_musicxml
from scorebridge.notation.slicing import attributes_in_force, lmx_for_measures

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
LIEDER = CORPORA / "openscore-lieder" / "scores"


@pytest.fixture(scope="module")
def piano_part():
    path = sorted(LIEDER.glob("*.mxl"))[59]
    return select_part(load_musicxml(path), None, path)


def test_slice_carries_clefs_and_key_like_a_printed_system(piano_part) -> None:
    state = attributes_in_force(piano_part, 10)
    assert {"divisions", "key", "time", "clef:1", "clef:2"} <= set(state)
    tokens = lmx_for_measures(piano_part, 10, 14)
    assert tokens.count("measure") == 4
    head = tokens[: tokens.index("measure", 1)]
    assert any(t.startswith("key:fifths:") for t in head)
    assert "time" not in head  # a system repeats clefs and key, not the time signature (as OLiMPiC's LMX)
    assert "staff:1" in head and "staff:2" in head
    assert sum(t.startswith("clef:") for t in head) >= 2
    with_time = lmx_for_measures(piano_part, 10, 14, carry=("divisions", "key", "time", "staves", "clef"))
    assert "time" in with_time[: with_time.index("measure", 1)]


def test_slice_of_one_staff_is_a_single_staff(piano_part) -> None:
    bass = lmx_for_measures(piano_part, 10, 14, staves=[2])
    assert not any(t.startswith("staff:") for t in bass)
    head = bass[: bass.index("measure", 1)]
    assert [t for t in head if t.startswith("clef:")] == [
        "clef:"
        + attributes_in_force(piano_part, 10)["clef:2"].findtext("sign")
        + attributes_in_force(piano_part, 10)["clef:2"].findtext("line")
    ]
    # Same pitches as the staff-2 notes of the full slice.
    full = lmx_for_measures(piano_part, 10, 14)
    assert linearize_part(load_part(lmx_to_musicxml(bass))) == bass
    assert set(t for t in bass if t[:1].isupper() and t[1:].isdigit()) <= set(full)


def load_part(text: str):
    import xml.etree.ElementTree as ET

    return ET.fromstring(text).find("part")


def test_slice_range_is_checked(piano_part) -> None:
    with pytest.raises(ValueError, match="not within"):
        lmx_for_measures(piano_part, 5, 5)


def test_musicxml_from_slice_is_read_by_music21_and_engraved_by_verovio(piano_part) -> None:
    import music21
    import verovio

    text = lmx_to_musicxml(lmx_for_measures(piano_part, 3, 7))
    score = music21.converter.parseData(text, format="musicxml")
    assert len(score.parts[0].getElementsByClass("Measure")) == 4
    assert len(list(score.recurse().notes)) > 4
    toolkit = verovio.toolkit()
    assert toolkit.loadData(text)
    svg = toolkit.renderToSVG(1)
    assert svg.count('class="measure"') == 4 and 'class="note"' in svg


@pytest.mark.parametrize(
    "path",
    [*sorted(LIEDER.glob("*.mxl"))[120:361:120], CORPORA / "kern" / "chopin-preludes" / "prelude28-20.krn"],
    ids=lambda p: p.stem,
)
def test_midi_pitches_survive_lmx(path: Path) -> None:
    part = select_part(load_musicxml(path), None, path)
    result = compare_pitches(part_to_musicxml(part), lmx_to_musicxml(linearize_part(part, path)))
    assert result.measures >= 8
    assert result.first_mismatch is None, result
