"""`scorebridge translate`: one file (``translate in.png -o out.musicxml``) or a batch (``translate IN... -o OUTDIR
--to FORMAT`` over files, folders and glob patterns). Parsing and calls only; the work is ``scorebridge.translate``.

A batch continues past a bad file (one line each), skips inputs whose output exists (unless ``--force``), shows
one progress bar, ends with a summary line and exits 1 when any file failed. Notes on how reliable the model is
are printed once per run, on standard error.
"""

from __future__ import annotations

import argparse
import glob
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scorebridge.cli.common import add_common, add_decoding_options, add_runtime_options, decoding_options
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.filetypes import DEFAULT_SUFFIX
from scorebridge.modality import Modality

if TYPE_CHECKING:
    from scorebridge import ScoreBridgeModel

log = logging.getLogger("scorebridge")

MODALITY_NAMES = tuple(m.value for m in Modality)
GLOB_CHARS = frozenset("*?[")


def register(sub: argparse._SubParsersAction) -> None:
    from scorebridge.routes import ENGINE_CHOICES

    p = sub.add_parser(
        "translate", help="translate files between image, notation, MIDI and audio (one file or many)",
        description="Translate INPUT (a page PNG/JPEG/TIFF/PDF, a WAV/FLAC/MP3/OGG recording, a MIDI file, "
        "MusicXML/MXL/kern/LMX) into OUTPUT; the target comes from --to or OUTPUT's extension. Several inputs, a "
        "folder or a glob pattern translate into the folder OUTPUT (--to FORMAT needed), skipping inputs whose "
        "output exists. Pages are cut into systems without learned weights; long recordings go in 10 s windows. "
        "Model routes print a note on how reliable the model is (its held-out figures).",
        epilog="examples: scorebridge translate page.png -o page.musicxml | scorebridge translate song.mid -o "
        "song.wav | scorebridge translate scans/ '*.pdf' -o out/ --to musicxml")
    p.add_argument("input", metavar="INPUT", nargs="+",
                   help="file to translate; for a batch, several files, folders (searched recursively) or quoted "
                        "glob patterns ('scans/*.png')")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="the output file; for a batch (several inputs, a folder or a pattern, or an existing "
                        "folder here) the output folder, mirroring the inputs' subfolders")
    p.add_argument("--to", default=None, metavar="FORMAT",
                   help="target: image, notation, midi, audio, or a file type (musicxml, lmx, mid, wav, flac, "
                        "png ...); one file: optional (OUTPUT's extension says it); a batch: required")
    p.add_argument("--engine", choices=ENGINE_CHOICES, default="auto",
                   help="who translates: the model, a cascade (the model in one of its own directions, then a "
                        "library: page -> notation -> MIDI or audio, recording -> MIDI -> page), FluidSynth "
                        "(MIDI/notation -> audio) or Verovio (notation -> image, MIDI); auto (default): the better "
                        "measured one per direction, a cascade where the model was not trained, and says which")
    p.add_argument("--force", action="store_true", help="a batch: translate again inputs whose output exists")
    p.add_argument("--weights", default=None, metavar="MODEL",
                   help="model folder (a training checkpoint; default: the shipped weights)")
    p.add_argument("--codecs", default=None, metavar="DIR", help="codec folder (default: beside the model)")
    p.add_argument("--via", choices=("direct", "notation"), default="direct",
                   help="image -> audio: the model directly, or the cascade image -> LMX -> MusicXML -> "
                   "MIDI -> FluidSynth")
    p.add_argument("--align", default=None, metavar="FILE.json",
                   help="image -> audio: write which audio span belongs to which system and measures")
    add_runtime_options(p)
    add_decoding_options(p)
    add_common(p)
    p.set_defaults(func=run)


@dataclass
class BatchReport:
    translated: int = 0
    skipped: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.translated} translated, {self.skipped} skipped, {self.failed} failed"


