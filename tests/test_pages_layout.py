"""Staff and system detection on pages we engrave ourselves (truth from the engraver), clean and scan-like."""

from __future__ import annotations

import numpy as np
import pytest

from scorebridge.constants import STAFF_HEIGHT_PX
from scorebridge.pages import PageLayout, PageSystem, detect_layout, page_systems
from scorebridge.pages import synthetic as sy
from scorebridge.render import EngraveOptions, engrave

LIED = "openscore-lieder/scores/28688206.mxl"  # voice + piano, 2 pages
KERN = "kern/joplin/antoinette.krn"  # piano, braced grand staves
ZOOM = 1.5  # staff height ~43 px: a ~150-dpi scan


@pytest.fixture(autouse=True)
def _font_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SCOREBRIDGE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def pages(corpora, example_score, tmp_path_factory) -> dict[str, sy.SyntheticPage]:
    """First pages of a Lied, a kern piano piece and the bundled minuet, rendered once."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCOREBRIDGE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        out = {}
        for name, path in (("lied", corpora / LIED), ("kern", corpora / KERN), ("minuet", example_score)):
            out[name] = sy.engraved_page(engrave(path, EngraveOptions(header="auto")), 0, ZOOM)
        return out


def assert_matches(page: sy.SyntheticPage, layout: PageLayout) -> None:
    score = sy.score_layout(page.systems, layout, min_iou=0.7)
    assert score.detected == score.truth, [d.bbox for d in layout.systems]
    assert score.matched == score.truth, ([t.bbox for t in page.systems], [d.bbox for d in layout.systems])
    assert max(score.staff_height_errors) < 0.1
    for truth, found in zip(page.systems, layout.systems, strict=True):
        assert len(found.staves) == truth.staves


@pytest.mark.parametrize("name", ["lied", "kern", "minuet"])
def test_clean_pages_match_the_engraver(pages, name):
    layout = detect_layout(pages[name].image)
    assert layout.skew_deg == 0.0
    assert_matches(pages[name], layout)


def _variant(page: sy.SyntheticPage, kind: str) -> sy.SyntheticPage:
    rng = np.random.default_rng(7)
    if kind == "border":
        return sy.add_scan_border(page, paper=30, border=50)
    if kind == "title":
        return sy.add_text_block(page)
    if kind == "noise":
        return sy.add_noise(page, 25.0, rng)
    if kind == "rotated":
        return sy.rotate(page, 1.6)
    return sy.rotate(sy.add_noise(sy.add_text_block(sy.add_scan_border(page, 30, 50)), 20.0, rng), -1.3)


@pytest.mark.parametrize("kind", ["border", "title", "noise", "rotated", "all"])
@pytest.mark.parametrize("name", ["lied", "kern"])
def test_scan_like_pages_match_the_engraver(pages, name, kind):
    page = _variant(pages[name], kind)
    layout = detect_layout(page.image)
    assert_matches(page, layout)
    if kind == "rotated":
        assert layout.skew_deg == pytest.approx(1.6, abs=0.1)
    if kind == "all":
        assert layout.skew_deg == pytest.approx(-1.3, abs=0.1)


def test_page_systems_are_normalized_crops_in_reading_order(pages):
    page = pages["lied"]
    systems = page_systems(page.image)
    assert [s.system for s in systems] == list(range(len(page.systems)))
    tops = [s.bbox.y0 for s in systems]
    assert tops == sorted(tops)
    for found, truth in zip(systems, page.systems, strict=True):
        assert isinstance(found, PageSystem)
        assert found.image.dtype == np.uint8 and found.image.ndim == 2
        assert found.staves == truth.staves
        b = found.bbox  # the crop holds the whole staff region, and not the neighbouring system's staves
        assert b.y0 <= truth.bbox.y0 and b.y1 >= truth.bbox.y1
        # 18-px staves: the normalized height is the crop's height scaled by 18 / staff height
        expected = (b.y1 - b.y0) * STAFF_HEIGHT_PX / found.staff_height_px
        assert abs(found.image.shape[0] - expected) <= 1
        assert found.image.max() == 255 and found.image.min() < 128
    for upper, lower in zip(systems, systems[1:], strict=False):
        assert upper.bbox.y1 <= lower.bbox.y0 + 1


def test_normalized_staff_lines_are_18_px_apart(pages):
    """Staff lines in the normalized crop: five dark rows spanning ~18 px (the training look)."""
    system = page_systems(pages["minuet"].image)[0]
    img = system.image
    w = img.shape[1]
    dark = (img[:, w // 4: 3 * w // 4] < 250).mean(axis=1)  # whitened: anything not white is ink
    rows = np.flatnonzero(dark > 0.6)
    groups = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    centres = [float(g.mean()) for g in groups]
    assert len(centres) >= 5
    assert centres[4] - centres[0] == pytest.approx(STAFF_HEIGHT_PX, abs=1.5)


def test_blank_and_noise_pages_give_nothing(caplog):
    blank = np.full((1200, 900), 255, np.uint8)
    with caplog.at_level("WARNING"):
        assert page_systems(blank) == []
    assert "no staves" in caplog.text
    noise = np.clip(np.random.default_rng(0).normal(235, 20, (800, 600)), 0, 255).astype(np.uint8)
    assert detect_layout(noise).systems == ()


def test_text_only_page_gives_no_staves():
    page = sy.add_text_block(sy.SyntheticPage(np.full((600, 900), 255, np.uint8), ()), lines=8)
    assert detect_layout(page.image).systems == ()


def test_bad_page_arrays_are_rejected():
    with pytest.raises(ValueError):
        detect_layout(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        detect_layout(np.zeros((10, 10), np.float32))
