"""OLiMPiC-synthetic reproduced: engraved pages cut into systems by ``scorebridge.pages``, each system paired with
the LMX of exactly its measures, and the model's SER over them.

OLiMPiC-synthetic is the OLiMPiC test split of OpenScore Lieder, piano part alone, engraved by MuseScore 3 and cut
into systems. Our reader finds systems on the page without learned weights, so the truth of a *detected* system
needs its measure range. MuseScore gives no timemap, but it writes measure positions (``-o X.mpos``: one box per
measure in document order, page and pixel position at the same ``-r`` as the PNG pages); Verovio's own layout
gives the same through ``render.system_crops``. Each measure goes to the detected system its box overlaps most
(vertically, on its page); a detected system whose measures do not form one contiguous range, or that gets none,
is not scored and the reason is kept, as are measures no system took. This uses the engraver's layout only to
label what the page reader found, so detection errors still show as unscored systems or measures.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from scorebridge.errors import InputError
from scorebridge.pages import load_pages, page_systems
from scorebridge.render.musescore import MUSESCORE_TIMEOUT_S, musescore_executable, musescore_render

log = logging.getLogger(__name__)

# MuseScore 3 writes .mpos coordinates at 12 units per pixel of a PNG exported with the same -r (measured: the
# first system's left edge is at 1801 units at 150 dpi and 3602 at 300 dpi, 150 and 300 px on the PNG pages).
MPOS_UNITS_PER_PX = 12.0
MIN_OVERLAP = 0.5  # a measure belongs to a system only if at least this share of its height lies inside it


@dataclass(frozen=True)
class MeasureBox:
    """Where a measure is drawn: 0-based page and its vertical extent in page pixels."""

    page: int
    y0: float
    y1: float


@dataclass(frozen=True)
class Assignment:
    """Measure ranges of detected systems (reading order): ``ranges[k]`` is [start, end) or None, with
    ``reasons[k]`` saying why for None; ``unassigned``: measures (0-based) that no detected system took."""

    ranges: tuple[tuple[int, int] | None, ...]
    reasons: tuple[str | None, ...]
    unassigned: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class TruthSystem:
    """One detected system, normalized as the model reads it, with the LMX of its measures."""

    image: np.ndarray  # uint8 (h, w), 255 = white, 18-px staves
    page: int
    system: int
    measure_start: int
    measure_end: int
    lmx: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class EngravedSystems:
    """A score engraved and read back: the scored systems, how many were detected, and what could not be used."""

    engraver: str
    pages: int
    measures: int
    detected: int
    systems: tuple[TruthSystem, ...]
    problems: tuple[str, ...]
    unassigned_measures: int


def read_mpos(text: str, units_per_px: float = MPOS_UNITS_PER_PX) -> list[MeasureBox]:
    """Measure boxes, in document order, from the text of a MuseScore ``.mpos`` file (ValueError if malformed)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"not an .mpos document ({exc})") from exc
    out = []
    for k, e in enumerate(root.iter("element")):
        if int(e.get("id", "-1")) != k:
            raise ValueError(f"measure elements out of order at position {k}")
        y, sy = float(e.get("y", "nan")), float(e.get("sy", "nan"))
        out.append(MeasureBox(int(e.get("page", "0")), y / units_per_px, (y + sy) / units_per_px))
    return out


def assign_measures(systems: Sequence[tuple[int, float, float]], measures: Sequence[MeasureBox],
                    min_overlap: float = MIN_OVERLAP) -> Assignment:
    """Give each measure to the detected system (page, y0, y1) that overlaps it most vertically on its page; see
    the module docstring for what makes a system's range valid."""
    owner: list[int | None] = []
    for m in measures:
        height = max(m.y1 - m.y0, 1e-9)
        best, best_share = None, min_overlap
        for k, (page, y0, y1) in enumerate(systems):
            share = (min(m.y1, y1) - max(m.y0, y0)) / height
            if page == m.page and share >= best_share:
                best, best_share = k, share
        owner.append(best)
    ranges: list[tuple[int, int] | None] = []
    reasons: list[str | None] = []
    for k in range(len(systems)):
        mine = [i for i, o in enumerate(owner) if o == k]
        if not mine:
            ranges.append(None)
            reasons.append("no measure of the engraver's layout lies on this detected system")
        elif mine[-1] - mine[0] + 1 != len(mine):
            ranges.append(None)
            reasons.append(f"its measures {mine[0]}..{mine[-1]} are not contiguous")
        else:
            ranges.append((mine[0], mine[-1] + 1))
            reasons.append(None)
    return Assignment(tuple(ranges), tuple(reasons), tuple(i for i, o in enumerate(owner) if o is None))


