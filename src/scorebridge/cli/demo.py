"""`scorebridge demo`: the bundled score rendered to every modality, the shipped model in every direction, the
model card's table (``scorebridge.demo`` does all of it)."""

from __future__ import annotations

import argparse
import sys

from scorebridge.cli.common import add_common, add_runtime_options, print_written


def register(sub: argparse._SubParsersAction) -> None:
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
    add_runtime_options(p)
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scorebridge import demo

    device = "cpu"
    if not args.no_model:  # torch only when the model runs
        from scorebridge.runtime import resolve_device, set_threads

        set_threads(args.threads)
        device = resolve_device(args.device)
    written = demo.run_demo(args.output, score=args.input, weights=args.weights, device=device,
                            with_model=not args.no_model, progress=not args.quiet)
    print_written(written, sys.stdout)
    if not args.no_model:
        print()
        print(demo.card_table(), end="")
    return 0
