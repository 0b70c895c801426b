"""Deterministic conversions behind `scorebridge render`, `lmx`, `translate` (its non-model routes) and `demo`:
score -> system images, pages, PDF, LMX, MIDI, audio; LMX -> MusicXML.

Each function reads one input, writes its outputs atomically (a failure leaves nothing under the
requested name) and returns what it wrote as `Written` records for the CLI to print.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from scorebridge.constants import AUDIO_SAMPLE_RATE, STAFF_HEIGHT_PX
from scorebridge.errors import InputError, OutputError, ScorebridgeError
from scorebridge.fileio import atomic_dir, check_distinct, check_output_location, write_text
from scorebridge.filetypes import MUSICXML_SUFFIXES, PDF_SUFFIX, writable
from scorebridge.limits import LIMITS, check_file_size, check_render_length, check_sample_rate, measure_midi_bytes
from scorebridge.modality import Modality

log = logging.getLogger(__name__)

MIDI_SUFFIXES = writable(Modality.MIDI)
AUDIO_SUFFIXES = writable(Modality.AUDIO)
LMX_SUFFIXES = (".lmx", ".txt")  # .txt: LMX as plain text, written by `lmx -o` and `render --to lmx` only
PDF_SUFFIXES = (PDF_SUFFIX,)
# the suffixes each file target may be written as; systems and pages are folders (pages also as one PDF)
OUTPUT_SUFFIXES = {"midi": MIDI_SUFFIXES, "audio": AUDIO_SUFFIXES, "lmx": LMX_SUFFIXES, "pdf": PDF_SUFFIXES}
FOLDER_TARGETS = ("systems", "pages")


def target_for_output(out: str | os.PathLike[str]) -> str:
    """The render target a file output's suffix names (score.pdf -> pdf), for `render` without --to."""
    suffix = Path(out).suffix.lower()
    for target, suffixes in OUTPUT_SUFFIXES.items():
        if suffix in suffixes:
            return target
    raise OutputError(out, f"cannot tell what to render from {suffix or 'a name without suffix'}; give --to "
                           f"(or a file name ending in {', '.join(s for v in OUTPUT_SUFFIXES.values() for s in v)})")


@dataclass(frozen=True)
class RenderRequest:
    """Options of `scorebridge render`; defaults match the reference system's data."""

    soundfont: str = "fluidr3"
    sample_rate: int = AUDIO_SAMPLE_RATE
    font: str = "Leipzig"
    page_width: int | None = None
    staff_height: int = STAFF_HEIGHT_PX
    normalize: bool = True
    with_lmx: bool = False  # systems: also write each system's LMX beside its image
    part: int | None = None
    progress: bool = True
    force: bool = False  # systems/pages: overwrite files of the same names in an existing folder


@dataclass(frozen=True)
class Written:
    """One output: what it is, where it went, and a short description."""

    kind: str
    path: Path
    detail: str


