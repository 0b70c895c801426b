"""`scorebridge translate`: any file of one modality to a file of another, whole pages and long recordings.

Which engine does what (``scorebridge.routes``: ``ENGINES``; ``--engine`` picks, ``choose_engine`` decides ``auto``,
cascades stand in where the model was not trained in a direction): the model reads pages
(image -> notation, MIDI, audio), transcribes recordings (audio -> MIDI) and can synthesize MIDI (MIDI -> audio),
window by window through the long-form layer (``inference.longform``). Deterministic engines: notation is engraved
by Verovio and played by FluidSynth, MIDI is played by FluidSynth (auto's pick while the model's MIDI -> audio is
unmeasured or below usable, ``scorebridge.quality``), MIDI becomes notation by the quantizer, and audio becomes
notation through the model's MIDI. Every result names its engine; model routes carry a note on how reliable the
model is (``TranslateResult.notes``). Pairs without a route are a one-line error."""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scorebridge.errors import InputError
from scorebridge.fileio import check_distinct, check_output_location, write_text
from scorebridge.filetypes import modality_of, readable, writable
from scorebridge.limits import (
    LIMITS,
    check_audio_file,
    check_file_size,
    check_quantize,
    check_render_length,
    measure_midi_file,
)
from scorebridge.modality import Modality
from scorebridge.quality import Quality, model_quality, quality_note
from scorebridge.routes import (
    ROUTES,
    EngineChoice,
    choose_engine,
    model_step,
    needs_model,
)
from scorebridge.scorefile import write_musicxml

if TYPE_CHECKING:  # the model and its options pull in torch: the deterministic routes never import them
    from scorebridge.decoding import DecodingOptions
    from scorebridge.inference import LongformOptions, ScoreBridgeModel
    from scorebridge.midi import Note

log = logging.getLogger(__name__)

# suffix -> modality of what translate reads and writes, from the one table (``scorebridge.filetypes``)
INPUTS: dict[str, Modality] = {s: m for s in readable() if (m := modality_of(s)) is not None}
OUTPUTS: dict[str, Modality] = {s: m for s in writable() if (m := modality_of(s, write=True)) is not None}

@dataclass(frozen=True)
class TranslateRequest:
    input: Path
    output: Path
    to: Modality | None = None
    via: str = "direct"  # "direct" or "notation" (image -> audio cascade)
    align: Path | None = None
    engine: str = "auto"  # auto, model, fluidsynth, verovio (``choose_engine``)


@dataclass(frozen=True)
class TranslateResult:
    source: Modality
    target: Modality
    engine: str
    output: Path
    systems: int | None = None  # image inputs: systems read
    pages: int | None = None
    problems: tuple[str, ...] = ()
    alignment: Path | None = None
    notes: tuple[str, ...] = ()  # for the user: how reliable a model route is, why auto chose its engine


def input_modality(path: Path) -> Modality:
    suffix = path.suffix.lower()
    if suffix not in INPUTS:
        raise InputError(path, f"unknown input type {suffix or '(no suffix)'}; expected one of "
                               f"{', '.join(sorted(INPUTS))}")
    return INPUTS[suffix]


def output_modality(path: Path, to: Modality | None) -> Modality:
    """The target from --to or the output's suffix; both given must agree."""
    suffix = path.suffix.lower()
    implied = OUTPUTS.get(suffix)
    if to is None and implied is None:
        raise InputError(path, f"cannot tell the target from {suffix or '(no suffix)'}; use one of "
                               f"{', '.join(sorted(OUTPUTS))} or --to")
    if to is not None and implied is not None and to is not implied:
        raise InputError(path, f"--to {to} does not match a {suffix} output")
    if implied is None:
        raise InputError(path, f"a {to} output needs one of "
                               f"{', '.join(s for s, m in OUTPUTS.items() if m is to)}")
    return implied


def plan(request: TranslateRequest, quality: Quality | None = None,
         tasks: Collection[tuple[Modality, Modality]] | None = None) -> tuple[Modality, Modality, str]:
    """(source, target, engine) of a request, or a one-line InputError before any work is done. ``quality``: the
    figures of the model that would run (``scorebridge.quality``), for ``--engine auto``; ``tasks``: the
    directions it was trained in (None: not known yet)."""
    source, target, choice = plan_engine(request, quality, tasks)
    return source, target, choice.engine


