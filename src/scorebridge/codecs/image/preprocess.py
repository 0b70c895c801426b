"""Pure numpy/torch helpers between uint8 score images (255 = white paper) and the codec's [-1, 1] tensors."""

from __future__ import annotations

import numpy as np
import torch

from scorebridge.constants import IMAGE_PATCH_PX


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) -> float32 (1, 1, H, W) in [-1, 1], white = 1."""
    if img.ndim != 2 or img.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (H, W) grayscale image, got {img.dtype} {img.shape}")
    return torch.from_numpy(img.astype(np.float32) / 127.5 - 1.0)[None, None]


def tensor_to_image(t: torch.Tensor) -> np.ndarray:
    """float (H, W), (1, H, W) or (1, 1, H, W) in [-1, 1] -> uint8 (H, W); values outside are clipped."""
    t = t.detach().to("cpu", torch.float32)
    while t.ndim > 2 and t.shape[0] == 1:
        t = t[0]
    if t.ndim != 2:
        raise ValueError(f"expected one grayscale image, got a tensor of shape {tuple(t.shape)}")
    return np.clip(np.rint((t.numpy() + 1.0) * 127.5), 0, 255).astype(np.uint8)


def pad_to_patches(img: np.ndarray, fill: int = 255, patch: int = IMAGE_PATCH_PX) -> np.ndarray:
    """Pad right and bottom with ``fill`` so that H and W are multiples of ``patch`` (no-op when they are)."""
    h, w = img.shape[:2]
    return np.pad(img, ((0, -h % patch), (0, -w % patch)), constant_values=fill)
