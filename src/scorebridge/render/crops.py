"""One grayscale crop per engraved system, with the metadata that ties it to measures, staves and time."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from scorebridge.render.engrave import EngravedScore, MeasureInfo
from scorebridge.render.raster import svg_to_array
from scorebridge.render.svglayout import Box, SvgPageLayout, SystemLayout

CROP_MARGIN_SPACES = 1.0  # margin around the union of element boxes, in staff spaces
SUPERSAMPLE = 2.0  # rasterize systems at >= 2x the target staff height, then downscale (cleaner lines)


def system_zoom(staff_height_px: float, target: float) -> float:
    """Zoom at which to rasterize so that a staff of ``staff_height_px`` (at zoom 1) is at least
    SUPERSAMPLE x the ``target`` height that normalization will bring it to."""
    return max(1.0, SUPERSAMPLE * target / staff_height_px)


@dataclass(frozen=True)
class PixelBox:
    """Crop rectangle in page pixels at the crop's zoom; x1/y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True)
class SystemCrop:
    """Where a system crop came from. JSON-serialisable through ``dataclasses.asdict``."""

    page: int  # 1-based
    system: int  # 0-based index of the system on its page
    zoom: float
    bbox: PixelBox
    staves: tuple[int, ...]  # staff numbers (@n) drawn in this system
    part_ids: tuple[str, ...]  # MusicXML part ids of those staves, in order; empty when unknown
    measure_start: int  # 0-based index of the first measure in document order
    measure_end: int  # exclusive
    measure_numbers: tuple[str, ...]  # the measures' number labels (@n)
    start_ms: int  # score time (Verovio timemap) of the first measure's first play
    end_ms: int  # end of the last measure's first play
    staff_height_px: float  # top to bottom staff line, in crop pixels (median over staves)


@dataclass(frozen=True, eq=False)
class SystemImage:
    image: np.ndarray  # uint8 (H, W), 255 = white
    crop: SystemCrop


def system_crops(engraved: EngravedScore, zoom: float = 1.0) -> list[SystemCrop]:
    """The crop metadata for every system of every page, in reading order (no rasterizing)."""
    by_system: dict[tuple[int, int], list[MeasureInfo]] = {}
    for m in engraved.measures:
        by_system.setdefault((m.page, m.system), []).append(m)
    parts = {s.n: s.part_id for s in engraved.staves}
    out: list[SystemCrop] = []
    for page_no, layout in enumerate(engraved.layouts, start=1):
        for system in layout.systems:
            measures = by_system.get((page_no, system.index), [])
            if not measures:
                continue  # nothing to pair with notation or time (e.g. an empty decorative system)
            out.append(_crop(layout, system, page_no, measures, parts, zoom))
    return out


def crop_systems(engraved: EngravedScore, *, zoom: float = 1.0) -> list[SystemImage]:
    """Rasterize each page once at ``zoom`` and cut out one image per system."""
    crops = system_crops(engraved, zoom)
    out: list[SystemImage] = []
    for page_no in sorted({c.page for c in crops}):
        page = svg_to_array(engraved.pages[page_no - 1], zoom)
        for c in (c for c in crops if c.page == page_no):
            c = _clip(c, page.shape)
            out.append(SystemImage(np.ascontiguousarray(page[c.bbox.y0:c.bbox.y1, c.bbox.x0:c.bbox.x1]), c))
    return out


def _crop(layout: SvgPageLayout, system: SystemLayout, page_no: int, measures: list[MeasureInfo],
          parts: dict[int, str | None], zoom: float) -> SystemCrop:
    margin = system.staff_height / 4 * CROP_MARGIN_SPACES
    box = system.box
    px = layout.to_px(Box(box.x0 - margin, box.y0 - margin, box.x1 + margin, box.y1 + margin), zoom)
    staves = tuple(s.n for s in system.staves)
    staff_parts = [parts.get(n) for n in staves]
    part_ids = tuple(dict.fromkeys(p for p in staff_parts if p)) if all(staff_parts) else ()
    starts = [m.start_ms for m in measures if m.start_ms is not None]
    ends = [m.end_ms for m in measures if m.end_ms is not None]
    return SystemCrop(
        page=page_no,
        system=system.index,
        zoom=zoom,
        bbox=PixelBox(max(0, math.floor(px.x0)), max(0, math.floor(px.y0)),
                      math.ceil(px.x1), math.ceil(px.y1)),
        staves=staves,
        part_ids=part_ids,
        measure_start=measures[0].index,
        measure_end=measures[-1].index + 1,
        measure_numbers=tuple(m.n for m in measures),
        start_ms=starts[0] if starts else 0,
        end_ms=ends[-1] if ends else 0,
        staff_height_px=system.staff_height * layout.unit_px * zoom,
    )


def _clip(crop: SystemCrop, shape: tuple[int, ...]) -> SystemCrop:
    """Keep the box inside the rasterized page (rsvg may round the page size) and at least 1 px."""
    h, w = shape[:2]
    b = crop.bbox
    x0, y0 = min(b.x0, w - 1), min(b.y0, h - 1)
    clipped = PixelBox(x0, y0, min(max(b.x1, x0 + 1), w), min(max(b.y1, y0 + 1), h))
    return crop if clipped == b else replace(crop, bbox=clipped)
