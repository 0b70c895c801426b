"""Evaluation engraver: MuseScore 3 (Debian ``musescore3``, run headless) MusicXML -> PDF or PNG pages.

OLiMPiC's synthetic images were engraved with MuseScore 3.6.2; Debian ships 3.2.3, so layouts can differ
slightly from the benchmark's. Verovio stays the engraver for training data.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from scorebridge.errors import InputError, MissingToolError
from scorebridge.filetypes import MUSICXML_SUFFIXES

log = logging.getLogger(__name__)

MUSESCORE_INPUTS = (*MUSICXML_SUFFIXES, ".mscz", ".mscx")  # .mscz/.mscx: MuseScore's own, read by nothing else
MUSESCORE_TIMEOUT_S = 300.0


def musescore_executable() -> str:
    for name in ("mscore3", "musescore3"):
        exe = shutil.which(name)
        if exe:
            return exe
    raise MissingToolError("mscore3", "Debian: apt-get install musescore3")


def musescore_render(path: str | os.PathLike[str], out_dir: str | os.PathLike[str], fmt: str = "png",
                     dpi: int | None = None, timeout_s: float = MUSESCORE_TIMEOUT_S) -> list[Path]:
    """Engrave ``path`` with MuseScore 3 into ``out_dir``; returns the written files in page order.

    PNG gives one file per page (``STEM-1.png``, ``STEM-2.png``, ...); PDF gives ``STEM.pdf``.
    Files appear in ``out_dir`` only once MuseScore has succeeded.
    """
    if fmt not in ("png", "pdf"):
        raise ValueError(f"fmt must be 'png' or 'pdf', not {fmt!r}")
    path = Path(path)
    if path.suffix.lower() not in MUSESCORE_INPUTS:
        kinds = ", ".join(MUSESCORE_INPUTS)
        raise InputError(path, f"MuseScore cannot read {path.suffix!r} files (use {kinds})")
    if not path.is_file():
        raise InputError(path, "no such file")
    exe = musescore_executable()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".musescore-", dir=out_dir) as tmp:
        target = Path(tmp) / f"{path.stem}.{fmt}"
        cmd = [exe, "-o", str(target)] + (["-r", str(dpi)] if dpi else []) + [str(path.resolve())]
        # Offscreen Qt: no display needed; a private HOME keeps MuseScore's settings out of the user's.
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": tmp, "XDG_DATA_HOME": tmp}
        try:
            proc = subprocess.run(cmd, capture_output=True, env=env, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise InputError(path, f"MuseScore did not finish within {timeout_s:g} s") from exc
        produced = _outputs(Path(tmp), path.stem, fmt)
        if proc.returncode != 0 or not produced:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise InputError(path, f"MuseScore could not engrave it ({tail[0][:200]})")
        final = []
        for f in produced:
            dest = out_dir / f.name
            os.replace(f, dest)
            final.append(dest)
    log.debug("MuseScore wrote %d file(s) for %s", len(final), path)
    return final


def _outputs(folder: Path, stem: str, fmt: str) -> list[Path]:
    if fmt == "pdf":
        pdf = folder / f"{stem}.pdf"
        return [pdf] if pdf.is_file() else []
    pattern = re.compile(rf"^{re.escape(stem)}-(\d+)\.png$")
    pages = [(int(m.group(1)), f) for f in folder.iterdir() if (m := pattern.match(f.name))]
    return [f for _, f in sorted(pages)]
