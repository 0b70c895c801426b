"""Engraved SVG pages -> one multi-page vector PDF with Debian's ``rsvg-convert``.

rsvg-convert writes every SVG it is given as one page of a single PDF, so no PDF-joining library is needed.
The fontconfig file of ``raster.font_dir`` points it at Verovio's fonts (decoded once from the installed
verovio package): without it the text glyphs of a tempo mark would be empty boxes in the PDF too.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from scorebridge.errors import ScorebridgeError
from scorebridge.fileio import atomic_path
from scorebridge.render.raster import RSVG_TIMEOUT_S, _rsvg, font_dir

log = logging.getLogger(__name__)


def svgs_to_pdf(pages: Sequence[str], out_path: str | os.PathLike[str]) -> Path:
    """Write the SVG documents ``pages`` (page 1 first) as one PDF, a page each, atomically; returns the path."""
    if not pages:
        raise ValueError("no pages to write")
    exe = _rsvg()
    env = {**os.environ, "FONTCONFIG_FILE": str(font_dir() / "fonts.conf")}
    with tempfile.TemporaryDirectory(prefix="scorebridge-pdf-") as tmp:
        names = []
        for i, svg in enumerate(pages, start=1):
            name = Path(tmp) / f"page-{i:03d}.svg"
            name.write_text(svg, encoding="utf-8")
            names.append(str(name))
        with atomic_path(out_path) as part:
            proc = subprocess.run([exe, "--format", "pdf", "--output", str(part), *names], capture_output=True,
                                  env=env, timeout=RSVG_TIMEOUT_S * len(pages), check=False)
            if proc.returncode != 0 or part.stat().st_size == 0:
                raise ScorebridgeError(f"rsvg-convert failed: {proc.stderr.decode(errors='replace').strip()[:300]}")
    log.debug("wrote %d page(s) to %s", len(pages), out_path)
    return Path(out_path)
