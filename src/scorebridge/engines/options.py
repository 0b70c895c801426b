"""The `--engine` / `--address` options shared by `data build`, `codec bake` and `video build`."""

from __future__ import annotations

import argparse

from scorebridge.engines import ENGINE_NAMES, Engine
from scorebridge.errors import ScorebridgeError


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=ENGINE_NAMES, default="local",
                   help="local: a process pool on this machine (default); ray: Ray tasks (pip install "
                        "'scorebridge[cluster]')")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="with --engine ray: join this cluster (auto, HOST:6379, ray://HOST:10001); "
                        "default: start a local Ray instance with this machine's CPUs")


def engine_from_args(args: argparse.Namespace) -> Engine:
    try:
        return Engine(args.engine, address=args.address)
    except ValueError as exc:
        raise ScorebridgeError(str(exc)) from None
