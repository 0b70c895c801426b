"""Degradations of score images used as model *inputs* (never as targets), after the reference system.

The reference bakes six variants of every software-rendered system image (variant 0 clean, 1-5 degraded);
each degradation is applied independently with probability 0.5, in this order:

1. **rotation** by an angle drawn uniformly from [-1, 1] degrees about the centre, bilinear, same size,
   corners filled with white;
2. **erosion or dilation** (equal odds) with a 3x3 square structuring element. Ink is dark, so *dilation*
   of the ink is a 3x3 minimum filter (strokes get thicker) and *erosion* a 3x3 maximum filter (thinner).
   The reference moves a copy of the image by a sub-pixel offset and takes the min/max; the 3x3 window is
   the stronger, integer-pixel version of the same operation;
3. **local pixel negation**: a pixel is an *edge* pixel when the mean of its 3x3 neighbourhood (the part
   inside the image) lies strictly between 0.1 and 0.9 of full scale, i.e. the neighbourhood is neither
   uniformly white nor uniformly black. A fraction f ~ U(0, 0.2) of the edge pixels, chosen independently,
   is inverted (v -> 255 - v). Uniform areas are never touched, so the noise clings to the strokes;
4. **global pixel negation**: a fraction f ~ U(0, 0.01) of all pixels, chosen independently, is inverted;
5. **contrast**: with e ~ U(-1, 1), v -> mean + (v - mean) * 2**e (mean over the image), clipped;
6. **brightness**: with d ~ U(-0.5, 0.2), v -> v + d * 255, clipped.

All randomness comes from the ``numpy.random.Generator`` passed in, so a variant is a pure function of
(image, seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

EDGE_LOW, EDGE_HIGH = 0.1, 0.9  # 3x3 means outside (0.1, 0.9) count as uniform (reference values)
REFERENCE_VARIANTS = 6  # the reference bakes variant 0 (clean) plus five degraded copies


@dataclass(frozen=True)
class AugmentOptions:
    """Probabilities (each in [0, 1]) and ranges of the degradations; defaults are the reference's."""

    p_rotate: float = 0.5
    max_rotation_deg: float = 1.0
    p_morph: float = 0.5
    max_morph_shift: float = 1.0  # px: ink grows or shrinks by a sub-pixel shifted copy, as the reference does
    p_local_negation: float = 0.5
    max_local_negation: float = 0.2  # fraction of edge pixels inverted is drawn from U(0, this)
    p_global_negation: float = 0.5
    max_global_negation: float = 0.01  # fraction of all pixels inverted is drawn from U(0, this)
    p_contrast: float = 0.5
    contrast_range: tuple[float, float] = (-1.0, 1.0)  # exponent e of the contrast factor 2**e
    p_brightness: float = 0.5
    brightness_range: tuple[float, float] = (-0.5, 0.2)  # added to [0, 1]-scaled pixel values

    def __post_init__(self) -> None:
        for name in ("p_rotate", "p_morph", "p_local_negation", "p_global_negation", "p_contrast", "p_brightness",
                     "max_local_negation", "max_global_negation"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"AugmentOptions.{name} must be in [0, 1], got {value}")
        if not 0.0 <= self.max_morph_shift <= 3.0:
            raise ValueError(f"AugmentOptions.max_morph_shift must be in [0, 3] px, got {self.max_morph_shift}")
        for name in ("contrast_range", "brightness_range"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"AugmentOptions.{name} must be (low, high) with low <= high, got {(lo, hi)}")
        if self.max_rotation_deg < 0:
            raise ValueError("AugmentOptions.max_rotation_deg must be >= 0")

    @classmethod
    def none(cls) -> AugmentOptions:
        """Every probability 0: ``degrade`` returns the image unchanged."""
        return cls(p_rotate=0, p_morph=0, p_local_negation=0, p_global_negation=0, p_contrast=0, p_brightness=0)


