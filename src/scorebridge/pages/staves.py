"""Classic OMR staff finding without learned weights: binarize, measure line thickness and spacing from
vertical run lengths, estimate skew from projection sharpness, and find 5-line staves in the row profile
of long horizontal ink runs.

Every function is pure on numpy arrays; ``ink`` arrays are bool (H, W) with True = ink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

MAX_SKEW_DEG = 3.0
SKEW_COARSE_STEP_DEG = 0.1
SKEW_FINE_STEP_DEG = 0.01
MIN_SKEW_DEG = 0.03  # below this the page is left unrotated (sub-pixel drift across a page)
LINES_PER_STAFF = 5
_SKEW_STRIPS = 64  # column strips whose row profiles are shifted against each other to try an angle
_RUN_SAMPLE_COLUMNS = 600  # vertical runs are counted on at most this many evenly spaced columns


@dataclass(frozen=True)
class LineMetrics:
    """Staff-line thickness and the white gap between lines, in pixels (modes of vertical runs)."""

    thickness: int
    gap: int

    @property
    def spacing(self) -> int:
        """Distance between the centres of neighbouring staff lines."""
        return self.thickness + self.gap


def otsu_threshold(gray: np.ndarray) -> int:
    """Otsu's threshold of a uint8 image, kept in [64, 200] so that a blank or all-dark page stays sane."""
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 128
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    w1 = total - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (m0[-1] * w0 / total - m0) ** 2 / (w0 * w1)
    between = np.nan_to_num(between[:-1], nan=0.0, posinf=0.0)
    return int(np.clip(int(np.argmax(between)) if between.any() else 128, 64, 200))


def binarize(gray: np.ndarray, threshold: int | None = None) -> np.ndarray:
    """Ink mask of a uint8 page (True = at most ``threshold``, by default Otsu's)."""
    return gray <= (otsu_threshold(gray) if threshold is None else threshold)


def border_mask(ink: np.ndarray) -> np.ndarray:
    """Ink connected to the image edge that spans at least half the page's width or height.

    That is the scanner bed, a dark frame or a shadow along the edge; music rarely touches the edge.
    """
    labels, _ = ndimage.label(ink)
    edge = np.unique(np.concatenate((labels[0], labels[-1], labels[:, 0], labels[:, -1])))
    edge = edge[edge > 0]
    if edge.size == 0:
        return np.zeros_like(ink)
    h, w = ink.shape
    boxes = ndimage.find_objects(labels)
    big = [k for k in edge
           if (boxes[k - 1][0].stop - boxes[k - 1][0].start) * 2 >= h
           or (boxes[k - 1][1].stop - boxes[k - 1][1].start) * 2 >= w]
    return np.isin(labels, big) if big else np.zeros_like(ink)


def line_smoothing(metrics: LineMetrics) -> int:
    """Width of the horizontal mean in ``line_ink``: it lengthens each line by about half this at both ends."""
    return max(3, metrics.spacing)


def line_ink(gray: np.ndarray, threshold: int, metrics: LineMetrics, paper: float | None = None,
             axis: int = 1) -> np.ndarray:
    """Ink mask for finding staff lines (``axis=1``) or barlines (``axis=0``), robust to thin, anti-aliased
    or resampled strokes on noisy paper.

    Darkness (against the paper level, by default the page's median) is averaged along the stroke over a
    staff space, where a straight stroke keeps its darkness while noise shrinks, and summed across it over
    the line thickness plus a pixel on each side: a pixel counts as ink when that sum reaches one
    Otsu-dark pixel's darkness, so a stroke spread over several pixels by resampling is kept whole.
    """
    paper = float(np.median(gray)) if paper is None else paper
    dark = ndimage.uniform_filter1d(paper - gray.astype(np.float32), size=line_smoothing(metrics), axis=axis,
                                    mode="nearest")
    across = metrics.thickness + 2
    summed = ndimage.uniform_filter1d(dark, size=across, axis=1 - axis, mode="nearest") * across
    return summed >= max(paper - threshold, 1.0)