def run(args: argparse.Namespace) -> int:
    inputs = [str(x) for x in args.input]
    batch = len(inputs) > 1 or Path(args.output).is_dir() or Path(inputs[0]).is_dir() or (
        _is_pattern(inputs[0]) and not Path(inputs[0]).exists())
    return _run_batch(args, inputs) if batch else _run_one(args, Path(inputs[0]))


class _ModelLoader:
    """Loads the model once, when the first input that needs it comes (with --device and --threads applied)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.model: ScoreBridgeModel | None = None

    def __call__(self) -> ScoreBridgeModel:
        if self.model is None:
            from scorebridge.runtime import resolve_device, set_threads
            from scorebridge.translate import load_translation_model

            set_threads(self.args.threads)
            self.model = load_translation_model(self.args.weights, resolve_device(self.args.device),
                                                self.args.codecs)
        return self.model


def _run_one(args: argparse.Namespace, source: Path) -> int:
    from scorebridge.quality import read_quality
    from scorebridge.routes import needs_model
    from scorebridge.translate import TranslateRequest, plan_engine, translate_file

    request = TranslateRequest(source, Path(args.output), _target_modality(args.to), args.via,
                               Path(args.align) if args.align else None, engine=args.engine)
    _source, _target, choice = plan_engine(request, read_quality(args.weights))  # bad input fails before a load
    model = _ModelLoader(args)() if needs_model(choice.engine) else None
    options = decoding_options(args) if model is not None else None
    try:
        result = translate_file(request, model, options=options, progress=not args.quiet)
    except ValueError as exc:  # a model or options that cannot serve this input (e.g. limits below one window)
        raise ScorebridgeError(f"translate: {exc}") from None
    _print_notes(result.notes, [])  # after the work: an error stays one line
    where = ""
    if result.systems is not None:
        where = f" ({result.systems} systems" + (f" on {result.pages} pages)" if result.pages is not None else ")")
    print(f"{result.output}: {result.source} -> {result.target} by {result.engine}{where}")
    if result.alignment is not None:
        print(f"{result.alignment}: alignment")
    _print_problems(result.problems)
    return 0


def _print_notes(notes: Sequence[str], seen: list[str], write: Callable[[str], None] | None = None) -> None:
    for note in notes:
        if note not in seen:
            seen.append(note)
            (write or _stderr)(f"scorebridge: note: {note}")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _print_problems(problems: Sequence[str]) -> None:
    from scorebridge.wording import plain

    for problem in problems[:5]:
        print(f"  note: {plain(problem)}")
    if len(problems) > 5:
        print(f"  ... and {len(problems) - 5} more notes")


def _target_modality(to: str | None) -> Modality | None:
    """--to as a Modality: a modality name, or the modality of a file type (``flac`` -> audio); None stays None."""
    if to is None:
        return None
    if to in MODALITY_NAMES:
        return Modality(to)
    return _output_suffix(to)[1]


def _output_suffix(to: str) -> tuple[str, Modality]:
    """(suffix, modality) of --to: a modality's usual file type, or a file type the outputs know."""
    from scorebridge.translate import OUTPUTS

    if to in MODALITY_NAMES:
        return DEFAULT_SUFFIX[Modality(to)], Modality(to)
    suffix = "." + to.lower().lstrip(".")
    if suffix not in OUTPUTS:
        raise ScorebridgeError(f"translate: --to {to}: expected one of {', '.join(MODALITY_NAMES)} or a file type: "
                               f"{', '.join(s.lstrip('.') for s in sorted(OUTPUTS))}")
    return suffix, OUTPUTS[suffix]


def _is_pattern(text: str) -> bool:
    return any(c in GLOB_CHARS for c in text)


