"""Discretization-shift augmentation: the offsets at which images and audio are tokenized.

A learned codec quantizes 16x16 patches and 512-sample frames on a fixed grid, so moving the content by one pixel
or one sample changes every token. As in the reference system (u-must.md §2.2, §2.3), each image is tokenized at
32 placements (8 horizontal x 4 vertical, 1 px apart) and each audio clip at 9 offsets (-20..+20 samples in steps
of 5); training draws one variant at random, evaluation always uses the centre one.

Offsets are counted from the centre variant: image (dx, dy) = (0, 0) and audio offset 0 are the evaluation
variants. Positive dx / dy move the image right / down; a positive audio offset delays the audio.
"""

from __future__ import annotations

import numpy as np

from scorebridge.constants import IMAGE_PATCH_PX

# Image placement range around the centre: the centre variant has the reference's shift margins of
# 4 px left, 3 px right, 2 px top and 1 px bottom, so dx runs -4..+3 and dy -2..+1.
IMAGE_MARGIN_LEFT, IMAGE_MARGIN_RIGHT, IMAGE_MARGIN_TOP, IMAGE_MARGIN_BOTTOM = 4, 3, 2, 1
IMAGE_SHIFT_GRID = (IMAGE_MARGIN_LEFT + IMAGE_MARGIN_RIGHT + 1, IMAGE_MARGIN_TOP + IMAGE_MARGIN_BOTTOM + 1)  # (8, 4)
# Index = x_index * 4 + y_index, the order of the reference's token array (8, 4, H/16, W/16, 4).
IMAGE_SHIFTS: tuple[tuple[int, int], ...] = tuple(
    (ix - IMAGE_MARGIN_LEFT, iy - IMAGE_MARGIN_TOP)
    for ix in range(IMAGE_SHIFT_GRID[0]) for iy in range(IMAGE_SHIFT_GRID[1])
)
IMAGE_CENTRE = IMAGE_MARGIN_LEFT * IMAGE_SHIFT_GRID[1] + IMAGE_MARGIN_TOP  # x index 4, y index 2 -> 18

AUDIO_SHIFT_STEP = 5
AUDIO_SHIFTS: tuple[int, ...] = tuple(range(-20, 21, AUDIO_SHIFT_STEP))
AUDIO_CENTRE = AUDIO_SHIFTS.index(0)  # 4

WHITE = 255

assert len(IMAGE_SHIFTS) == 32 and IMAGE_SHIFTS[IMAGE_CENTRE] == (0, 0)
assert len(AUDIO_SHIFTS) == 9 and AUDIO_SHIFTS[AUDIO_CENTRE] == 0

_CENTRES = {len(IMAGE_SHIFTS): IMAGE_CENTRE, len(AUDIO_SHIFTS): AUDIO_CENTRE}


def shifted_image_size(height: int, width: int, patch: int = IMAGE_PATCH_PX) -> tuple[int, int]:
    """Output (H', W') of every shift variant of an (H, W) image: the image plus the whole shift range,
    rounded up to multiples of ``patch``."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, not {height}x{width}")
    h = height + IMAGE_MARGIN_TOP + IMAGE_MARGIN_BOTTOM
    w = width + IMAGE_MARGIN_LEFT + IMAGE_MARGIN_RIGHT
    return -(-h // patch) * patch, -(-w // patch) * patch


def shift_and_pad_image(img: np.ndarray, dx: int = 0, dy: int = 0, patch: int = IMAGE_PATCH_PX) -> np.ndarray:
    """Place a uint8 (H, W) image on a white canvas of ``shifted_image_size(H, W)`` at offset (dx, dy) from the
    centre placement (4 px from the left, 2 px from the top). dx in -4..+3, dy in -2..+1; every variant of
    one image has the same size and all of the image's pixels."""
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 2:
        raise ValueError(f"image must be a uint8 array (H, W), not {getattr(img, 'dtype', type(img))} "
                         f"{getattr(img, 'shape', '')}")
    if not -IMAGE_MARGIN_LEFT <= dx <= IMAGE_MARGIN_RIGHT:
        raise ValueError(f"dx must be in -{IMAGE_MARGIN_LEFT}..{IMAGE_MARGIN_RIGHT}, not {dx}")
    if not -IMAGE_MARGIN_TOP <= dy <= IMAGE_MARGIN_BOTTOM:
        raise ValueError(f"dy must be in -{IMAGE_MARGIN_TOP}..{IMAGE_MARGIN_BOTTOM}, not {dy}")
    height, width = img.shape
    out = np.full(shifted_image_size(height, width, patch), WHITE, dtype=np.uint8)
    top, left = IMAGE_MARGIN_TOP + dy, IMAGE_MARGIN_LEFT + dx
    out[top:top + height, left:left + width] = img
    return out


def shift_audio(audio: np.ndarray, offset: int) -> np.ndarray:
    """Move mono audio (T,) by ``offset`` samples, keeping its length and dtype: a positive offset delays it
    (leading zeros, the last samples dropped), a negative one advances it (first samples dropped, zeros at the
    end)."""
    audio = np.asarray(audio)
    if audio.ndim != 1 or not np.issubdtype(audio.dtype, np.floating):
        raise ValueError(f"audio must be a float array (T,), not {audio.dtype} {audio.shape}")
    out = np.zeros_like(audio)
    n = len(audio)
    if offset >= 0:
        out[offset:] = audio[: max(n - offset, 0)]
    else:
        out[: max(n + offset, 0)] = audio[-offset:]
    return out


def pick_shift(rng: np.random.Generator | None, n: int, train: bool, centre: int | None = None) -> int:
    """Index of the variant to use among ``n``: uniform at random in training, the centre one otherwise.

    ``centre`` defaults to ``IMAGE_CENTRE`` for n = 32 and ``AUDIO_CENTRE`` for n = 9; other counts must name it.
    ``rng`` may be None when not training (no randomness is drawn then).
    """
    if n <= 0:
        raise ValueError(f"n must be positive, not {n}")
    if train:
        if rng is None:
            raise ValueError("training draws a random shift: pass an rng")
        return int(rng.integers(n))
    if centre is None:
        if n not in _CENTRES:
            raise ValueError(f"no known centre for {n} variants: pass centre")
        centre = _CENTRES[n]
    if not 0 <= centre < n:
        raise ValueError(f"centre {centre} outside 0..{n - 1}")
    return centre
