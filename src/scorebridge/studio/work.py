"""One studio job: an uploaded file translated into each chosen target, plus what the page shows.

Every target goes through ``scorebridge.translate`` (the same routes as `scorebridge translate`), into fixed
names in the job's ``out`` folder; model routes report each window or system read, so the page's bar moves
within a target. Then the page's views: the score engraved by Verovio as SVG pages, when each drawn measure
sounds (``measures.json``: from Verovio's timemap when the audio was played from that score, from the
``--align`` spans for image -> audio), the notes of a MIDI result (or upload) for the piano roll, and a
FluidSynth preview of an uploaded MIDI file so that the input can be heard beside its results.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scorebridge.errors import ScorebridgeError
from scorebridge.fileio import write_text
from scorebridge.modality import Modality
from scorebridge.routes import CASCADE, ROUTES, needs_model
from scorebridge.studio.uploads import UploadLimits, validate
from scorebridge.translate import TranslateRequest, translate_file

if TYPE_CHECKING:  # the studio's web process never loads torch
    from scorebridge.decoding import DecodingOptions
    from scorebridge.inference import ScoreBridgeModel

log = logging.getLogger(__name__)

OUTPUT_NAMES = {Modality.NOTATION: "score.musicxml", Modality.MIDI: "score.mid", Modality.AUDIO: "score.wav",
                Modality.IMAGE: "score.png"}
ORDER = (Modality.NOTATION, Modality.MIDI, Modality.IMAGE, Modality.AUDIO)  # notation first: the views use it
ALIGNMENT = "alignment.json"
PREVIEW = "input.wav"  # an uploaded MIDI file, played by FluidSynth
MAX_ROLL_NOTES = 20_000
SCALE = 100  # progress steps per target: the bar moves with each window or system of a model route

# what the page calls things (a musician's words, not modality names)
TARGET_WORDS = {Modality.NOTATION: "score", Modality.MIDI: "MIDI", Modality.AUDIO: "audio",
                Modality.IMAGE: "page image"}
SOURCE_WORDS = {Modality.IMAGE: "page", Modality.AUDIO: "recording", Modality.MIDI: "MIDI file",
                Modality.NOTATION: "score"}
UNITS = {Modality.IMAGE: "systems", Modality.AUDIO: "10-second sections", Modality.MIDI: "10-second sections",
         Modality.NOTATION: "parts"}

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class JobSpec:
    input: Path  # the stored upload (a name the server chose)
    source: Modality
    targets: tuple[Modality, ...]
    name: str  # the uploaded name, for display only
    via: str = "direct"
    limits: UploadLimits = UploadLimits()  # checked in the worker, before any other work


@dataclass(frozen=True)
class JobResult:
    files: tuple[str, ...]  # every output in the job's out folder, by name
    pages: tuple[str, ...] = ()  # SVG pages of the shown score
    measures: str | None = None  # measures.json, when the score can be followed
    audio: str | None = None
    notes: str | None = None  # notes.json for the piano roll
    problems: tuple[str, ...] = ()  # per-target failures and decoding problems, in the page's words
    warnings: tuple[str, ...] = ()  # how far to trust a result (the translation results' ``notes``), each once
    input_audio: str | None = None  # the upload made audible (a MIDI file's FluidSynth preview)


def targets_for(source: Modality) -> tuple[Modality, ...]:
    """The targets a source can go to; notation can always be re-written as notation (MusicXML and LMX)."""
    return tuple(t for t in ORDER if (source, t) in ROUTES or (source is t is Modality.NOTATION))


def model_targets(source: Modality) -> tuple[Modality, ...]:
    return tuple(t for t in targets_for(source) if (source, t) in ROUTES and needs_model(ROUTES[source, t]))


def default_targets(source: Modality) -> tuple[Modality, ...]:
    """The targets ticked when a file of this type is chosen: every one that needs no model (quick, and as
    good as the engraver and synthesizer), or for a source only a model reads, what it is usually read for."""
    free = tuple(t for t in targets_for(source) if t not in model_targets(source) and t is not source)
    return free or {Modality.IMAGE: (Modality.NOTATION,), Modality.AUDIO: (Modality.MIDI,)}.get(source, ())


def check_spec(spec: JobSpec, have_model: bool) -> None:
    """ScorebridgeError for a target that cannot be served. Cheap: it reads nothing but the spec, so that a
    request can be answered before any parsing."""
    if not spec.targets:
        raise ScorebridgeError("choose at least one target")
    if spec.via not in ("direct", "notation"):
        raise ScorebridgeError("via must be 'direct' or 'notation'")
    for target in spec.targets:
        if target is spec.source and target not in targets_for(spec.source):
            others = ", ".join(TARGET_WORDS[t] for t in targets_for(spec.source))
            raise ScorebridgeError(f"the file is already a {SOURCE_WORDS[spec.source]}: choose what to make "
                                   f"of it ({others}), not {TARGET_WORDS[target]}")
        if target not in targets_for(spec.source):
            raise ScorebridgeError(f"a {SOURCE_WORDS[spec.source]} cannot be made into {TARGET_WORDS[target]}")
        if needs_model(_engine(spec, target)) and not have_model:
            raise ScorebridgeError(f"making {TARGET_WORDS[target]} from a {SOURCE_WORDS[spec.source]} needs a "
                                   "trained model; start the studio without --no-model (the shipped weights) or "
                                   "with --weights RUN/step-NNNNNNNN")


def _engine(spec: JobSpec, target: Modality) -> str:
    if spec.via == "notation" and (spec.source, target) == (Modality.IMAGE, Modality.AUDIO):
        return CASCADE
    return ROUTES.get((spec.source, target), "LMX <-> MusicXML (no model)")


def run_studio_job(spec: JobSpec, out: Path, model: ScoreBridgeModel | None = None,
                   options: DecodingOptions | None = None,
                   progress: Progress = lambda step, steps, message: None) -> JobResult:
    """What a studio worker process runs: check the stored upload with its type's parser (a one-line error for
    a malformed or oversized file), then ``run_job``."""
    progress(0, (len(_job_targets(spec)) + 1) * SCALE, "reading the file")
    validate(spec.input, spec.input.suffix, spec.limits)
    return run_job(spec, out, model, options, progress)


def _request(spec: JobSpec, target: Modality, out: Path) -> TranslateRequest:
    align = out / ALIGNMENT if (spec.source, target) == (Modality.IMAGE, Modality.AUDIO) else None
    via = spec.via if (spec.source, target) == (Modality.IMAGE, Modality.AUDIO) else "direct"
    return TranslateRequest(spec.input, out / OUTPUT_NAMES[target], target, via, align)


def _job_targets(spec: JobSpec) -> list[Modality]:
    targets = [t for t in ORDER if t in spec.targets]
    if spec.source is Modality.NOTATION and Modality.NOTATION not in targets:
        targets.insert(0, Modality.NOTATION)  # cheap, and the score view needs MusicXML
    return targets


def window_progress(progress: Progress, index: int, steps: int, what: str, units: str) -> Callable[[int, int], None]:
    """A long-form ``report(done, total)`` as job progress: target ``index`` spans SCALE of the job's ``steps``."""
    def report(done: int, total: int) -> None:
        total = max(total, 1)
        progress(index * SCALE + min(done, total) * SCALE // total, steps, f"{what}: {done} of {total} {units} done")
    return report


def run_job(spec: JobSpec, out: Path, model: ScoreBridgeModel | None = None,
            options: DecodingOptions | None = None,
            progress: Progress = lambda step, steps, message: None) -> JobResult:
    """Translate ``spec.input`` into every target under ``out``, then build the views. A target that fails is
    a problem in the result; ScorebridgeError when none succeeds. Safe to call from any thread."""
    out.mkdir(parents=True, exist_ok=True)
    targets = _job_targets(spec)
    steps = (len(targets) + 1) * SCALE
    problems: list[str] = []
    warnings: list[str] = []
    engines: dict[Modality, str] = {}
    for i, target in enumerate(targets):
        what = f"{TARGET_WORDS[target]} from the {SOURCE_WORDS[spec.source]}"
        progress(i * SCALE, steps, f"making the {what}")
        report = window_progress(progress, i, steps, f"making the {what}", UNITS[spec.source])
        try:
            result = translate_file(_request(spec, target, out), model, options=options, progress=report)
            engines[target] = result.engine
            problems += [f"{TARGET_WORDS[target]}: {p}" for p in result.problems]
            warnings += [n for n in getattr(result, "notes", None) or () if n not in warnings]
            if target is Modality.NOTATION:
                _write_lmx(out, problems)
        except (ScorebridgeError, ValueError) as exc:
            problems.append(f"{TARGET_WORDS[target]}: {getattr(exc, 'problem', None) or exc}")
    if not _outputs(out):
        raise ScorebridgeError("nothing could be made of this file: " + "; ".join(problems))
    progress(len(targets) * SCALE, steps, "engraving the score for display")
    pages, measures = _score_view(spec, out, problems)
    notes = _roll(spec, out, problems)
    audio = OUTPUT_NAMES[Modality.AUDIO] if (out / OUTPUT_NAMES[Modality.AUDIO]).is_file() else None
    preview = _preview(spec, out, engines.get(Modality.AUDIO), problems)
    return JobResult(_outputs(out), pages, measures, audio, notes, tuple(problems), tuple(warnings), preview)


def _preview(spec: JobSpec, out: Path, audio_engine: str | None, problems: list[str]) -> str | None:
    """An uploaded MIDI file played by FluidSynth, to hear the input beside its results; None for other inputs,
    and when the audio result is that very rendering already (made without the model)."""
    if spec.source is not Modality.MIDI:
        return None
    if audio_engine is not None and not needs_model(audio_engine):
        return OUTPUT_NAMES[Modality.AUDIO]
    from scorebridge import convert

    try:
        convert.render(spec.input, "audio", out / PREVIEW)
    except (ScorebridgeError, ValueError) as exc:
        problems.append(f"your MIDI file could not be played back: {getattr(exc, 'problem', None) or exc}")
        return None
    return PREVIEW


def _outputs(out: Path) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")))


def _write_lmx(out: Path, problems: list[str]) -> None:
    xml = out / OUTPUT_NAMES[Modality.NOTATION]
    try:
        translate_file(TranslateRequest(xml, out / "score.lmx"), progress=False)
    except (ScorebridgeError, ValueError) as exc:
        problems.append("the LMX text version was not made (the MusicXML score is): "
                        f"{getattr(exc, 'problem', None) or exc}")


def _score_view(spec: JobSpec, out: Path, problems: list[str]) -> tuple[tuple[str, ...], str | None]:
    """SVG pages of the score (the notation output) and measures.json; nothing when there is no notation."""
    from scorebridge.render import engrave

    xml = out / OUTPUT_NAMES[Modality.NOTATION]
    if not xml.is_file():
        return (), None
    try:
        engraved = engrave(xml)
    except ScorebridgeError as exc:
        problems.append(f"the score could not be shown: {getattr(exc, 'problem', None) or exc}")
        return (), None
    pages = []
    for i, svg in enumerate(engraved.pages, start=1):
        write_text(out / f"page-{i}.svg", svg)
        pages.append(f"page-{i}.svg")
    ids = [m.id for m in engraved.measures]
    timing = "engraver"
    spans = [(m.start_ms, m.end_ms) for m in engraved.measures]
    if (out / ALIGNMENT).is_file():
        aligned = measure_times_from_alignment(len(ids), json.loads((out / ALIGNMENT).read_text(encoding="utf-8")))
        if aligned is not None:
            spans, timing = aligned, "alignment"
    doc = {"timing": timing, "measures": [{"id": i, "start_ms": s, "end_ms": e}
                                          for i, (s, e) in zip(ids, spans, strict=True) if s is not None]}
    write_text(out / "measures.json", json.dumps(doc) + "\n")
    return tuple(pages), "measures.json"


def measure_times_from_alignment(count: int, alignment: dict[str, Any]) -> list[tuple[int, int]] | None:
    """Each of ``count`` measures' (start_ms, end_ms) from image -> audio alignment spans: a system's span is
    shared evenly among its measures [first, last). None when the spans name no measures or do not cover
    ``count`` measures."""
    rate = alignment.get("sample_rate")
    times: list[tuple[int, int] | None] = [None] * count
    for span in alignment.get("systems", []):
        first_last = span.get("measures")
        if not rate or first_last is None:
            return None
        first, last = first_last
        if not 0 <= first < last <= count:
            return None
        start, end = span["start_sample"] * 1000 // rate, span["end_sample"] * 1000 // rate
        share = (end - start) / (last - first)
        for k in range(first, last):
            times[k] = (round(start + (k - first) * share), round(start + (k - first + 1) * share))
    if any(t is None for t in times):
        return None
    return times  # type: ignore[return-value]


def _roll(spec: JobSpec, out: Path, problems: list[str]) -> str | None:
    """notes.json (onset_ms, offset_ms, pitch, velocity) of the MIDI result, or of a MIDI upload."""
    from scorebridge.midi import read_midi

    midi = out / OUTPUT_NAMES[Modality.MIDI]
    source = midi if midi.is_file() else spec.input if spec.source is Modality.MIDI else None
    if source is None:
        return None
    try:
        notes = read_midi(source)
    except ScorebridgeError as exc:
        problems.append(f"the piano roll could not be drawn: {getattr(exc, 'problem', None) or exc}")
        return None
    write_text(out / "notes.json", json.dumps(roll_json(notes)) + "\n")
    return "notes.json"


def roll_json(notes: Sequence[Any]) -> dict[str, Any]:
    """The piano roll's data: at most MAX_ROLL_NOTES notes as [onset_ms, offset_ms, pitch, velocity]."""
    kept = [[n.onset, max(n.offset, n.onset + 1), n.pitch, n.velocity] for n in notes[:MAX_ROLL_NOTES]]
    return {"notes": kept, "truncated": len(notes) > MAX_ROLL_NOTES,
            "duration_ms": max((n[1] for n in kept), default=0)}
