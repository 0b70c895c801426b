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
from scorebridge.render.normalize import normalize_system
from scorebridge.render.systems import PixelBox


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


class StaffLineDetector:
    """The page reader's classic detector: staff lines from run lengths and projections, no weights."""

    name = "staff-lines"

    def __init__(self, target: float = STAFF_HEIGHT_PX):
        self.target = target

    def detect(self, page: np.ndarray) -> list[FoundSystem]:
        gray, layout = analyse_page(page)
        out = []
        for system in layout.systems:
            b = system.crop
            image = normalize_system(gray[b.y0:b.y1, b.x0:b.x1], system.staff_height, target=self.target)
            out.append(FoundSystem(image, system.bbox, b, system.staff_height))
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
