"""Pages with known layout for tests and benchmarks: engraved scores rasterized, then made scan-like
(a dark scanner border, a title/text block, Gaussian noise, a slight rotation), and the scoring of a
detected layout against the engraver's truth.

Truth boxes are staff regions (top line of the first staff to bottom line of the last, over the system's
width) in the coordinates of the upright page, which is what ``detect_layout`` reports after deskewing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scorebridge.pages.layout import PageLayout
from scorebridge.pages.staves import rotate_page
from scorebridge.render import PixelBox
from scorebridge.render.engrave import EngravedScore
from scorebridge.render.raster import svg_to_array
from scorebridge.render.svglayout import Box


@dataclass(frozen=True)
class TruthSystem:
    bbox: PixelBox  # staff region on the upright page
    staff_height: float  # top to bottom line of one staff, pixels
    staves: int


@dataclass(frozen=True, eq=False)
class SyntheticPage:
    image: np.ndarray  # uint8 (H, W), 255 = white
    systems: tuple[TruthSystem, ...]


@dataclass(frozen=True)
class LayoutScore:
    """One page's detection against its truth; systems match one-to-one at IoU >= the threshold."""

    truth: int
    detected: int
    matched: int
    staff_height_errors: tuple[float, ...]  # |detected / true - 1| of each matched system


def engraved_page(engraved: EngravedScore, page: int, zoom: float) -> SyntheticPage:
    """Rasterize page ``page`` (0-based) at ``zoom`` with the truth of its systems."""
    layout = engraved.layouts[page]
    image = svg_to_array(engraved.pages[page], zoom)
    h, w = image.shape
    systems = []
    for s in layout.systems:
        staves = [st for st in s.staves if st.lines >= 2]
        if not staves:
            continue
        box = layout.to_px(Box(s.box.x0, min(st.top for st in staves), s.box.x1, max(st.bottom for st in staves)),
                           zoom)
        bbox = PixelBox(max(0, round(box.x0)), max(0, round(box.y0)), min(w, round(box.x1)), min(h, round(box.y1)))
        systems.append(TruthSystem(bbox, s.staff_height * layout.unit_px * zoom, len(staves)))
    return SyntheticPage(image, tuple(systems))


def _shift(page: SyntheticPage, image: np.ndarray, dx: int, dy: int) -> SyntheticPage:
    moved = tuple(replace(s, bbox=PixelBox(s.bbox.x0 + dx, s.bbox.y0 + dy, s.bbox.x1 + dx, s.bbox.y1 + dy))
                  for s in page.systems)
    return SyntheticPage(image, moved)


def add_scan_border(page: SyntheticPage, paper: int, border: int, darkness: int = 40) -> SyntheticPage:
    """Surround the page with ``paper`` px of white and then ``border`` px of dark scanner bed."""
    padded = np.pad(page.image, paper, constant_values=255)
    padded = np.pad(padded, border, constant_values=darkness)
    return _shift(page, padded, paper + border, paper + border)


def add_text_block(page: SyntheticPage, title: str = "Lieder und Gesänge", lines: int = 3) -> SyntheticPage:
    """Add a band on top with a large title, a subtitle and a few lines of body text, sized to the staves."""
    staff = float(np.median([s.staff_height for s in page.systems])) if page.systems else 40.0
    big, small = _font(round(staff * 0.9)), _font(round(staff * 0.4))
    band = round(staff * (1.6 + 0.6 * (lines + 1)))
    h, w = page.image.shape
    canvas = Image.new("L", (w, h + band), 255)
    canvas.paste(Image.fromarray(page.image), (0, band))
    draw = ImageDraw.Draw(canvas)
    draw.text((w // 2, round(staff * 0.2)), title, fill=0, font=big, anchor="mt")
    y = round(staff * 1.4)
    draw.text((w - round(staff), y), "Composer (1819-1896)", fill=0, font=small, anchor="rt")
    for _k in range(lines):
        y += round(staff * 0.6)
        draw.text((round(staff), y), "Words by a poet; a long line of text that runs across the page. " * 2,
                  fill=0, font=small)
    return _shift(page, np.asarray(canvas), 0, band)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(8, size))


def add_noise(page: SyntheticPage, sigma: float, rng: np.random.Generator) -> SyntheticPage:
    """Add Gaussian noise of ``sigma`` gray levels."""
    noisy = page.image.astype(np.float32) + rng.normal(0.0, sigma, page.image.shape).astype(np.float32)
    return SyntheticPage(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), page.systems)


def rotate(page: SyntheticPage, deg: float) -> SyntheticPage:
    """Rotate the page content counter-clockwise by ``deg`` (truth stays upright: the detector deskews)."""
    return SyntheticPage(rotate_page(page.image, deg), page.systems)


def iou(a: PixelBox, b: PixelBox) -> float:
    """Intersection over union of two boxes (x1/y1 exclusive)."""
    iw = min(a.x1, b.x1) - max(a.x0, b.x0)
    ih = min(a.y1, b.y1) - max(a.y0, b.y0)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    area = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter
    return inter / area


def score_layout(truth: Sequence[TruthSystem], layout: PageLayout, min_iou: float = 0.7) -> LayoutScore:
    """Match detected to true systems greedily by IoU (best pairs first), one-to-one."""
    pairs = sorted(((iou(t.bbox, d.bbox), i, j) for i, t in enumerate(truth) for j, d in enumerate(layout.systems)),
                   reverse=True)
    used_t: set[int] = set()
    used_d: set[int] = set()
    errors = []
    for value, i, j in pairs:
        if value < min_iou or i in used_t or j in used_d:
            continue
        used_t.add(i)
        used_d.add(j)
        errors.append(abs(layout.systems[j].staff_height / truth[i].staff_height - 1.0))
    return LayoutScore(len(truth), len(layout.systems), len(used_t), tuple(errors))
