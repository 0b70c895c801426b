"""CPU speed of long-form translation: windows/systems decoded one by one vs in batches, at 1 and 2 torch threads.

    python bench/bench_cpu_speed.py [--weights MODEL] [--seconds 30] [--threads 1,2] [--batch-sizes 1,4]

Inputs shipped with the package, nothing downloaded: the demo's held-out page (``data/examples/page.png``, cut
into systems by the page reader as ``scorebridge translate page.png`` does; page OMR: systems -> LMX -> one
MusicXML) and the bundled example score (minuet in G) played by FluidSynth, repeated to ``--seconds`` (audio ->
MIDI in 10 s windows). Model: the shipped weights unless ``--weights``. Greedy decoding with the default stop
rules, as the CLI runs it. Each row: wall seconds per input after the model is loaded and warmed up, the CPU
seconds of this process (the work done, which a busy machine does not inflate as much as the wall time), and
whether the output equals the one-by-one output at the same thread count (greedy results must not depend on the
batch size). Writes bench/out/bench_cpu_speed.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.decoding.search import DecodingOptions
from scorebridge.inference.longform import LongformOptions, notation_to_audio

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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help="model folder (default: the shipped weights)")
    p.add_argument("--seconds", type=float, default=30.0, help="audio to transcribe")
    p.add_argument("--threads", default="1,2", help="torch thread counts to try")
    p.add_argument("--batch-sizes", default="1,4", help="LongformOptions.batch_size values (1 = one by one)")
    p.add_argument("--max-steps", type=int, default=DecodingOptions().max_steps)
    p.add_argument("--only", choices=("omr", "transcription"), default=None)
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    from scorebridge import load_model

    model = load_model(args.weights)
    options = DecodingOptions(max_steps=args.max_steps)
    systems = page_systems_of(PAGE)
    audio = recording(EXAMPLE, args.seconds)
    base = LongformOptions(progress=False)
    tasks = {
        "omr": (f"page OMR (page.png, {len(systems)} systems) -> MusicXML",
                lambda lf: model.translate_long(systems, to="notation", options=options, longform=lf),
                lambda r: r.lmx),
        "transcription": (f"audio -> MIDI ({args.seconds:.0f} s, FluidSynth, 10 s windows)",
                          lambda lf: model.translate_long((audio, AUDIO_SAMPLE_RATE), to="midi", options=options,
                                                          longform=lf),
                          lambda r: r.notes),
    }
    if args.only:
        tasks = {args.only: tasks[args.only]}
    # warm-up: one system and 2 s of audio, untimed (first-call allocations, lazy codec loading)
    model.translate_long(systems[:1], to="notation", options=DecodingOptions(max_steps=20), longform=base)
    model.translate_long((audio[: 2 * AUDIO_SAMPLE_RATE], AUDIO_SAMPLE_RATE), to="midi",
                         options=DecodingOptions(max_steps=20), longform=base)
    rows = []
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        for what, run, output in tasks.values():
            first: Any = None
            for size in (int(b) for b in args.batch_sizes.split(",")):
                result, wall, cpu = timed(lambda run=run, size=size: run(dataclasses.replace(base,
                                                                                            batch_size=size)))
                same = "(reference)" if first is None else ("yes" if output(result) == output(first) else "NO")
                first = result if first is None else first
                rows.append(f"| {what} | {threads} | {size} | {wall:.1f} | {cpu:.1f} | {same} |")
                print(rows[-1], flush=True)
    load = os.getloadavg()
    where = (f"CPU {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; load average "
             f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) when the bench ended")
    text = "\n".join([f"Long-form speed on {where}; model: {args.weights or 'shipped weights'}, greedy, "
                      f"max_steps {args.max_steps}", "",
                      "| input | torch threads | batch_size | wall s | CPU s | same output as batch_size 1 |",
                      "|---|---:|---:|---:|---:|---|", *rows])
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_cpu_speed.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
