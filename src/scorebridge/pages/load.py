"""Read user page files into grayscale pages: PNG/JPEG/TIFF through Pillow, PDF through pypdfium2.

A page is uint8 (H, W) with 255 = white. Multi-frame TIFFs give one page per frame; PDFs are rendered
one page at a time at ``dpi`` (``iter_pages`` holds one page in memory at a time).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, ImageSequence

from scorebridge.errors import InputError, MissingToolError
from scorebridge.filetypes import PAGE_SUFFIXES, PDF_SUFFIX
from scorebridge.limits import LIMITS, check_page
from scorebridge.render.normalize import to_grayscale

log = logging.getLogger(__name__)

DEFAULT_DPI = 200.0  # a 7-mm staff comes out ~55 px tall: well above the 18-px target, cheap to analyse
MAX_PAGE_PIXELS = LIMITS.max_page_pixels  # a PDF page rendered larger than this is rendered at a lower dpi instead
_POINTS_PER_INCH = 72.0


@dataclass(frozen=True, eq=False)
class Page:
    """One page of a user file."""

    image: np.ndarray  # uint8 (H, W), 255 = white
    index: int  # 0-based position in the file (TIFF frame, PDF page)
    source: str  # the file it came from
    dpi: float | None = None  # pixels per inch when known (PDF rendering, image metadata)


def iter_pages(path: str | os.PathLike[str], dpi: float = DEFAULT_DPI) -> Iterator[Page]:
    """Yield the pages of an image or PDF file in order, one at a time.

    ``dpi`` is the rendering resolution of PDF pages; images keep their own pixels. Raises InputError for
    a missing, unknown, corrupt or empty file (for PDFs possibly after earlier pages were yielded).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PAGE_SUFFIXES:
        raise InputError(path, f"not a page image or PDF (suffix {suffix!r}; use {', '.join(PAGE_SUFFIXES)})")
    if not path.is_file():
        raise InputError(path, "no such file")
    if not dpi > 0:
        raise ValueError(f"dpi must be positive, not {dpi}")
    if suffix == PDF_SUFFIX:
        yield from _pdf_pages(path, dpi)
    else:
        yield from _image_pages(path)


def check_page_file(path: str | os.PathLike[str]) -> int:
    """Count the pages of an image or PDF file and check every frame's size from the headers, without decoding
    (cheap; done before a model loads). Returns the page count; InputError beyond ``scorebridge.limits``."""
    path = Path(path)
    if path.suffix.lower() == PDF_SUFFIX:
        pdf, _ = _open_pdf(path)
        try:
            count = len(pdf)
        finally:
            pdf.close()
        if count > LIMITS.max_pages:
            raise InputError(path, f"{count} pages is over the limit of {LIMITS.max_pages} pages")
        return count
    count = 0
    try:
        with _quiet_pillow(path), Image.open(path) as img:
            for index, frame in enumerate(ImageSequence.Iterator(img)):
                check_page(path, index, *frame.size)
                count += 1
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise InputError(path, f"not a readable image ({_one_line(exc)})") from exc
    return count


def load_pages(path: str | os.PathLike[str], dpi: float = DEFAULT_DPI) -> list[Page]:
    """All pages of an image or PDF file (see ``iter_pages``); raises InputError as it does."""
    return list(iter_pages(path, dpi))


@contextlib.contextmanager
def _quiet_pillow(path: Path) -> Iterator[None]:
    """Pillow warns on stderr about damaged metadata (EXIF): log it instead, so an error stays one line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        log.debug("%s: %s", path, w.message)


def _image_pages(path: Path) -> Iterator[Page]:
    try:
        with _quiet_pillow(path), Image.open(path) as img:
            frames = 0
            for frame in ImageSequence.Iterator(img):
                check_page(path, frames, *frame.size)  # every frame: Pillow's own bomb check sees the first only
                yield Page(_frame_to_gray(frame), frames, str(path), _image_dpi(frame))
                frames += 1
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        # Pillow raises UnidentifiedImageError (an OSError) for non-images, OSError for truncated data.
        raise InputError(path, f"not a readable image ({_one_line(exc)})") from exc
    if frames == 0:
        raise InputError(path, "the image has no frames")


def _frame_to_gray(frame: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8 gray; transparency counts as white paper, 16-bit data is scaled."""
    frame = ImageOps.exif_transpose(frame) or frame  # phone photos store their rotation in EXIF
    if frame.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(frame, dtype=np.float64)
        scale = 255.0 / 65535.0 if arr.size and arr.max() > 255 else 1.0  # 16-bit data, or 8-bit in a wide mode
        return np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    has_alpha = frame.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in frame.info
    if has_alpha:
        return to_grayscale(np.asarray(frame.convert("RGBA")))
    return np.array(frame.convert("L"), dtype=np.uint8)


def _image_dpi(frame: Image.Image) -> float | None:
    dpi = frame.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else None
    except (TypeError, ValueError, IndexError):
        return None
    return value if value and value > 1 else None


def _open_pdf(path: Path) -> tuple[Any, Any]:
    """(an open pypdfium2 document, the pypdfium2 module); InputError for an unreadable file."""
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:
        raise MissingToolError("pypdfium2", "pip install pypdfium2") from exc
    try:
        return pdfium.PdfDocument(str(path)), pdfium
    except pdfium.PdfiumError as exc:
        raise InputError(path, f"not a readable PDF ({_one_line(exc)})") from exc


def _pdf_pages(path: Path, dpi: float) -> Iterator[Page]:
    pdf, pdfium = _open_pdf(path)
    try:
        if len(pdf) == 0:
            raise InputError(path, "the PDF has no pages")
        if len(pdf) > LIMITS.max_pages:
            raise InputError(path, f"{len(pdf)} pages is over the limit of {LIMITS.max_pages} pages")
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                image, page_dpi = _render_pdf_page(page, dpi, path, i)
                yield Page(image, i, str(path), page_dpi)
            finally:
                page.close()
    except pdfium.PdfiumError as exc:
        raise InputError(path, f"cannot render the PDF ({_one_line(exc)})") from exc
    finally:
        pdf.close()


def _render_pdf_page(page, dpi: float, path: Path, index: int) -> tuple[np.ndarray, float]:
    """Render one pdfium page to gray; returns the image and the dpi actually used."""
    width_pt, height_pt = page.get_size()
    scale = dpi / _POINTS_PER_INCH
    pixels = width_pt * height_pt * scale * scale
    if pixels > MAX_PAGE_PIXELS:
        scale *= math.sqrt(MAX_PAGE_PIXELS / pixels)
        log.warning("%s: page %d is large; rendered at %.0f dpi instead of %.0f", path, index + 1,
                    scale * _POINTS_PER_INCH, dpi)
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        arr = bitmap.to_numpy()
    finally:
        bitmap.close()
    if arr.ndim == 3:
        arr = arr[..., 0] if arr.shape[2] == 1 else to_grayscale(np.ascontiguousarray(arr[..., :3]))
    return np.array(arr, dtype=np.uint8), scale * _POINTS_PER_INCH


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
