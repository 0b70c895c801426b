"""Pure functions that bring a system image to the model's look: gray, staff height 18 px, white paper."""

from __future__ import annotations

import numpy as np
from PIL import Image

from scorebridge.constants import STAFF_HEIGHT_PX, WHITEN_MARGIN


def to_grayscale(img: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3|4) uint8 -> (H, W) uint8; transparent pixels count as white paper."""
    if img.ndim == 2:
        return img.astype(np.uint8, copy=False)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4), got {img.shape}")
    rgb = img[..., :3].astype(np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's "L"
    if img.shape[2] == 4:
        alpha = img[..., 3].astype(np.float32) / 255.0
        gray = gray * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.rint(gray), 0, 255).astype(np.uint8)


def resize_to_staff_height(img: np.ndarray, staff_height_px: float,
                           target: float = STAFF_HEIGHT_PX) -> np.ndarray:
    """Scale a grayscale image so that a staff of ``staff_height_px`` becomes ``target`` px tall.

    Downscaling averages boxes of pixels (like OpenCV's INTER_AREA) so thin staff lines keep their ink;
    upscaling uses Lanczos.
    """
    if staff_height_px <= 0 or target <= 0:
        raise ValueError(f"staff heights must be positive (got {staff_height_px} -> {target})")
    factor = target / staff_height_px
    h, w = img.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    if size == (w, h):
        return img.copy()
    method = Image.Resampling.BOX if factor < 1 else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(img).resize(size, method))


def whiten_background(img: np.ndarray, margin: int = WHITEN_MARGIN) -> np.ndarray:
    """Every pixel brighter than (median - margin) becomes 255: paper texture and light noise go."""
    out = img.copy()
    out[out > np.median(img) - margin] = 255
    return out


def normalize_system(img: np.ndarray, staff_height_px: float, target: float = STAFF_HEIGHT_PX) -> np.ndarray:
    """Grayscale, resize to a ``target`` px staff height, whiten the background. Returns uint8 (H, W)."""
    return whiten_background(resize_to_staff_height(to_grayscale(img), staff_height_px, target))
