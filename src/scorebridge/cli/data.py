"""`scorebridge data build|stats|show|check`: aligned image/LMX/MIDI/audio datasets (``scorebridge.data``)."""

from __future__ import annotations

import argparse
import os
import sys

from scorebridge.cli.common import add_common, add_runner_arguments, positive_int, runner_from_args
from scorebridge.errors import ScorebridgeError


def register(sub: argparse._SubParsersAction) -> None:
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
    add_runner_arguments(p)
    add_common(p)
    p.set_defaults(func=run_build)
    p = dsub.add_parser("stats", help="samples, hours of audio, systems and tokens per split")
    p.add_argument("dataset", metavar="DIR")
    add_common(p)
    p.set_defaults(func=run_stats)
    p = dsub.add_parser("show", help="write the four modalities of one sample as ordinary files")
    p.add_argument("dataset", metavar="DIR")
    p.add_argument("sample_id", metavar="SAMPLE_ID")
    p.add_argument("-o", "--output", required=True, help="output folder")
    add_common(p)
    p.set_defaults(func=run_show)
    p = dsub.add_parser("check", help="check the alignment of every sample (exit 1 if any fails)")
    p.add_argument("dataset", metavar="DIR")
    p.add_argument("--limit", type=positive_int, default=None, help="check only the first N samples")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    add_common(p)
    p.set_defaults(func=run_check)


def _int_pair(text: str, flag: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise ValueError(f"{flag} takes two integers LO,HI, not {text!r}")
    return int(parts[0]), int(parts[1])


def run_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scorebridge.data.build import build
    from scorebridge.data.contract import BuildConfig
    from scorebridge.data.registry import resolve_source
    from scorebridge.render import resolve_soundfont

    try:
        lo, hi = (float(x) for x in args.tempo_range.split(","))
        config = BuildConfig(seed=args.seed, soundfonts=tuple(s for s in args.soundfonts.split(",") if s),
                             tempo_factor_range=(lo, hi), max_systems=args.max_systems,
                             window_ms=args.window_s * 1000, vary_engraving=not args.fixed_look,
                             sustain_pedal=args.sustain_pedal,
                             page_width_range=_int_pair(args.page_width, "--page-width"))
    except ValueError as exc:
        raise ScorebridgeError(f"data build: {exc}") from exc
    for soundfont in config.soundfonts:  # a bad name would reject every piece, one by one
        resolve_soundfont(soundfont)
    if not config.soundfonts:
        raise ScorebridgeError("data build: --soundfonts names no soundfont")
    runner = runner_from_args(args)
    source, expected = resolve_source(args.source, Path(args.corpora) if args.corpora else None)
    report = build(source, args.out, config, workers=max(1, args.workers), limit=args.limit,
                   progress=not args.quiet, expected_modalities=expected, engine=runner)
    print(f"{report.source}: {report.pieces} pieces ({report.built_now} built now, {report.resumed} resumed, "
          f"{report.rejected} rejected), {report.samples} samples in {report.out} ({report.seconds:.0f} s)")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from scorebridge.data import dataset

    sys.stdout.write(dataset.format_stats(dataset.dataset_stats(args.dataset)))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from scorebridge.data import dataset
    from scorebridge.fileio import check_distinct, check_output_location

    check_output_location(args.output, folder=True)
    check_distinct(args.output, [args.dataset])
    for path in dataset.export_sample(dataset.get_sample(args.dataset, args.sample_id), args.output):
        print(path)
    return 0


def run_check(args: argparse.Namespace) -> int:
    from scorebridge.data.check_all import check_dataset, format_check_report

    report = check_dataset(args.dataset, limit=args.limit, progress=not args.quiet, workers=max(1, args.workers))
    sys.stdout.write(format_check_report(report))
    return 0 if report.failed == 0 else 1
