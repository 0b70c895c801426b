"""Benchmark the render area over real scores: engraving, rasterizing, system cropping, synthesis.

Usage: .venv/bin/python bench/bench_render.py [--lieder 20] [--zoom 1.0] [--no-synth]
Corpora: the 47 Joplin rags (kern) and the first N OpenScore Lieder scores (.mxl) by id, read from
<repo>/../shared/corpora. Prints a markdown table; per-file details go to bench/out/bench_render.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from scorebridge.errors import ScorebridgeError
from scorebridge.render import crop_systems, engrave, svg_to_png, synthesize_bytes

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
OUT = ROOT / "bench" / "out"
SOUNDFONTS = ("fluidr3", "timgm6mb")


@dataclass
class Totals:
    files: int = 0
    failed: list[str] = field(default_factory=list)
    pages: int = 0
    systems: int = 0
    music_s: float = 0.0
    engrave_s: float = 0.0
    png_s: float = 0.0
    crop_s: float = 0.0
    synth_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SOUNDFONTS, 0.0))
    audio_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SOUNDFONTS, 0.0))


def scores(n_lieder: int) -> dict[str, list[Path]]:
    joplin = sorted((CORPORA / "kern" / "joplin").glob("*.krn"))
    lieder = sorted((CORPORA / "openscore-lieder" / "scores").glob("*.mxl"), key=lambda p: int(p.stem))
    lieder = lieder[:n_lieder]
    return {"joplin (kern)": joplin, "lieder (mxl)": lieder}


def run_file(path: Path, totals: Totals, zoom: float, synth: bool, png_dir: Path) -> dict:
    t0 = time.perf_counter()
    score = engrave(path)
    t1 = time.perf_counter()
    for i, svg in enumerate(score.pages, start=1):
        svg_to_png(svg, png_dir / f"{path.stem}-{i}.png", zoom=zoom)
    t2 = time.perf_counter()
    systems = crop_systems(score, zoom=zoom)  # rasterizes again: cropping cost includes its own raster
    t3 = time.perf_counter()
    row = {"file": str(path.relative_to(CORPORA)), "pages": score.page_count, "systems": len(systems),
           "music_s": score.duration_ms / 1000, "engrave_s": t1 - t0, "png_s": t2 - t1, "crop_s": t3 - t2}
    totals.files += 1
    totals.pages += score.page_count
    totals.systems += len(systems)
    totals.music_s += score.duration_ms / 1000
    totals.engrave_s += t1 - t0
    totals.png_s += t2 - t1
    totals.crop_s += t3 - t2
    if synth:
        for sf in SOUNDFONTS:
            t = time.perf_counter()
            audio = synthesize_bytes(score.midi, sf)
            dt = time.perf_counter() - t
            totals.synth_s[sf] += dt
            totals.audio_s[sf] += len(audio) / 44_100
            row[f"synth_{sf}_s"] = dt
    return row


def table(results: dict[str, Totals], synth: bool) -> str:
    head = ("| corpus | files | pages | systems | music (min) | SVG pages/s | PNG pages/s "
            "| systems/s (crop incl. raster) |")
    sep = "|---|---|---|---|---|---|---|---|"
    if synth:
        head += " FluidR3 x real time | TimGM6mb x real time |"
        sep += "---|---|"
    lines = [head, sep]
    for name, t in results.items():
        row = (f"| {name} | {t.files} | {t.pages} | {t.systems} | {t.music_s / 60:.1f} | "
               f"{t.pages / t.engrave_s:.1f} | {t.pages / t.png_s:.2f} | {t.systems / t.crop_s:.1f} |")
        if synth:
            row += "".join(f" {t.audio_s[sf] / t.synth_s[sf]:.1f} |" for sf in SOUNDFONTS)
        lines.append(row)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lieder", type=int, default=20, help="how many Lieder scores (first by id)")
    parser.add_argument("--zoom", type=float, default=1.0, help="rasterizing zoom (1.0: 840 px wide A4 page)")
    parser.add_argument("--no-synth", action="store_true", help="skip FluidSynth")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    png_dir = OUT / "render_png"
    png_dir.mkdir(exist_ok=True)
    results: dict[str, Totals] = {}
    rows = []
    for name, files in scores(args.lieder).items():
        totals = results.setdefault(name, Totals())
        for path in files:
            try:
                rows.append(run_file(path, totals, args.zoom, not args.no_synth, png_dir))
            except ScorebridgeError as exc:  # a bad corpus file is a finding, not a crash
                totals.failed.append(f"{path.name}: {exc}")
    report = table(results, not args.no_synth)
    print(f"Machine: {platform.processor() or platform.machine()}, single process; zoom {args.zoom}\n")
    print(report)
    for name, t in results.items():
        for failure in t.failed:
            print(f"- failed ({name}): {failure}")
    (OUT / "bench_render.json").write_text(json.dumps({"rows": rows, "table": report}, indent=1))


if __name__ == "__main__":
    main()
