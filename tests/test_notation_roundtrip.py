"""LMX round trips on real OpenScore Lieder piano parts, and the wrapper's fixes of lmx 1.0.0 bugs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest

from scorebridge.notation import LinearizationError, delinearize, linearize_part, load_musicxml, select_part
from scorebridge.notation.codec import split_skip

LIEDER = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "openscore-lieder" / "scores"
# A fixed sample: every 59th score by name (25 scores, all with a piano part).
SAMPLE = sorted(LIEDER.glob("*.mxl"))[::59]


def test_sample_has_25_scores() -> None:
    assert len(SAMPLE) == 25


@pytest.mark.parametrize("path", SAMPLE, ids=lambda p: p.stem)
def test_lieder_piano_part_round_trips_identically(path: Path) -> None:
    part = select_part(load_musicxml(path), None, path)
    tokens = linearize_part(part, path)
    assert tokens[0] == "measure" and len(tokens) > 50
    assert linearize_part(delinearize(tokens)) == tokens


def _measure(body: str, divisions: int = 12, attrs: str = "") -> ET.Element:
    return ET.fromstring(
        f'<part id="P1"><measure number="7"><attributes><divisions>{divisions}</divisions>{attrs}'
        f"<time><beats>2</beats><beat-type>4</beat-type></time></attributes>{body}</measure></part>"
    )


NOTE = (
    "<note><pitch><step>{s}</step><octave>4</octave></pitch><duration>{d}</duration>"
    "<voice>{v}</voice><type>{t}</type>{x}</note>"
)


def test_adjacent_forwards_are_merged_to_one_canonical_skip() -> None:
    body = (
        NOTE.format(s="C", d=24, v=1, t="half", x="")
        + "<backup><duration>24</duration></backup>"
        + "<forward><duration>6</duration></forward><forward><duration>6</duration></forward>"
        + NOTE.format(s="E", d=12, v=2, t="quarter", x="")
    )
    tokens = linearize_part(_measure(body))
    assert "forward quarter E4" in " ".join(tokens)  # two eighth forwards = one quarter forward
    assert linearize_part(delinearize(tokens)) == tokens


def test_tuplet_length_forward_uses_time_modification() -> None:
    assert split_skip(Fraction(1, 6)) == [("16th", "3in2")]
    assert split_skip(Fraction(10, 3)) == [("half", None), ("half", "3in2")]
    body = (
        NOTE.format(s="C", d=24, v=1, t="half", x="")
        + "<backup><duration>24</duration></backup><forward><duration>2</duration></forward>"
        + NOTE.format(
            s="E",
            d=2,
            v=2,
            t="16th",
            x="<time-modification><actual-notes>3</actual-notes>"
            "<normal-notes>2</normal-notes></time-modification>",
        )
    )
    tokens = linearize_part(_measure(body))
    assert "forward 16th 3in2" in " ".join(tokens)
    assert linearize_part(delinearize(tokens)) == tokens


def test_let_ring_tie_is_dropped_not_a_crash() -> None:
    body = NOTE.format(s="C", d=24, v=1, t="half", x='<notations><tied type="let-ring"/></notations>')
    assert "tied" not in " ".join(linearize_part(_measure(body)))


def test_rest_beams_and_one_note_tuplet_survive_delinearization() -> None:
    tokens = (
        "measure time beats:2 beat-type:4 C4 voice:1 eighth beam:begin rest 16th D4 16th beam:end "
        "E4 quarter 3in2 dot tuplet:start tuplet:stop"
    ).split()
    tokens_with_rest_beam = tokens[:]
    tokens_with_rest_beam.insert(tokens.index("rest") + 2, "beam:begin")
    for sequence in (tokens, tokens_with_rest_beam):
        assert linearize_part(delinearize(sequence)) == sequence


def test_unlinearizable_score_names_file_and_measure() -> None:
    body = NOTE.format(
        s="C",
        d=24,
        v=1,
        t="half",
        x="<time-modification><actual-notes>10</actual-notes>"
        "<normal-notes>12</normal-notes></time-modification>",
    )
    with pytest.raises(LinearizationError) as info:
        linearize_part(_measure(body, divisions=10), "song.mxl")
    assert str(info.value).startswith("song.mxl: measure 7:")
    assert "'10in12'" in str(info.value) and info.value.measure == "7"
