"""System crops of real scores: measure ranges, time spans, crops and normalized staff height."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from scorebridge.render import EngraveOptions, crop_systems, engrave, normalize_system, system_crops

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
JOPLIN = CORPORA / "kern" / "joplin" / "antoinette.krn"
LIED = CORPORA / "openscore-lieder" / "scores" / "28688206.mxl"

pytestmark = pytest.mark.skipif(not JOPLIN.is_file(), reason="shared corpora not present")


@pytest.fixture(autouse=True)
def _font_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SCOREBRIDGE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def joplin():
    return engrave(JOPLIN)


@pytest.fixture(scope="module")
def joplin_systems(joplin, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCOREBRIDGE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        return crop_systems(joplin, zoom=2.0)


def staff_line_rows(img: np.ndarray) -> list[float]:
    """Centres of rows that are ink across most of the width (staff lines), from the horizontal projection."""
    w = img.shape[1]
    mid = img[:, w // 10: w * 9 // 10]
    rows = np.where((mid < 250).mean(axis=1) > 0.75)[0]
    dark = (255 - mid.astype(float)).sum(axis=1)
    groups = np.split(rows, np.where(np.diff(rows) > 1)[0] + 1)
    return [float((g * dark[g]).sum() / dark[g].sum()) for g in groups if len(g)]


def staff_heights(lines: list[float]) -> list[float]:
    """Top-to-bottom distance of every run of 5 evenly spaced lines."""
    heights, i = [], 0
    while i + 5 <= len(lines):
        gaps = np.diff(lines[i:i + 5])
        if gaps.max() - gaps.min() <= 1.5:
            heights.append(lines[i + 4] - lines[i])
            i += 5
        else:
            i += 1
    return heights


def test_multi_page_piece_has_systems_on_every_page(joplin, joplin_systems):
    assert joplin.page_count >= 2
    pages = {s.crop.page for s in joplin_systems}
    assert pages == set(range(1, joplin.page_count + 1))
    for page in pages:
        on_page = [s.crop.system for s in joplin_systems if s.crop.page == page]
        assert on_page == list(range(len(on_page)))


def test_measure_ranges_are_contiguous_and_cover_the_score(joplin, joplin_systems):
    crops = [s.crop for s in joplin_systems]
    assert crops[0].measure_start == 0
    for prev, cur in zip(crops, crops[1:], strict=False):
        assert cur.measure_start == prev.measure_end
    assert crops[-1].measure_end == len(joplin.measures)
    for c in crops:
        assert c.measure_end > c.measure_start
        assert list(c.measure_numbers) == [m.n for m in joplin.measures[c.measure_start:c.measure_end]]
    # Joplin's kern numbers measures 1..92 in order (measure 0 would be a pickup).
    numbers = [n for c in crops for n in c.measure_numbers]
    assert numbers == [str(i) for i in range(1, len(numbers) + 1)]


def test_time_spans_increase_and_end_with_the_piece(joplin, joplin_systems):
    crops = [s.crop for s in joplin_systems]
    assert crops[0].start_ms == 0
    for prev, cur in zip(crops, crops[1:], strict=False):
        assert prev.start_ms < prev.end_ms <= cur.start_ms
    assert crops[-1].end_ms == joplin.duration_ms > 60_000


def test_crops_are_nonempty_grayscale_and_inside_the_page(joplin_systems):
    for s in joplin_systems:
        img, b = s.image, s.crop.bbox
        assert img.dtype == np.uint8 and img.ndim == 2
        assert img.shape == (b.y1 - b.y0, b.x1 - b.x0)
        assert img.shape[0] > 2 * s.crop.staff_height_px and img.shape[1] > 200
        assert (img < 128).mean() > 0.02  # there is ink
        # nothing cut at the top/bottom edge: the margin rows are almost white
        assert (img[0] < 128).mean() < 0.05 and (img[-1] < 128).mean() < 0.05
        assert s.crop.staves == (1, 2)
        assert s.crop.staff_height_px == pytest.approx(2 * 28.8, abs=0.5)  # scale 40, zoom 2


def test_normalized_staff_height_is_18_px(joplin_systems):
    measured, found = [], 0
    for s in joplin_systems:
        norm = normalize_system(s.image, s.crop.staff_height_px)
        heights = staff_heights(staff_line_rows(norm))
        found += len(heights) == len(s.crop.staves)
        measured += heights
    assert found >= 0.8 * len(joplin_systems)
    assert np.median(measured) == pytest.approx(18, abs=0.5)
    assert all(abs(h - 18) <= 1.5 for h in measured)


def test_crop_metadata_is_json_serialisable(joplin):
    crops = system_crops(joplin, zoom=1.0)  # metadata only, no rasterizing
    record = json.loads(json.dumps([dataclasses.asdict(c) for c in crops]))
    assert record[0]["page"] == 1 and record[0]["bbox"]["x1"] > record[0]["bbox"]["x0"]
    assert record[-1]["measure_end"] == len(joplin.measures)


@pytest.mark.skipif(not LIED.is_file(), reason="OpenScore Lieder not present")
def test_musicxml_systems_carry_part_ids():
    crops = system_crops(engrave(LIED))
    assert crops and all(c.staves == (1, 2, 3) for c in crops)
    assert all(c.part_ids == ("P1", "P2") for c in crops)


def test_sampled_looks_keep_layout_consistent():
    rng = np.random.default_rng(3)
    for _ in range(3):
        options = EngraveOptions.sample(rng)
        score = engrave(JOPLIN, options)
        crops = system_crops(score, zoom=1.5)
        assert crops[0].measure_start == 0 and crops[-1].measure_end == len(score.measures)
        assert all(a.measure_end == b.measure_start for a, b in zip(crops, crops[1:], strict=False))
        # staff height = 4 staff spaces of 2 x unit (tenths of mm), times scale percent, at zoom 1.5
        expected = 8 * options.unit * options.scale / 100 * 1.5
        assert all(c.staff_height_px == pytest.approx(expected, rel=0.02) for c in crops)
