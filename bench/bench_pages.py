"""Benchmark page -> systems detection on engraved OpenScore Lieder pages made scan-like.

Usage: .venv/bin/python bench/bench_pages.py [--pages 30] [--seed 0]
Takes the first page of the first N scores of the OLiMPiC test split (read from <repo>/../shared/corpora),
engraved with a randomly drawn look (EngraveOptions.sample: page size, music size, font) and rasterized at a
zoom drawn in [1.0, 2.5] (staff heights ~25-75 px, about 100-300 dpi). Each page is scored clean and with
a dark scan border, a title/text block, Gaussian noise (sigma 25), a 1-2 degree rotation, and all together.
Prints a markdown table: system recall/precision at IoU 0.7 on the staff region, staff-height error,
pages per second of detect_layout (and of page_systems, which adds cropping and normalization, on clean pages).
Per-page details go to bench/out/bench_pages.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scorebridge.errors import ScorebridgeError
from scorebridge.pages import detect_layout, page_systems
from scorebridge.pages import synthetic as sy
from scorebridge.render import EngraveOptions, engrave

ROOT = Path(__file__).resolve().parents[1]
LIEDER = ROOT.parent / "shared" / "corpora" / "openscore-lieder"
OUT = ROOT / "bench" / "out"
VARIANTS = ("clean", "border", "title", "noise", "rotated", "all")


@dataclass
class Row:
    pages: int = 0
    truth: int = 0
    detected: int = 0
    matched: int = 0
    height_errors: list[float] = field(default_factory=list)
    seconds: float = 0.0
    failed_pages: list[str] = field(default_factory=list)


def test_split_ids(n: int) -> list[str]:
    text = (LIEDER / "olimpic-splits" / "test_scores.yaml").read_text(encoding="utf-8")
    return re.findall(r"^(\d+):", text, flags=re.M)[:n]


def variant(page: sy.SyntheticPage, kind: str, rng: np.random.Generator) -> sy.SyntheticPage:
    if kind == "clean":
        return page
    if kind == "border":
        return sy.add_scan_border(page, paper=int(rng.integers(10, 60)), border=int(rng.integers(20, 80)))
    if kind == "title":
        return sy.add_text_block(page, lines=int(rng.integers(1, 5)))
    if kind == "noise":
        return sy.add_noise(page, 25.0, rng)
    angle = float(rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 2.0))
    if kind == "rotated":
        return sy.rotate(page, angle)
    framed = sy.add_scan_border(sy.add_text_block(page), paper=30, border=50)
    return sy.rotate(sy.add_noise(framed, 20.0, rng), angle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    rng = np.random.default_rng(args.seed)
    rows = {k: Row() for k in VARIANTS}
    systems_s, details = 0.0, []
    for score_id in test_split_ids(args.pages):
        try:
            engraved = engrave(LIEDER / "scores" / f"{score_id}.mxl", EngraveOptions.sample(rng))
        except ScorebridgeError as exc:
            details.append({"score": score_id, "error": str(exc)})
            continue
        zoom = float(rng.uniform(1.0, 2.5))
        base = sy.engraved_page(engraved, 0, zoom)
        for kind in VARIANTS:
            page = variant(base, kind, rng)
            t0 = time.perf_counter()
            layout = detect_layout(page.image)
            row = rows[kind]
            row.seconds += time.perf_counter() - t0
            score = sy.score_layout(page.systems, layout, min_iou=0.7)
            row.pages += 1
            row.truth += score.truth
            row.detected += score.detected
            row.matched += score.matched
            row.height_errors.extend(score.staff_height_errors)
            if score.matched != score.truth or score.detected != score.truth:
                row.failed_pages.append(score_id)
            details.append({"score": score_id, "variant": kind, "zoom": round(zoom, 2), "shape": page.image.shape,
                            "truth": score.truth, "detected": score.detected, "matched": score.matched,
                            "skew_deg": layout.skew_deg})
        t0 = time.perf_counter()
        page_systems(base.image)
        systems_s += time.perf_counter() - t0
    print_table(rows, systems_s)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_pages.json").write_text(json.dumps(details, indent=1, default=list), encoding="utf-8")


def print_table(rows: dict[str, Row], systems_s: float) -> None:
    print(f"pages -> systems on {platform.machine()}, {os.environ.get('OMP_NUM_THREADS')} thread(s)\n")
    print("| variant | pages | true systems | detected | recall@0.7 | precision@0.7 | staff-height error "
          "(median / max) | pages/s |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, r in rows.items():
        errors = np.array(r.height_errors) if r.height_errors else np.zeros(1)
        print(f"| {kind} | {r.pages} | {r.truth} | {r.detected} | {r.matched / max(r.truth, 1):.3f} | "
              f"{r.matched / max(r.detected, 1):.3f} | {100 * np.median(errors):.2f}% / {100 * errors.max():.2f}% | "
              f"{r.pages / max(r.seconds, 1e-9):.1f} |")
    clean = rows["clean"].pages
    print(f"\npage_systems (detect + crop + normalize) on clean pages: {clean / max(systems_s, 1e-9):.1f} pages/s")
    for kind, r in rows.items():
        if r.failed_pages:
            print(f"{kind}: misses on scores {', '.join(r.failed_pages)}")


if __name__ == "__main__":
    main()
