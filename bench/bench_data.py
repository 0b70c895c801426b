"""Benchmark the data build: samples per second, audio hours per hour, and where the time goes.

Usage: .venv/bin/python bench/bench_data.py [--pieces 6] [--sources kern-piano,lieder,asap]

Builds the first N pieces of each source (every k-th piece, so that all folders are sampled) in one
process and splits the wall time into: Verovio (time inside the toolkit's calls), rsvg-convert and
FluidSynth (time inside their subprocesses), and everything else (our Python, music21, I/O). The issue's
target is "everything else" under 25%. Prints a markdown table; details go to bench/out/bench_data.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import music21  # noqa: F401  (imported once per worker in a build; kept out of the timings)
import verovio

from scorebridge.data.contract import BuildConfig, PieceRejected
from scorebridge.data.registry import resolve_source
from scorebridge.errors import ScorebridgeError

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
OUT = ROOT / "bench" / "out"
TOOLKIT_CALLS = ("loadData", "renderToSVG", "renderToTimemap", "renderToMIDI", "getMEI", "getPageCount",
                 "getNotatedIdForElement", "setOptions")

spent: dict[str, float] = defaultdict(float)


def _timed(name: str, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start
    return wrapper


def instrument() -> None:
    """Count time inside Verovio's toolkit calls and inside the rsvg-convert / fluidsynth subprocesses."""
    for call in TOOLKIT_CALLS:
        setattr(verovio.toolkit, call, _timed("verovio", getattr(verovio.toolkit, call)))
    run = subprocess.run

    def timed_run(cmd, *args, **kwargs):
        tool = Path(str(cmd[0])).name if isinstance(cmd, list | tuple) else "other"
        key = {"rsvg-convert": "rsvg", "fluidsynth": "fluidsynth"}.get(tool, "other subprocess")
        return _timed(key, run)(cmd, *args, **kwargs)

    subprocess.run = timed_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=6)
    parser.add_argument("--sources", default="kern-piano,lieder,asap")
    args = parser.parse_args()
    instrument()
    config = BuildConfig()
    rows, details = [], {}
    for name in args.sources.split(","):
        source, _ = resolve_source(name, CORPORA)
        specs = source.pieces()
        step = max(1, len(specs) // args.pieces)
        chosen = specs[::step][: args.pieces]
        spent.clear()
        samples = rejected = 0
        audio_s = 0.0
        started = time.perf_counter()
        for spec in chosen:
            try:
                built = source.build_piece(spec, config)
            except (PieceRejected, ScorebridgeError) as exc:
                rejected += 1
                details[f"{name}/{spec.piece}"] = f"rejected: {exc}"
                continue
            samples += len(built)
            audio_s += sum(s.duration_ms for s in built if s.audio is not None) / 1000
        wall = time.perf_counter() - started
        tools = {k: spent.get(k, 0.0) for k in ("verovio", "rsvg", "fluidsynth")}
        other = wall - sum(tools.values())
        rows.append((name, len(chosen), rejected, samples, wall, audio_s, tools, other))
        details[name] = {"wall_s": wall, **tools, "other_s": other, "samples": samples, "audio_s": audio_s}
    print("| source | pieces | rejected | samples | wall s | samples/s | audio h per hour | Verovio | rsvg | "
          "FluidSynth | everything else |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, rej, samples, wall, audio_s, tools, other in rows:
        share = {k: f"{100 * v / wall:.0f}%" for k, v in tools.items()}
        print(f"| {name} | {n} | {rej} | {samples} | {wall:.0f} | {samples / wall:.2f} | {audio_s / wall:.1f} | "
              f"{share['verovio']} | {share['rsvg']} | {share['fluidsynth']} | {100 * other / wall:.0f}% |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_data.json").write_text(json.dumps(details, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
