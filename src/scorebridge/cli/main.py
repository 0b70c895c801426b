"""The `scorebridge` command: builds the parser from the command modules and runs the chosen one, handling logging,
errors and exit codes in one place.

Every command module has ``register(sub)``, which adds its parser(s) and sets ``func=`` on each runnable one;
``func(args)`` returns the exit code. Exit codes: 0 done, 1 some of the work failed (a batch, a check) or an
internal error, 2 bad input or a missing tool or extra (one line, no traceback unless --debug), 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from scorebridge import __version__
from scorebridge.cli import codec, data, demo, evaluate, score, serve, train, translate, video
from scorebridge.errors import ScorebridgeError

# the order of `scorebridge --help`
COMMANDS = (score, demo, data, codec, train, translate, video, serve, evaluate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scorebridge",
        description="Translate music between score images, notation (MusicXML/LMX), MIDI and audio.",
    )
    parser.add_argument("--version", action="version", version=f"scorebridge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


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
            return args.func(args)
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
