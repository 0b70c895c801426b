"""Meter detection on ASAP performances: detected time signature against the annotated one.

The ASAP folders (pieces), sorted by name, are split in two: even positions are the *dev* split (thresholds of
``MeterOptions`` were chosen there), odd positions the *eval* split (measured once with the chosen thresholds; the
two test pieces of tests/test_midi_meter.py lie in it). Only pieces whose annotations keep one time signature
count; one performance per piece (the first listed in metadata.csv).

Run: .venv/bin/python bench/bench_meter.py --split dev|eval [--limit N] [--notation]
Prints a markdown table: pieces, exact time signature, beats per bar (2/2 counted as 2/4), duple/triple, and with
--notation the share of notes written with tuplets by ``midi_to_musicxml``. The evidence of each piece (beat
contrasts, subdivision ratio) is cached in bench/out/meter_<split>.jsonl; ``--tune`` reads the dev cache and
prints accuracy over a grid of ``MeterOptions`` margins (no beat tracking again).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASAP = Path(os.environ.get("SCOREBRIDGE_CORPORA", ROOT.parent / "shared" / "corpora")) / "asap"
sys.path.insert(0, str(ROOT / "src"))

from scorebridge.midi import read_midi  # noqa: E402
from scorebridge.midi.meter import MeterOptions, decide, estimate_meter  # noqa: E402

OUT = ROOT / "bench" / "out"


def annotated_meter(path: Path) -> set[str]:
    """Every time signature in an ASAP annotation file (beat lines carry "db,3/4,..." at changes)."""
    found = set()
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) >= 3:
            label = fields[2].split(",")
            if len(label) >= 2 and "/" in label[1]:
                found.add(label[1])
    return found


def pieces(split: str) -> list[tuple[str, Path, str]]:
    """(folder, performance MIDI, time signature) of the split's single-meter pieces."""
    rows = list(csv.DictReader(open(ASAP / "metadata.csv", encoding="utf-8")))
    first: dict[str, dict] = {}
    for row in rows:
        first.setdefault(row["folder"], row)
    folders = sorted(first)
    chosen = folders[0::2] if split == "dev" else folders[1::2]
    out = []
    for folder in chosen:
        row = first[folder]
        meters = annotated_meter(ASAP / row["performance_annotations"])
        if len(meters) == 1:
            out.append((folder, ASAP / row["midi_performance"], meters.pop()))
    return out


def beats_per_bar(signature: str) -> int:
    top, bottom = (int(x) for x in signature.split("/"))
    if bottom >= 8 and top % 3 == 0 and top > 3:
        return top // 3  # compound: 6/8 has two beats
    return top


def tuplet_share(notes) -> float:
    from music21 import converter

    from scorebridge.midi.notation import midi_to_musicxml

    score = converter.parseData(midi_to_musicxml(notes), format="musicxml")
    written = list(score.flatten().notes)
    return sum(1 for n in written if n.duration.tuplets) / max(len(written), 1)


def score(records: list[dict], options: MeterOptions) -> Counter[str]:
    counts: Counter[str] = Counter()
    for r in records:
        truth = r["signature"]
        counts["pieces"] += 1
        if r["contrasts"] is None:
            continue
        _, _, got, _ = decide({int(k): tuple(v) for k, v in r["contrasts"].items()}, r["ratio"], options,
                              {int(k): v for k, v in r["repeats"].items()})
        beats, compound = beats_per_bar(got), got.endswith("/8") and int(got.split("/")[0]) % 3 == 0
        truth_beats = beats_per_bar(truth.replace("2/2", "2/4"))
        counts["exact"] += got == truth or (truth == "2/2" and got == "2/4")
        counts["beats"] += beats == truth_beats
        counts["triple"] += (beats == 3) == (truth_beats == 3)
        counts["compound"] += compound == (truth.endswith("/8") and int(truth.split("/")[0]) % 3 == 0)
    return counts


def tune() -> None:
    records = [json.loads(line) for line in (OUT / "meter_dev.jsonl").read_text().splitlines()]
    results = []
    grid = itertools.product((-0.6, -0.4, -0.2, 0.0, 0.2), (-0.2, 0.0, 0.2, 0.4, 0.6), (0.0, 0.3, 0.6, 1.0, 2.0),
                             (0.8, 1.3, 2.0), (0.0, 2.0, 4.0, 8.0),
                             ((2, 3, 4, 6, 8, 9, 12), (2, 3, 4, 6, 8), (2, 3, 4)))
    for four, triple, eighths, ratio, weight, lengths in grid:
        options = MeterOptions(four_margin=four, triple_margin=triple, eighths_margin=eighths, compound_ratio=ratio,
                               repetition_weight=weight, bar_lengths=lengths)
        c = score(records, options)
        results.append((c["exact"], c["beats"], c["compound"], four, triple, eighths, ratio, weight, lengths))
    results.sort(reverse=True)
    print(f"{len(records)} dev pieces; best (exact, beats, compound, four_margin, triple_margin, eighths_margin, "
          "compound_ratio, repetition_weight, bar_lengths):")
    for row in results[:10]:
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=("dev", "eval"), default="dev")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--notation", action="store_true", help="also write notation and count tuplets (slow)")
    parser.add_argument("--seconds", type=float, default=60.0, help="use the first N seconds of each performance")
    parser.add_argument("--tune", action="store_true", help="grid-search the margins on the cached dev evidence")
    args = parser.parse_args()
    if args.tune:
        tune()
        return
    rows = pieces(args.split)[: args.limit]
    OUT.mkdir(parents=True, exist_ok=True)
    cache = OUT / f"meter_{args.split}.jsonl"
    done = {json.loads(line)["folder"]: json.loads(line) for line in cache.read_text().splitlines()} \
        if cache.is_file() else {}
    tuplets = []
    start = time.perf_counter()
    for folder, midi, signature in rows:
        if folder in done and not args.notation:
            continue
        notes = [n for n in read_midi(midi) if n.onset < args.seconds * 1000]
        meter = estimate_meter(notes, MeterOptions())
        record = {"folder": folder, "signature": signature, "bpm": meter.bpm if meter else None,
                  "contrasts": meter.contrasts if meter else None, "ratio": meter.triple_ratio if meter else None,
                  "repeats": meter.repeats if meter else None}
        if folder not in done:
            with open(cache, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            done[folder] = record
        got = meter.time_signature if meter else "-"
        line = f"{folder:55s} {signature:6s} {got:6s} quarter bpm {meter.quarter_bpm if meter else 0:5.0f}"
        if args.notation and meter:
            tuplets.append(tuplet_share(notes))
            line += f" tuplets {tuplets[-1]:.1%}"
        print(line, flush=True)
    records = [done[f] for f, _, _ in rows if f in done]
    counts = score(records, MeterOptions())
    n = max(counts["pieces"], 1)
    print("\n| split | pieces | exact time signature | beats per bar | duple/triple | simple/compound | options |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.split} | {counts['pieces']} | {counts['exact'] / n:.0%} | {counts['beats'] / n:.0%} | "
          f"{counts['triple'] / n:.0%} | {counts['compound'] / n:.0%} | {dataclasses.asdict(MeterOptions())} |")
    print(f"({time.perf_counter() - start:.0f} s)")
    if tuplets:
        print(f"\nmean share of notes written as tuplets: {sum(tuplets) / len(tuplets):.1%}")


if __name__ == "__main__":
    main()