def plan_engine(request: TranslateRequest, quality: Quality | None = None,
                tasks: Collection[tuple[Modality, Modality]] | None = None,
                ) -> tuple[Modality, Modality, EngineChoice]:
    """``plan`` with the whole ``EngineChoice`` (its key and auto's reason)."""
    if not request.input.is_file():
        raise InputError(request.input, "no such file")
    source = input_modality(request.input)
    target = output_modality(request.output, request.to)
    if source is target and source is not Modality.NOTATION:
        raise InputError(request.output, f"input and output are both {source}")
    if (source, target) not in ROUTES and not (source is target is Modality.NOTATION):
        raise InputError(request.input, f"no route from {source} to {target} yet; translate to notation "
                                        "(.musicxml) first, then render it")
    if request.via != "direct" and (source, target) != (Modality.IMAGE, Modality.AUDIO):
        raise InputError(request.input, "--via notation is the image -> audio cascade")
    if request.output.suffix.lower() == ".pdf" and source not in (Modality.NOTATION, Modality.MIDI):
        raise InputError(request.output, "a PDF is written from engraved notation; write a .png here")
    if request.align is not None and (source, target) != (Modality.IMAGE, Modality.AUDIO):
        raise InputError(request.input, "--align needs a score image input and an audio output")
    check_output_location(request.output)
    check_distinct(request.output, [request.input])
    if request.align is not None:
        check_output_location(request.align)
        check_distinct(request.align, [request.input, request.output])
    if request.via == "notation" and request.engine not in ("auto", "cascade", "model"):  # model: as it always was
        raise InputError(request.input, f"--via notation is the cascade engine, not --engine {request.engine}")
    engine = "cascade" if request.via == "notation" else request.engine
    choice = choose_engine(source, target, engine, quality, request.input, tasks)
    check_input_bounds(request.input, source, target, quantizes=choice.key == "cascade")
    if source is Modality.AUDIO:
        check_not_silent(request.input)
    return source, target, choice


def check_input_bounds(path: Path, source: Modality, target: Modality, quantizes: bool = False) -> None:
    """Measure the input in its own units against ``scorebridge.limits`` before any heavy work (a model load
    included): audio seconds, rate and completeness; MIDI length at its tempi and notes (tighter for the
    quantizer and for synthesis); pages and pixels of every frame; score size. ``quantizes``: the route passes
    the model's MIDI through the quantizer (the audio -> image cascade)."""
    if source is Modality.AUDIO:  # audio -> notation ends in the quantizer: bounded as it is, before the model
        quantizes = quantizes or target is Modality.NOTATION
        check_audio_file(path, max_seconds=LIMITS.max_quantize_seconds if quantizes else None)
    elif source is Modality.MIDI:
        measure = measure_midi_file(path)
        if measure.notes == 0:
            raise InputError(path, "MIDI file has no notes")
        if target in (Modality.NOTATION, Modality.IMAGE):
            check_quantize(measure, path)
        elif target is Modality.AUDIO:
            check_render_length(measure, path)
    elif source is Modality.IMAGE:
        from scorebridge.pages.load import check_page_file

        check_page_file(path)
    else:
        check_file_size(path, LIMITS.max_score_bytes, "the score")


def translate_file(request: TranslateRequest, model: ScoreBridgeModel | None = None, *,
                   options: DecodingOptions | None = None,
                   progress: bool | Callable[[int, int], None] = True) -> TranslateResult:
    """Translate ``request.input`` into ``request.output`` (written atomically). ``model``: a
    ``ScoreBridgeModel`` for model routes (see ``plan``); its folder's held-out figures (``scorebridge.quality``)
    choose the engine under ``engine="auto"`` and word the result's ``notes``. ``progress``: a terminal bar
    (True), none (False), or a function called (done, total) after each window or system of a model route."""
    quality = model_quality(model) if model is not None else Quality()
    source, target, choice = plan_engine(request, quality, model.tasks if model is not None else None)
    result = _translate(request, model, source, target, choice, options, progress)
    return dataclasses.replace(result, notes=route_notes(request, source, target, choice, quality))


