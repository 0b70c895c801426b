"""Engraving with Verovio: formats, options, determinism and one-line errors for bad input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import mido
import numpy as np
import pytest

from scorebridge.errors import InputError
from scorebridge.render import FONTS, EngraveOptions, engrave, write_midi_bytes
from scorebridge.render.engrave import TimemapEvent, measure_plays

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"

TINY_MUSICXML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
  <part-list><score-part id="P1"><part-name>Flute</part-name></score-part></part-list>
  <part id="P1">
    <measure number="1">
      <attributes><divisions>1</divisions><key><fifths>0</fifths></key>
        <time><beats>4</beats><beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>
      <note><pitch><step>C</step><octave>5</octave></pitch><duration>2</duration><type>half</type></note>
      <note><pitch><step>E</step><octave>5</octave></pitch><duration>2</duration><type>half</type></note>
    </measure>
    <measure number="2">
      <note><pitch><step>G</step><octave>5</octave></pitch><duration>4</duration><type>whole</type></note>
    </measure>
  </part>
</score-partwise>
"""
TINY_ABC = "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|\n"
TINY_KERN = "**kern\n*M4/4\n=1\n4c\n4d\n4e\n4f\n=2\n1g\n==\n*-\n"
TINY_MEI = """<?xml version="1.0" encoding="UTF-8"?>
<mei xmlns="http://www.music-encoding.org/ns/mei" meiversion="5.0"><music><body><mdiv><score>
<scoreDef meter.count="4" meter.unit="4"><staffGrp><staffDef n="1" lines="5" clef.shape="G" clef.line="2"/>
</staffGrp></scoreDef><section><measure n="1"><staff n="1"><layer n="1">
<note pname="c" oct="4" dur="2"/><note pname="e" oct="4" dur="2"/></layer></staff></measure></section>
</score></mdiv></body></music></mei>
"""


def _notes(midi: bytes) -> list[int]:
    f = mido.MidiFile(file=io.BytesIO(midi))
    return [m.note for t in f.tracks for m in t if m.type == "note_on" and m.velocity > 0]


@pytest.mark.parametrize(
    ("name", "text", "pitches"),
    [
        ("tiny.musicxml", TINY_MUSICXML, [72, 76, 79]),
        ("tiny.xml", TINY_MUSICXML, [72, 76, 79]),
        ("tiny.abc", TINY_ABC, [60, 62, 64, 65, 67, 69, 71, 72]),
        ("tiny.krn", TINY_KERN, [60, 62, 64, 65, 67]),
        ("tiny.mei", TINY_MEI, [60, 64]),
    ],
)
def test_each_format_engraves_to_svg_timemap_and_midi(tmp_path, name, text, pitches):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    score = engrave(path)
    assert score.page_count == 1 and score.pages[0].lstrip().startswith("<svg")
    assert sorted(_notes(score.midi)) == sorted(pitches)
    onsets = [e.tstamp_ms for e in score.timemap if e.on]
    assert len(onsets) == len(set(onsets)) == len(pitches) and onsets == sorted(onsets)
    assert score.measures[0].index == 0 and score.measures[0].start_ms == 0


def test_mxl_and_utf16_musicxml_load(tmp_path):
    utf16 = TINY_MUSICXML.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    (tmp_path / "u16.musicxml").write_bytes(utf16)
    container = ('<?xml version="1.0"?><container><rootfiles><rootfile full-path="s/score.xml"/>'
                 "</rootfiles></container>")
    with zipfile.ZipFile(tmp_path / "tiny.mxl", "w") as zf:
        zf.writestr("META-INF/container.xml", container)
        zf.writestr("s/score.xml", utf16)  # UTF-16 inside the zip, as 42 music21 corpus files are
    for name in ("u16.musicxml", "tiny.mxl"):
        score = engrave(tmp_path / name)
        assert sorted(_notes(score.midi)) == [72, 76, 79]
        assert [s.part_id for s in score.staves] == ["P1"]
        assert [m.n for m in score.measures] == ["1", "2"]


def test_same_input_gives_identical_output(tmp_path):
    path = tmp_path / "tiny.musicxml"
    path.write_text(TINY_MUSICXML, encoding="utf-8")
    a, b = engrave(path), engrave(path)
    assert a.pages == b.pages and a.midi == b.midi and a.timemap == b.timemap


