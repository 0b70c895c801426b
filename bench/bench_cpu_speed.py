"""CPU speed of long-form translation: windows/systems decoded one by one vs in batches, at 1 and 2 torch threads.

    python bench/bench_cpu_speed.py [--weights MODEL] [--seconds 30] [--threads 1,2] [--batch-sizes 1,4]

Inputs shipped with the package, nothing downloaded: the demo's held-out page (``data/examples/page.png``, cut
into systems by the page reader as ``scorebridge translate page.png`` does; page OMR: systems -> LMX -> one
MusicXML) and the bundled example score (minuet in G) played by FluidSynth, repeated to ``--seconds`` (audio ->
MIDI in 10 s windows). Model: the shipped weights unless ``--weights``. Greedy decoding with the default stop
rules, as the CLI runs it. Each row, the median of ``--repeats`` runs after the model is loaded and warmed up:
wall seconds per input, the CPU seconds of this process (the work done, which a busy machine inflates less than
the wall time), and whether the output equals the one-by-one output at the same thread count (greedy results
must not depend on the batch size); then, per input and batch size, the resident memory of a fresh process that
loads the model and translates that input once: before the translation, and its peak during it (sampled every
5 ms). Writes bench/out/bench_cpu_speed.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.decoding import DecodingOptions
from scorebridge.inference import LongformOptions, translate_long
from scorebridge.inference.stitch import notation_to_audio

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
EXAMPLES = ROOT / "src" / "scorebridge" / "data" / "examples"
EXAMPLE = EXAMPLES / "minuet-in-g.musicxml"
PAGE = EXAMPLES / "page.png"


def page_systems_of(png: Path) -> list[np.ndarray]:
    """The system images of a page, as `scorebridge translate page.png` reads them."""
    from scorebridge.pages import load_pages, page_systems

    return [s.image for page in load_pages(png) for s in page_systems(page)]


def recording(score: Path, seconds: float) -> np.ndarray:
    """FluidSynth's rendering of the score, repeated and cut to ``seconds``."""
    audio, _ = notation_to_audio(score.read_text(encoding="utf-8"), sample_rate=AUDIO_SAMPLE_RATE)
    want = int(seconds * AUDIO_SAMPLE_RATE)
    return np.tile(audio, -(-want // len(audio)))[:want].astype(np.float32)


def timed(fn: Any) -> tuple[Any, float, float]:
    """fn(), its wall seconds and this process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def make_tasks(model: Any, seconds: float, max_steps: int) -> dict[str, tuple[str, Any, Any]]:
    """name -> (what, run(longform) -> result, output(result) to compare)."""
    options = DecodingOptions(max_steps=max_steps)
    systems = page_systems_of(PAGE)
    audio = recording(EXAMPLE, seconds)
    return {
        "omr": (f"page OMR (page.png, {len(systems)} systems) -> MusicXML",
                lambda lf: translate_long(model, systems, to="notation", options=options, longform=lf),
                lambda r: r.lmx),
        "transcription": (f"audio -> MIDI ({seconds:.0f} s, FluidSynth, 10 s windows)",
                          lambda lf: translate_long(model, (audio, AUDIO_SAMPLE_RATE), to="midi", options=options,
                                                          longform=lf),
                          lambda r: r.notes),
    }


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_mib(args: argparse.Namespace, task: str, size: int) -> tuple[float, float]:
    """RSS (MiB) of a fresh process before running ``task`` once at ``batch_size`` ``size`` (one thread), and
    its peak during the run."""
    cmd = [sys.executable, __file__, "--child", f"{task}:{size}", "--seconds", str(args.seconds), "--max-steps",
           str(args.max_steps)] + (["--weights", args.weights] if args.weights else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    before, peak = done.stdout.split()[-2:]
    return float(before), float(peak)


def child(args: argparse.Namespace) -> None:
    from scorebridge import load_model

    task, size = args.child.split(":")
    torch.set_num_threads(1)
    run = make_tasks(load_model(args.weights), args.seconds, args.max_steps)[task][1]
    before = peak = rss_mib()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.005):
            peak = max(peak, rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    run(LongformOptions(progress=False, batch_size=int(size)))
    stop.set()
    sampler.join()
    print(before, max(peak, rss_mib()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help="model folder (default: the shipped weights)")
    p.add_argument("--seconds", type=float, default=30.0, help="audio to transcribe")
    p.add_argument("--threads", default="1,2", help="torch thread counts to try")
    p.add_argument("--batch-sizes", default="1,2,4", help="LongformOptions.batch_size values (1 = one by one)")
    p.add_argument("--repeats", type=int, default=3, help="runs per row (the median is reported)")
    p.add_argument("--max-steps", type=int, default=DecodingOptions().max_steps)
    p.add_argument("--only", choices=("omr", "transcription"), default=None)
    p.add_argument("--no-memory", action="store_true", help="skip the fresh-process memory rows")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)  # TASK:BATCH_SIZE, for the memory rows
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.child:
        return child(args)
    from scorebridge import load_model

    model = load_model(args.weights)
    tasks = make_tasks(model, args.seconds, args.max_steps)
    if args.only:
        tasks = {args.only: tasks[args.only]}
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    base = LongformOptions(progress=False)
    # warm-up, untimed (first-call allocations, lazy codec loading): short inputs, at the first thread count
    torch.set_num_threads(int(args.threads.split(",")[0]))
    make_tasks(model, 2.0, 20)["transcription"][1](base)
    translate_long(model, page_systems_of(PAGE)[:1], to="notation", options=DecodingOptions(max_steps=20),
                         longform=base)
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for what, run, output in tasks.values():
            first: Any = None
            for size in sizes:
                longform = dataclasses.replace(base, batch_size=size)
                runs = [timed(lambda run=run, longform=longform: run(longform)) for _ in range(args.repeats)]
                result = runs[0][0]
                same = all(output(r[0]) == output(result) for r in runs)  # every repeat alike
                if first is not None:
                    same = same and output(result) == output(first)
                verdict = ("(reference)" if first is None else "yes") if same else "NO"
                first = result if first is None else first
                wall, cpu = (statistics.median(r[i] for r in runs) for i in (1, 2))
                rows.append(f"| {what} | {threads} | {size} | {wall:.2f} | {cpu:.2f} | {verdict} |")
                print(rows[-1], flush=True)
    memory = []
    if not args.no_memory:
        for name, (what, _run, _output) in tasks.items():
            for size in sizes:
                before, peak = memory_mib(args, name, size)
                memory.append(f"| {what} | {size} | {before:.0f} | {peak:.0f} | {peak - before:.0f} |")
                print(memory[-1], flush=True)
    load = os.getloadavg()
    where = (f"CPU {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; load average "
             f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) when the bench ended")
    text = "\n".join([f"Long-form speed on {where}; model: {args.weights or 'shipped weights'}, greedy, "
                      f"max_steps {args.max_steps}; {args.repeats} runs per row, medians", "",
                      "| input | torch threads | batch_size | wall s | CPU s | same output as batch_size 1 |",
                      "|---|---:|---:|---:|---:|---|", *rows, "",
                      *(["Resident memory of a fresh process (model loaded, inputs made), one thread:", "",
                         "| input | batch_size | RSS before MiB | peak during MiB | growth MiB |",
                         "|---|---:|---:|---:|---:|", *memory] if memory else [])])
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_cpu_speed.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
