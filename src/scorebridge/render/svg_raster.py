"""SVG -> grayscale image without Debian's ``rsvg-convert``: resvg (Rust) through the ``resvg-py`` wheel.

For machines that take wheels only (a GPU lease: no apt, no network). ``render.raster`` uses rsvg-convert when
it is on PATH and this backend otherwise. resvg draws Verovio's SVG (``<use>`` of ``<symbol>`` glyphs, stroked
staff lines, ``<text>``) with anti-aliasing; its text comes from the same TTFs that ``raster.font_dir`` decodes
from Verovio's embedded WOFF2 fonts, and system fonts are never scanned (so the output does not depend on the
machine): Verovio's "Times, serif" is drawn with Liberation Serif, Times' metrics, which Verovio lays text out
with (rsvg-convert takes whatever fontconfig maps Times to: DejaVu Serif on Debian). Measured against
rsvg-convert in docs/gpu-data.md.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import numpy as np
from PIL import Image

from scorebridge.errors import MissingToolError, ScorebridgeError

log = logging.getLogger(__name__)

BACKEND = "resvg"
PIP_HINT = "pip install resvg-py==0.5.0"
# Verovio writes <text font-size="0px"> and sizes each <tspan>; resvg drops a text whose own size is 0 (its
# spans included), rsvg does not. Dropping the attribute lets the spans' sizes apply.
_ZERO_TEXT_SIZE = re.compile(r'(<text\b[^>]*?)\s+font-size="0(?:px)?"')


def available() -> bool:
    """True when the resvg-py wheel is importable."""
    try:
        import resvg_py  # noqa: F401
    except ImportError:
        return False
    return True


def svg_to_png_bytes(svg: str, zoom: float, fonts: Path) -> bytes:
    """Rasterize ``svg`` on white at ``zoom`` with the TTFs in ``fonts`` only; returns RGBA PNG bytes."""
    if zoom <= 0:
        raise ValueError(f"zoom must be positive, not {zoom}")
    try:
        import resvg_py
    except ImportError as exc:
        raise MissingToolError("resvg-py", PIP_HINT) from exc
    try:
        return bytes(resvg_py.svg_to_bytes(
            svg_string=_ZERO_TEXT_SIZE.sub(r"\1", svg), zoom=zoom, background="#ffffff", skip_system_fonts=True,
            font_dirs=[str(fonts)], serif_family="Liberation Serif", shape_rendering="geometric_precision",
            text_rendering="geometric_precision",
        ))
    except ValueError as exc:
        raise ScorebridgeError(f"resvg failed: {str(exc)[:300]}") from exc


def svg_to_array(svg: str, zoom: float, fonts: Path) -> np.ndarray:
    """As ``svg_to_png_bytes``, decoded to grayscale uint8 (H, W); 255 is white."""
    with Image.open(io.BytesIO(svg_to_png_bytes(svg, zoom, fonts))) as img:
        return np.asarray(img.convert("L"))
