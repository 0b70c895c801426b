"""Benchmark the score-video pipeline on synthetic videos with known truth (issue 7 §6 and its performance goal).

Usage: OMP_NUM_THREADS=1 .venv/bin/python bench/bench_video.py [--limit 4] [--fps-variants all]
Makes test videos (bench/out/videos/, reused when made with the same options) from the bundled minuet and
Chopin preludes of <repo>/../shared/corpora, cycling 640x360@25, 854x480@30 and 1280x720@24 with cuts, crossfades,
letterbox, title and end cards, lossy H.264. The Lento prelude 28/2 (about 5 s a measure) is engraved on a smaller
page (one system of two measures, 5-15 s): on the default page (two systems, 25-35 s) every page is over the
reference's 20 s audio filter and the video gives no sample at all. Runs ``analyse_video`` on each (one process,
one thread) and prints a markdown
table: page-boundary error (max, target <= 500 ms), system precision / recall at IoU >= 0.5 (target >= 0.98),
median staff-height error (target <= 1 px), and speed as minutes of video per minute of processing with the
share of time spent waiting for ffmpeg (decoding). Details go to bench/out/bench_video.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from pathlib import Path

from scorebridge.video import analyse_video, make_test_videos, score_video

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
OUT = ROOT / "bench" / "out"


# Options for some scores, by file stem (see the docstring).
BY_STEM = {"prelude28-02": {"page_width": 1200, "page_height": 600}}


def scores(limit: int) -> list[Path]:
    found = [ROOT / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"]
    found += sorted((CORPORA / "kern" / "chopin-preludes").glob("prelude28-0*.krn"))
    return found[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=4)
    args = parser.parse_args()
    folder = OUT / "videos"
    videos = make_test_videos(scores(args.limit), folder, by_stem=BY_STEM)
    rows = []
    for video in videos:
        truth = json.loads(video.with_name(video.stem + ".truth.json").read_text())
        analysis = analyse_video(video, folder / "scratch.wav")
        score = score_video(analysis, truth)
        rows.append({
            "video": video.name, "size": f"{analysis.info.width}x{analysis.info.height}@{analysis.info.fps:g}",
            "minutes": analysis.info.duration_ms / 60000, "seconds": analysis.seconds,
            "decode_seconds": analysis.decode_seconds, "pages": len(analysis.pages), "kept": len(analysis.kept),
            "boundaries": len(score.boundary_errors_ms), "max_boundary_ms": score.max_boundary_error_ms,
            "extra_boundaries": score.extra_boundaries, "systems_true": score.systems_true,
            "systems_found": score.systems_found, "matched": score.systems_matched,
            "precision": score.precision, "recall": score.recall,
            "staff_err_px": score.median_staff_height_error_px, "staff_errs": list(score.staff_height_errors_px),
        })
    (folder / "scratch.wav").unlink(missing_ok=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}\n")
    print("| video | size | min | pages (kept) | max boundary err ms | extra | P | R | staff err px | x real time "
          "| decode share |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['video']} | {r['size']} | {r['minutes']:.2f} | {r['pages']} ({r['kept']}) "
              f"| {r['max_boundary_ms']} | {r['extra_boundaries']} | {r['precision']:.3f} | {r['recall']:.3f} "
              f"| {r['staff_err_px']:.2f} "
              f"| {r['minutes'] * 60 / r['seconds']:.1f} | {r['decode_seconds'] / r['seconds']:.0%} |")
    found, true, matched = (sum(r[k] for r in rows) for k in ("systems_found", "systems_true", "matched"))
    errs = [e for r in rows for e in r["staff_errs"]]
    minutes, seconds = sum(r["minutes"] for r in rows), sum(r["seconds"] for r in rows)
    print(f"\nall: max boundary error {max(r['max_boundary_ms'] for r in rows)} ms (target 500), "
          f"precision {matched / max(found, 1):.3f} recall {matched / max(true, 1):.3f} (target 0.98), "
          f"median staff-height error {statistics.median(errs) if errs else 0:.2f} px (target 1), "
          f"{minutes * 60 / seconds:.1f}x real time, decoding {sum(r['decode_seconds'] for r in rows) / seconds:.0%}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_video.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
