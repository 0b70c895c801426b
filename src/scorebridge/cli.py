"""The `scorebridge` command line: parses arguments and calls library functions, nothing more."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from scorebridge import __version__
from scorebridge.deadline import Deadline
from scorebridge.engines.options import add_engine_arguments, engine_from_args
from scorebridge.errors import ScorebridgeError

log = logging.getLogger("scorebridge")

RENDER_TARGETS = ("systems", "pages", "pdf", "midi", "audio", "lmx")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--limit -3`` must not mean "all but 3")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scorebridge",
        description="Translate music between score images, notation (MusicXML/LMX), MIDI and audio.",
    )
    parser.add_argument("--version", action="version", version=f"scorebridge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "lmx",
        help="print the LMX (linearized MusicXML) of a score, or turn LMX back into MusicXML",
        description="Print the LMX of a score's piano part (or --part N). With --to-musicxml, read an .lmx "
        "file and write MusicXML.",
    )
    p.add_argument("input", metavar="SCORE", help="MusicXML/MXL/kern/ABC/MEI score, or an .lmx file with --to-musicxml")
    p.add_argument("--part", type=int, default=None, help="1-based part index (default: the piano part)")
    p.add_argument("--to-musicxml", action="store_true", help="INPUT is LMX; write MusicXML to -o")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    _add_common(p)

    p = sub.add_parser(
        "render",
        help="engrave a score to system images or pages, or render it to MIDI, audio or LMX",
        description="Deterministic, non-learned renderings of a score: system crops (PNG + systems.json), "
        "page images, MIDI (Verovio's, aligned with the engraving), audio (FluidSynth) or LMX.",
    )
    p.add_argument("input", metavar="SCORE", help="MusicXML/MXL/kern/ABC/MEI score (or a MIDI file for --to audio)")
    p.add_argument("--to", default=None, choices=RENDER_TARGETS,
                   help="what to render (default: told by the output file's suffix, e.g. score.pdf); systems: one "
                        "PNG per system as the model reads it (staves scaled to --staff-height px, 18 by default: "
                        "small for a person; add --raw for crops at the engraving's full size), pages: whole pages")
    p.add_argument("-o", "--output", required=True,
                   help="output folder (systems, pages; an existing one keeps its files) or file (pdf: .pdf, midi: "
                        ".mid, audio: .wav .flac .ogg .mp3, lmx: .lmx); never the input")
    p.add_argument("--soundfont", default="fluidr3", help="fluidr3, timgm6mb or a .sf2 path (audio)")
    p.add_argument("--sample-rate", type=int, default=44_100, help="audio sample rate in Hz, 8000..96000 (audio)")
    p.add_argument("--force", action="store_true",
                   help="systems, pages: overwrite files of the same names in an existing output folder")
    p.add_argument("--font", default="Leipzig", help="music font: Leipzig, Bravura, Gootville, Leland, Petaluma")
    p.add_argument("--page-width", type=int, default=None, help="Verovio page width (tenths of mm)")
    p.add_argument("--staff-height", type=int, default=18,
                   help="systems: staff height in px of the model's input crops (default: 18)")
    p.add_argument("--raw", action="store_true",
                   help="systems: crops at the engraving's size, readable by a person, not the model's input size")
    p.add_argument("--part", type=int, default=None, help="1-based part index for --to lmx")
    _add_common(p)

    p = sub.add_parser(
        "demo",
        help="render the bundled score to every modality, translate held-out inputs in every direction with the "
             "shipped model, and print the model card's table",
        description="Engrave the bundled example (or SCORE) to system images, LMX, MIDI and audio; then translate "
                    "the bundled held-out page, recording and MIDI file (and the score's LMX) with the shipped "
                    "weights (or --weights) in every direction; then print the shipped weights' evaluation table.",
    )
    p.add_argument("input", metavar="SCORE", nargs="?", default=None, help="score to use instead of the bundled one")
    p.add_argument("-o", "--output", default="demo-output", help="output folder (default: demo-output)")
    p.add_argument("--weights", default=None, metavar="MODEL", help="model folder instead of the shipped one")
    p.add_argument("--no-model", action="store_true", help="only the renders (no translation model)")
    from scorebridge.cli_translate import add_runtime_options

    add_runtime_options(p, positive_int)
    _add_common(p)
    _add_data_commands(sub)
    _add_codec_commands(sub)
    _add_train_command(sub)
    from scorebridge.cli_model import add_eval_command
    from scorebridge.cli_translate import add_translate_command

    add_translate_command(sub, _add_common)
    from scorebridge.cli_video import add_video_commands

    add_video_commands(sub, _add_common)
    from scorebridge.studio.cli import add_serve_command

    add_serve_command(sub, _add_common)
    add_eval_command(sub, _add_common)
    return parser


def _add_codec_commands(sub: argparse._SubParsersAction) -> None:
    codec = sub.add_parser("codec", help="train, use and bake the image and audio codecs (learned tokenizers)",
                           description="The image RQ-VAE and the DAC-style audio codec: training, encoding files "
                           "to codes and back, and baking datasets into token shards.")
    csub = codec.add_subparsers(dest="codec_command", required=True, metavar="CODEC_COMMAND")
    p = csub.add_parser("train", help="train (or resume training) a codec on the train split of datasets",
                        description="Train a codec; rerun the same command to resume. Only train-split samples "
                        "are read.")
    p.add_argument("kind", choices=("image", "audio"))
    p.add_argument("--data", action="append", required=True, metavar="DIR",
                   help="a dataset built by `data build` (repeat for several)")
    p.add_argument("--preset", default="small", help="image: tiny/small/paper; audio: tiny/small24k/dac44-4 "
                   "(default: small, small24k for audio)")
    p.add_argument("--out", required=True, help="run folder (checkpoint + training state)")
    p.add_argument("--steps", type=int, default=None, help="total steps (default: the recipe's)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--adversarial", action="store_true", help="audio: train with the discriminators")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-minutes", type=float, default=None, metavar="MIN",
                   help="checkpoint and stop after this much wall time (rerun to resume)")
    _add_common(p)
    for name, what in (("encode", "an image (PNG) or a recording to a .npz of codes"),
                       ("decode", "a .npz of codes back to an image (PNG) or audio (WAV/FLAC)")):
        p = csub.add_parser(name, help=what)
        p.add_argument("kind", choices=("image", "audio"))
        p.add_argument("input", metavar="INPUT")
        p.add_argument("--codec", required=True, metavar="DIR", help="codec checkpoint or training-run folder")
        p.add_argument("-o", "--output", required=True)
        _add_common(p)
    p = csub.add_parser("bake", help="tokenize datasets at every shift into token shards for the translator",
                        description="Bake datasets into token shards (32 image shifts, 9 audio shifts, degraded "
                        "image variants for training). Rerun the same command to resume.")
    p.add_argument("--data", action="append", required=True, metavar="DIR", help="a built dataset (repeatable)")
    p.add_argument("--codecs", required=True, metavar="DIR", help="folder with image/ and/or audio/ codecs")
    p.add_argument("--out", required=True, help="token folder")
    p.add_argument("--degraded", type=int, default=5, help="degraded copies per training image (default 5)")
    p.add_argument("--image-shifts", choices=("all", "centre"), default="all")
    p.add_argument("--audio-shifts", choices=("all", "centre"), default="all")
    p.add_argument("--splits", default="train,valid,test")
    p.add_argument("--limit", type=positive_int, default=None, help="only the first N input shards")
    p.add_argument("--device", default="cpu", help="where the codecs encode: cpu, cuda ...")
    p.add_argument("--workers", type=int, default=0, help="shards baked at once in worker processes (default 0)")
    add_engine_arguments(p)
    _add_common(p)


def _run_codec(args: argparse.Namespace) -> int:
    from dataclasses import replace

    if args.codec_command == "train":
        overrides = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size), ("lr", args.lr),
                                       ("seed", args.seed)) if v is not None}
        try:
            deadline = Deadline.minutes(args.max_minutes)
            if args.kind == "image":
                from scorebridge.codecs.image import ImageTrainConfig
                from scorebridge.train.codecs import train_image_codec

                result = train_image_codec(replace(ImageTrainConfig(preset=args.preset), **overrides), args.data,
                                           args.out, device=args.device, deadline=deadline)
                print(f"image codec: step {result.step} in {args.out} ({result.seconds:.0f} s this run)")
            else:
                from scorebridge.codecs.audio import AudioTrainConfig
                from scorebridge.train.codecs import train_audio_codec

                preset = "small24k" if args.preset == "small" else args.preset
                config = replace(AudioTrainConfig(preset=preset, adversarial=args.adversarial), **overrides)
                result = train_audio_codec(config, args.data, args.out, device=args.device, progress=not args.quiet,
                                           deadline=deadline)
                print(f"audio codec: step {result.steps} in {result.checkpoint} ({result.seconds:.0f} s this run)")
        except ValueError as exc:
            raise ScorebridgeError(f"codec train: {exc}") from exc
        return 0
    if args.codec_command in ("encode", "decode"):
        from scorebridge.codecs import files

        run = files.encode_file if args.codec_command == "encode" else files.decode_file
        info = run(args.kind, args.codec, args.input, args.output)
        print(f"{info.output} ({args.kind} codes {'x'.join(map(str, info.shape))})")
        return 0
    if args.codec_command == "bake":
        from scorebridge.shards.bake import BakeOptions, bake

        try:
            options = BakeOptions(degraded=args.degraded, image_shifts=args.image_shifts,
                                  audio_shifts=args.audio_shifts, splits=tuple(args.splits.split(",")))
        except ValueError as exc:
            raise ScorebridgeError(f"codec bake: {exc}") from exc
        report = bake(args.data, args.codecs, args.out, options, limit=args.limit, progress=not args.quiet,
                      device=args.device, workers=args.workers, engine=engine_from_args(args))
        print(f"{report.out}: {report.samples} samples in {report.shards} shards ({report.baked_shards} baked now)")
        return 0
    raise AssertionError(args.codec_command)


def _add_train_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the translator from a recipe on baked token shards",
                       description="Train the translator with a recipe (configs/*.toml). Under torchrun "
                       "(torchrun --nproc-per-node N -m scorebridge train ...) every process trains a share of "
                       "each batch (DDP). --resume continues the run in --out exactly where its last checkpoint "
                       "stopped.")
    p.add_argument("--config", required=True, metavar="RECIPE", help="recipe file (.toml or .yaml)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, logs, TensorBoard)")
    p.add_argument("--data", action="append", default=None, metavar="DIR",
                   help="baked token folder (repeatable; replaces the recipe's data)")
    p.add_argument("--codecs", default=None, metavar="DIR", help="codec folder to copy into the run")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    p.add_argument("--steps", type=int, default=None, help="total steps (default: the recipe's)")
    p.add_argument("--batch-size", type=int, default=None, help="global batch (default: the recipe's)")
    p.add_argument("--stop-at", type=int, default=None, metavar="STEP",
                   help="checkpoint and exit after this step (for time-limited jobs; --resume continues)")
    p.add_argument("--max-minutes", type=float, default=None, metavar="MIN",
                   help="checkpoint and exit after this much wall time (--resume continues)")
    p.add_argument("--device", default="auto",
                   help="where it trains: auto (default: a CUDA GPU if there is one, else the CPU), cpu, cuda ...")
    _add_common(p)


def _run_train(args: argparse.Namespace) -> int:
    from scorebridge.train import read_recipe, train

    config = read_recipe(args.config, data=tuple(args.data) if args.data else None, codecs=args.codecs,
                         steps=args.steps, batch_size=args.batch_size)
    try:
        report = train(config, args.out, resume=args.resume, device=args.device, progress=not args.quiet,
                       stop_at=args.stop_at, deadline=Deadline.minutes(args.max_minutes))
    except ValueError as exc:
        raise ScorebridgeError(f"train: {exc}") from exc
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"{report.out}: step {report.steps} (from {report.first_step}), loss {report.loss:.4f}, "
              f"checkpoint {report.checkpoint}, {report.seconds:.0f} s")
    return 0


def _add_data_commands(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="build, inspect and check aligned image/LMX/MIDI/audio datasets",
                          description="Datasets of aligned samples (system image, LMX, MIDI, audio) in WebDataset "
                          "shards with a manifest.")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="DATA_COMMAND")
    p = dsub.add_parser("build", help="build (or resume) a dataset from a corpus, a dataset or a folder of scores",
                        description="Build a dataset; rerun the same command to resume a killed build.")
    p.add_argument("--source", required=True,
                   help="kern-piano, lieder, asap, music21, ADAPTER:PATH (e.g. maestro:/data/maestro-v3.0.0) "
                        "or a folder of scores")
    p.add_argument("--out", required=True, help="dataset folder")
    p.add_argument("--corpora", default=None, help="folder holding kern/, openscore-lieder/, asap/ "
                   "(default: $SCOREBRIDGE_CORPORA or ../shared/corpora)")
    p.add_argument("--soundfonts", default="fluidr3,timgm6mb", help="comma-separated names or .sf2 paths")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    p.add_argument("--limit", type=positive_int, default=None, help="only the first N pieces (quick runs)")
    p.add_argument("--seed", type=int, default=0, help="seed of every draw (look, soundfont, tempo)")
    p.add_argument("--max-systems", type=int, default=1, help="systems per sample (consecutive runs)")
    p.add_argument("--tempo-range", default="1,1", help="score-time samples: tempo factor range LO,HI")
    p.add_argument("--window-s", type=int, default=10, help="long window length in seconds")
    p.add_argument("--fixed-look", action="store_true", help="engrave every piece with the default look")
    p.add_argument("--page-width", default="1800,2500", metavar="LO,HI",
                   help="varied look: page width range in tenths of mm (e.g. 700,900 for systems of a measure or two)")
    p.add_argument("--sustain-pedal", action="store_true", help="extend performance notes by the sustain pedal")
    add_engine_arguments(p)
    _add_common(p)
    p = dsub.add_parser("stats", help="samples, hours of audio, systems and tokens per split")
    p.add_argument("dataset", metavar="DIR")
    _add_common(p)
    p = dsub.add_parser("show", help="write the four modalities of one sample as ordinary files")
    p.add_argument("dataset", metavar="DIR")
    p.add_argument("sample_id", metavar="SAMPLE_ID")
    p.add_argument("-o", "--output", required=True, help="output folder")
    _add_common(p)
    p = dsub.add_parser("check", help="check the alignment of every sample (exit 1 if any fails)")
    p.add_argument("dataset", metavar="DIR")
    p.add_argument("--limit", type=positive_int, default=None, help="check only the first N samples")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    _add_common(p)


def _int_pair(text: str, flag: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise ValueError(f"{flag} takes two integers LO,HI, not {text!r}")
    return int(parts[0]), int(parts[1])


def _run_data(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scorebridge.data import dataset

    if args.data_command == "build":
        from scorebridge.data.build import build
        from scorebridge.data.contract import BuildConfig
        from scorebridge.data.registry import resolve_source

        try:
            lo, hi = (float(x) for x in args.tempo_range.split(","))
            config = BuildConfig(seed=args.seed, soundfonts=tuple(s for s in args.soundfonts.split(",") if s),
                                 tempo_factor_range=(lo, hi), max_systems=args.max_systems,
                                 window_ms=args.window_s * 1000, vary_engraving=not args.fixed_look,
                                 sustain_pedal=args.sustain_pedal,
                                 page_width_range=_int_pair(args.page_width, "--page-width"))
        except ValueError as exc:
            raise ScorebridgeError(f"data build: {exc}") from exc
        from scorebridge.render import resolve_soundfont

        for soundfont in config.soundfonts:  # a bad name would reject every piece, one by one
            resolve_soundfont(soundfont)
        if not config.soundfonts:
            raise ScorebridgeError("data build: --soundfonts names no soundfont")
        source, expected = resolve_source(args.source, Path(args.corpora) if args.corpora else None)
        report = build(source, args.out, config, workers=max(1, args.workers), limit=args.limit,
                       progress=not args.quiet, expected_modalities=expected, engine=engine_from_args(args))
        print(f"{report.source}: {report.pieces} pieces ({report.built_now} built now, {report.resumed} resumed, "
              f"{report.rejected} rejected), {report.samples} samples in {report.out} ({report.seconds:.0f} s)")
        return 0
    if args.data_command == "stats":
        sys.stdout.write(dataset.format_stats(dataset.dataset_stats(args.dataset)))
        return 0
    if args.data_command == "show":
        from scorebridge.fileio import check_distinct, check_output_location

        check_output_location(args.output, folder=True)
        check_distinct(args.output, [args.dataset])
        for path in dataset.export_sample(dataset.get_sample(args.dataset, args.sample_id), args.output):
            print(path)
        return 0
    if args.data_command == "check":
        from scorebridge.data.check_all import check_dataset, format_check_report

        report = check_dataset(args.dataset, limit=args.limit, progress=not args.quiet,
                               workers=max(1, args.workers))
        sys.stdout.write(format_check_report(report))
        return 0 if report.failed == 0 else 1
    raise AssertionError(args.data_command)


def _run(args: argparse.Namespace) -> int:
    # Imported here so that `--help` stays fast and argument errors need no heavy imports.
    from scorebridge import convert
    from scorebridge.fileio import write_text

    progress = not args.quiet
    if args.command == "lmx":
        if args.output and not args.to_musicxml:
            convert.check_output(args.output, convert.LMX_SUFFIXES, "LMX", [args.input])
        if args.to_musicxml:
            if not args.output:
                raise ScorebridgeError("lmx --to-musicxml needs -o OUT.musicxml")
            convert.lmx_file_to_musicxml(args.input, args.output)
            log.info("wrote %s", args.output)
            return 0
        text = convert.score_lmx_text(args.input, part=args.part)
        if args.output:
            write_text(args.output, text + "\n")
        else:
            sys.stdout.write(text + "\n")
        return 0
    if args.command == "render":
        opts = convert.RenderRequest(
            soundfont=args.soundfont,
            sample_rate=args.sample_rate,
            font=args.font,
            page_width=args.page_width,
            staff_height=args.staff_height,
            normalize=not args.raw,
            part=args.part,
            progress=progress,
            force=args.force,
        )
        target = args.to or convert.target_for_output(args.output)
        written = convert.render(args.input, target, args.output, opts)
        convert.print_written(written, sys.stdout)
        return 0
    if args.command == "data":
        return _run_data(args)
    if args.command == "train":
        return _run_train(args)
    if args.command == "eval":
        from scorebridge.cli_model import run_eval

        return run_eval(args)
    if args.command == "serve":
        from scorebridge.studio.cli import run_serve

        return run_serve(args)
    if args.command == "video":
        from scorebridge.cli_video import run_video

        return run_video(args)
    if args.command == "translate":
        from scorebridge.cli_translate import run_translate

        return run_translate(args)
    if args.command == "codec":
        return _run_codec(args)
    if args.command == "demo":
        written = convert.run_demo(args.output, score=args.input, progress=progress)
        if not args.no_model:
            from scorebridge import demo
            from scorebridge.runtime import resolve_device, set_threads

            set_threads(args.threads)
            written += demo.run_model_demo(args.output, lmx_file=Path(args.output) / "score.lmx",
                                           weights=args.weights, device=resolve_device(args.device),
                                           progress=progress)
            written.append(convert.Written("figures", demo.write_figures(args.output), "the model card's table"))
        convert.print_written(written, sys.stdout)
        if not args.no_model:
            print()
            print(demo.card_table(), end="")
        return 0
    raise AssertionError(args.command)


def _setup_logging(args: argparse.Namespace) -> None:
    """Warnings in a musician's words (``scorebridge.wording``; --debug keeps the engine's own), on stderr."""
    from scorebridge.wording import PlainHandler

    global _handler
    root = logging.getLogger()
    if _handler is not None:  # main() run again in one process (tests): replace only our own handler
        root.removeHandler(_handler)
    _handler = PlainHandler(debug=args.debug)
    root.addHandler(_handler)
    root.setLevel(logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING)


_handler: logging.Handler | None = None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args)
    from tqdm.contrib.logging import logging_redirect_tqdm

    from scorebridge import extras
    from scorebridge.wording import OncePerRun, PlainFormatter

    try:
        extras.require_for_command(args)  # an optional extra missing: one line before any work
        with logging_redirect_tqdm():  # log lines go above the progress bars instead of through them
            once = OncePerRun()
            for handler in logging.getLogger().handlers:  # the handler that replaced ours keeps its formatter
                if isinstance(handler.formatter, PlainFormatter):
                    handler.addFilter(once)
            return _run(args)
    except ScorebridgeError as exc:
        if args.debug:
            raise
        print(f"scorebridge: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # found missing mid-command: name the extra that brings it
        if args.debug:
            raise
        print(f"scorebridge: error: {extras.from_import_error(exc, f'scorebridge {args.command}')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("scorebridge: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line unless --debug
        if args.debug:
            raise
        print(f"scorebridge: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
