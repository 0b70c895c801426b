"""Page layout: deskew a page, find its staves, group them into systems and choose each system's crop.

Coordinates are pixels of the deskewed page, which has the input's size (rotated about its centre), so
for a straight page they are the input's own pixels.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scorebridge.pages.load import Page
from scorebridge.pages.staves import (
    MIN_SKEW_DEG,
    LineMetrics,
    binarize,
    border_mask,
    estimate_skew,
    find_staves,
    line_ink,
    line_metrics,
    line_peaks,
    long_run_mask,
    otsu_threshold,
    rotate_page,
    staff_extent,
)
from scorebridge.render import PixelBox

log = logging.getLogger(__name__)

LONG_RUN_SPACES = 3  # a staff-line candidate is a horizontal ink run at least this many spaces long
BRACE_WINDOW_SPACES = (2.5, 2.0)  # columns left / right of a staff's start searched for a barline or brace
JOIN_COVERAGE = 0.95  # share of the rows between two staves that the barline or brace must cover
CROP_REACH_STAFF_HEIGHTS = 2.0  # how far above/below the staves content (ledger lines, lyrics) is looked for
CROP_STOP_SPACES = 2.0  # a white band this tall ends the system's content above or below
CROP_SIDE_REACH_SPACES = (12.0, 3.0)  # how far left / right of the staff lines content is looked for (labels)
CROP_MARGIN_SPACES = 1.0  # margin around the content, as the training crops (render.crops) have


@dataclass(frozen=True)
class Staff:
    """One 5-line staff: rows of the top and bottom line centres, and the columns its lines span."""

    top: float
    bottom: float
    line_spacing: float
    x0: int
    x1: int  # exclusive

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class DetectedSystem:
    """Staves joined into one system; ``bbox`` is the staff region, ``crop`` the region to cut out."""

    bbox: PixelBox  # from the first staff's top line to the last staff's bottom line, over the staff lines
    staves: tuple[Staff, ...]
    crop: PixelBox  # bbox widened to the system's content (ledger lines, lyrics, brace) plus a margin

    @property
    def staff_height(self) -> float:
        """Median top-to-bottom line distance of the staves (as ``render.SystemCrop.staff_height_px``)."""
        return float(statistics.median(s.height for s in self.staves))


@dataclass(frozen=True)
class PageLayout:
    systems: tuple[DetectedSystem, ...]  # in reading order (top to bottom)
    staff_height: float  # median over all staves; 0.0 when there are none
    skew_deg: float  # counter-clockwise rotation of the content that was undone (0.0 when below threshold)
    line_thickness: int = 0  # staff-line thickness in pixels; 0 when no lines were measured


def detect_layout(page: Page | np.ndarray) -> PageLayout:
    """Staves and systems of a grayscale page (uint8, 255 = white), in deskewed page coordinates."""
    return analyse_page(page)[1]


def analyse_page(page: Page | np.ndarray) -> tuple[np.ndarray, PageLayout]:
    """The cleaned, deskewed page and its layout (``page_systems`` crops from the former).

    Cleaning paints a dark border along the page edge (scanner bed, frame) with the paper's level.
    """
    gray = _gray(page)
    threshold = otsu_threshold(gray)
    ink = binarize(gray, threshold)
    border = border_mask(ink)
    if border.any():
        gray = gray.copy()
        gray[border] = np.uint8(np.median(gray[~border])) if not border.all() else 255
        threshold = otsu_threshold(gray)  # the dark border pulled Otsu's threshold below light staff lines
        ink = binarize(gray, threshold)
    metrics = line_metrics(ink)
    if metrics is None:
        return gray, PageLayout((), 0.0, 0.0)
    skew = estimate_skew(ink)
    if abs(skew) >= MIN_SKEW_DEG:
        gray = rotate_page(gray, -skew)
        ink = binarize(gray, threshold)  # the metrics stay: resampling blurs runs more than a few degrees move them
    else:
        skew = 0.0
    paper = float(np.median(gray))
    staves = _staves(line_ink(gray, threshold, metrics, paper), metrics)
    groups = group_staves(staves, lambda a, b: _joined(gray, a, b, metrics, threshold, paper))
    systems = _systems(ink, groups, metrics)
    height = float(statistics.median(s.height for s in staves)) if staves else 0.0
    log.debug("page %dx%d: skew %.2f deg, spacing %d px, %d staves in %d systems", gray.shape[1], gray.shape[0],
              skew, metrics.spacing, len(staves), len(systems))
    return gray, PageLayout(tuple(systems), height, skew, metrics.thickness)


def _gray(page: Page | np.ndarray) -> np.ndarray:
    image = page.image if isinstance(page, Page) else page
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"a page is a uint8 (H, W) array, not {image.dtype} {image.shape}")
    return image


def _staves(ink: np.ndarray, metrics: LineMetrics) -> list[Staff]:
    mask = long_run_mask(ink, max(8, LONG_RUN_SPACES * metrics.spacing))
    out: list[Staff] = []
    for lines in find_staves(line_peaks(mask, metrics), metrics):
        extent = staff_extent(mask, lines, metrics)
        if extent is None or extent[1] - extent[0] < 4 * metrics.spacing:
            continue
        out.append(Staff(lines[0], lines[-1], (lines[-1] - lines[0]) / 4, *extent))
    return out


def group_staves(staves: list[Staff], joined: Callable[[Staff, Staff], bool]) -> list[list[Staff]]:
    """Staves (top to bottom) grouped into systems.

    Neighbours are one system when ``joined`` says so (a barline or brace at their left edge covers the
    rows between them). Where that leaves groups of varying size in a repeating pattern (a voice staff
    without the piano's brace), the pattern is merged; a page without any join falls back to two clearly
    different gap sizes.
    """
    if not staves:
        return []
    joins = [joined(a, b) for a, b in zip(staves, staves[1:], strict=False)]
    if not any(joins):
        return _by_gaps(staves)
    return _merge_pattern(_split(staves, joins))


def _joined(gray: np.ndarray, a: Staff, b: Staff, metrics: LineMetrics, threshold: int, paper: float) -> bool:
    """True when vertical strokes left of or at the staves' start cover the rows between them."""
    r0 = math.ceil(a.bottom + metrics.thickness)
    r1 = math.floor(b.top - metrics.thickness)
    if r1 <= r0:
        return True
    d = metrics.spacing
    c0 = max(0, int(min(a.x0, b.x0) - BRACE_WINDOW_SPACES[0] * d))
    c1 = min(gray.shape[1], int(max(a.x0, b.x0) + BRACE_WINDOW_SPACES[1] * d) + 1)
    if c1 <= c0:
        return False
    strokes = line_ink(gray[r0:r1, c0:c1], threshold, metrics, paper, axis=0)
    return float(strokes.any(axis=1).mean()) >= JOIN_COVERAGE


def _split(staves: list[Staff], joined: list[bool]) -> list[list[Staff]]:
    groups = [[staves[0]]]
    for staff, join in zip(staves[1:], joined, strict=True):
        if join:
            groups[-1].append(staff)
        else:
            groups.append([staff])
    return groups


def _merge_pattern(groups: list[list[Staff]]) -> list[list[Staff]]:
    """Merge groups whose sizes repeat with a period of 2-4 groups, when the merged gaps stay the smaller ones."""
    sizes = [len(g) for g in groups]
    if len(set(sizes)) == 1:
        return groups
    for period in range(2, min(4, len(groups) // 2) + 1):  # the pattern must repeat at least twice
        if len(groups) % period or any(sizes[i] != sizes[i % period] for i in range(len(sizes))):
            continue
        merged = [sum(groups[i:i + period], []) for i in range(0, len(groups), period)]
        inner = [_gap(a, b) for g in merged for a, b in zip(g, g[1:], strict=False)]
        outer = [_gap(a[-1], b[0]) for a, b in zip(merged, merged[1:], strict=False)]
        if max(inner) < min(outer):
            return merged
    return groups


def _by_gaps(staves: list[Staff]) -> list[list[Staff]]:
    """Without barlines: split at gaps clearly larger than the others if that gives equal-sized groups."""
    gaps = [_gap(a, b) for a, b in zip(staves, staves[1:], strict=False)]
    if len(gaps) >= 2 and max(gaps) >= 1.5 * min(gaps):
        cut = (max(gaps) + min(gaps)) / 2
        groups = _split(staves, [g < cut for g in gaps])
        if len({len(g) for g in groups}) == 1:
            return groups
    return [[s] for s in staves]


def _gap(a: Staff, b: Staff) -> float:
    return b.top - a.bottom


def _systems(ink: np.ndarray, groups: list[list[Staff]], metrics: LineMetrics) -> list[DetectedSystem]:
    """Each group's staff bbox, and a crop reaching its content but stopping halfway to its neighbours'."""
    d = metrics.spacing
    h, w = ink.shape
    regions = [_staff_bbox(g, h, w) for g in groups]
    spans = [_content_rows(ink, g, r, groups, i, d) for i, (g, r) in enumerate(zip(groups, regions, strict=True))]
    for i in range(len(spans) - 1):  # content that meets its neighbour's is cut at the emptiest row between
        (a0, a1), (b0, b1) = spans[i], spans[i + 1]
        if a1 >= b0:
            cut = _emptiest_row(ink, regions[i].y1, regions[i + 1].y0, regions[i], regions[i + 1])
            spans[i], spans[i + 1] = (a0, cut), (cut, b1)
    out: list[DetectedSystem] = []
    for i, (group, region) in enumerate(zip(groups, regions, strict=True)):
        top, bottom = spans[i]
        lo = (spans[i - 1][1] + top) / 2 if i > 0 else 0
        hi = (bottom + spans[i + 1][0]) / 2 if i + 1 < len(spans) else h
        y0 = max(int(math.floor(lo)), top - round(CROP_MARGIN_SPACES * d), 0)
        y1 = min(int(math.ceil(hi)), bottom + round(CROP_MARGIN_SPACES * d), h)
        x0, x1 = _content_cols(ink, region, top, bottom, d)
        x0 = max(0, x0 - round(CROP_MARGIN_SPACES * d))
        x1 = min(w, x1 + round(CROP_MARGIN_SPACES * d))
        out.append(DetectedSystem(region, tuple(group), PixelBox(x0, y0, x1, y1)))
    return out


def _staff_bbox(group: list[Staff], h: int, w: int) -> PixelBox:
    y0 = max(0, int(math.floor(group[0].top)))
    y1 = min(h, int(math.ceil(group[-1].bottom)) + 1)
    return PixelBox(max(0, min(s.x0 for s in group)), y0, min(w, max(s.x1 for s in group)), y1)


def _white_rows(ink: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    counts = ink[r0:r1, c0:c1].sum(axis=1)
    return counts <= max(2, int(0.003 * (c1 - c0)))  # a speck of noise does not make a row ink


def _content_rows(ink: np.ndarray, group: list[Staff], region: PixelBox, groups: list[list[Staff]], i: int,
                  d: int) -> tuple[int, int]:
    """Rows [top, bottom) of the system's content: from the staves outwards until a white band or the reach."""
    reach = round(CROP_REACH_STAFF_HEIGHTS * 4 * group[0].line_spacing)
    stop = max(2, round(CROP_STOP_SPACES * d))
    above = region.y0 - reach if i == 0 else max(region.y0 - reach, int(math.ceil(groups[i - 1][-1].bottom)) + 1)
    below = region.y1 + reach if i + 1 == len(groups) else min(region.y1 + reach, int(groups[i + 1][0].top))
    above, below = max(0, above), min(ink.shape[0], below)
    white_up = _white_rows(ink, above, region.y0, region.x0, region.x1)[::-1]
    white_down = _white_rows(ink, region.y1, below, region.x0, region.x1)
    return region.y0 - _reach(white_up, stop), region.y1 + _reach(white_down, stop)


def _reach(white: np.ndarray, stop: int) -> int:
    """How many cells (walking outwards) the content covers before ``stop`` white cells in a row."""
    last_ink = 0
    run = 0
    for k, is_white in enumerate(white):
        if is_white:
            run += 1
            if run >= stop:
                break
        else:
            run = 0
            last_ink = k + 1
    return last_ink


def _emptiest_row(ink: np.ndarray, r0: int, r1: int, a: PixelBox, b: PixelBox) -> int:
    """The row between two staff regions with the least ink (the middle one of a tie)."""
    if r1 <= r0 + 1:
        return (r0 + r1) // 2
    c0, c1 = min(a.x0, b.x0), max(a.x1, b.x1)
    counts = ink[r0:r1, c0:c1].sum(axis=1)
    best = np.flatnonzero(counts == counts.min())
    return r0 + int(best[len(best) // 2])


def _content_cols(ink: np.ndarray, region: PixelBox, top: int, bottom: int, d: int) -> tuple[int, int]:
    """Columns [x0, x1) of the content beside the staff lines (brace, clef overhang), within the side reach."""
    w = ink.shape[1]
    left_reach, right_reach = (round(k * d) for k in CROP_SIDE_REACH_SPACES)
    stop = max(2, d)
    c0, c1 = max(0, region.x0 - left_reach), min(w, region.x1 + right_reach)
    rows = max(1, bottom - top)
    white_left = ink[top:bottom, c0:region.x0].sum(axis=0) <= max(2, int(0.003 * rows))
    white_right = ink[top:bottom, region.x1:c1].sum(axis=0) <= max(2, int(0.003 * rows))
    return region.x0 - _reach(white_left[::-1], stop), region.x1 + _reach(white_right, stop)
