"""SVG -> grayscale PNG with rsvg-convert and the fonts decoded from verovio's package."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from scorebridge.errors import MissingToolError
from scorebridge.render import raster, svg_to_array, svg_to_png

pytestmark = pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert not installed")

BOX_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="40px" height="20px">'
           '<rect x="10" y="5" width="20" height="10" fill="black"/></svg>')
# A SMuFL glyph (U+E1D5, an eighth note as used in tempo marks) in text: only visible if Leipzig is found.
GLYPH_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="60px" height="60px">'
             '<text x="20" y="45" font-family="Leipzig" font-size="40px">&#xE1D5;</text></svg>')


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCOREBRIDGE_CACHE", str(tmp_path / "cache"))


def test_svg_to_array_is_grayscale_at_the_requested_zoom():
    img = svg_to_array(BOX_SVG, zoom=2.0)
    assert img.dtype == np.uint8 and img.shape == (40, 80)
    assert img[20, 40] == 0 and img[2, 2] == 255  # black box on a white (not transparent) background
    assert (img < 128).sum() == 40 * 20


def test_svg_to_png_writes_a_grayscale_file(tmp_path):
    out = svg_to_png(BOX_SVG, tmp_path / "sub" / "box.png", zoom=1.0)
    with Image.open(out) as im:
        assert im.mode == "L" and im.size == (40, 20)
    assert [p.name for p in out.parent.iterdir()] == ["box.png"]  # no temporary left behind


def test_fonts_are_decoded_once_into_the_cache(tmp_path):
    folder = raster.font_dir()
    assert folder.is_relative_to(tmp_path / "cache")
    names = {p.name for p in folder.glob("*.ttf")}
    assert {"Leipzig.ttf", "Bravura.ttf", "Leland.ttf", "Petaluma.ttf", "Gootville.ttf"} <= names
    assert any(n.startswith("Liberation_Serif") for n in names)
    assert TTFont(folder / "Leipzig.ttf")["name"].getDebugName(1) == "Leipzig"
    conf = (folder / "fonts.conf").read_text()
    assert "/etc/fonts/fonts.conf" in conf and str(folder) in conf
    mtime = (folder / "Leipzig.ttf").stat().st_mtime_ns
    assert raster.font_dir() == folder and (folder / "Leipzig.ttf").stat().st_mtime_ns == mtime


def test_smufl_text_glyph_is_drawn():
    img = svg_to_array(GLYPH_SVG)
    # Without the decoded font, fontconfig falls back to a font lacking the glyph and draws a box,
    # exactly as for a family that does not exist at all.
    missing = svg_to_array(GLYPH_SVG.replace("Leipzig", "NoSuchFontFamily"))
    assert (img < 128).sum() > 30
    assert not np.array_equal(img, missing)


def test_missing_rsvg_convert_raises(monkeypatch):
    from scorebridge.render import svg_raster

    monkeypatch.setattr(raster.shutil, "which", lambda name: None)
    monkeypatch.setattr(svg_raster, "available", lambda: False)  # nor the resvg wheel (tests/test_svg_raster.py)
    with pytest.raises(MissingToolError, match="librsvg2-bin"):
        svg_to_array(BOX_SVG)
