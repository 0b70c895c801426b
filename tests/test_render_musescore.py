"""MuseScore 3 as the evaluation engraver (skipped where mscore3 is not installed)."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from scorebridge.errors import InputError, MissingToolError
from scorebridge.render import musescore, musescore_render

HAS_MSCORE = shutil.which("mscore3") is not None or shutil.which("musescore3") is not None
needs_mscore = pytest.mark.skipif(not HAS_MSCORE, reason="musescore3 not installed")

TINY_MUSICXML = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1">
  <part-list><score-part id="P1"><part-name>Flute</part-name></score-part></part-list>
  <part id="P1"><measure number="1">
    <attributes><divisions>1</divisions><key><fifths>0</fifths></key>
      <time><beats>4</beats><beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>
    <note><pitch><step>C</step><octave>5</octave></pitch><duration>4</duration><type>whole</type></note>
  </measure></part>
</score-partwise>
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.musicxml"
    path.write_text(TINY_MUSICXML, encoding="utf-8")
    return path


@needs_mscore
def test_png_pages(tiny, tmp_path):
    out = musescore_render(tiny, tmp_path / "out", fmt="png", dpi=100)
    assert [p.name for p in out] == ["tiny-1.png"]
    with Image.open(out[0]) as im:
        assert im.width == pytest.approx(8.27 * 100, rel=0.05)  # A4 at 100 dpi
        gray = im.convert("L")
        assert gray.getextrema()[0] < 64  # there is ink
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tiny-1.png"]  # no temporaries


@needs_mscore
def test_pdf(tiny, tmp_path):
    out = musescore_render(tiny, tmp_path / "out", fmt="pdf")
    assert [p.name for p in out] == ["tiny.pdf"]
    assert out[0].read_bytes().startswith(b"%PDF")


@needs_mscore
def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        musescore_render(tmp_path / "missing.musicxml", tmp_path / "out")
    with pytest.raises(InputError, match="cannot read"):
        musescore_render(tmp_path / "song.mp3", tmp_path / "out")
    bad = tmp_path / "bad.musicxml"
    bad.write_text("this is not MusicXML")
    with pytest.raises(InputError):
        musescore_render(bad, tmp_path / "out")
    with pytest.raises(ValueError):
        musescore_render(bad, tmp_path / "out", fmt="svg")


def test_missing_binary_names_the_debian_package(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(musescore.shutil, "which", lambda name: None)
    with pytest.raises(MissingToolError, match="musescore3"):
        musescore_render(tiny, tmp_path / "out")


@needs_mscore
def test_timeout_is_an_error_not_a_hang(tiny, tmp_path):
    with pytest.raises(InputError, match="did not finish"):
        musescore_render(tiny, tmp_path / "out", timeout_s=0.001)
    assert list((tmp_path / "out").iterdir()) == []