def degrade(img: np.ndarray, rng: np.random.Generator, options: AugmentOptions = AugmentOptions()) -> np.ndarray:
    """One randomly degraded copy of a uint8 (H, W) grayscale image (255 = white); same shape and dtype.

    The applied-or-not draw of each step is made even when its probability is 0 or 1, so the stream of
    draws (and hence every later step) does not depend on the other options.
    """
    _check_image(img)
    out = img
    if rng.random() < options.p_rotate:
        out = rotate(out, float(rng.uniform(-options.max_rotation_deg, options.max_rotation_deg)))
    if rng.random() < options.p_morph:
        shift = (float(rng.uniform(0, options.max_morph_shift)), float(rng.uniform(0, options.max_morph_shift)))
        out = dilate_ink(out, shift) if rng.random() < 0.5 else erode_ink(out, shift)
    if rng.random() < options.p_local_negation:
        out = local_negation(out, float(rng.uniform(0.0, options.max_local_negation)), rng)
    if rng.random() < options.p_global_negation:
        out = global_negation(out, float(rng.uniform(0.0, options.max_global_negation)), rng)
    if rng.random() < options.p_contrast:
        out = adjust_contrast(out, float(rng.uniform(*options.contrast_range)))
    if rng.random() < options.p_brightness:
        out = adjust_brightness(out, float(rng.uniform(*options.brightness_range)))
    return out if out is not img else img.copy()


def degrade_variants(img: np.ndarray, n: int = REFERENCE_VARIANTS, seed: int = 0,
                     options: AugmentOptions = AugmentOptions()) -> list[np.ndarray]:
    """``n`` variants of an image: variant 0 is the clean image, variant i > 0 is ``degrade`` seeded by (seed, i).

    Each variant has its own generator, so variant i is the same whatever ``n`` is.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    _check_image(img)
    return [img.copy()] + [degrade(img, np.random.default_rng([seed, i]), options) for i in range(1, n)]


# --- the individual operations (pure; deterministic given their arguments) ---

def rotate(img: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate counter-clockwise about the centre, bilinear, same size, white fill."""
    pil = Image.fromarray(img, mode="L")
    return np.asarray(pil.rotate(angle_deg, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=255))


def _shifted(img: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """A copy moved by (dx, dy) pixels, bilinear (so sub-pixel shifts blend), white fill."""
    dx, dy = shift
    pil = Image.fromarray(img, mode="L")
    moved = pil.transform(pil.size, Image.Transform.AFFINE, (1, 0, -dx, 0, 1, -dy),
                          resample=Image.Resampling.BILINEAR, fillcolor=255)
    return np.asarray(moved)


def dilate_ink(img: np.ndarray, shift: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Thicken dark strokes by up to the shift: the darker of the image and a shifted copy.

    A 3x3 minimum filter would triple 1-px staff lines at the 18 px staff height; the reference's shifted
    copy grows strokes by a fraction of a pixel.
    """
    return np.minimum(img, _shifted(img, shift))


def erode_ink(img: np.ndarray, shift: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Thin dark strokes by up to the shift: the lighter of the image and a shifted copy."""
    return np.maximum(img, _shifted(img, shift))


def edge_mask(img: np.ndarray) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood (clipped at the border) is neither uniformly white nor uniformly black."""
    mean = _box_mean3(img.astype(np.float64) / 255.0)
    return (mean > EDGE_LOW) & (mean < EDGE_HIGH)


def local_negation(img: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Invert each edge pixel (see ``edge_mask``) independently with probability ``fraction``."""
    flip = edge_mask(img) & (rng.random(img.shape) < fraction)
    return np.where(flip, 255 - img, img).astype(np.uint8)


def global_negation(img: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Invert each pixel independently with probability ``fraction``."""
    flip = rng.random(img.shape) < fraction
    return np.where(flip, 255 - img, img).astype(np.uint8)


def adjust_contrast(img: np.ndarray, exponent: float) -> np.ndarray:
    """Scale deviations from the image mean by 2**exponent (exponent < 0 flattens, > 0 sharpens)."""
    x = img.astype(np.float64)
    mean = x.mean()
    return _to_uint8(mean + (x - mean) * 2.0**exponent)


def adjust_brightness(img: np.ndarray, delta: float) -> np.ndarray:
    """Add ``delta`` (in units of full scale, so -0.5 darkens by half the range) to every pixel."""
    return _to_uint8(img.astype(np.float64) + delta * 255.0)


def _box_mean3(x: np.ndarray) -> np.ndarray:
    """Mean over the 3x3 neighbourhood that lies inside the image (``count_include_pad=False``)."""
    padded = np.pad(x, 1)
    ones = np.pad(np.ones_like(x), 1)
    h, w = x.shape
    total = sum(padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3))
    count = sum(ones[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3))
    return total / count


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _check_image(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 2:
        shape = getattr(img, "shape", None)
        raise ValueError(f"expected a uint8 (H, W) grayscale image, got {getattr(img, 'dtype', type(img))} {shape}")
