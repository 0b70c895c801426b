"""Score-image degradations: determinism, shape, and that each operation does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from scorebridge.data import augment
from scorebridge.data.augment import AugmentOptions, degrade, degrade_variants

OFF = AugmentOptions.none()


def staff_image(h: int = 60, w: int = 200) -> np.ndarray:
    """White paper with five 1-px staff lines, a 3-px thick horizontal bar and a filled note head."""
    img = np.full((h, w), 255, np.uint8)
    for y in range(10, 35, 6):
        img[y, 20:180] = 0
    img[45:48, 40:160] = 0
    img[20:26, 90:97] = 0
    return img


def only(**kwargs: float) -> AugmentOptions:
    fields = {name: 0.0 for name in ("p_rotate", "p_morph", "p_local_negation", "p_global_negation",
                                     "p_contrast", "p_brightness")}
    fields.update(kwargs)
    return AugmentOptions(**fields)


def test_probability_zero_is_identity() -> None:
    img = staff_image()
    for seed in range(5):
        out = degrade(img, np.random.default_rng(seed), OFF)
        assert np.array_equal(out, img)
        assert out is not img  # a copy: callers may write into it


def test_same_seed_same_result_and_shape() -> None:
    img = staff_image()
    a = degrade(img, np.random.default_rng(7))
    b = degrade(img, np.random.default_rng(7))
    assert a.shape == img.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    outs = [degrade(img, np.random.default_rng(s)) for s in range(8)]
    assert len({o.tobytes() for o in outs}) > 1  # different seeds give different images


def test_variants_clean_first_and_stable() -> None:
    img = staff_image()
    six = degrade_variants(img, 6, seed=3)
    assert len(six) == 6 and np.array_equal(six[0], img)
    assert all(v.shape == img.shape and v.dtype == np.uint8 for v in six)
    assert any(not np.array_equal(v, img) for v in six[1:])
    # variant i depends only on (seed, i), not on how many variants were asked for
    three = degrade_variants(img, 3, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(three, six[:3], strict=False))
    assert not all(np.array_equal(x, y) for x, y in zip(degrade_variants(img, 6, seed=4), six, strict=True))
    with pytest.raises(ValueError):
        degrade_variants(img, 0)


def test_rotation_moves_line_ends_and_keeps_size() -> None:
    img = np.full((101, 301), 255, np.uint8)
    img[50, 20:281] = 0
    out = augment.rotate(img, 1.0)
    assert out.shape == img.shape
    dark_left = np.nonzero(out[:, 25] < 128)[0]
    dark_right = np.nonzero(out[:, 275] < 128)[0]
    # counter-clockwise by 1 degree: the left end goes down, the right end up, by about 125 * tan(1 deg) = 2.2 px
    assert dark_left.mean() > 51 and dark_right.mean() < 49
    assert out[0, 0] == 255 and out[-1, -1] == 255  # white corners, no black fill


def test_dilation_thickens_and_erosion_thins() -> None:
    img = staff_image()
    ink = (img < 128).sum()
    thick = augment.dilate_ink(img, (1.0, 1.0))
    thin = augment.erode_ink(img, (1.0, 1.0))
    assert (thick < 128).sum() > 1.5 * ink
    assert np.all(thick <= img)  # never lightens
    # a whole-pixel shift: 1-px staff lines vanish under erosion; only the 3-px bar and the head keep a core
    assert (thin[10] < 128).sum() == 0
    assert 0 < (thin < 128).sum() < ink
    # a sub-pixel shift only greys the stroke edges: no pixel turns from paper to full ink
    half = augment.dilate_ink(img, (0.5, 0.0))
    assert np.all(half <= img) and (half < img).any()
    assert not np.any((img == 255) & (half < 64))


def test_local_negation_only_touches_edges_and_counts() -> None:
    img = staff_image()
    edges = augment.edge_mask(img)
    assert edges.sum() > 0 and not edges[0, 0] and not edges[46, 100]  # paper and bar interior are uniform
    out = augment.local_negation(img, 0.2, np.random.default_rng(0))
    flipped = out != img
    assert not np.any(flipped & ~edges)
    assert np.all(out[flipped] == 255 - img[flipped])
    ratio = flipped.sum() / edges.sum()
    assert 0.15 < ratio < 0.25
    assert np.array_equal(augment.local_negation(img, 0.0, np.random.default_rng(0)), img)


def test_global_negation_counts() -> None:
    img = np.full((200, 500), 255, np.uint8)
    out = augment.global_negation(img, 0.01, np.random.default_rng(1))
    assert 600 < (out == 0).sum() < 1400  # 1% of 100,000
    assert set(np.unique(out)) <= {0, 255}


def test_contrast_and_brightness() -> None:
    img = staff_image()
    flat = augment.adjust_contrast(img, -1.0)
    assert int(flat.max()) - int(flat.min()) < int(img.max()) - int(img.min())
    assert np.array_equal(augment.adjust_contrast(img, 0.0), img)
    dark = augment.adjust_brightness(img, -0.5)
    assert dark.max() == 128  # 255 - 127.5 rounds to 128
    assert dark.min() == 0
    light = augment.adjust_brightness(img, 0.2)
    assert light.min() == 51 and light.max() == 255


def test_degrade_with_one_operation_forced() -> None:
    img = staff_image()
    out = degrade(img, np.random.default_rng(0), only(p_brightness=1.0))
    assert out.mean() != img.mean()
    out = degrade(img, np.random.default_rng(0), only(p_global_negation=1.0, max_global_negation=1.0))
    assert (out != img).sum() > 0


def test_rejects_bad_input_and_options() -> None:
    with pytest.raises(ValueError):
        degrade(np.zeros((4, 4, 3), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError):
        degrade(np.zeros((4, 4), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError):
        AugmentOptions(p_rotate=1.5)
    with pytest.raises(ValueError):
        AugmentOptions(max_morph_shift=-1)
    with pytest.raises(ValueError):
        AugmentOptions(brightness_range=(0.3, -0.3))
