"""Decoding with and without the stop rules (``scorebridge.decoding.stopping``), on held-out data.

    .venv/bin/python bench/bench_decoding_stops.py --lieder DIR [--asap DIR] [--systems 5] [--windows 3]
        [--weights MODEL] [--eos-bias 0,4] [--no-before]

- OMR: ``evaluate("omr", ...)`` (what ``scorebridge eval omr --limit N`` runs) over ``--systems`` test systems,
  once with the stop rules off (``loop_repeats=0``, no source bound: the decoding before them) and once per
  ``--eos-bias`` value with the defaults otherwise: SER, time per system, why each decoding ended.
- Transcription: the first ``--windows`` test windows of the first ASAP piece, one by one (a whole piece takes
  many minutes when every window runs to the step limit): onset F1 per window (mir_eval, 50 ms) against the
  window's notes, notes predicted, time per window, end reasons.

Prints markdown tables (greedy decoding; the machine's numbers, one thread).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from scorebridge.api import load_model
from scorebridge.decoding import DecodingOptions, end_counts
from scorebridge.eval.codec_metrics import onset_f1
from scorebridge.eval.runs import describe_ends, truth_window
from scorebridge.eval.tasks import evaluate, select_rows, stream_samples
from scorebridge.modality import Modality


def settings(biases: list[float], before: bool = True) -> list[tuple[str, DecodingOptions]]:
    off = DecodingOptions(loop_repeats=0, source_bound=False)
    return [("no stop rules (before)", off)] * before + [
        (f"defaults, eos_bias {b:g}" if b else "defaults (after)", DecodingOptions(eos_bias=b)) for b in biases]


def ends_cell(counts: dict[str, int]) -> str:
    return describe_ends(counts).split(": ", 1)[1]


def omr_rows(model, lieder: str, n: int, biases: list[float], before: bool) -> None:
    print(f"\n### OMR, {n} Lieder test systems (greedy)\n")
    print("| decoding | SER % | predicted tokens / truth tokens | s per system | why decoding ended |")
    print("|---|---:|---:|---:|---|")
    for name, options in settings(biases, before):
        report = evaluate("omr", [lieder], model, limit=n, options=options, progress=False)
        s = report.scores
        predicted = sum(r.predicted_tokens for r in s.samples)
        print(f"| {name} | {100 * s.ser:.1f} | {predicted} / {s.truth_tokens} | "
              f"{report.seconds / max(report.samples, 1):.1f} | {ends_cell(s.ends)} |")


def transcription_rows(model, asap: str, n: int, biases: list[float], before: bool) -> None:
    rows = select_rows("transcription", [asap], "test", 1).rows
    windows = sorted(stream_samples(rows, []), key=lambda w: w.start_ms or 0)[:n]
    print(f"\n### Transcription, the first {len(windows)} test windows of {windows[0].piece} (greedy)\n")
    print("| decoding | onset F1 % (mean) | notes predicted / truth | s per window | why decoding ended |")
    print("|---|---:|---:|---:|---|")
    for name, options in settings(biases, before):
        f1, notes, ends, started = [], 0, [], time.perf_counter()
        for w in windows:
            result = model.translate((w.audio, w.sample_rate), to=Modality.MIDI, source_modality=Modality.AUDIO,
                                     options=options)
            truth = list(truth_window(w).notes)
            f1.append(onset_f1(truth, list(result.notes)).f1)
            notes += len(result.notes)
            ends.append(result.end)
        seconds = (time.perf_counter() - started) / len(windows)
        truth_notes = sum(len(w.notes or ()) for w in windows)
        print(f"| {name} | {100 * sum(f1) / len(f1):.2f} | {notes} / {truth_notes} | {seconds:.1f} | "
              f"{ends_cell(end_counts(ends))} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lieder", required=True, help="a built Lieder dataset (test split)")
    ap.add_argument("--asap", default=None, help="a built ASAP dataset (test windows)")
    ap.add_argument("--weights", default=None, help="model folder (default: the shipped weights)")
    ap.add_argument("--systems", type=int, default=5)
    ap.add_argument("--windows", type=int, default=3)
    ap.add_argument("--eos-bias", default="0", help="comma-separated eos_bias values run with the defaults")
    ap.add_argument("--no-before", action="store_true", help="skip the row without stop rules (the slow one)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    biases = [float(b) for b in args.eos_bias.split(",")]
    model = load_model(args.weights)
    omr_rows(model, args.lieder, args.systems, biases, not args.no_before)
    if args.asap:
        transcription_rows(model, args.asap, args.windows, biases, not args.no_before)
    print(f"\ndefaults: {dataclasses.asdict(DecodingOptions())}")


if __name__ == "__main__":
    main()
