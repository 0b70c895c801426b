"""The wheel-only rasterizer (resvg via resvg-py): used when rsvg-convert is missing, close to rsvg-convert's pixels."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from scorebridge.pages.layout import detect_layout
from scorebridge.render import engrave, raster, svg_raster, svg_to_array
from scorebridge.render.crops import crop_systems

pytest.importorskip("resvg_py")

BOX_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="40px" height="20px">'
           '<rect x="10" y="5" width="20" height="10" fill="black"/></svg>')
# Verovio's text shape: a zero-sized <text> whose <tspan> carries the size (resvg alone would drop it).
TEXT_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="120px" height="60px" font-family="Times, serif">'
            '<text x="5" y="45" font-size="0px"><tspan font-size="40px">Lied</tspan></text></svg>')
# Bounds measured on real pages (docs/gpu-data.md, bench/bench_svg_raster.py), with headroom.
# At zoom 2 (the builder's supersampled zoom; at zoom 1 the 1-px staff lines sit at the ink threshold and their
# grey differs by ~20 levels): this page measured MAD 0.36, ink IoU 0.83.
ZOOM = 2.0
MAX_MAD = 1.0  # mean |rsvg - resvg| over a page without text, 0..255
MIN_INK_IOU = 0.75


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCOREBRIDGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(raster.RASTER_ENV, raising=False)


@pytest.fixture
def no_rsvg(monkeypatch):
    real = shutil.which
    monkeypatch.setattr(raster.shutil, "which", lambda name: None if name == "rsvg-convert" else real(name))


def test_without_rsvg_convert_the_wheel_renders_and_says_so(no_rsvg, caplog):
    raster._logged_backend.clear()
    with caplog.at_level(logging.INFO, logger="scorebridge.render.raster"):
        img = svg_to_array(BOX_SVG, zoom=2.0)
    assert raster.backend() == "resvg"
    assert "rasterizing SVG with resvg" in caplog.text
    assert img.dtype == np.uint8 and img.shape == (40, 80)
    assert img[20, 40] == 0 and img[2, 2] == 255
    assert abs(int((img < 128).sum()) - 40 * 20) <= 2 * (40 + 20)  # the box, give or take its anti-aliased rim


def test_verovio_text_is_drawn(no_rsvg):
    assert (svg_to_array(TEXT_SVG) < 128).sum() > 100


def test_an_unknown_forced_backend_is_refused(monkeypatch):
    monkeypatch.setenv(raster.RASTER_ENV, "cairo")
    with pytest.raises(Exception, match="SCOREBRIDGE_RASTER"):
        svg_to_array(BOX_SVG)


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert not installed")
def test_a_verovio_page_agrees_with_rsvg_convert(monkeypatch, example_score):
    engraved = engrave(example_score)
    svg = svg_raster_free_of_text(engraved.pages[0])
    monkeypatch.setenv(raster.RASTER_ENV, "rsvg-convert")
    a = svg_to_array(svg, ZOOM)
    crops_a = crop_systems(engraved, zoom=2.0)
    monkeypatch.setenv(raster.RASTER_ENV, "resvg")
    b = svg_to_array(svg, ZOOM)
    crops_b = crop_systems(engraved, zoom=2.0)
    assert a.shape == b.shape
    assert np.abs(a.astype(np.int16) - b).mean() < MAX_MAD
    ink_a, ink_b = a < 128, b < 128
    assert (ink_a & ink_b).sum() / (ink_a | ink_b).sum() > MIN_INK_IOU
    assert [c.crop for c in crops_a] == [c.crop for c in crops_b]  # the cutter works from the SVG's layout
    assert [x.image.shape for x in crops_a] == [x.image.shape for x in crops_b]
    staves = [[(round(s.top), round(s.bottom)) for y in detect_layout(img).systems for s in y.staves]
              for img in (a, b)]
    assert staves[0] and len(staves[0]) == len(staves[1])
    assert max(abs(p - q) for sa, sb in zip(*staves, strict=True) for p, q in zip(sa, sb, strict=True)) <= 1


def svg_raster_free_of_text(svg: str) -> str:
    """Text is drawn with different fonts by the two (Liberation Serif here, fontconfig's pick there)."""
    import re

    return re.sub(r"<text\b.*?</text>", "", svg, flags=re.S)


def test_available_reflects_the_import():
    assert svg_raster.available()
