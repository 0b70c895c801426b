"""Vocabulary, strict tokens, and conformance with the authors' reference MusicXML → LMX samples."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scorebridge.errors import InputError
from scorebridge.notation import (
    VOCABULARY,
    UnknownTokenError,
    check_tokens,
    delinearize,
    linearize_part,
    lmx_to_musicxml,
    read_lmx_file,
)

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "lmx"
SAMPLES = sorted((REFERENCE / "samples").glob("*/*.xml"))


def test_vocabulary_equals_reference_file() -> None:
    reference = [
        line.strip() for line in (REFERENCE / "vocabulary.txt").read_text().splitlines() if line.strip()
    ]
    assert list(VOCABULARY) == reference
    assert len(VOCABULARY) == 224


def test_there_are_reference_samples() -> None:
    assert len(SAMPLES) >= 6


@pytest.mark.parametrize("xml_path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_linearization_matches_reference_sample(xml_path: Path) -> None:
    part = ET.parse(xml_path).getroot().find("part")
    expected = read_lmx_file(xml_path.with_suffix(".lmx"))
    assert expected, "the reference .lmx holds tokens"
    assert linearize_part(part, xml_path) == expected


@pytest.mark.parametrize("xml_path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_reference_samples_round_trip(xml_path: Path) -> None:
    tokens = read_lmx_file(xml_path.with_suffix(".lmx"))
    assert linearize_part(delinearize(tokens)) == tokens


def test_check_tokens_names_token_and_position() -> None:
    with pytest.raises(UnknownTokenError) as info:
        check_tokens(["measure", "C4", "quarterr", "D4"])
    assert info.value.token == "quarterr" and info.value.position == 2
    assert "'quarterr'" in str(info.value) and "position 2" in str(info.value)


def test_delinearize_rejects_unknown_token_instead_of_dropping_it() -> None:
    with pytest.raises(UnknownTokenError, match="position 3"):
        delinearize("measure C4 quarter blah")
    with pytest.raises(UnknownTokenError):
        lmx_to_musicxml(["measure", "rest", "quarter", "<pad>"])


def test_read_lmx_file_skips_header_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "a.lmx"
    path.write_text("version: 1.0\nflavor: core\n---\nmeasure # 1\n  C4 quarter  # a note\n---\nmeasure\n")
    assert read_lmx_file(path) == ["measure", "C4", "quarter", "measure"]


def test_read_lmx_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.lmx"
    path.write_text("measure C4 quarter\nmeasure H4 quarter\n")
    with pytest.raises(InputError, match=r"bad\.lmx: unknown LMX token 'H4' at position 4"):
        read_lmx_file(path)
    with pytest.raises(InputError, match="file not found"):
        read_lmx_file(tmp_path / "missing.lmx")