def check_output(out: str | os.PathLike[str], suffixes: tuple[str, ...], what: str,
                 inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Path:
    """An output file named with one of ``suffixes`` (the suffix decides the format; another is refused),
    writable where it is, and none of ``inputs``. Returns it as a Path."""
    out = Path(out)
    if out.suffix.lower() not in suffixes:
        raise OutputError(out, f"{what} is written as {', '.join(suffixes)}, not "
                               f"{out.suffix or 'a name without suffix'}")
    check_output_location(out)
    check_distinct(out, inputs)
    return out


def lmx_file_to_musicxml(lmx_path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Written:
    from scorebridge.notation import lmx_to_musicxml, read_lmx_file
    from scorebridge.scorefile import write_musicxml

    check_output(out, MUSICXML_SUFFIXES, "MusicXML", [lmx_path])
    check_file_size(lmx_path, LIMITS.max_score_bytes, "the LMX file")
    tokens = read_lmx_file(lmx_path)
    if not tokens:
        raise InputError(lmx_path, "no LMX tokens in the file")
    try:
        xml = lmx_to_musicxml(tokens)
    except ScorebridgeError:
        raise
    except Exception as exc:  # the delinearizer rejects malformed sequences with assorted exceptions
        raise InputError(lmx_path, f"cannot turn this LMX into MusicXML ({type(exc).__name__}: {exc})") from exc
    write_musicxml(out, xml)
    return Written("musicxml", Path(out), f"{len(tokens)} LMX tokens")


def check_render(score: Path, target: str, out: Path, request: RenderRequest) -> None:
    """Every check of a render request that needs no engraving: the output's suffix against ``target``, where
    it goes, that it is not the input, and the sample rate. Raises before any work."""
    if target == "pages" and out.suffix.lower() in PDF_SUFFIXES:
        target = "pdf"  # --to pages -o score.pdf: the pages as one PDF
    if target in FOLDER_TARGETS:
        check_output_location(out, folder=True)
        check_distinct(out, [score])
    elif target in OUTPUT_SUFFIXES:
        check_output(out, OUTPUT_SUFFIXES[target], f"--to {target}", [score])
    else:
        raise ValueError(f"unknown render target {target!r}")
    if target == "audio":
        from scorebridge.codecs.files import audio_format

        audio_format(out)
        try:
            check_sample_rate(request.sample_rate)
        except ValueError as exc:
            raise ScorebridgeError(str(exc)) from None


def render(score: str | os.PathLike[str], target: str, out: str | os.PathLike[str],
           request: RenderRequest = RenderRequest()) -> list[Written]:
    """Render ``score`` to ``target`` (systems, pages, pdf, midi, audio, lmx) at ``out``; ``pages`` with an
    ``out`` ending in .pdf is ``pdf`` (one multi-page vector PDF of the engraved pages).

    Refused before any work: an output that is the input or contradicts ``target`` by its suffix (the suffix
    picks the audio format: WAV, FLAC, OGG, MP3), a folder output onto a file and the reverse; audio longer
    than ``LIMITS.max_render_seconds`` is refused after engraving, before FluidSynth runs.
    """
    score, out = Path(score), Path(out)
    if not score.exists():
        raise InputError(score, "no such file")
    if target == "pages" and out.suffix.lower() in PDF_SUFFIXES:
        target = "pdf"
    check_render(score, target, out, request)
    if target == "lmx":
        return [_render_lmx(score, out, request)]
    if target == "audio" and score.suffix.lower() in MIDI_SUFFIXES:
        return [_synthesize(score, out, request)]
    if score.suffix.lower() in MIDI_SUFFIXES:
        raise InputError(score, f"a MIDI file can be rendered to audio only, not to {target}")
    engraved = _engrave(score, request)
    if target == "systems":
        return _render_systems(engraved, out, request)
    if target == "pages":
        return _render_pages(engraved, out, request)
    if target == "pdf":
        from scorebridge.render import svgs_to_pdf

        svgs_to_pdf(engraved.pages, out)
        return [Written("pdf", out, f"{engraved.page_count} page(s), vector PDF")]
    if target == "midi":
        from scorebridge.render import write_midi_bytes

        write_midi_bytes(engraved, out)
        return [Written("midi", out, f"{_midi_note_count(engraved.midi)} notes, {engraved.duration_ms / 1000:.1f} s")]
    if target == "audio":
        check_render_length(measure_midi_bytes(engraved.midi, score), score)  # before FluidSynth writes any of it
        return [_synthesize_bytes(engraved.midi, out, request)]
    raise ValueError(f"unknown render target {target!r}")


def _engrave(score: Path, request: RenderRequest):  # -> EngravedScore
    from scorebridge.render import EngraveOptions, engrave

    options = EngraveOptions(font=request.font)
    if request.page_width is not None:
        try:
            options = EngraveOptions(font=request.font, page_width=request.page_width)
        except ValueError as exc:
            raise ScorebridgeError(f"--page-width: {exc}") from exc
    return engrave(score, options)


def _render_lmx(score: Path, out: Path, request: RenderRequest) -> Written:
    from scorebridge.notation import score_to_lmx

    result = score_to_lmx(score, part=request.part)
    write_text(out, result.text + "\n")
    return Written("lmx", out, f"{len(result.tokens)} tokens, {result.measure_count} measures, part {result.part_id}")


def _render_pages(engraved, out: Path, request: RenderRequest) -> list[Written]:
    from scorebridge.render import svg_to_png

    with atomic_dir(out, force=request.force, protect=[engraved.path]) as tmp:
        for i, svg in enumerate(_bar(engraved.pages, request, "pages"), start=1):
            (tmp / f"page-{i:03d}.svg").write_text(svg, encoding="utf-8")
            svg_to_png(svg, tmp / f"page-{i:03d}.png", zoom=2.0)
    return [Written("pages", out, f"{engraved.page_count} pages (SVG + PNG)")]


def _render_systems(engraved, out: Path, request: RenderRequest) -> list[Written]:
    from scorebridge.render import crop_systems, normalize_system, system_crops, system_zoom

    crops = system_crops(engraved)
    if not crops:
        raise InputError(engraved.path, "no systems with measures to crop")
    zoom = system_zoom(min(c.staff_height_px for c in crops), request.staff_height) if request.normalize else 1.0
    lmx_part = _lmx_part(engraved.path, request) if request.with_lmx else None
    entries = []
    with atomic_dir(out, force=request.force, protect=[engraved.path]) as tmp:
        systems = crop_systems(engraved, zoom=zoom)
        for i, system in enumerate(_bar(systems, request, "systems"), start=1):
            image = system.image
            if request.normalize:
                image = normalize_system(image, system.crop.staff_height_px, target=request.staff_height)
            name = f"system-{i:03d}"
            Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="L").save(tmp / f"{name}.png")
            entry = {"image": f"{name}.png", "width": int(image.shape[1]), "height": int(image.shape[0]),
                     "normalized_staff_height_px": request.staff_height if request.normalize else None,
                     **asdict(system.crop)}
            if lmx_part is not None:
                entry["lmx"] = f"{name}.lmx"
                (tmp / f"{name}.lmx").write_text(
                    " ".join(_system_lmx(lmx_part, system.crop, engraved.path)) + "\n", encoding="utf-8")
            entries.append(entry)
        meta = {"source": str(engraved.path), "pages": engraved.page_count, "font": engraved.options.font,
                "systems": entries}
        (tmp / "systems.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    detail = f"{len(entries)} systems on {engraved.page_count} page(s), staff height "
    detail += f"{request.staff_height} px" if request.normalize else "as engraved"
    return [Written("systems", out, detail + (" + LMX per system" if lmx_part is not None else ""))]


def _lmx_part(score: str, request: RenderRequest):
    from scorebridge.notation import load_musicxml, select_part

    return select_part(load_musicxml(score), request.part, Path(score))


def _system_lmx(part, crop, path: str) -> list[str]:
    from scorebridge.notation.slicing import lmx_for_measures

    return lmx_for_measures(part, crop.measure_start, crop.measure_end, path=path)


def _synthesize(midi: Path, out: Path, request: RenderRequest) -> Written:
    from scorebridge.codecs.files import write_audio
    from scorebridge.render import synthesize

    write_audio(out, synthesize(midi, soundfont=request.soundfont, sample_rate=request.sample_rate),
                request.sample_rate)
    return _audio_written(out, request)


def _synthesize_bytes(midi: bytes, out: Path, request: RenderRequest) -> Written:
    from scorebridge.codecs.files import write_audio
    from scorebridge.render import synthesize_bytes

    audio = synthesize_bytes(midi, soundfont=request.soundfont, sample_rate=request.sample_rate)
    write_audio(out, audio, request.sample_rate)
    return _audio_written(out, request)


def _audio_written(out: Path, request: RenderRequest) -> Written:
    import soundfile as sf

    info = sf.info(out)
    return Written("audio", out, f"{info.duration:.1f} s, {info.samplerate} Hz, mono, {info.format}, "
                                 f"soundfont {request.soundfont}")


def _midi_note_count(midi: bytes) -> int:
    import io

    import mido

    f = mido.MidiFile(file=io.BytesIO(midi))
    return sum(1 for t in f.tracks for m in t if m.type == "note_on" and m.velocity > 0)


def _bar(items: Iterable, request: RenderRequest, what: str):
    items = list(items)
    show = None if request.progress and len(items) >= 4 else True  # None: a bar on a terminal, none in a pipe
    return tqdm(items, desc=what, unit=what[:-1], disable=show, leave=False)
