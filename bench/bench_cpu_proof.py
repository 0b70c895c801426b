"""The CPU proof (README, "A CPU proof"): learning curves and held-out OMR of training runs side by side.

For each run folder: its validation rows (teacher-forced token accuracy and greedy SER on fixed valid systems, as
the trainer recorded them) against steps and examples seen; then its last checkpoint on the held-out test split
of a built dataset, decoded greedily with the default stop rules: SER, how each output ended, seconds per system.

    python bench/bench_cpu_proof.py --data data/lieder-voice --codecs CODECS \\
        --run pixels=runs/proof-pixels --run codes=runs/proof-codes [--limit 100] [--step N]

``--codecs``: a folder with the image codec, for runs that read images as codes. ``--step``: evaluate the
checkpoint of this step in every run (default: each run's latest), so runs of unequal length compare at the
same training budget. ``--task transcription``: runs that learn audio -> MIDI on the same system samples
(configs/cpu-proof-transcribe.toml); the curve shows the valid onset F1 and the held-out figure is the onset F1
(mir_eval, 50 ms) of greedy decodings of ``--limit`` test systems spread evenly over the split, as the
trainer's validation computes it.

    python bench/bench_cpu_proof.py --task transcription --data data/voice-short --run mel=runs/proof-transcribe
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from scorebridge import load_model
from scorebridge.checkpoint import config_from_dict
from scorebridge.eval.tasks import evaluate
from scorebridge.train.recipe import TrainConfig
from scorebridge.train.run_folder import latest_checkpoint, read_metrics
from scorebridge.train.validate import validate

DIRECTIONS = {"omr": "image->notation", "transcription": "audio->midi"}


def curve(run: Path, direction: str) -> list[tuple[int, int, float | None, float, float | None, float | None]]:
    """(step, examples seen, mean train loss of the rows since the last validation, valid accuracy, valid SER
    (or onset F1 for MIDI targets), seconds) per validation row, for ``direction`` ("image->notation") where the
    run validated several (a run of one direction: its only one). Examples and loss are of all directions."""
    rows, losses, out = read_metrics(run), [], []
    batch = json.loads((run / "recipe.json").read_text())["batch_size"]
    seconds = None
    for r in rows:
        if "loss" in r:
            losses.append(r["loss"])
            seconds = r.get("seconds")
        if "validation" in r:
            named = [v for k, v in r["validation"].items() if k.endswith(f":{direction}")]
            v = named[0] if named else next(iter(r["validation"].values()))
            mean = sum(losses) / len(losses) if losses else None
            out.append((r["step"], r["step"] * batch, mean, v["accuracy"], v.get("ser", v.get("onset_f1")), seconds))
            losses = []
    return out


def checkpoint(run: Path, step: int | None) -> Path:
    if step is None:
        found = latest_checkpoint(run)
        if found is None:
            raise SystemExit(f"{run}: no checkpoint")
        return found
    folder = run / f"step-{step:08d}"
    if not folder.is_dir():
        raise SystemExit(f"{run}: no checkpoint at step {step}")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", action="append", required=True, help="NAME=RUN_FOLDER (repeatable)")
    ap.add_argument("--data", required=True, help="built dataset with a test split")
    ap.add_argument("--codecs", default=None, help="codec folder for runs that read images as codes")
    ap.add_argument("--limit", type=int, default=100, help="test systems (first N of the split)")
    ap.add_argument("--step", type=int, default=None, help="checkpoint step to evaluate (default: latest)")
    ap.add_argument("--task", choices=("omr", "transcription"), default="omr")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = [(name, Path(folder)) for name, folder in (r.split("=", 1) for r in args.run)]

    metric = "SER %" if args.task == "omr" else "onset F1 %"
    print(f"\nLearning curves (valid split, fixed systems; {metric} of greedy decoding as the trainer ran it)\n")
    print(f"| run | step | examples | train loss | valid token accuracy | valid {metric} | train s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, run in runs:
        for step, examples, loss, acc, ser, seconds in curve(run, DIRECTIONS[args.task]):
            loss_s = f"{loss:.3f}" if loss is not None else "-"
            ser_s = f"{100 * ser:.1f}" if ser is not None else "-"
            sec_s = f"{seconds:.0f}" if seconds is not None else "-"
            print(f"| {name} | {step} | {examples:,} | {loss_s} | {acc:.3f} | {ser_s} | {sec_s} |")

    if args.task == "transcription":
        held_out_transcription(runs, args)
        return

    print(f"\nHeld-out test split of {args.data} (first {args.limit} systems, greedy, default stop rules)\n")
    print("| run | checkpoint | SER % | ended with EOS | cut as loop | at length bound | at step limit | s / system |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, run in runs:
        folder = checkpoint(run, args.step)
        model = load_model(folder, codecs=args.codecs)
        t0 = time.perf_counter()
        report = evaluate("omr", [args.data], model, split="test", limit=args.limit, progress=False)
        per = (time.perf_counter() - t0) / max(report.samples, 1)
        s = report.scores
        ends = dict(s.ends)
        n = sum(ends.values()) or 1
        cells = [f"{ends.get(k, 0)}/{n}" for k in ("eos", "loop", "source_length", "max_steps")]
        ser = f"{100 * s.ser:.1f}" if s.ser is not None else "n/a"
        print(f"| {name} | {folder.name} | {ser} | {' | '.join(cells)} | {per:.2f} |")


def held_out_transcription(runs: list[tuple[str, Path]], args: argparse.Namespace) -> None:
    print(f"\nHeld-out test split of {args.data} ({args.limit} systems spread evenly over it, greedy, default stop "
          "rules)\n")
    print("| run | checkpoint | onset F1 % | token accuracy | ended with EOS | cut as loop | at length bound "
          "| at step limit | s / system |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, run in runs:
        folder = checkpoint(run, args.step)
        model = load_model(folder, codecs=args.codecs)
        config = config_from_dict(TrainConfig, json.loads((run / "recipe.json").read_text()), run / "recipe.json")
        tasks = tuple(t for t in config.tasks if (t.source, t.target) == ("audio", "midi"))  # a joint run: this one
        config = dataclasses.replace(config, data=(args.data,), tasks=tasks, valid_examples=args.limit,
                                     valid_decode=args.limit)
        t0 = time.perf_counter()
        result = next(iter(validate(model.translator, config, model.vocab, torch.device("cpu"), split="test").values()))
        n = int(result["examples"])
        per = (time.perf_counter() - t0) / max(n, 1)
        cells = [f"{int(result.get(f'end_{k}', 0))}/{n}" for k in ("eos", "loop", "source_length", "max_steps")]
        print(f"| {name} | {folder.name} | {100 * result['onset_f1']:.1f} | {result['accuracy']:.3f} | "
              f"{' | '.join(cells)} | {per:.2f} |")


if __name__ == "__main__":
    main()
