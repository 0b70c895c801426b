"""`scorebridge serve`: the local web studio (``scorebridge.studio``); argument parsing and the uvicorn call."""

from __future__ import annotations

import argparse
import ipaddress

from scorebridge.cli.common import add_common, add_runtime_options
from scorebridge.errors import ScorebridgeError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="the local web studio: upload, translate, look and listen",
                       description="Start the studio: one page to drop a page image/PDF, a recording, a MIDI file "
                       "or a score, choose targets, and get the engraved score (followed while it plays), audio, "
                       "a piano roll and every file back. Score routes need no model; reading pages, transcribing "
                       "and synthesizing use the shipped weights (or --weights). The HTTP API's schema is at "
                       "/openapi.json.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=_port, default=8000, help="TCP port, 1..65535 (default: 8000)")
    p.add_argument("--weights", default=None, metavar="MODEL",
                   help="model folder (a training checkpoint; default: the shipped weights)")
    p.add_argument("--no-model", action="store_true", help="score routes only: load no translation model")
    p.add_argument("--codecs", default=None, metavar="DIR", help="codec folder (default: beside the model)")
    p.add_argument("--workers", type=int, default=1,
                   help="jobs translated at once: worker processes, each loading its own copy of the model")
    add_runtime_options(p)  # --device, --threads (per worker process)
    p.add_argument("--max-queued", type=int, default=8, help="jobs waiting at most; more get HTTP 503 (default: 8)")
    p.add_argument("--keep-minutes", type=float, default=60.0, help="finished jobs' files are deleted after this "
                   "(default: 60)")
    p.add_argument("--max-upload-mb", type=float, default=64.0, help="largest upload in MB (default: 64)")
    p.add_argument("--workdir", default=None, metavar="DIR", help="where job folders go (default: system temp); "
                   "folders left there by studios that were killed are deleted at start")
    p.add_argument("--job-seconds", type=float, default=600.0,
                   help="wall-clock limit of one job in seconds; past it the job is stopped and reported as failed "
                   "(default: 600)")
    p.add_argument("--job-memory-mb", type=int, default=768,
                   help="memory in MB one job may use beyond its loaded worker; past it the job is stopped "
                   "(default: 768)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a Host name the studio answers to besides 127.0.0.1, localhost, [::1] and --host "
                   "(repeatable; e.g. this machine's name when serving on 0.0.0.0)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scorebridge.extras import require

    require("studio", "the studio (scorebridge serve)")  # also when called without the CLI's own check
    import uvicorn

    from scorebridge.studio.app import StudioConfig, create_app
    from scorebridge.studio.jobs import QueueLimits
    from scorebridge.studio.uploads import UploadLimits
    from scorebridge.studio.workers import ModelSource

    try:
        config = StudioConfig(UploadLimits(max_bytes=int(args.max_upload_mb * 1024 * 1024)),
                              QueueLimits(workers=args.workers, max_queued=args.max_queued,
                                          keep_seconds=args.keep_minutes * 60, job_seconds=args.job_seconds,
                                          job_memory_mb=args.job_memory_mb),
                              Path(args.workdir) if args.workdir else None,
                              hosts=(args.host, *args.allow_host))
    except ValueError as exc:
        raise ScorebridgeError(f"serve: {exc}") from None
    if not _is_loopback(args.host):
        print(f"warning: serving on {args.host}, reachable from other machines; the studio has no authentication")
    from scorebridge.runtime import threads_for_workers
    from scorebridge.shipped import shipped_available

    threads_for_workers(args.threads, max(1, args.workers))  # inherited by the worker processes
    model = None
    if not args.no_model and (args.weights is not None or shipped_available()):
        model = ModelSource(args.weights, args.device, args.codecs)  # each worker process loads it once
    app = create_app(config, model)
    which = f"model {args.weights}" if args.weights is not None else "the shipped model"
    print(f"scorebridge studio on http://{args.host}:{args.port}/ "
          f"({which if model is not None else 'no model: score routes only'})")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info")
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port(text: str) -> int:
    """argparse type: a TCP port (uvicorn fails with a traceback on 70000)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be in 1..65535, not {port}")
    return port
