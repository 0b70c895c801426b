"""`scorebridge train`: the translator from a recipe on baked token shards (``scorebridge.train``)."""

from __future__ import annotations

import argparse
import os

from scorebridge.cli.common import add_common
from scorebridge.errors import ScorebridgeError


def register(sub: argparse._SubParsersAction) -> None:
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
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scorebridge.deadline import Deadline
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
