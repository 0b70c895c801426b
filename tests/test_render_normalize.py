"""Normalization of system images: grayscale, staff height, white background."""

from __future__ import annotations

import numpy as np
import pytest

from scorebridge.render import normalize_system, resize_to_staff_height, to_grayscale, whiten_background


def staff_image(spacing: int, width: int = 300, lines: int = 5, margin: int = 20) -> np.ndarray:
    """White image with `lines` 2-px black lines `spacing` px apart: staff height = 4 * spacing."""
    img = np.full((2 * margin + (lines - 1) * spacing + 2, width), 255, np.uint8)
    for i in range(lines):
        img[margin + i * spacing: margin + i * spacing + 2, :] = 0
    return img


def line_centres(img: np.ndarray) -> list[float]:
    dark = (255 - img.astype(float)).mean(axis=1)
    rows = np.where(dark > 0.2 * dark.max())[0]
    groups = np.split(rows, np.where(np.diff(rows) > 1)[0] + 1)
    return [float((g * dark[g]).sum() / dark[g].sum()) for g in groups]


@pytest.mark.parametrize("spacing", [5, 8, 12, 20])  # staff heights 20..80 px, up- and downscaling
def test_staff_height_becomes_target(spacing):
    out = resize_to_staff_height(staff_image(spacing), staff_height_px=4 * spacing, target=18)
    centres = line_centres(out)
    assert len(centres) == 5
    assert centres[-1] - centres[0] == pytest.approx(18, abs=0.6)


def test_resize_keeps_aspect_and_other_targets():
    img = staff_image(10, width=400)
    out = resize_to_staff_height(img, 40, target=24)
    assert out.shape == (round(img.shape[0] * 0.6), 240)
    assert resize_to_staff_height(img, 40, target=40).shape == img.shape
    with pytest.raises(ValueError):
        resize_to_staff_height(img, 0)


def test_downscaling_keeps_thin_lines_visible():
    out = resize_to_staff_height(staff_image(16), 64, target=18)  # 1/3.6 scale of 2-px lines
    assert out.min() < 200  # box averaging keeps ink; nearest-neighbour would drop lines


def test_whiten_background_removes_paper_texture():
    rng = np.random.default_rng(0)
    paper = rng.integers(200, 231, size=(50, 50)).astype(np.uint8)  # median about 215
    paper[20:25, :] = 40  # a line of ink
    out = whiten_background(paper)
    assert (out[:20] == 255).all() and (out[25:] == 255).all()
    assert (out[20:25] == 40).all()
    threshold = np.median(paper) - 20
    assert np.array_equal(out == 255, (paper > threshold) | (paper == 255))


def test_to_grayscale_handles_rgb_and_alpha():
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 255, 255)
    assert to_grayscale(rgb).tolist() == [[255, 0], [0, 0]]
    rgba = np.zeros((1, 2, 4), np.uint8)
    rgba[0, 1, 3] = 255  # opaque black; pixel 0 is fully transparent -> white paper
    assert to_grayscale(rgba).tolist() == [[255, 0]]
    with pytest.raises(ValueError):
        to_grayscale(np.zeros((2, 2, 2), np.uint8))


def test_normalize_system_composes_the_steps():
    rgb = np.repeat(staff_image(10)[..., None], 3, axis=2)
    rgb[rgb == 255] = 230  # gray paper
    out = normalize_system(rgb, staff_height_px=40)
    assert out.dtype == np.uint8 and out.ndim == 2
    assert line_centres(out)[-1] - line_centres(out)[0] == pytest.approx(18, abs=0.6)
    assert (out[0] == 255).all()  # paper became white
