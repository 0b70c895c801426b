"""Reading scores: MusicXML, .mxl containers, UTF-16, kern, ABC; part choice; every bad input is an InputError."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from scorebridge.errors import InputError
from scorebridge.notation import NoPianoPartError, load_musicxml, score_to_lmx, select_part

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
GRANDSTAFF = (
    Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "lmx" / "samples" / "basics"
)

TWO_PARTS = """<?xml version="1.0" encoding="{enc}"?>
<score-partwise version="3.1"><part-list>
<score-part id="P1"><part-name>Voice</part-name></score-part>
<score-part id="P2"><part-name>{name}</part-name></score-part></part-list>
<part id="P1"><measure number="1"><attributes><divisions>1</divisions><time><beats>1</beats><beat-type>4</beat-type>
</time><clef><sign>G</sign><line>2</line></clef></attributes>
<note><pitch><step>E</step><octave>5</octave></pitch><duration>1</duration><type>quarter</type></note></measure></part>
<part id="P2"><measure number="1"><attributes><divisions>1</divisions><time><beats>1</beats><beat-type>4</beat-type>
</time><clef><sign>F</sign><line>4</line></clef></attributes>
<note><pitch><step>C</step><octave>3</octave></pitch><duration>1</duration><type>quarter</type></note></measure></part>
</score-partwise>
"""


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_piano_part_chosen_by_name_and_by_index(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.musicxml", TWO_PARTS.format(enc="UTF-8", name="Pianoforte"))
    result = score_to_lmx(path)
    assert result.part_id == "P2" and result.measure_count == 1 and result.source == path
    assert "C3" in result.tokens and "E5" not in result.tokens
    assert "E5" in score_to_lmx(path, part=1).tokens
    with pytest.raises(InputError, match=r"s\.musicxml: part 3 out of range"):
        score_to_lmx(path, part=3)


def test_no_piano_part_is_an_error_listing_parts(tmp_path: Path) -> None:
    path = _write(tmp_path, "choir.xml", TWO_PARTS.format(enc="UTF-8", name="Bass"))
    with pytest.raises(NoPianoPartError, match="1: Voice; 2: Bass"):
        select_part(load_musicxml(path), None, path)


def test_utf16_musicxml(tmp_path: Path) -> None:
    path = _write(tmp_path, "u16.xml", TWO_PARTS.format(enc="UTF-16", name="Piano"), encoding="utf-16")
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert "C3" in score_to_lmx(path).tokens


def test_mxl_honours_container_rootfile(tmp_path: Path) -> None:
    path = tmp_path / "c.mxl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "META-INF/container.xml",
            '<container><rootfiles><rootfile full-path="music/real.musicxml"/></rootfiles></container>',
        )
        archive.writestr("decoy.xml", "<not-music/>")
        archive.writestr("music/real.musicxml", TWO_PARTS.format(enc="UTF-8", name="Piano"))
    assert "C3" in score_to_lmx(path).tokens


def test_grand_staff_part_chosen_when_no_name_matches() -> None:
    result = score_to_lmx(GRANDSTAFF / "grandstaff.xml")
    assert "staff:2" in result.tokens


def test_kern_file_reads() -> None:
    path = CORPORA / "kern" / "chopin-preludes" / "prelude28-20.krn"
    result = score_to_lmx(path)
    assert result.measure_count >= 12
    assert "staff:2" in result.tokens


def test_abc_reads(tmp_path: Path) -> None:
    path = _write(tmp_path, "tune.abc", "X:1\nT:t\nM:4/4\nL:1/4\nK:G\nGABc|d4|]\n")
    tokens = score_to_lmx(path).tokens
    assert tokens.count("measure") == 2 and "key:fifths:1" in tokens


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("garbage.musicxml", b"hello, not xml", "not valid XML"),
        ("html.xml", b"<html><body/></html>", "not a MusicXML score"),
        ("corrupt.mxl", b"PK\x03\x04 truncated", "corrupt .mxl"),
        ("noparts.xml", b'<score-partwise version="3.1"><part-list/></score-partwise>', "no <part>"),
        ("bad.krn", b"**kern\t**kern\n4c\n4d\t4e\n*-\t*-\n", "2 spines"),
        ("nonsense.krn", b"hello world\n", "exclusive interpretations"),
        ("empty.abc", b"X:1\nT:nothing\nK:C\n", "no notes found"),
        ("song.txt", b"la la", "unsupported score format"),
    ],
)
def test_bad_inputs_raise_input_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        score_to_lmx(path)
    assert str(info.value).startswith(str(path) + ":")
    assert problem in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_musicxml(tmp_path / "nope.mxl")
