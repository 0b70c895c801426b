"""Engraving with Verovio: MusicXML / .mxl / **kern / ABC / MEI -> SVG pages, timemap and MIDI.

Audio for training is rendered from Verovio's own MIDI, so image <-> time alignment is exact by
construction (its MIDI onsets equal its timemap onsets).
"""

from __future__ import annotations

import base64
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scorebridge.errors import InputError
from scorebridge.fileio import write_bytes
from scorebridge.filetypes import VEROVIO_INPUTS
from scorebridge.limits import LIMITS, check_file_size
from scorebridge.render.svglayout import SvgPageLayout, parse_page
from scorebridge.scorefile import check_kern_spines, decode_score_bytes, parse_score_xml, read_mxl_rootfile

if TYPE_CHECKING:  # imported where a toolkit is made: a lease's data unpacking imports this package without it
    import verovio

log = logging.getLogger(__name__)

FONTS = ("Leipzig", "Bravura", "Gootville", "Leland", "Petaluma")  # SMuFL fonts shipped inside verovio
INPUT_FORMATS = VEROVIO_INPUTS  # suffix -> Verovio's input format
_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
_MEI_NS = "{http://www.music-encoding.org/ns/mei}"



def new_toolkit() -> verovio.toolkit:
    """A Verovio toolkit that works in any thread: Verovio keeps its resource path per thread and sets it only
    in the thread that imported it, so a toolkit made in another thread would load nothing."""
    from importlib.resources import files

    import verovio

    verovio.enableLog(verovio.LOG_OFF)  # Verovio writes to stdout/stderr otherwise; errors surface as InputError
    verovio.setDefaultResourcePath(str(files("verovio") / "data"))
    return verovio.toolkit()


@dataclass(frozen=True)
class EngraveOptions:
    """Page geometry and look. Units are Verovio's (tenths of mm for the page; scale in percent).

    ``scale`` only sets the output resolution (pixels per unit); the layout (systems, pages) depends
    on the page size, ``unit`` (music size) and the spacing options.
    """

    page_width: int = 2100
    page_height: int = 2970
    scale: int = 40
    spacing_system: int = 4
    spacing_staff: int = 12
    spacing_linear: float = 0.25
    spacing_non_linear: float = 0.6
    unit: float = 9.0  # staff-space size relative to the page (Verovio "unit", 4.5..12): music size
    font: str = "Leipzig"
    breaks: str = "auto"
    header: str = "none"  # "none" | "auto": title/composer block on page 1
    footer: str = "none"

    def __post_init__(self) -> None:
        if self.font not in FONTS:
            raise ValueError(f"font must be one of {FONTS}, not {self.font!r}")
        if not (100 <= self.page_width <= 100_000 and 100 <= self.page_height <= 60_000):
            raise ValueError(f"page size {self.page_width}x{self.page_height} is outside Verovio's range")
        if not 1 <= self.scale <= 1000:
            raise ValueError(f"scale must be in 1..1000, not {self.scale}")
        if not (0 <= self.spacing_system <= 48 and 0 <= self.spacing_staff <= 48):
            raise ValueError("spacing_system and spacing_staff must be in 0..48")
        if not (0.0 <= self.spacing_linear <= 1.0 and 0.0 <= self.spacing_non_linear <= 1.0):
            raise ValueError("spacing_linear and spacing_non_linear must be in 0..1")
        if not 4.5 <= self.unit <= 12.0:
            raise ValueError(f"unit must be in 4.5..12, not {self.unit}")
        if self.breaks not in ("none", "auto", "line", "smart", "encoded"):
            raise ValueError(f"unknown breaks mode {self.breaks!r}")
        if self.header not in ("none", "auto", "encoded") or self.footer not in ("none", "auto", "encoded"):
            raise ValueError("header/footer must be 'none', 'auto' or 'encoded'")

    @classmethod
    def sample(cls, rng: np.random.Generator, width_range: tuple[int, int] = (1800, 2500)) -> EngraveOptions:
        """Draw a varied but readable look (page shape, zoom, spacing, font) for training images; a narrow
        ``width_range`` gives short systems (a measure or two), for small models that must learn alignment first."""
        width = int(rng.integers(width_range[0], max(width_range[1], width_range[0] + 1)))  # hi excluded
        return cls(
            page_width=width,
            page_height=int(width * rng.uniform(1.25, 1.5)),
            scale=int(rng.integers(32, 56)),
            spacing_system=int(rng.integers(2, 13)),
            spacing_staff=int(rng.integers(6, 19)),
            spacing_linear=float(np.round(rng.uniform(0.15, 0.35), 3)),
            spacing_non_linear=float(np.round(rng.uniform(0.45, 0.75), 3)),
            unit=float(np.round(rng.uniform(7.0, 10.5), 2)),
            font=str(rng.choice(FONTS)),
        )

    def to_verovio(self) -> dict[str, Any]:
        return {
            "pageWidth": self.page_width, "pageHeight": self.page_height, "scale": self.scale,
            "spacingSystem": self.spacing_system, "spacingStaff": self.spacing_staff,
            "spacingLinear": self.spacing_linear, "spacingNonLinear": self.spacing_non_linear,
            "unit": self.unit, "font": self.font,
            "breaks": self.breaks, "header": self.header, "footer": self.footer,
            # Layout extraction needs element boxes and the staff / measure numbers in the SVG itself.
            "svgBoundingBoxes": True, "svgAdditionalAttribute": ["measure@n", "staff@n"],
        }


