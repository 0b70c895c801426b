"""Pages to model inputs: each detected system cut out and normalized exactly as the training crops are
(``render.normalize_system``: grayscale, 18-px staff height, whitened background)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from scorebridge.constants import STAFF_HEIGHT_PX
from scorebridge.pages.layout import analyse_page
from scorebridge.pages.load import DEFAULT_DPI, Page, iter_pages
from scorebridge.render import PixelBox
from scorebridge.render.normalize import normalize_system

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PageSystem:
    """One normalized system and where it came from, so outputs can be aligned back to pages."""

    image: np.ndarray  # uint8 (h, w), 255 = white, staves ``target`` px tall
    page: int  # 0-based page index in its file
    system: int  # 0-based index on the page, top to bottom
    bbox: PixelBox  # the crop on the deskewed page (see PageLayout.skew_deg)
    staff_height_px: float  # median staff height on the page, before normalization
    staves: int  # number of staves in the system
    skew_deg: float  # rotation of the page that was undone before cropping


def page_systems(page: Page | np.ndarray, target: float = STAFF_HEIGHT_PX) -> list[PageSystem]:
    """Every system of a page, top to bottom, normalized to a ``target`` px staff height.

    A page without staves gives [] and a warning: the caller decides whether that is an error.
    """
    gray, layout = analyse_page(page)
    index = page.index if isinstance(page, Page) else 0
    if not layout.systems:
        where = f"{page.source} page {index + 1}" if isinstance(page, Page) else "page"
        log.warning("%s: no staves found", where)
        return []
    out: list[PageSystem] = []
    for k, system in enumerate(layout.systems):
        b = system.crop
        crop = gray[b.y0:b.y1, b.x0:b.x1]
        image = normalize_system(crop, system.staff_height, target=target)
        out.append(PageSystem(image, index, k, b, system.staff_height, len(system.staves), layout.skew_deg))
    return out


def file_systems(path: str | os.PathLike[str], dpi: float = DEFAULT_DPI,
                 target: float = STAFF_HEIGHT_PX) -> Iterator[PageSystem]:
    """The systems of every page of an image or PDF file in reading order, one page in memory at a time.

    Pages without staves are skipped with a warning; InputError as ``load.iter_pages`` raises it.
    """
    for page in iter_pages(path, dpi):
        yield from page_systems(page, target)
