"""MusicXML repairs before linearization: notes without <type>, unit tuplets, invisible rests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

from scorebridge.notation import linearize_part
from scorebridge.notation.normalize import normalize_part, note_type_for

HEAD = ("<attributes><divisions>24</divisions><key><fifths>0</fifths></key><time><beats>4</beats>"
        "<beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>")


def part(*measures: str) -> ET.Element:
    body = "".join(f'<measure number="{i + 1}">{HEAD if i == 0 else ""}{m}</measure>' for i, m in enumerate(measures))
    return ET.fromstring(f'<part id="P1">{body}</part>')


def note(duration: int, extra: str = "", pitch: str = "<pitch><step>C</step><octave>4</octave></pitch>") -> str:
    return f"<note>{pitch}<duration>{duration}</duration><voice>1</voice>{extra}</note>"


def test_note_type_for_lengths_with_dots() -> None:
    assert note_type_for(Fraction(1)) == ("quarter", 0)
    assert note_type_for(Fraction(3, 2)) == ("quarter", 1)
    assert note_type_for(Fraction(7, 4)) == ("quarter", 2)
    assert note_type_for(Fraction(5, 2)) is None


def test_bare_whole_measure_rest_becomes_a_measure_rest() -> None:
    p = part("<note><rest/><duration>96</duration><voice>1</voice></note>")
    tokens = linearize_part(p)
    assert "rest:measure" in tokens
    assert p.find("measure/note/rest").get("measure") is None  # the input is not modified


def test_notes_without_type_get_the_type_of_their_duration() -> None:
    p = part(note(36) + note(12) + note(48))
    tokens = [t for t in linearize_part(p) if t in ("C4", "quarter", "dot", "eighth", "half")]
    assert tokens == ["C4", "quarter", "dot", "C4", "eighth", "C4", "half"]


def test_tuplet_notes_without_type_and_unit_tuplets() -> None:
    triplet = "<time-modification><actual-notes>3</actual-notes><normal-notes>2</normal-notes></time-modification>"
    unit = "<time-modification><actual-notes>8</actual-notes><normal-notes>8</normal-notes></time-modification>"
    p = part(note(8, triplet) * 3 + note(72, unit))
    tokens = linearize_part(p)
    assert tokens.count("eighth") == 3 and "3in2" in tokens
    assert "8in8" not in tokens and "dot" in tokens  # 72/24 = a dotted half


def test_invisible_rest_of_no_single_length_becomes_a_forward() -> None:
    hidden = '<note print-object="no"><rest/><duration>60</duration><voice>1</voice></note>'  # 5 eighths
    p = part(hidden + note(36))
    normalized = normalize_part(p)
    first = normalized.find("measure")
    assert first.find("forward/duration").text == "60" and len(first.findall("note")) == 1
    tokens = linearize_part(p)
    assert "forward" in tokens and "C4" in tokens