def musescore_measure_boxes(path: str | os.PathLike[str], dpi: int,
                            timeout_s: float = MUSESCORE_TIMEOUT_S) -> list[MeasureBox]:
    """MuseScore 3's measure positions for ``path`` in pixels of its PNG pages at ``dpi`` (InputError on failure)."""
    exe = musescore_executable()
    with tempfile.TemporaryDirectory(prefix="scorebridge-mpos-") as tmp:
        target = Path(tmp) / "positions.mpos"
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": tmp, "XDG_DATA_HOME": tmp}
        try:
            subprocess.run([exe, "-o", str(target), "-r", str(dpi), str(Path(path).resolve())], capture_output=True,
                           env=env, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise InputError(path, f"MuseScore did not finish within {timeout_s:g} s") from exc
        if not target.is_file():
            raise InputError(path, "MuseScore wrote no measure positions")
        try:
            return read_mpos(target.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(path, str(exc)) from exc


def systems_with_truth(part: ET.Element, pages: Sequence[np.ndarray], measures: Sequence[MeasureBox],
                       engraver: str, path: str | os.PathLike[str] | None = None) -> EngravedSystems:
    """Detect and normalize the systems of ``pages``, label them with measure ranges from the engraver's
    ``measures`` (one per <measure> of ``part``, else nothing is scored) and give each its truth LMX."""
    from scorebridge.notation import LinearizationError
    from scorebridge.notation.slicing import lmx_for_measures

    detected = [s for k, page in enumerate(pages) for s in _page_systems(page, k)]
    n_measures = len(part.findall("measure"))
    if len(measures) != n_measures:
        return EngravedSystems(engraver, len(pages), n_measures, len(detected), (),
                               (f"{engraver} draws {len(measures)} measures, the part has {n_measures}",), 0)
    boxes = [(s.page, float(s.bbox.y0), float(s.bbox.y1)) for s in detected]
    assignment = assign_measures(boxes, measures)
    systems, problems = [], []
    for s, span, reason in zip(detected, assignment.ranges, assignment.reasons, strict=True):
        where = f"page {s.page + 1} system {s.system + 1}"
        if span is None:
            problems.append(f"{where}: {reason}")
            continue
        try:
            lmx = lmx_for_measures(part, span[0], span[1], path=path)
        except LinearizationError as exc:
            problems.append(f"{where}: LMX: {exc.problem}")
            continue
        systems.append(TruthSystem(s.image, s.page, s.system, span[0], span[1], tuple(lmx)))
    if assignment.unassigned:
        problems.append(f"{len(assignment.unassigned)} measure(s) on no detected system")
    return EngravedSystems(engraver, len(pages), n_measures, len(detected), tuple(systems), tuple(problems),
                           len(assignment.unassigned))


def _page_systems(page: np.ndarray, index: int) -> list[Any]:
    return [replace(s, page=index) for s in page_systems(page)]


def musescore_systems(part: ET.Element, workdir: str | os.PathLike[str], dpi: int = 200,
                      path: str | os.PathLike[str] | None = None) -> EngravedSystems:
    """The piano ``part`` alone engraved by MuseScore 3 (PNG pages at ``dpi``), read back into truth systems."""
    from scorebridge.notation.compare import part_to_musicxml

    score = Path(workdir) / "part.musicxml"
    score.write_text(part_to_musicxml(part), encoding="utf-8")
    files = musescore_render(score, Path(workdir) / "pages", "png", dpi)
    pages = [p.image for f in files for p in load_pages(f)]
    return systems_with_truth(part, pages, musescore_measure_boxes(score, dpi), "MuseScore", path)


def verovio_systems(part: ET.Element, workdir: str | os.PathLike[str], zoom: float = 1.5,
                    path: str | os.PathLike[str] | None = None) -> EngravedSystems:
    """The piano ``part`` alone engraved by Verovio (default look), rasterized at ``zoom``, read back likewise;
    measure boxes come from Verovio's system crops."""
    from scorebridge.notation.compare import part_to_musicxml
    from scorebridge.render import engrave, system_crops
    from scorebridge.render.raster import svg_to_array

    score = Path(workdir) / "part.musicxml"
    score.write_text(part_to_musicxml(part), encoding="utf-8")
    engraved = engrave(score)
    pages = [svg_to_array(svg, zoom) for svg in engraved.pages]
    boxes: list[MeasureBox | None] = [None] * len(engraved.measures)
    for crop in system_crops(engraved, zoom):
        for i in range(crop.measure_start, crop.measure_end):
            boxes[i] = MeasureBox(crop.page - 1, float(crop.bbox.y0), float(crop.bbox.y1))
    # a measure on no system (never drawn) cannot be placed: a box off every page keeps the count honest
    measures = [b if b is not None else MeasureBox(-1, 0.0, 1.0) for b in boxes]
    return systems_with_truth(part, pages, measures, "Verovio", path)


def score_systems(model: Any, systems: Iterable[TruthSystem], options: Any = None) -> Any:
    """The model's OMR on each system against its truth LMX: an ``eval.runs.Outcome`` holding ``SerScores``."""
    from scorebridge.eval.report import SkippedSample
    from scorebridge.eval.runs import Outcome, SerTally, translate_or_reason
    from scorebridge.eval.tasks import REFERENCE_OPTIONS
    from scorebridge.modality import Modality

    options = options or REFERENCE_OPTIONS["omr"]
    tally, skipped = SerTally(), []
    for k, s in enumerate(systems):
        sample_id = f"{k}:p{s.page + 1}s{s.system + 1}:m{s.measure_start}-{s.measure_end}"
        result = translate_or_reason(model, s.image, Modality.IMAGE, Modality.NOTATION, options)
        if isinstance(result, str):
            skipped.append(SkippedSample(sample_id, result))
            continue
        tally.over_limit += len(s.lmx) + 2 > model.limits.notation
        tally.add(sample_id, list(s.lmx), list(result.lmx))
    return Outcome(tally.scores(), len(tally.rows), skipped)
