"""OLiMPiC-synthetic reproduction (bench/olimpic_systems.py, which only bench_olimpic.py uses): .mpos parsing,
measures onto detected systems, engraved scores read back."""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from scorebridge.errors import InputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))  # the module lives beside its bench
from olimpic_systems import (  # noqa: E402
    MeasureBox,
    TruthSystem,
    assign_measures,
    musescore_systems,
    read_mpos,
    score_systems,
    systems_with_truth,
    verovio_systems,
)

HAS_MSCORE = shutil.which("mscore3") is not None or shutil.which("musescore3") is not None

MPOS = """<?xml version="1.0" encoding="UTF-8"?>
<score><elements>
  <element id="0" x="1200" y="2400" sx="3000" sy="1200" page="0"/>
  <element id="1" x="4200" y="2400" sx="3000" sy="1200" page="0"/>
  <element id="2" x="1200" y="6000" sx="3000" sy="1440" page="1"/>
</elements><events><event elid="0" position="0"/></events></score>"""


def test_read_mpos_scales_units_to_pixels():
    assert read_mpos(MPOS) == [MeasureBox(0, 200.0, 300.0), MeasureBox(0, 200.0, 300.0), MeasureBox(1, 500.0, 620.0)]


def test_read_mpos_rejects_bad_documents():
    with pytest.raises(ValueError, match="not an .mpos"):
        read_mpos("<score>")
    with pytest.raises(ValueError, match="out of order"):
        read_mpos('<score><elements><element id="1" y="0" sy="1" page="0"/></elements></score>')


def test_assign_measures_by_page_and_overlap():
    measures = [MeasureBox(0, 100, 200), MeasureBox(0, 100, 200), MeasureBox(0, 300, 400), MeasureBox(1, 100, 200)]
    systems = [(0, 90, 210), (0, 290, 420), (1, 80, 230)]
    got = assign_measures(systems, measures)
    assert got.ranges == ((0, 2), (2, 3), (3, 4))
    assert got.reasons == (None, None, None) and got.unassigned == ()


def test_assign_measures_reports_empty_split_and_missed():
    measures = [MeasureBox(0, 100, 200), MeasureBox(0, 300, 400), MeasureBox(0, 100, 200), MeasureBox(0, 600, 700)]
    systems = [(0, 90, 210), (0, 290, 420), (1, 90, 210)]  # the last detected system is on a page with no measure
    got = assign_measures(systems, measures)
    assert got.ranges == (None, (1, 2), None)
    assert "not contiguous" in got.reasons[0] and "no measure" in got.reasons[2]
    assert got.unassigned == (3,)  # the measure at y 600..700 lies on no detected system


def test_assign_measures_needs_half_the_measure_inside():
    got = assign_measures([(0, 0, 140)], [MeasureBox(0, 100, 200)])
    assert got.ranges == (None,) and got.unassigned == (0,)


def piano_part(measures: int) -> ET.Element:
    """A two-staff piano part: four quarter notes on top, a whole note below, in every measure."""
    steps = "CDEFGAB"
    out = ['<part id="P1">']
    for m in range(measures):
        head = ('<attributes><divisions>1</divisions><key><fifths>0</fifths></key><time><beats>4</beats>'
                '<beat-type>4</beat-type></time><staves>2</staves><clef number="1"><sign>G</sign><line>2</line>'
                '</clef><clef number="2"><sign>F</sign><line>4</line></clef></attributes>') if m == 0 else ""
        upper = "".join(f'<note><pitch><step>{steps[(m + k) % 7]}</step><octave>5</octave></pitch><duration>1'
                        f'</duration><voice>1</voice><type>quarter</type><staff>1</staff></note>' for k in range(4))
        lower = ('<backup><duration>4</duration></backup><note><pitch><step>C</step><octave>3</octave></pitch>'
                 '<duration>4</duration><voice>5</voice><type>whole</type><staff>2</staff></note>')
        out.append(f'<measure number="{m + 1}">{head}{upper}{lower}</measure>')
    return ET.fromstring("".join(out) + "</part>")


@pytest.mark.parametrize("engraver", ["musescore", "verovio"])
def test_engraved_piano_part_reads_back_into_contiguous_systems(engraver, tmp_path):
    if engraver == "musescore" and not HAS_MSCORE:
        pytest.skip("musescore3 not installed")
    part = piano_part(32)
    read = musescore_systems(part, tmp_path, dpi=150) if engraver == "musescore" else verovio_systems(part, tmp_path)
    assert read.measures == 32 and read.problems == () and read.unassigned_measures == 0
    assert read.detected == len(read.systems) >= 2
    spans = [(s.measure_start, s.measure_end) for s in read.systems]
    assert spans[0][0] == 0 and spans[-1][1] == 32
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    for s in read.systems:
        assert s.image.dtype == np.uint8 and s.image.ndim == 2
        # four pitched notes on top and one below per measure, each with a pitch token
        assert sum(bool(re.fullmatch(r"[A-G]\d", t)) for t in s.lmx) == 5 * (s.measure_end - s.measure_start)


def test_measure_count_mismatch_scores_nothing():
    page = np.full((200, 300), 255, np.uint8)
    read = systems_with_truth(piano_part(3), [page], [MeasureBox(0, 0, 10)], "Test")
    assert read.systems == () and "draws 1 measures, the part has 3" in read.problems[0]


@dataclass
class _Result:
    lmx: list[str]


@dataclass
class _Limits:
    notation: int = 1000


class _EchoModel:
    """Reads a system image back as the LMX stored under its first pixel value; 7 is an unreadable image."""

    limits = _Limits()

    def __init__(self, answers: dict[int, list[str]]):
        self.answers = answers

    def translate(self, image, to, source_modality, options):  # noqa: ARG002 - the model's signature
        key = int(image[0, 0])
        if key == 7:
            raise InputError("system", "too wide")
        return _Result(self.answers[key])


def _system(key: int, lmx: list[str]) -> TruthSystem:
    return TruthSystem(np.full((4, 4), key, np.uint8), 0, key, 0, 1, tuple(lmx))


def test_score_systems_is_corpus_ser_and_keeps_skips():
    model = _EchoModel({1: ["a", "b", "c", "d"], 2: ["x"]})
    out = score_systems(model, [_system(1, ["a", "b", "c", "d"]), _system(2, ["p", "q", "r", "s"]),
                                _system(7, ["z"])])
    assert out.evaluated == 2 and len(out.skipped) == 1 and out.skipped[0].reason == "too wide"
    assert out.scores.ser == pytest.approx(4 / 8)  # 0 edits + 4 edits over 8 truth tokens
