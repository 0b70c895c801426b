"""Synthetic staff images for the image codec tests (CI has no datasets): 18-px staves, noteheads, stems."""

from __future__ import annotations

import numpy as np


def staff_image(height: int = 64, width: int = 128, seed: int = 0) -> np.ndarray:
    """uint8 (height, width), white paper, one 5-line staff 18 px tall with random notes and barlines."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width), 255, np.uint8)
    top = int(rng.integers(4, max(5, height - 26)))
    for i in range(5):
        img[top + round(i * 4.5)] = 40
    for x in range(int(rng.integers(2, 10)), width - 6, int(rng.integers(10, 16))):
        if rng.random() < 0.15:
            img[top:top + 19, x] = 30  # barline
            continue
        cy = top + int(rng.integers(-4, 22))
        yy, xx = np.ogrid[:height, :width]
        head = ((yy - cy) / 2.2) ** 2 + ((xx - x - 3) / 3.2) ** 2 <= 1.0
        img[head] = 20
        y0, y1 = (cy - 14, cy) if rng.random() < 0.5 else (cy, cy + 14)
        img[max(0, y0):max(0, min(height, y1)), min(width - 1, x + 6)] = 25  # stem
    return img
