"""SVG -> grayscale PNG / numpy with Debian's ``rsvg-convert`` (the only rasterizer that draws Verovio's
SVG correctly in our checks; see toolchain-notes §2), or, where it is missing (a wheel-only machine such as a
GPU lease), resvg from the ``resvg-py`` wheel (``render.svg_raster``; its fidelity in docs/gpu-data.md).
``$SCOREBRIDGE_RASTER`` (``rsvg-convert`` or ``resvg``) forces one.

Verovio embeds its fonts as base64 WOFF2 ``@font-face`` rules that rasterizers ignore, so text glyphs
(tempo-mark notes, Times text) would come out as empty boxes. We decode those fonts once from the
installed verovio package into TTFs in a cache folder and point fontconfig at it. Nothing is downloaded.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image

from scorebridge.errors import MissingToolError, ScorebridgeError
from scorebridge.fileio import atomic_path, write_bytes, write_text

log = logging.getLogger(__name__)

CACHE_ENV = "SCOREBRIDGE_CACHE"
_FONT_FACE = re.compile(r"@font-face\s*\{.*?base64,([A-Za-z0-9+/=\s]+)\)", re.S)
RSVG_TIMEOUT_S = 120
RASTER_ENV = "SCOREBRIDGE_RASTER"
_logged_backend: list[str] = []  # the backend already named in the log (once per process)


def cache_dir() -> Path:
    """Root of scorebridge's derived-file cache: $SCOREBRIDGE_CACHE or ~/.cache/scorebridge."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "scorebridge"


def font_dir() -> Path:
    """Decode Verovio's embedded fonts to TTF (once) and return the folder holding them and fonts.conf.

    Each file is written atomically and fonts.conf last, so a folder with fonts.conf is complete,
    and concurrent first calls at worst write identical files twice.
    """
    import verovio  # here, not above: importing scorebridge.render (a lease's unpacking) needs no Verovio

    target = cache_dir() / "fonts" / f"verovio-{verovio.toolkit(False).getVersion().split('-')[0]}"
    conf = target / "fonts.conf"
    if conf.is_file():
        return target
    data_dir = Path(verovio.__file__).parent / "data"
    for css in sorted(data_dir.glob("*.css")):
        for match in _FONT_FACE.finditer(css.read_text(encoding="utf-8")):
            font = TTFont(io.BytesIO(base64.b64decode("".join(match.group(1).split()))))
            font.flavor = None  # WOFF2 -> plain sfnt
            name = re.sub(r"[^A-Za-z0-9]+", "_", font["name"].getDebugName(4) or css.stem).strip("_")
            buf = io.BytesIO()
            font.save(buf)
            write_bytes(target / f"{name}.ttf", buf.getvalue())
    write_text(conf, _fonts_conf(target))
    log.info("decoded Verovio fonts into %s", target)
    return target


def _fonts_conf(folder: Path) -> str:
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{folder}</dir>\n  <cachedir>{folder / 'fc-cache'}</cachedir>\n</fontconfig>\n"
    )


def _rsvg() -> str:
    exe = shutil.which("rsvg-convert")
    if exe is None:
        raise MissingToolError("rsvg-convert", "Debian: apt-get install librsvg2-bin")
    return exe


def backend() -> str:
    """'rsvg-convert' when it is on PATH, else 'resvg' (the wheel); $SCOREBRIDGE_RASTER overrides."""
    from scorebridge.render import svg_raster

    forced = os.environ.get(RASTER_ENV)
    if forced not in (None, "", "rsvg-convert", svg_raster.BACKEND):
        raise ScorebridgeError(f"{RASTER_ENV} must be 'rsvg-convert' or '{svg_raster.BACKEND}', not {forced!r}")
    if forced:
        name = forced
    elif shutil.which("rsvg-convert") is None and svg_raster.available():
        name = svg_raster.BACKEND
    else:
        name = "rsvg-convert"  # missing too: _rsvg() names the Debian package
    if _logged_backend != [name]:
        log.info("rasterizing SVG with %s", name)
        _logged_backend[:] = [name]
    return name


def svg_to_png_bytes(svg: str, zoom: float = 1.0) -> bytes:
    """Rasterize an SVG document on a white background; returns RGBA PNG bytes (rsvg-convert or resvg)."""
    if zoom <= 0:
        raise ValueError(f"zoom must be positive, not {zoom}")
    if backend() != "rsvg-convert":
        from scorebridge.render import svg_raster

        return svg_raster.svg_to_png_bytes(svg, zoom, font_dir())
    env = {**os.environ, "FONTCONFIG_FILE": str(font_dir() / "fonts.conf")}
    proc = subprocess.run(
        [_rsvg(), "--zoom", f"{zoom:g}", "--background-color", "white", "--format", "png"],
        input=svg.encode("utf-8"), capture_output=True, env=env, timeout=RSVG_TIMEOUT_S, check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise ScorebridgeError(f"rsvg-convert failed: {proc.stderr.decode(errors='replace').strip()[:300]}")
    return proc.stdout


def svg_to_array(svg: str, zoom: float = 1.0) -> np.ndarray:
    """Rasterize an SVG to a grayscale uint8 array (H, W); 255 is white."""
    with Image.open(io.BytesIO(svg_to_png_bytes(svg, zoom))) as img:
        return np.asarray(img.convert("L"))


def svg_to_png(svg: str, out_path: str | os.PathLike[str], zoom: float = 1.0) -> Path:
    """Rasterize an SVG to a grayscale PNG file, written atomically; returns the path."""
    arr = svg_to_array(svg, zoom)
    with atomic_path(out_path) as tmp:
        Image.fromarray(arr, mode="L").save(tmp, format="PNG")
    return Path(out_path)
