"""`scorebridge eval`: a model on a task over a built dataset's test split (``scorebridge.eval.tasks``)."""

from __future__ import annotations

import argparse

from scorebridge.cli.common import (
    add_common,
    add_decoding_options,
    add_runtime_options,
    decoding_options,
    positive_int,
)
from scorebridge.errors import ScorebridgeError

# the parser must not import torch (every command would pay seconds for it); a test keeps these equal to
# scorebridge.eval.tasks.TASKS and JUDGES
EVAL_TASKS = ("omr", "transcription", "image-audio", "midi-audio", "audio-image", "lmx-image")
EVAL_JUDGES = ("basic-pitch",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a model on a task over a built dataset's test split",
                       description="Evaluate a translator checkpoint: omr (SER), transcription (onset F1 per "
                       "piece), image-audio / midi-audio (judge transcriber, onset F1 direct and after DTW), "
                       "audio-image / lmx-image (generated images read back by the model's OMR). The JSON report "
                       "records model, data, split, decoding options, judge and versions.")
    p.add_argument("task", choices=EVAL_TASKS)
    p.add_argument("--data", action="append", required=True, metavar="DIR", help="a built dataset (repeatable)")
    p.add_argument("--weights", default=None, metavar="MODEL",
                   help="model folder (a training checkpoint; default: the shipped weights)")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    p.add_argument("--limit", type=positive_int, default=None, help="at most N samples (pieces for transcription)")
    p.add_argument("--judge", choices=EVAL_JUDGES, default=None, help="transcriber judging generated audio")
    p.add_argument("--reference-decoding", action="store_true",
                   help="decode as the reference system did for this task (overridden by decoding flags)")
    add_runtime_options(p)
    p.add_argument("-o", "--output", required=True, metavar="REPORT.json", help="where the JSON report is written")
    add_decoding_options(p)
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scorebridge.eval.tasks import REFERENCE_OPTIONS, evaluate
    from scorebridge.fileio import check_distinct, check_output_location

    check_output_location(args.output)  # before an evaluation of minutes
    check_distinct(args.output, [*args.data, args.weights])
    if args.weights is None:
        from scorebridge.shipped import shipped_model_dir

        args.weights = shipped_model_dir()
    base = REFERENCE_OPTIONS.get(args.task) if args.reference_decoding else None
    from scorebridge.runtime import resolve_device, set_threads

    set_threads(args.threads)
    try:
        report = evaluate(args.task, args.data, args.weights, split=args.split, limit=args.limit,
                          options=decoding_options(args, base), judge=args.judge, progress=not args.quiet,
                          device=resolve_device(args.device))
    except ValueError as exc:
        raise ScorebridgeError(f"eval: {exc}") from None
    report.save(args.output)
    print(report.summary())
    print(f"report: {args.output}")
    return 0