def route_notes(request: TranslateRequest, source: Modality, target: Modality, choice: EngineChoice,
                quality: Quality) -> tuple[str, ...]:
    """What the user should know of a route before trusting its result: how reliable the model is on it
    (``scorebridge.quality``), or why auto left the model out."""
    why = (choice.reason,) if choice.reason else ()
    if choice.key == "cascade":  # the model's part of the cascade is what the user should weigh
        via = "notation" if target is Modality.AUDIO else "direct"
        step = (source, target) if via == "notation" else model_step(source, target, "cascade")
        return (quality_note(quality, *step, via), *why)
    if needs_model(choice.engine):
        return (quality_note(quality, source, target, request.via),)
    return why


def _translate(request: TranslateRequest, model: ScoreBridgeModel | None, source: Modality, target: Modality,
               choice: EngineChoice, options: DecodingOptions | None,
               progress: bool | Callable[[int, int], None]) -> TranslateResult:
    engine = choice.engine
    if source is Modality.NOTATION:  # no model, no torch import (seconds) for the deterministic routes
        return _from_notation(request, target, engine)
    if source is Modality.MIDI and target is not Modality.AUDIO:
        return _midi_to_notation(request, target, engine)
    if source is Modality.MIDI and not needs_model(engine):  # FluidSynth
        from scorebridge import convert

        convert.render(request.input, "audio", request.output)
        return TranslateResult(source, target, engine, request.output)
    if model is None:
        raise InputError(request.input, f"{source} -> {target} needs a model (--weights)")
    from scorebridge.decoding import DecodingOptions  # torch: model routes only
    from scorebridge.inference import LongformOptions, audio_to_image, midi_to_audio, transcribe

    longform = LongformOptions(progress=progress is True, report=progress if callable(progress) else None)
    decoding = options if options is not None else DecodingOptions()
    out = request.output
    if source is Modality.IMAGE:
        return _from_pages(request, model, target, choice, decoding, longform)
    if source is Modality.MIDI:
        result = midi_to_audio(model, request.input, options=decoding, longform=longform)
        result.save(out)
        return TranslateResult(source, target, engine, out, problems=result.problems)
    if target is Modality.IMAGE and choice.key == "model":
        image = audio_to_image(model, request.input, options=decoding, longform=longform)
        if not image.systems:
            raise InputError(request.input, f"the model generated no complete image system in {image.windows} "
                                            f"windows")
        image.save(out)
        return TranslateResult(source, target, engine, out, systems=len(image.systems), problems=image.problems)
    notes = transcribe(model, request.input, options=decoding, longform=longform)
    if target is Modality.MIDI:
        notes.save(out)
    else:  # notation, or an engraved page of it (the audio -> image cascade)
        _write_quantized(request, target, notes.notes)
    return TranslateResult(source, target, engine, out, problems=notes.problems)


def _midi_to_notation(request: TranslateRequest, target: Modality, engine: str) -> TranslateResult:
    """MIDI -> MusicXML by the quantizer, or on to an engraved page (no model)."""
    from scorebridge.midi import read_midi

    _write_quantized(request, target, read_midi(request.input))
    return TranslateResult(Modality.MIDI, target, engine, request.output)


def _write_quantized(request: TranslateRequest, target: Modality, notes: Sequence[Note]) -> None:
    """``notes`` quantized to MusicXML at ``request.output``, or (``target`` image) engraved there by Verovio."""
    from scorebridge.midi.notation import midi_to_musicxml

    xml = midi_to_musicxml(notes)
    if target is Modality.IMAGE:
        with tempfile.TemporaryDirectory() as tmp:
            score = Path(tmp) / f"{request.input.stem}.musicxml"
            score.write_text(xml, encoding="utf-8")
            _first_page_png(score, request.output, Path(tmp))
    else:
        write_musicxml(request.output, xml)


SILENCE_DBFS = -60.0


def check_not_silent(path: Path, threshold_dbfs: float = SILENCE_DBFS) -> None:
    """InputError for a recording whose every sample stays below ``threshold_dbfs`` (read in blocks, stopping at
    the first loud one, so a long file costs little). Unreadable files are left to the reader's own error."""
    import numpy as np
    import soundfile as sf

    limit = 10 ** (threshold_dbfs / 20)
    try:
        for block in sf.blocks(str(path), blocksize=1 << 20, dtype="float32", always_2d=True):
            if block.size and float(np.abs(block).max()) >= limit:
                return
    except (sf.LibsndfileError, RuntimeError):
        return
    raise InputError(path, f"the recording is silent (no sample above {threshold_dbfs:.0f} dBFS)")


