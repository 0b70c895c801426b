"""System detectors for video pages: a small protocol, the staff-line detector of ``scorebridge.pages`` as the
default (no learned weights), and an adapter for a learned box detector with the user's weights (e.g. a YOLO
model through ``ultralytics``, which is AGPL: an optional extra, imported only when asked for)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from scorebridge.constants import STAFF_HEIGHT_PX
from scorebridge.errors import InputError, MissingToolError
from scorebridge.pages.layout import analyse_page, detect_layout
from scorebridge.render import PixelBox
from scorebridge.render.normalize import normalize_system


@dataclass(frozen=True, eq=False)
class FoundSystem:
    """One system of a page: its normalized image and where it was on the page."""

    image: np.ndarray  # uint8 (h, w), 255 = white, staves ``target`` px tall
    bbox: PixelBox  # the staff region (first staff's top line to last staff's bottom line)
    crop: PixelBox  # the region cut out (content and margin around the staves)
    staff_height: float  # pixels on the page, before normalization


class SystemDetector(Protocol):
    """Finds the systems of a grayscale page (uint8 (H, W), 255 = white), top to bottom."""

    name: str

    def detect(self, page: np.ndarray) -> list[FoundSystem]:
        ...


BAR_LEVEL = 48  # an edge row or column whose pixels are all at most this dark is a letterbox bar
BAR_PAD_PX = 4  # white added where a bar was cut off


def letterbox(page: np.ndarray, level: int = BAR_LEVEL) -> PixelBox:
    """The frame inside its black bars (rows and columns at the edges with no pixel above ``level``); the
    whole frame when there are none, or when nothing is brighter (a dark card)."""
    rows = np.flatnonzero(page.max(axis=1) > level)
    cols = np.flatnonzero(page.max(axis=0) > level)
    if rows.size == 0 or cols.size == 0:
        return PixelBox(0, 0, page.shape[1], page.shape[0])
    return PixelBox(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _moved(box: PixelBox, dx: int, dy: int, w: int, h: int) -> PixelBox:
    return PixelBox(min(w, max(0, box.x0 + dx)), min(h, max(0, box.y0 + dy)), min(w, max(0, box.x1 + dx)),
                    min(h, max(0, box.y1 + dy)))


class StaffLineDetector:
    """The page reader's classic detector: staff lines from run lengths and projections, no weights.

    The page is read inside its letterbox bars, with a white margin where a bar was: the page reader clears ink
    joined to the image edge as a scanner border, and music that touches a bar (a page cut off by the frame,
    an engraving overflowing its page) would otherwise take its staves with it. It also reads fewer pixels.
    """

    name = "staff-lines"

    def __init__(self, target: float = STAFF_HEIGHT_PX):
        self.target = target

    def detect(self, page: np.ndarray) -> list[FoundSystem]:
        h, w = page.shape
        inner = letterbox(page)
        pads = ((BAR_PAD_PX if inner.y0 > 0 else 0, BAR_PAD_PX if inner.y1 < h else 0),
                (BAR_PAD_PX if inner.x0 > 0 else 0, BAR_PAD_PX if inner.x1 < w else 0))
        view = np.pad(page[inner.y0:inner.y1, inner.x0:inner.x1], pads, constant_values=255)
        gray, layout = analyse_page(view)
        dx, dy = inner.x0 - pads[1][0], inner.y0 - pads[0][0]  # view -> frame pixels
        out = []
        for system in layout.systems:
            b = system.crop
            image = normalize_system(gray[b.y0:b.y1, b.x0:b.x1], system.staff_height, target=self.target)
            out.append(FoundSystem(image, _moved(system.bbox, dx, dy, w, h), _moved(b, dx, dy, w, h),
                                   system.staff_height))
        return out


class BoxDetector:
    """Systems from any box model (``boxes(page) -> system boxes``); each box's staff height is measured inside
    it with the staff-line detector, and boxes without staves are dropped."""

    name = "boxes"

    def __init__(self, boxes: Callable[[np.ndarray], Sequence[PixelBox]], target: float = STAFF_HEIGHT_PX):
        self.boxes, self.target = boxes, target

    def detect(self, page: np.ndarray) -> list[FoundSystem]:
        h, w = page.shape
        out = []
        for box in sorted(self.boxes(page), key=lambda b: (b.y0, b.x0)):
            b = PixelBox(max(0, box.x0), max(0, box.y0), min(w, box.x1), min(h, box.y1))
            if b.x1 <= b.x0 or b.y1 <= b.y0:
                continue
            crop = page[b.y0:b.y1, b.x0:b.x1]
            layout = detect_layout(crop)
            if not layout.systems:
                continue
            out.append(FoundSystem(normalize_system(crop, layout.staff_height, target=self.target), b, b,
                                   layout.staff_height))
        return out


class YoloBoxes:
    """System boxes from a YOLO model file (the reference fine-tuned YOLOv8); loaded lazily, so the detector
    pickles into build workers as just its path."""

    def __init__(self, weights: str | os.PathLike[str], confidence: float = 0.5):
        if not Path(weights).is_file():
            raise InputError(weights, "detector weights not found")
        self.weights, self.confidence = str(weights), confidence
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"weights": self.weights, "confidence": self.confidence, "_model": None}

    def __call__(self, page: np.ndarray) -> list[PixelBox]:
        if self._model is None:
            try:
                from ultralytics import YOLO  # AGPL, optional: never imported unless a YOLO detector is asked for
            except ImportError as exc:
                raise MissingToolError("ultralytics", "pip install ultralytics (AGPL) to use YOLO weights") from exc
            self._model = YOLO(self.weights)
        rgb = np.repeat(page[:, :, None], 3, axis=2)
        result = self._model.predict(rgb, conf=self.confidence, verbose=False)[0]
        return [PixelBox(*(round(float(v)) for v in xyxy)) for xyxy in result.boxes.xyxy.tolist()]


def yolo_detector(weights: str | os.PathLike[str], confidence: float = 0.5,
                  target: float = STAFF_HEIGHT_PX) -> BoxDetector:
    """A learned system detector from the user's YOLO weights (needs ``ultralytics``)."""
    detector = BoxDetector(YoloBoxes(weights, confidence), target)
    detector.name = f"yolo:{Path(weights).name}"
    return detector