def expand_inputs(inputs: list[str], outdir: Path | None = None) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(input, output path relative to the output folder without its suffix) for every file named, found in a
    folder (recursively; files of a known input type only, none inside ``outdir``: a rerun must not translate
    its own outputs) or matched by a pattern; and one error line per argument that names nothing."""
    from scorebridge.translate import INPUTS

    skip = outdir.resolve() if outdir is not None else None
    found: list[tuple[Path, Path]] = []
    errors: list[str] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INPUTS
                           and not (skip is not None and p.resolve().is_relative_to(skip)))
            if not files:
                errors.append(f"{path}: no file to translate in this folder")
            found += [(p, p.relative_to(path).with_suffix("")) for p in files]
        elif path.exists():
            found.append((path, Path(path.stem)))
        elif _is_pattern(text):
            files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not files:
                errors.append(f"{text}: matches no file")
            found += [(p, Path(p.stem)) for p in files]
        else:
            errors.append(f"{path}: no such file")
    return found, errors


def _run_batch(args: argparse.Namespace, inputs: list[str]) -> int:
    from tqdm import tqdm

    from scorebridge.fileio import check_output_location
    from scorebridge.quality import read_quality
    from scorebridge.routes import needs_model
    from scorebridge.translate import OUTPUTS, TranslateRequest, plan_engine, translate_file
    from scorebridge.wording import plain

    if args.to is None:
        raise ScorebridgeError("translate: several inputs need --to FORMAT (e.g. --to musicxml) and -o OUTDIR")
    if args.align is not None:
        raise ScorebridgeError("translate: --align writes one file; use it with one input")
    suffix, target = _output_suffix(args.to)
    if not Path(args.output).is_dir() and Path(args.output).suffix.lower() in OUTPUTS:
        raise ScorebridgeError(f"translate: several inputs are written into a folder; -o {args.output} names a file")
    outdir = check_output_location(args.output, folder=True)
    quality = read_quality(args.weights)
    found, errors = expand_inputs(inputs, outdir)
    report = BatchReport(failed=len(errors))
    for line in errors:
        _stderr(f"scorebridge: failed: {line}")
    load = _ModelLoader(args)
    options = None
    claimed: dict[Path, Path] = {}
    bar = tqdm(found, unit="file", disable=args.quiet, desc="translate")
    for source, rel in bar:
        out = outdir / rel.parent / (rel.name + suffix)
        try:
            if out in claimed:
                raise InputError(source, f"its output {out} is also {claimed[out]}'s; rename one of them")
            claimed[out] = source
            if out.exists() and not args.force:
                report.skipped += 1
                log.info("%s: skipped, %s exists (--force translates it again)", source, out)
                continue
            request = TranslateRequest(source, out, target, args.via, engine=args.engine)
            _s, _t, choice = plan_engine(request, quality)
            try:
                model = load() if needs_model(choice.engine) else None
            except InputError as exc:  # the weights, not this file: stop the batch
                raise ScorebridgeError(str(exc)) from None
            if model is not None and options is None:
                options = decoding_options(args)
            out.parent.mkdir(parents=True, exist_ok=True)
            result = translate_file(request, model, options=options, progress=False)
        except (InputError, ValueError) as exc:  # this file's problem; the next one may be fine
            report.failed += 1
            bar.write(f"scorebridge: failed: {plain(str(exc))}", file=sys.stderr)
            continue
        except ScorebridgeError as exc:
            if getattr(exc, "path", None) is None:  # not about one input (a missing tool, bad weights): stop
                raise
            report.failed += 1
            bar.write(f"scorebridge: failed: {plain(str(exc))}", file=sys.stderr)
            continue
        except Exception as exc:  # a file that trips a bug must not cost the rest of the batch
            if args.debug:
                raise
            report.failed += 1
            bar.write(f"scorebridge: failed: {source}: internal error: {type(exc).__name__}: {exc} (rerun with "
                      "--debug for details)", file=sys.stderr)
            continue
        report.translated += 1
        log.info("%s: %s -> %s by %s", result.output, result.source, result.target, result.engine)
        _print_notes(result.notes, report.notes, lambda line: bar.write(line, file=sys.stderr))
        for problem in result.problems:
            log.info("%s: %s", result.output, plain(problem))
    bar.close()
    print(report.summary())
    return 1 if report.failed else 0
