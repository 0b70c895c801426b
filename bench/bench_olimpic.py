"""OLiMPiC-synthetic reproduced: our SER on the OLiMPiC test split of OpenScore Lieder (piano part) engraved by
MuseScore 3 and by Verovio, read page -> systems by ``scorebridge.pages``, beside the published numbers.

    .venv/bin/python bench/bench_olimpic.py [--weights RUN/step-N] [--limit 10] [--dpi 200] [--device cpu]

Each score's piano part alone is engraved (MuseScore: PNG pages at --dpi, as OLiMPiC did with 3.6.2; Debian has
3.2.3), the pages are cut into systems by our weight-free page reader, and each detected system gets the LMX of its
measures from the engraver's measure positions (``olimpic_systems.py`` beside this file: MuseScore's .mpos,
Verovio's layout). The table
says how many systems were detected, labelled and scored, and how many measures no detected system took. Without
``--weights`` only the alignment rows run. Writes bench/out/bench_olimpic.md and bench_olimpic.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olimpic_systems import EngravedSystems, TruthSystem, musescore_systems, score_systems, verovio_systems
from scorebridge.errors import ScorebridgeError
from scorebridge.notation import load_musicxml, select_part

ROOT = Path(__file__).resolve().parents[1]
LIEDER = ROOT.parent / "shared" / "corpora" / "openscore-lieder"
OUT = ROOT / "bench" / "out"
ENGRAVERS = ("MuseScore", "Verovio")

# u-must.md §7 (published, quoted; OLiMPiC-synthetic, MuseScore 3.6.2 engravings, systems cut by the engraver)
REFERENCE = [("U-MusT full model (reference, published)", 9.72),
             ("U-MusT OMR-only (reference, published)", 15.90),
             ("Zeus (as quoted by the reference)", 10.10)]


@dataclass
class Tally:
    scores: int = 0
    failed_scores: list[str] = field(default_factory=list)
    pages: int = 0
    measures: int = 0
    detected: int = 0
    labelled: int = 0
    unassigned_measures: int = 0
    seconds: float = 0.0
    systems: list[TruthSystem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, score_id: str, read: EngravedSystems, seconds: float) -> None:
        self.scores += 1
        self.pages += read.pages
        self.measures += read.measures
        self.detected += read.detected
        self.labelled += len(read.systems)
        self.unassigned_measures += read.unassigned_measures
        self.seconds += seconds
        self.systems.extend(read.systems)
        self.problems.extend(f"{score_id}: {p}" for p in read.problems)


def test_split_ids(limit: int | None) -> list[str]:
    text = (LIEDER / "olimpic-splits" / "test_scores.yaml").read_text(encoding="utf-8")
    ids = re.findall(r"^(\d+):", text, flags=re.M)
    return ids[:limit] if limit else ids


def read_scores(ids: list[str], dpi: int) -> dict[str, Tally]:
    tallies = {name: Tally() for name in ENGRAVERS}
    for n, score_id in enumerate(ids, 1):
        path = LIEDER / "scores" / f"{score_id}.mxl"
        try:
            part = select_part(load_musicxml(path), None, path)
        except ScorebridgeError as exc:
            for t in tallies.values():
                t.failed_scores.append(f"{score_id}: {exc}")
            continue
        for name in ENGRAVERS:
            t0 = time.perf_counter()
            try:
                with tempfile.TemporaryDirectory(prefix="bench-olimpic-") as tmp:
                    read = (musescore_systems(part, tmp, dpi, path) if name == "MuseScore"
                            else verovio_systems(part, tmp, path=path))
            except ScorebridgeError as exc:
                tallies[name].failed_scores.append(f"{score_id}: {exc}")
                continue
            tallies[name].add(score_id, read, time.perf_counter() - t0)
        print(f"[{n}/{len(ids)}] {score_id}: " + ", ".join(f"{k} {len(t.systems)} systems" for k, t in tallies.items()),
              flush=True)
    return tallies


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None)
    p.add_argument("--limit", type=int, default=10, help="scores of the test split (0: all 100)")
    p.add_argument("--dpi", type=int, default=200, help="MuseScore PNG resolution")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=str(OUT / "bench_olimpic.md"), help="the table; details beside it as .json")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ids = test_split_ids(args.limit or None)
    tallies = read_scores(ids, args.dpi)
    results: dict[str, Any] = {}
    if args.weights:
        from scorebridge import load_model

        model = load_model(args.weights, args.device)
        for name, t in tallies.items():
            t0 = time.perf_counter()
            out = score_systems(model, t.systems)
            results[name] = (out, time.perf_counter() - t0)
    text = table(args, tallies, results)
    print(text)
    out_md = Path(args.out)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text(text + "\n", encoding="utf-8")
    details = {name: {"failed_scores": t.failed_scores, "problems": t.problems,
                      "ser": results[name][0].scores.headline() if name in results else None,
                      "skipped": [vars(s) for s in results[name][0].skipped] if name in results else []}
               for name, t in tallies.items()}
    out_md.with_suffix(".json").write_text(json.dumps(details, indent=1, default=str) + "\n", encoding="utf-8")


def table(args: argparse.Namespace, tallies: dict[str, Tally], results: dict[str, Any]) -> str:
    lines = [f"OLiMPiC-synthetic reproduction: {len(test_split_ids(args.limit or None))} test scores (piano part), "
             f"{platform.machine()}, {os.environ.get('OMP_NUM_THREADS', 'all')} thread(s); SER % on LMX, greedy",
             "", "| system | engraving | SER % | SER % no tuplets | systems scored | notes |",
             "|---|---|---:|---:|---:|---|"]
    for name in tallies:
        if name in results:
            out, seconds = results[name]
            s = out.scores
            ser = "n/a" if s.ser is None else f"{100 * s.ser:.2f}"
            nt = "n/a" if s.ser_no_tuplets is None else f"{100 * s.ser_no_tuplets:.2f}"
            lines.append(f"| ours ({args.weights}) | {name} pages, our page reader | {ser} | {nt} | {out.evaluated} |"
                         f" {len(out.skipped)} skipped by the model, {s.empty_predictions} empty, {seconds:.0f} s |")
    ref_engraving = "MuseScore 3.6.2, engraver's crops"
    lines += [f"| {name} | {ref_engraving} | {ser:.2f} | — | — | published, quoted |" for name, ser in REFERENCE]
    lines += ["", "Systems: detected on the pages by scorebridge.pages and labelled with measure ranges from the "
                  "engraver's measure positions", "",
              "| engraving | scores | failed scores | pages | measures | systems detected | labelled | "
              "measures on no system | engrave + read s/score |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, t in tallies.items():
        lines.append(f"| {name} | {t.scores} | {len(t.failed_scores)} | {t.pages} | {t.measures} | {t.detected} | "
                     f"{t.labelled} | {t.unassigned_measures} | {t.seconds / max(t.scores, 1):.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
