"""ASAP alignment over every performance: measure spans in performance time and the notes assigned to them.

No engraving or synthesis: the score is cut into blocks of ``--measures`` consecutive measures (a stand-in
for systems, which hold 3-6 measures), each block's every play is mapped to performance time
(``scorebridge.data.performance``), and the performance notes struck in it are compared with the score-MIDI
notes struck in the same measures: count ratio, pitch-multiset F1, the share that passes the check (count
within ±5% and F1 >= 0.9). Rejected performances are listed with their reasons. Writes
bench/out/asap_alignment.md.

    .venv/bin/python bench/bench_data_asap.py [--workers 2] [--limit N] [--measures 4] [--lead MS]

``--lead`` moves performance measure boundaries earlier (``align_measures(lead_ms=...)``), to try the rule.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from scorebridge.data.contract import PieceRejected, PieceSpec
from scorebridge.data.cutting import cut_notes
from scorebridge.data.performance import (
    BOUNDARY_LEAD_MS,
    align_measures,
    check_notes,
    measure_spans,
)
from scorebridge.data.sources.asap import AsapScore, AsapSource, load_score
from scorebridge.errors import ScorebridgeError
from scorebridge.midi import read_midi

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"
OUT = REPO / "bench" / "out"
LEAD = [BOUNDARY_LEAD_MS]  # --lead, set before the pool forks
QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)


@dataclass
class Result:
    piece: str
    ratios: list[float] = field(default_factory=list)
    f1s: list[float] = field(default_factory=list)
    passed: int = 0
    unplayed_blocks: int = 0
    unfolded: bool = False
    rejected: str | None = None
    seconds: float = 0.0


def run(job: tuple[list[PieceSpec], int]) -> list[Result]:
    """All performances of one score (the score is read once)."""
    specs, block = job
    try:
        score = load_score(specs[0])
    except ScorebridgeError as exc:
        return [Result(s.piece, rejected=str(exc)) for s in specs]
    return [run_performance(spec, score, block) for spec in specs]


def run_performance(spec: PieceSpec, score: AsapScore, block: int) -> Result:
    res = Result(spec.piece)
    started = time.perf_counter()
    try:
        alignment = align_measures(score.part, score.clock, score.beats, _beats(spec), LEAD[0])
        performance = read_midi(spec.extra["performance"])
        res.unfolded = alignment.unfolded
        for start in range(0, score.measures, block):
            spans = measure_spans(alignment, start, min(start + block, score.measures))
            res.unplayed_blocks += not spans
            for span in spans:
                perf = cut_notes(performance, span.start_ms, span.end_ms, tied=False).notes
                ref = cut_notes(score.notes, span.score_start_ms, span.score_end_ms, tied=False).notes
                if not ref and not perf:
                    continue  # silent measures say nothing about the alignment
                check = check_notes(perf, ref)
                res.ratios.append(min(check.count_ratio, 10.0))
                res.f1s.append(check.pitch_f1)
                res.passed += check.ok
    except (PieceRejected, ScorebridgeError) as exc:
        res.rejected = str(exc)
    res.seconds = time.perf_counter() - started
    return res


def _beats(spec: PieceSpec):  # noqa: ANN202 - bench helper
    from scorebridge.data.performance import read_annotations

    return read_annotations(spec.extra["performance_annotations"])


def quantile_rows(name: str, values: list[float]) -> str:
    qs = np.quantile(values, QUANTILES) if values else [float("nan")] * len(QUANTILES)
    return f"| {name} | " + " | ".join(f"{q:.3f}" for q in qs) + " |"


def report(results: list[Result], block: int, seconds: float, workers: int) -> str:
    ok = [r for r in results if r.rejected is None]
    ratios = [x for r in ok for x in r.ratios]
    f1s = [x for r in ok for x in r.f1s]
    spans = len(ratios)
    within = sum(abs(x - 1) <= 0.05 for x in ratios)
    passed = sum(r.passed for r in ok)
    lines = [
        "# ASAP alignment: performance notes per measure block vs score notes",
        "",
        f"{len(results)} performances, {len(ok)} aligned ({sum(r.unfolded for r in ok)} with repeats unfolded), "
        f"{len(results) - len(ok)} rejected; blocks of {block} measures; {spans} block plays compared; "
        f"{sum(r.unplayed_blocks for r in ok)} blocks never played as a run (a repeat inside).",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {workers} workers; {seconds:.1f} s wall.",
        "",
        f"- count within ±5%: {within / max(spans, 1):.1%}",
        f"- pitch F1 >= 0.9: {sum(x >= 0.9 for x in f1s) / max(spans, 1):.1%}",
        f"- pass the check (both): {passed / max(spans, 1):.1%}",
        f"- performances where every block passes: {sum(r.passed == len(r.ratios) for r in ok)} of {len(ok)}",
        "",
        "| quantile | " + " | ".join(f"{q:g}" for q in QUANTILES) + " |",
        "|---" * (len(QUANTILES) + 1) + "|",
        quantile_rows("count ratio (perf / score)", ratios),
        quantile_rows("pitch F1", f1s),
        "",
        "## Rejected performances",
        "",
    ]
    reasons = Counter(_reason_kind(r.rejected or "") for r in results if r.rejected)
    lines += [f"- {n} × {kind}" for kind, n in reasons.most_common()]
    lines += [""] + [f"- `{r.piece}`: {r.rejected}" for r in results if r.rejected]
    worst = sorted(ok, key=lambda r: r.passed / max(len(r.ratios), 1))[:15]
    lines += ["", "## Aligned performances with the lowest pass rate", "",
              "| performance | blocks | pass | median F1 |", "|---|---|---|---|"]
    lines += [f"| `{r.piece}` | {len(r.ratios)} | {r.passed / max(len(r.ratios), 1):.1%} | "
              f"{np.median(r.f1s) if r.f1s else float('nan'):.3f} |" for r in worst]
    return "\n".join(lines) + "\n"


def _reason_kind(reason: str) -> str:
    text = reason.split(": ", 1)[-1] if reason.startswith("/") or reason.startswith(".") else reason
    return text.split("(")[0].split(" at ")[0].strip()[:80]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--measures", type=int, default=4, help="measures per block (a system stand-in)")
    parser.add_argument("--lead", type=int, default=BOUNDARY_LEAD_MS, help="boundary lead in ms (see align_measures)")
    args = parser.parse_args()
    LEAD[0] = args.lead
    logging.basicConfig(level=logging.WARNING)
    if not (CORPORA / "asap").is_dir():
        print(f"ASAP not found at {CORPORA / 'asap'}; nothing to do")
        return
    specs = AsapSource(CORPORA).pieces()[: args.limit]
    started = time.perf_counter()
    by_score: dict[str, list[PieceSpec]] = {}
    for spec in specs:
        by_score.setdefault(spec.path, []).append(spec)
    jobs = sorted(by_score.values(), key=len, reverse=True)  # big groups first: better load balance
    with Pool(args.workers) as pool:
        results = [r for group in pool.imap_unordered(run, [(g, args.measures) for g in jobs]) for r in group]
    results.sort(key=lambda r: r.piece)
    text = report(results, args.measures, time.perf_counter() - started, args.workers)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "asap_alignment.md").write_text(text, encoding="utf-8")
    print(text.split("## Rejected")[0])


if __name__ == "__main__":
    main()