def _runs(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encoding of a 1-D bool array: (starts, lengths, values)."""
    if flat.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, bool)
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], edges))
    lengths = np.diff(np.concatenate((starts, [flat.size])))
    return starts, lengths, flat[starts]


def line_metrics(ink: np.ndarray) -> LineMetrics | None:
    """Most frequent vertical ink run (line thickness) and ink-bounded white run (line gap); None if no lines.

    Columns are sampled evenly; each is padded with a white cell so runs never cross columns.
    """
    h, w = ink.shape
    step = max(1, w // _RUN_SAMPLE_COLUMNS)
    cols = np.pad(ink[:, ::step].T, ((0, 0), (1, 1)))
    starts, lengths, values = _runs(cols.ravel())
    stride = h + 2
    same_col = starts // stride == (starts + lengths - 1) // stride
    inner = (starts % stride != 0) & ((starts + lengths) % stride != 0) & same_col
    dark = lengths[values & inner]
    light = lengths[~values & inner]
    if dark.size < 50 or light.size < 50:
        return None
    thickness = int(np.bincount(dark).argmax())
    gap_counts = np.bincount(light)
    gap_counts[:2] = 0  # 1-px gaps are noise or anti-aliasing inside a thick line, not a staff space
    if not gap_counts.any():
        return None
    gap = int(gap_counts.argmax())
    return LineMetrics(max(thickness, 1), gap)


def estimate_skew(ink: np.ndarray, max_deg: float = MAX_SKEW_DEG) -> float:
    """The angle (degrees, counter-clockwise as seen) by which the page content is rotated.

    Rows of column strips are shifted against each other as a shear would move them, and the angle whose
    summed row profile is sharpest (largest sum of squares) wins: staff lines then add up in single rows.
    """
    h, w = ink.shape
    strips = min(_SKEW_STRIPS, max(1, w // 8))
    width = w // strips
    if width == 0 or h < 8:
        return 0.0
    prof = ink[:, : width * strips].reshape(h, strips, width).sum(axis=2, dtype=np.int64).T  # (strips, H)
    centres = (np.arange(strips) + 0.5) * width - w / 2.0

    def sharpness(deg: float) -> float:
        shifts = np.rint(centres * math.tan(math.radians(deg))).astype(np.int64)  # undo a rise to the right
        pad = int(np.abs(shifts).max()) if shifts.size else 0
        total = np.zeros(h + 2 * pad, np.int64)
        for row, s in zip(prof, shifts, strict=True):
            total[pad + s: pad + s + h] += row
        return float(np.dot(total, total))

    coarse = np.arange(-max_deg, max_deg + 1e-9, SKEW_COARSE_STEP_DEG)
    best = float(coarse[int(np.argmax([sharpness(a) for a in coarse]))])
    fine = np.arange(best - SKEW_COARSE_STEP_DEG, best + SKEW_COARSE_STEP_DEG + 1e-9, SKEW_FINE_STEP_DEG)
    scores = np.array([sharpness(a) for a in fine])
    # Integer shifts make a plateau of equal scores: take its middle rather than its first angle.
    top = np.flatnonzero(scores >= scores.max())
    return round(float(fine[top].mean()), 3)


def rotate_page(gray: np.ndarray, deg: float) -> np.ndarray:
    """Rotate a uint8 page counter-clockwise by ``deg`` about its centre; same size, white fill."""
    if deg == 0:
        return gray
    img = Image.fromarray(gray).rotate(deg, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=255)
    return np.asarray(img)


def long_run_mask(ink: np.ndarray, min_length: int) -> np.ndarray:
    """Ink pixels that belong to a horizontal run of at least ``min_length`` pixels (staff-line candidates)."""
    h, w = ink.shape
    padded = np.pad(ink, ((0, 0), (0, 1)))  # a white cell ends every row
    _, lengths, values = _runs(padded.ravel())
    keep = values & (lengths >= min_length)
    return np.repeat(keep, lengths).reshape(h, w + 1)[:, :w]


def line_peaks(mask: np.ndarray, metrics: LineMetrics) -> list[tuple[float, float]]:
    """Candidate staff lines as (centre row, strength = long-run pixels in its rows).

    A white top-hat of the row profile keeps narrow peaks (lines) and drops broad bands (page borders,
    dense blocks) and a constant floor (a dark side border), before rows are grouped into peaks.
    """
    profile = mask.sum(axis=1).astype(np.float64)
    if not profile.any():
        return []
    size = max(metrics.thickness + 3, 2 * metrics.spacing + 1)
    tophat = profile - ndimage.grey_opening(profile, size=size, mode="nearest")
    floor = 2.0 * metrics.spacing  # a line shorter than two staff spaces is not a staff line
    rows = np.flatnonzero(tophat > floor)
    if rows.size == 0:
        return []
    out: list[tuple[float, float]] = []
    for group in _contiguous(rows):
        # The line's own rows stand out from weaker runs touching it (a beam, a hairpin, lyric extenders).
        core = group[tophat[group] >= 0.5 * tophat[group].max()]
        for part in _contiguous(core):
            if part.size > 2 * metrics.thickness + 3:
                continue  # too thick for a staff line (a beam or a band left after the top-hat)
            weights = tophat[part]
            out.append((float((part * weights).sum() / weights.sum()), float(weights.max())))
    return out


def _contiguous(rows: np.ndarray) -> list[np.ndarray]:
    """Split sorted indices into runs of consecutive values."""
    return np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if rows.size else []


def find_staves(peaks: list[tuple[float, float]], metrics: LineMetrics) -> list[tuple[float, ...]]:
    """Chains of five nearly equidistant lines of similar strength, top to bottom.

    The first gap may differ from the run-length spacing by 30% (staves of other sizes); the following
    gaps must match the first one.
    """
    d = metrics.spacing
    ys = [p[0] for p in peaks]
    strength = [p[1] for p in peaks]
    staves: list[tuple[float, ...]] = []
    i = 0
    while i < len(peaks):
        chain = _chain_from(i, ys, strength, d)
        if chain is None:
            i += 1
            continue
        staves.append(tuple(ys[k] for k in chain))
        i = chain[-1] + 1
    return staves


def _chain_from(i: int, ys: list[float], strength: list[float], d: int) -> list[int] | None:
    chain = [i]
    gap: float | None = None
    for _ in range(LINES_PER_STAFF - 1):
        last = chain[-1]
        want, tol = (d, max(1.5, 0.3 * d)) if gap is None else (gap, max(1.5, 0.15 * gap))
        best = None
        for k in range(last + 1, len(ys)):
            delta = ys[k] - ys[last]
            if delta > want + tol:
                break
            if abs(delta - want) <= tol and (best is None or abs(delta - want) < abs(ys[best] - ys[last] - want)):
                best = k
        if best is None:
            return None
        if gap is None:
            gap = ys[best] - ys[last]
        chain.append(best)
    values = np.array([strength[k] for k in chain])
    if values.min() < 0.5 * np.median(values):
        return None  # a short line (beam, slur, hairpin) that happens to sit at the right distance
    return chain


def staff_extent(mask: np.ndarray, lines: tuple[float, ...], metrics: LineMetrics) -> tuple[int, int] | None:
    """Columns [x0, x1) where at least 3 of the 5 lines have ``line_ink`` long runs, bridging gaps up to
    2 spaces. Of the bridged segments the longest is the staff (a stray run beside it is not).

    A brace smeared by the horizontal mean can make x0 up to about two spaces too small.
    """
    h, w = mask.shape
    half = max(1, math.ceil(metrics.thickness / 2))
    votes = np.zeros(w, np.int64)
    for y in lines:
        lo, hi = max(0, int(math.floor(y)) - half), min(h, int(math.ceil(y)) + half + 1)
        votes += mask[lo:hi].any(axis=0)
    cols = np.flatnonzero(votes >= 3)
    if cols.size == 0:
        return None
    breaks = np.flatnonzero(np.diff(cols) > 2 * metrics.spacing)
    segments = np.split(cols, breaks + 1)
    longest = max(segments, key=lambda s: s[-1] - s[0])
    k = line_smoothing(metrics)  # undo the lengthening by line_ink's horizontal mean
    x0, x1 = int(longest[0]) + k // 2, int(longest[-1]) + 1 - (k - 1) // 2
    return (x0, x1) if x1 > x0 else None
