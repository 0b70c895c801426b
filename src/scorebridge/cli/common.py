"""What several commands share: argument types, the flag groups every model or data command adds the same way
(--debug/-v/-q, --device/--threads, decoding, --runner), and the table of written files.

Nothing here imports torch or an optional extra: building the parser must stay fast (`--help`, argument errors).
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, TextIO

from scorebridge.engines import ENGINE_NAMES, Engine
from scorebridge.errors import ScorebridgeError

if TYPE_CHECKING:
    from scorebridge import DecodingOptions
    from scorebridge.convert import Written

log = logging.getLogger("scorebridge")

DECODING_FLAGS = ("method", "temperature", "top_p", "seed", "max_steps", "eos_bias", "loop_repeats",
                  "loop_max_period", "source_bound")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--limit -3`` must not mean "all but 3")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_common(p: argparse.ArgumentParser) -> None:
    """--debug, -v, -q: on every command, last in its help."""
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def add_runtime_options(p: argparse.ArgumentParser) -> None:
    """--device and --threads, the same on every command that runs the model."""
    from scorebridge.runtime import default_threads

    p.add_argument("--device", default="auto",
                   help="where the model runs: auto (default: a CUDA GPU if there is one, else the CPU), cpu, "
                        "cuda, cuda:1 ...")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="CPU threads of the model (default: one per physical core less one, at most 4: "
                        f"{default_threads()} here)")


def add_decoding_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("decoding")
    g.add_argument("--method", choices=("greedy", "top_p", "sample"), default=None, help="default: greedy")
    g.add_argument("--temperature", type=float, default=None)
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--seed", type=int, default=None, help="seed of top_p/sample decoding (its own generator)")
    g.add_argument("--max-steps", type=int, default=None, help="longest output per window, in steps")
    g.add_argument("--eos-bias", type=float, default=None,
                   help="added to the end token's logit (default 0; > 0 ends outputs sooner)")
    g.add_argument("--loop-repeats", type=int, default=None,
                   help="end an LMX/MIDI output that repeats one cycle this many times (0: off)")
    g.add_argument("--loop-max-period", type=int, default=None, help="longest cycle --loop-repeats looks for")
    g.add_argument("--no-source-bound", dest="source_bound", action="store_false", default=None,
                   help="no per-direction length bound from the source's length")


def decoding_options(args: argparse.Namespace, base: DecodingOptions | None = None) -> DecodingOptions:
    """A DecodingOptions from the flags given, over ``base`` (default: DecodingOptions())."""
    import dataclasses

    from scorebridge import DecodingOptions

    changes = {k: getattr(args, k) for k in DECODING_FLAGS if getattr(args, k, None) is not None}
    try:
        return dataclasses.replace(base or DecodingOptions(), **changes)
    except ValueError as exc:
        raise ScorebridgeError(f"decoding options: {exc}") from None


def add_runner_arguments(p: argparse.ArgumentParser) -> None:
    """--runner / --address of the data commands (`data build`, `codec bake`, `video build`). ``--engine`` was
    their old name; it still works, hidden, with one warning (``translate --engine`` is another thing)."""
    p.add_argument("--runner", choices=ENGINE_NAMES, default=None,
                   help="local: a process pool on this machine (default); ray: Ray tasks (pip install "
                        "'scorebridge[cluster]')")
    p.add_argument("--engine", dest="old_engine", choices=ENGINE_NAMES, default=None, help=argparse.SUPPRESS)
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="with --runner ray: join this cluster (auto, HOST:6379, ray://HOST:10001); "
                        "default: start a local Ray instance with this machine's CPUs")


def runner_from_args(args: argparse.Namespace) -> Engine:
    """The data engine --runner (or the deprecated --engine) names; --address only with ray."""
    name = args.runner
    if args.old_engine is not None:
        log.warning("--engine %s is now --runner %s here (--engine will go)", args.old_engine, args.old_engine)
        if name is not None and name != args.old_engine:
            raise ScorebridgeError(f"--runner {name} and --engine {args.old_engine} disagree; give --runner only")
        name = args.old_engine
    name = name or "local"
    if name == "local" and args.address is not None:
        raise ScorebridgeError("--address joins a Ray cluster: use it with --runner ray")
    try:
        return Engine(name, address=args.address)
    except ValueError as exc:
        raise ScorebridgeError(str(exc)) from None


def print_written(written: list[Written], stream: TextIO) -> None:
    """A short table of what was written where."""
    if not written:
        return
    width = max(len(w.kind) for w in written)
    pwidth = max(len(str(w.path)) for w in written)
    for w in written:
        stream.write(f"{w.kind:<{width}}  {str(w.path):<{pwidth}}  {w.detail}\n")
