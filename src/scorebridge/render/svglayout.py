"""Read the page geometry out of a Verovio SVG page (rendered with ``svgBoundingBoxes``).

Coordinates inside Verovio's page are in the inner viewBox units, shifted by the ``page-margin``
group's translate; pixels = (unit + margin - viewBox origin) * (outer width px / viewBox width) * zoom.
The ``system bounding-box`` only covers the brace line, so a system's extent is the union of the
boxes of every element inside it (notes, beams, slurs, dynamics, lyrics ...).
"""

from __future__ import annotations

import re
import statistics
import xml.etree.ElementTree as ET
from dataclasses import dataclass

_SVG = "{http://www.w3.org/2000/svg}"
_TRANSLATE = re.compile(r"translate\(\s*([-\d.]+)[,\s]+([-\d.]+)\s*\)")
_HLINE = re.compile(r"^\s*M\s*([-\d.]+)[ ,]([-\d.]+)\s*L\s*([-\d.]+)[ ,]([-\d.]+)\s*$")


@dataclass(frozen=True)
class Box:
    """An axis-aligned box, x0 <= x1 and y0 <= y1 (page units or pixels, as the owner says)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0),
                   max(self.x1, other.x1), max(self.y1, other.y1))

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class MeasureLayout:
    id: str
    n: str


@dataclass(frozen=True)
class StaffLayout:
    n: int
    top: float  # y of the top staff line (page units, before the margin offset)
    bottom: float  # y of the bottom staff line
    lines: int


@dataclass(frozen=True)
class SystemLayout:
    index: int  # 0-based on the page
    box: Box  # union of all element boxes, page units before the margin offset
    staves: tuple[StaffLayout, ...]
    measures: tuple[MeasureLayout, ...]

    @property
    def staff_height(self) -> float:
        """Median distance between top and bottom line over staves with at least two lines (units)."""
        heights = [s.bottom - s.top for s in self.staves if s.lines >= 2]
        return float(statistics.median(heights)) if heights else 0.0


@dataclass(frozen=True)
class SvgPageLayout:
    """The geometry of one page of Verovio's SVG (named apart from ``pages.PageLayout``, which is what the page
    reader detects on an image)."""

    width_px: float  # the SVG's own size at zoom 1
    height_px: float
    unit_px: float  # pixels per page unit at zoom 1
    origin: tuple[float, float]  # page-margin translate minus the viewBox origin, in units
    systems: tuple[SystemLayout, ...]

    def to_px(self, box: Box, zoom: float = 1.0) -> Box:
        k = self.unit_px * zoom
        ox, oy = self.origin
        return Box((box.x0 + ox) * k, (box.y0 + oy) * k, (box.x1 + ox) * k, (box.y1 + oy) * k)


def parse_page(svg: str) -> SvgPageLayout:
    """Parse one Verovio SVG page into its systems, staves and measures."""
    root = ET.fromstring(svg)
    width_px, height_px = _px(root.get("width")), _px(root.get("height"))
    inner = next((e for e in root.iter(f"{_SVG}svg") if "definition-scale" in (e.get("class") or "")), None)
    if inner is None or not inner.get("viewBox"):
        raise ValueError("not a Verovio page: no definition-scale viewBox")
    vx, vy, vw, _ = (float(v) for v in inner.get("viewBox", "").replace(",", " ").split())
    margin = next((e for e in inner.iter(f"{_SVG}g") if _classes(e) == ["page-margin"]), None)
    mx, my = 0.0, 0.0
    if margin is not None:
        match = _TRANSLATE.search(margin.get("transform") or "")
        if match:
            mx, my = float(match.group(1)), float(match.group(2))
    container = margin if margin is not None else inner
    raw = [_system(e) for e in container.iter(f"{_SVG}g") if _is(e, "system")]
    raw = [r for r in raw if r[0]]
    systems = tuple(
        SystemLayout(i, _union_within(boxes, _band(raw, i)), staves, measures)
        for i, (boxes, staves, measures) in enumerate(raw)
    )
    return SvgPageLayout(width_px, height_px, width_px / vw, (mx - vx, my - vy), systems)


_RawSystem = tuple[list[Box], tuple[StaffLayout, ...], tuple[MeasureLayout, ...]]


def _band(raw: list[_RawSystem], i: int) -> tuple[float, float]:
    """The vertical range system i may occupy: strictly between its neighbours' staff lines.

    Verovio gives a tie/slur/pedal that crosses a system break the box of its segment in the other
    system, so boxes are kept only inside this band.
    """
    def staff_range(k: int) -> tuple[float, float] | None:
        staves = raw[k][1]
        return (min(s.top for s in staves), max(s.bottom for s in staves)) if staves else None

    lo, hi = float("-inf"), float("inf")
    own = staff_range(i)
    if own is None:
        return lo, hi
    for k in range(len(raw)):
        other = staff_range(k) if k != i else None
        if other is None:
            continue
        if other[1] < own[0]:
            lo = max(lo, other[1])
        elif other[0] > own[1]:
            hi = min(hi, other[0])
    return lo, hi


def _union_within(boxes: list[Box], band: tuple[float, float]) -> Box:
    lo, hi = band
    kept = [Box(b.x0, max(b.y0, lo), b.x1, min(b.y1, hi)) for b in boxes if b.y1 > lo and b.y0 < hi]
    out = kept[0] if kept else boxes[0]
    for b in kept[1:]:
        out = out.union(b)
    return out


def _px(value: str | None) -> float:
    if not value:
        raise ValueError("SVG root has no width/height")
    return float(value.removesuffix("px"))


def _classes(elem: ET.Element) -> list[str]:
    return (elem.get("class") or "").split()


def _is(elem: ET.Element, kind: str) -> bool:
    """True for the element group itself (class "kind ..."), not its "kind bounding-box" child."""
    classes = _classes(elem)
    return bool(classes) and classes[0] == kind and "bounding-box" not in classes


def _system(elem: ET.Element) -> _RawSystem:
    measures = tuple(
        MeasureLayout(m.get("id") or "", m.get("data-n") or "")
        for m in elem.iter(f"{_SVG}g") if _is(m, "measure")
    )
    return list(_boxes(elem)), _staves(elem), measures


def _boxes(elem: ET.Element):
    """Yield every bounding-box rect under elem, skipping hidden placeholder elements."""
    classes = _classes(elem)
    if "placeholder" in classes:
        return
    if "bounding-box" in classes:
        for rect in elem.findall(f"{_SVG}rect"):
            w, h = float(rect.get("width", 0)), float(rect.get("height", 0))
            if w > 0 or h > 0:
                x, y = float(rect.get("x", 0)), float(rect.get("y", 0))
                yield Box(x, y, x + w, y + h)
        return
    for child in elem:
        if child.tag == f"{_SVG}g" or child.tag.endswith(("text", "tspan")):
            yield from _boxes(child)


def _staves(system: ET.Element) -> tuple[StaffLayout, ...]:
    """Staff extents from the staff-line paths (direct children of each measure's staff group)."""
    extents: dict[int, tuple[float, float, int]] = {}
    for staff in system.iter(f"{_SVG}g"):
        if not _is(staff, "staff"):
            continue
        line_ys = (_hline_y(p.get("d") or "") for p in staff.findall(f"{_SVG}path"))
        ys = sorted({y for y in line_ys if y is not None})
        n_attr = staff.get("data-n") or ""
        if not ys or not n_attr.isdigit():
            continue
        n = int(n_attr)
        top, bottom, lines = extents.get(n, (ys[0], ys[-1], len(ys)))
        extents[n] = (min(top, ys[0]), max(bottom, ys[-1]), max(lines, len(ys)))
    return tuple(StaffLayout(n, t, b, k) for n, (t, b, k) in sorted(extents.items()))


def _hline_y(d: str) -> float | None:
    match = _HLINE.match(d)
    if not match or match.group(2) != match.group(4):
        return None
    return float(match.group(2))
