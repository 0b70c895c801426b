"""Benchmark the data engines: the same `data build` on the local process pool and on Ray (a local instance).

Usage: nice -n 19 .venv/bin/python bench/bench_engines.py [--pieces 8] [--workers 2] [--tasks 200]

Builds the N shortest Chopin preludes of the kern corpus (a folder source, so Ray workers need nothing but
scorebridge) once with ``--runner local`` and once with ``--runner ray`` (``--workers`` CPUs each), checks that
both give the same manifest, and prints pieces/s, Ray's start-up time and its overhead against the pool. A second
row pair times ``--tasks`` empty tasks on both engines: the per-task cost of the engine itself. The machine's load
average is printed too: on a shared machine the figures move with it. Details go to bench/out/bench_engines.json.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from scorebridge.data.build import build
from scorebridge.data.contract import BuildConfig
from scorebridge.data.sources.folder import FolderSource
from scorebridge.engines import Engine
from scorebridge.engines.ray_engine import imap_tasks, ray_session

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("SCOREBRIDGE_CORPORA") or ROOT.parent / "shared" / "corpora")
OUT = ROOT / "bench" / "out"


def _noop(x: int) -> int:
    return x


def shortest_preludes(n: int, into: Path) -> list[str]:
    """Copy the ``n`` Chopin preludes with the fewest barlines into ``into``; their names."""
    files = sorted((CORPORA / "kern" / "chopin-preludes").glob("*.krn"),
                   key=lambda p: (sum(line.startswith("=") for line in p.read_text().splitlines()), p.name))[:n]
    into.mkdir(parents=True)
    for f in files:
        shutil.copy(f, into / f.name)
    return [f.stem for f in files]


def empty_tasks(engine: Engine, tasks: int, workers: int) -> float:
    """Seconds for ``tasks`` empty tasks (the engine already started)."""
    started = time.perf_counter()
    if engine.is_ray:
        done = sum(1 for _ in imap_tasks(_noop, (), range(tasks), engine=engine))
    else:
        with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            done = sum(1 for _ in cf.as_completed([pool.submit(_noop, i) for i in range(tasks)]))
    assert done == tasks
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pieces", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=200)
    args = ap.parse_args()
    if not (CORPORA / "kern").is_dir():
        raise SystemExit(f"bench_engines: kern corpus not found under {CORPORA} (set SCOREBRIDGE_CORPORA)")
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as work:
        work = Path(work)
        names = shortest_preludes(args.pieces, work / "scores")
        source = FolderSource(work / "scores")
        config = BuildConfig()

        started = time.perf_counter()
        local = build(source, work / "local", config, workers=args.workers)
        local_s = time.perf_counter() - started
        local_tasks_s = empty_tasks(Engine(), args.tasks, args.workers)
        rows.append({"engine": "local pool", "startup_s": 0.0, "build_s": local_s, "pieces": local.pieces,
                     "samples": local.samples, "tasks_s": local_tasks_s})

        ray_engine = Engine("ray", num_cpus=args.workers)
        started = time.perf_counter()
        with ray_session(ray_engine):
            startup_s = time.perf_counter() - started
            started = time.perf_counter()
            on_ray = build(source, work / "ray", config, engine=ray_engine)
            ray_s = time.perf_counter() - started
            ray_tasks_s = empty_tasks(ray_engine, args.tasks, args.workers)
        rows.append({"engine": "ray (local instance)", "startup_s": startup_s, "build_s": ray_s,
                     "pieces": on_ray.pieces, "samples": on_ray.samples, "tasks_s": ray_tasks_s})
        same = (work / "local" / "manifest.jsonl").read_text() == (work / "ray" / "manifest.jsonl").read_text()
    load_after = os.getloadavg()

    print(f"`data build` of {args.pieces} kern pieces ({', '.join(names)}), {args.workers} workers each; "
          f"{args.tasks} empty tasks; same manifest on both engines: {same}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after\n")
    print("| engine | start-up s | build s | pieces/s | samples/s | build overhead vs pool | empty task ms |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        overhead = (r["build_s"] - local_s) / local_s * 100
        per_task_ms = r["tasks_s"] / args.tasks * 1000
        print(f"| {r['engine']} | {r['startup_s']:.1f} | {r['build_s']:.1f} | {r['pieces'] / r['build_s']:.2f} | "
              f"{r['samples'] / r['build_s']:.2f} | {overhead:+.0f}% | {per_task_ms:.1f} |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_engines.json").write_text(json.dumps(
        {"pieces": names, "workers": args.workers, "tasks": args.tasks, "same_manifest": same, "rows": rows,
         "loadavg_before": load_before, "loadavg_after": load_after, "cpus": os.cpu_count()}, indent=1) + "\n")
    if not same:
        raise SystemExit("bench_engines: the engines built different manifests")


if __name__ == "__main__":
    main()