@dataclass(frozen=True)
class TimemapEvent:
    """One entry of Verovio's timemap: at ``tstamp_ms`` these notes/rests start or stop."""

    tstamp_ms: int
    qstamp: float
    on: tuple[str, ...] = ()
    off: tuple[str, ...] = ()
    rests_on: tuple[str, ...] = ()
    rests_off: tuple[str, ...] = ()
    measure_on: str | None = None
    tempo: float | None = None


@dataclass(frozen=True)
class MeasurePlay:
    """One time a measure sounds (repeats make several); end is the next measure's onset."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class MeasureInfo:
    """A drawn measure in document order, where it is on the pages and when it sounds."""

    index: int  # 0-based position in document order
    id: str  # Verovio xml:id, as in the SVG
    n: str  # the measure number label (@n); may repeat or be empty for pickups
    page: int  # 1-based
    system: int  # 0-based index of its system on that page
    plays: tuple[MeasurePlay, ...]  # empty if the timemap never reaches it

    @property
    def start_ms(self) -> int | None:
        return self.plays[0].start_ms if self.plays else None

    @property
    def end_ms(self) -> int | None:
        return self.plays[0].end_ms if self.plays else None


@dataclass(frozen=True)
class StaffInfo:
    n: int
    part_id: str | None  # the MusicXML part id, when the input was MusicXML


@dataclass(frozen=True, eq=False)
class EngravedScore:
    path: str
    input_format: str
    options: EngraveOptions
    pages: tuple[str, ...]  # SVG documents, page 1 first
    timemap: tuple[TimemapEvent, ...]
    midi: bytes  # Verovio's standard MIDI file
    measures: tuple[MeasureInfo, ...]
    staves: tuple[StaffInfo, ...]
    layouts: tuple[SvgPageLayout, ...]  # parsed geometry of each page, same order as pages

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def duration_ms(self) -> int:
        return self.timemap[-1].tstamp_ms if self.timemap else 0


def engrave(path: str | Path, options: EngraveOptions = EngraveOptions()) -> EngravedScore:
    """Engrave a score file into SVG pages plus Verovio's timemap and MIDI.

    Raises InputError for a missing or unreadable file, a corrupt .mxl, or anything Verovio
    cannot load or lay out.
    """
    path = Path(path)
    fmt = INPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(path, f"unsupported score format {path.suffix!r} (use {', '.join(INPUT_FORMATS)})")
    if not path.is_file():
        raise InputError(path, "no such file")
    text = _read_score_text(path, fmt)
    if fmt == "humdrum":
        check_kern_spines(path)  # Verovio aborts the whole process on some malformed kern
    tk = new_toolkit()
    tk.resetXmlIdSeed(1)  # fixed ids: the same input gives identical SVG (seed 0 means random)
    tk.setOptions({**options.to_verovio(), "inputFrom": fmt})
    try:
        loaded = tk.loadData(text)
    except Exception as exc:  # the binding raises for some malformed input instead of returning False
        raise InputError(path, f"Verovio could not read it ({exc})") from exc
    if not loaded:
        raise InputError(path, f"not a {fmt} score (Verovio loaded nothing)")
    n_pages = tk.getPageCount()
    if n_pages < 1:
        raise InputError(path, "no pages (the score has no music Verovio can lay out)")
    pages = tuple(tk.renderToSVG(i) for i in range(1, n_pages + 1))
    layouts = tuple(parse_page(svg) for svg in pages)
    if not any(layout.systems for layout in layouts):
        raise InputError(path, "no systems (the score has no music Verovio can lay out)")
    raw_timemap = tk.renderToTimemap({"includeMeasures": True, "includeRests": True})
    timemap = tuple(_timemap_event(e) for e in raw_timemap)
    midi = base64.b64decode(tk.renderToMIDI())
    measures = _measures(layouts, timemap, tk.getNotatedIdForElement)
    staves = _staves(tk.getMEI(), _musicxml_part_ids(text) if fmt == "musicxml" else set())
    log.debug("engraved %s: %d pages, %d measures", path, n_pages, len(measures))
    return EngravedScore(str(path), fmt, options, pages, timemap, midi, measures, staves, layouts)


def _read_score_text(path: Path, fmt: str) -> str:
    """Read the score as text; .mxl is unzipped here so that UTF-16 files inside it load too. MusicXML is
    parsed strictly first: Verovio reads a truncated file as a shorter score without a word."""
    if path.suffix.lower() == ".mxl":
        data = read_mxl_rootfile(path)
    else:
        check_file_size(path, LIMITS.max_score_bytes, "the score")
        data = path.read_bytes()
    if not data.strip():
        raise InputError(path, "empty file")
    text = _decode(data, path)
    if fmt == "musicxml":
        parse_score_xml(path, text)
    elif fmt in ("humdrum", "abc", "mei"):
        check_file_size(path, LIMITS.max_score_bytes, "the score")
    return text


def _decode(data: bytes, path: Path) -> str:
    """Decode to str; Verovio cannot auto-detect UTF-16, so the XML declaration is rewritten to UTF-8."""
    text = decode_score_bytes(data)
    if "\x00" in text:
        raise InputError(path, "not a text score (binary data)")
    return re.sub(r'^(<\?xml[^>]*encoding=)["\'][^"\']*["\']', r'\1"UTF-8"', text, count=1)


def _timemap_event(entry: dict[str, Any]) -> TimemapEvent:
    return TimemapEvent(
        tstamp_ms=int(round(entry["tstamp"])),
        qstamp=float(entry.get("qstamp", 0.0)),
        on=tuple(entry.get("on", ())),
        off=tuple(entry.get("off", ())),
        rests_on=tuple(entry.get("restsOn", ())),
        rests_off=tuple(entry.get("restsOff", ())),
        measure_on=entry.get("measureOn"),
        tempo=float(entry["tempo"]) if "tempo" in entry else None,
    )


def measure_plays(timemap: tuple[TimemapEvent, ...], notated_id: Any = None) -> dict[str, list[MeasurePlay]]:
    """Map each measure id to the times it sounds, in time order.

    The timemap expands repeats with ids such as ``x-rend2``; ``notated_id`` maps those back to the drawn id.
    """
    if not timemap:
        return {}
    end_of_piece = timemap[-1].tstamp_ms
    onsets = [(e.tstamp_ms, e.measure_on) for e in timemap if e.measure_on]
    plays: dict[str, list[MeasurePlay]] = {}
    for i, (start, mid) in enumerate(onsets):
        end = onsets[i + 1][0] if i + 1 < len(onsets) else end_of_piece
        plays.setdefault(mid, []).append(MeasurePlay(start, max(start, end)))
    if notated_id is None:
        return plays
    merged: dict[str, list[MeasurePlay]] = {}
    for mid, spans in plays.items():
        merged.setdefault(notated_id(mid) or mid, []).extend(spans)
    return {k: sorted(v, key=lambda p: p.start_ms) for k, v in merged.items()}


def _measures(layouts: tuple[SvgPageLayout, ...], timemap: tuple[TimemapEvent, ...], notated_id: Any) -> tuple[
        MeasureInfo, ...]:
    drawn = {m.id for layout in layouts for system in layout.systems for m in system.measures}
    plays = measure_plays(timemap, lambda mid: mid if mid in drawn else notated_id(mid))
    out: list[MeasureInfo] = []
    for page_no, layout in enumerate(layouts, start=1):
        for system in layout.systems:
            for m in system.measures:
                spans = tuple(plays.get(m.id, ()))
                out.append(MeasureInfo(len(out), m.id, m.n, page_no, system.index, spans))
    return tuple(out)


def _musicxml_part_ids(text: str) -> set[str]:
    return set(re.findall(r'<score-part\s[^>]*?id="([^"]+)"', text))


def _staves(mei: str, part_ids: set[str]) -> tuple[StaffInfo, ...]:
    """Staff numbers from the first scoreDef; Verovio gives a part's staffDef or staffGrp the part's id."""
    try:
        root = ET.fromstring(mei)
    except ET.ParseError:
        return ()
    score_def = next(root.iter(f"{_MEI_NS}scoreDef"), None)
    if score_def is None:
        return ()
    out: dict[int, StaffInfo] = {}

    def walk(elem: ET.Element, part: str | None) -> None:
        eid = elem.get(_XML_ID)
        if eid in part_ids:
            part = eid
        if elem.tag == f"{_MEI_NS}staffDef" and (elem.get("n") or "").isdigit():
            n = int(elem.get("n") or 0)
            out.setdefault(n, StaffInfo(n, part))
        for child in elem:
            walk(child, part)

    walk(score_def, None)
    return tuple(sorted(out.values(), key=lambda s: s.n))


def write_midi_bytes(engraved: EngravedScore, path: str | Path) -> Path:
    """Write Verovio's MIDI for ``engraved`` atomically; returns the path."""
    write_bytes(path, engraved.midi)
    return Path(path)