def test_options_change_the_layout(tmp_path):
    joplin = CORPORA / "kern" / "joplin" / "antoinette.krn"
    if not joplin.is_file():
        pytest.skip("shared corpora not present")
    base = engrave(joplin)
    big_music = engrave(joplin, EngraveOptions(unit=11.0, font="Bravura"))
    hi_res = engrave(joplin, EngraveOptions(scale=60))
    assert big_music.page_count > base.page_count
    assert len(big_music.layouts[0].systems) < len(base.layouts[0].systems)
    assert big_music.pages[0] != base.pages[0]
    # scale changes pixels only: same systems, staff height 0.6 x 72 px instead of 0.4 x 72
    assert [len(p.systems) for p in hi_res.layouts] == [len(p.systems) for p in base.layouts]
    layout = hi_res.layouts[0]
    assert layout.systems[0].staff_height * layout.unit_px == pytest.approx(0.6 * 72, abs=0.5)


def test_option_validation_and_sampling():
    with pytest.raises(ValueError):
        EngraveOptions(font="Comic")
    with pytest.raises(ValueError):
        EngraveOptions(spacing_linear=2.0)
    rng = np.random.default_rng(0)
    looks = [EngraveOptions.sample(rng) for _ in range(20)]
    assert {o.font for o in looks} <= set(FONTS) and len({o.font for o in looks}) >= 3
    assert len({(o.page_width, o.scale, o.spacing_system) for o in looks}) == 20
    assert EngraveOptions.sample(np.random.default_rng(5)) == EngraveOptions.sample(np.random.default_rng(5))
    narrow = [EngraveOptions.sample(rng, (650, 850)) for _ in range(20)]  # short systems for small models
    assert all(650 <= o.page_width < 850 for o in narrow) and len({o.page_width for o in narrow}) > 10


def test_write_midi_bytes(tmp_path):
    path = tmp_path / "tiny.krn"
    path.write_text(TINY_KERN, encoding="utf-8")
    out = write_midi_bytes(engrave(path), tmp_path / "out" / "tiny.mid")
    assert sorted(_notes(out.read_bytes())) == [60, 62, 64, 65, 67]


def test_repeats_map_back_to_drawn_measures():
    tm = (TimemapEvent(0, 0.0, measure_on="m1"), TimemapEvent(1000, 4.0, measure_on="m2"),
          TimemapEvent(2000, 8.0, measure_on="m1-rend2"), TimemapEvent(3000, 12.0, measure_on="m2-rend2"),
          TimemapEvent(4000, 16.0))
    plays = measure_plays(tm, lambda mid: mid.split("-")[0])
    assert [(p.start_ms, p.end_ms) for p in plays["m1"]] == [(0, 1000), (2000, 3000)]
    assert [(p.start_ms, p.end_ms) for p in plays["m2"]] == [(1000, 2000), (3000, 4000)]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("missing.musicxml", None, "no such file"),
        ("empty.krn", b"", "empty"),
        ("prose.xml", b"<?xml version='1.0'?><html><body>hello</body></html>", "Verovio"),
        ("broken.mxl", b"PK\x03\x04 this is not a zip", "corrupt .mxl"),
        ("nozip.mxl", b"plain text", "corrupt .mxl"),
        ("song.mp3", b"ID3", "unsupported"),
        ("binary.krn", bytes(range(256)) * 4, "Humdrum"),
    ],
)
def test_bad_input_raises_input_error_naming_the_file(tmp_path, name, content, problem):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as err:
        engrave(path)
    assert str(path) in str(err.value) and problem in str(err.value)
    assert "\n" not in str(err.value)


def test_verovio_prints_nothing(tmp_path, capfd):
    path = tmp_path / "prose.xml"
    path.write_text("<?xml version='1.0'?><html/>", encoding="utf-8")
    with pytest.raises(InputError):
        engrave(path)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_engraving_works_in_another_thread():
    """Verovio's resource path is per thread; engrave sets it for the thread it runs in."""
    from concurrent.futures import ThreadPoolExecutor

    from scorebridge.render import engrave

    example = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
    with ThreadPoolExecutor(1) as pool:
        engraved = pool.submit(engrave, example).result()
    assert engraved.page_count >= 1 and "<svg" in engraved.pages[0]