def _from_pages(request: TranslateRequest, model: ScoreBridgeModel, target: Modality, choice: EngineChoice,
                options: DecodingOptions, longform: LongformOptions) -> TranslateResult:
    from scorebridge.inference import translate_long
    from scorebridge.pages import iter_pages, page_systems

    systems, pages = [], 0
    for page in iter_pages(request.input):
        pages += 1
        systems += [s.image for s in page_systems(page)]  # a page without staves is skipped with a warning
    if not systems:
        raise InputError(request.input, "no staves found on any page")
    cascade = choice.key == "cascade"
    if cascade and target is Modality.MIDI:  # read the notation, then Verovio plays it into MIDI
        from scorebridge import convert

        result = translate_long(model, systems, to=Modality.NOTATION, options=options, longform=longform)
        with tempfile.TemporaryDirectory() as tmp:
            score = Path(tmp) / f"{request.input.stem}.musicxml"
            result.save(score)
            convert.render(score, "midi", request.output)
    else:
        via = "notation" if cascade and target is Modality.AUDIO else "direct"
        result = translate_long(model, systems, to=target, via=via, options=options, longform=longform)
        result.save(request.output)
    alignment = None
    if request.align is not None:
        alignment = result.save_alignment(request.align)
    return TranslateResult(Modality.IMAGE, target, choice.engine, request.output, systems=len(systems),
                           pages=pages, problems=tuple(result.problems), alignment=alignment)


def _from_notation(request: TranslateRequest, target: Modality, engine: str) -> TranslateResult:
    from scorebridge import convert

    source = request.input
    with tempfile.TemporaryDirectory() as tmp:
        if source.suffix.lower() == ".lmx":  # engrave and play through MusicXML
            xml = Path(tmp) / f"{source.stem}.musicxml"
            convert.lmx_file_to_musicxml(source, xml)
            source = xml
        out = request.output
        if target is Modality.NOTATION:
            if out.suffix.lower() == ".lmx":
                from scorebridge.notation import score_to_lmx

                write_text(out, score_to_lmx(source).text + "\n")
            elif source.suffix.lower() in (".musicxml", ".xml"):
                write_musicxml(out, source.read_text(encoding="utf-8"))
            else:
                import xml.etree.ElementTree as ET

                from scorebridge.notation import load_musicxml

                root = load_musicxml(source).getroot()
                write_musicxml(out, '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode"))
        elif target is Modality.IMAGE:
            _first_page_png(source, out, Path(tmp))
        else:
            convert.render(source, "midi" if target is Modality.MIDI else "audio", out)
    return TranslateResult(Modality.NOTATION, target, engine, request.output)


def _first_page_png(score: Path, out: Path, tmp: Path) -> None:
    """Engrave ``score``; a one-page score becomes ``out``, a longer one ``out`` plus ``<stem>-N.png`` pages
    (a .pdf ``out``: every page in one PDF)."""
    import shutil

    from scorebridge import convert
    from scorebridge.fileio import atomic_path

    if out.suffix.lower() == ".pdf":
        convert.render(score, "pdf", out)
        return

    convert.render(score, "pages", tmp / "pages")
    pngs = sorted((tmp / "pages").glob("page-*.png"))
    if not pngs:
        raise InputError(score, "engraving produced no page")
    for i, png in enumerate(pngs):
        target = out if i == 0 else out.with_name(f"{out.stem}-{i + 1}{out.suffix}")
        with atomic_path(target) as part:
            shutil.copyfile(png, part)


def load_translation_model(weights: str | os.PathLike[str] | None, device: str,
                           codecs: str | None = None) -> ScoreBridgeModel:
    """The model at ``weights``, or the shipped one when None; ``device`` may be ``auto``."""
    from scorebridge.inference import load_model
    from scorebridge.runtime import resolve_device

    return load_model(weights, device=resolve_device(device), codecs=codecs)
