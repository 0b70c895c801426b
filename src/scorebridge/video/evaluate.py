"""Accuracy of the video pipeline against a synthetic video's truth (issue 7 §6 targets).

- page boundaries: each true screen change against the nearest detected one (target: all within 500 ms);
- systems: detected staff regions against the true ones of the screen shown at the page's frame, matched
  one-to-one at IoU >= 0.5 (targets: precision and recall >= 0.98);
- staff height: |detected - true| in pixels of the matched systems (target: median <= 1 px).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scorebridge.pages.synthetic import iou
from scorebridge.render import PixelBox
from scorebridge.video.pipeline import VideoAnalysis

MIN_IOU = 0.5


@dataclass(frozen=True)
class VideoScore:
    boundary_errors_ms: tuple[int, ...]  # per true screen change, to the nearest detected change
    extra_boundaries: int  # detected changes farther than the tolerance from every true one
    systems_true: int
    systems_found: int
    systems_matched: int
    staff_height_errors_px: tuple[float, ...]

    @property
    def precision(self) -> float:
        return self.systems_matched / self.systems_found if self.systems_found else 1.0

    @property
    def recall(self) -> float:
        return self.systems_matched / self.systems_true if self.systems_true else 1.0

    @property
    def max_boundary_error_ms(self) -> int:
        return max(self.boundary_errors_ms, default=0)

    @property
    def median_staff_height_error_px(self) -> float:
        return float(statistics.median(self.staff_height_errors_px)) if self.staff_height_errors_px else 0.0


def detected_boundaries(analysis: VideoAnalysis) -> list[int]:
    """Detected page changes (ms): midway between the last frame of a static section and the first of the next."""
    pages = analysis.pages
    return [round((a.shown_ms[1] + b.shown_ms[0]) / 2) for a, b in zip(pages, pages[1:], strict=False)]


def match_systems(truth: Sequence[PixelBox], found: Sequence[PixelBox], min_iou: float = MIN_IOU) -> list[
        tuple[int, int]]:
    """(truth index, found index) pairs matched greedily by IoU, best first, one-to-one."""
    pairs = sorted(((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)), reverse=True)
    used_t: set[int] = set()
    used_f: set[int] = set()
    out = []
    for value, i, j in pairs:
        if value >= min_iou and i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
            out.append((i, j))
    return out


def score_video(analysis: VideoAnalysis, truth: Mapping[str, Any], tolerance_ms: int = 500) -> VideoScore:
    """Score one analysed video against its ``*.truth.json`` (see ``synthetic.make_test_video``)."""
    detected = detected_boundaries(analysis)
    true_times = [b["time_ms"] for b in truth["boundaries"]]
    errors = tuple(min((abs(d - t) for d in detected), default=10**9) for t in true_times)
    extra = sum(1 for d in detected if all(abs(d - t) > tolerance_ms for t in true_times))
    screens = truth["screens"]
    n_true = n_found = n_matched = 0
    height_errors: list[float] = []
    seen: set[int] = set()
    for page in analysis.pages:  # each page against the screen shown at its frame
        k = next((i for i, s in enumerate(screens) if s["start_ms"] <= page.frame_ms < s["end_ms"]), None)
        true_systems = screens[k]["systems"] if k is not None else []
        seen.add(k if k is not None else -1)
        pairs = match_systems([PixelBox(*s["bbox"]) for s in true_systems], [s.bbox for s in page.systems])
        n_true += len(true_systems)
        n_found += len(page.systems)
        n_matched += len(pairs)
        height_errors += [abs(page.systems[j].staff_height - true_systems[i]["staff_height"]) for i, j in pairs]
    n_true += sum(len(s["systems"]) for i, s in enumerate(screens) if i not in seen)  # screens never detected
    return VideoScore(errors, extra, n_true, n_found, n_matched, tuple(height_errors))
