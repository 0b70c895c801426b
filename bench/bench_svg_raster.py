"""resvg (the resvg-py wheel) against rsvg-convert on real Verovio pages: pixels, ink, crops, staff detection.

Usage: PYTHONPATH=src python bench/bench_svg_raster.py [--lieder 6] [--kern 4] [--zoom 1.0]
Engraves the first N OpenScore Lieder scores (piano + voice with lyrics: text glyphs too) and N kern files,
rasterizes each page both ways and reports: mean absolute pixel difference (0-255), ink IoU (pixels < 128),
whether the system crops (render.crop_systems) have the same boxes and their pixel difference, whether the
staff detector (pages.detect_layout) finds the same staves (max line-position difference in px), and the
seconds per page of each backend. Writes bench/out/bench_svg_raster.json. Needs rsvg-convert.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

import numpy as np

from scorebridge.pages.layout import detect_layout
from scorebridge.render import engrave
from scorebridge.render.crops import crop_systems
from scorebridge.render.raster import RASTER_ENV, svg_to_array

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("SCOREBRIDGE_CORPORA", ROOT.parent / "shared" / "corpora"))
OUT = ROOT / "bench" / "out"
TEXT = re.compile(r"<text\b.*?</text>", re.S)  # lyrics, titles, tempo words: fonts differ (docs/gpu-data.md)


def raster(svg: str, zoom: float, backend: str) -> tuple[np.ndarray, float]:
    os.environ[RASTER_ENV] = backend
    t = time.perf_counter()
    arr = svg_to_array(svg, zoom)
    return arr, time.perf_counter() - t


def staves(page: np.ndarray) -> list[tuple[float, float]]:
    return [(s.top, s.bottom) for sys_ in detect_layout(page).systems for s in sys_.staves]


def compare_page(svg: str, zoom: float) -> dict:
    a, ta = raster(svg, zoom, "rsvg-convert")
    b, tb = raster(svg, zoom, "resvg")
    row: dict = {"shape_rsvg": a.shape, "shape_resvg": b.shape, "rsvg_s": ta, "resvg_s": tb}
    if a.shape != b.shape:
        return row
    ia, ib = a < 128, b < 128
    row["mad"] = float(np.abs(a.astype(np.int16) - b).mean())
    row["ink_iou"] = float((ia & ib).sum() / max(1, (ia | ib).sum()))
    sa, sb = staves(a), staves(b)
    row["staves"] = (len(sa), len(sb))
    row["staff_max_dpx"] = (float(np.abs(np.array(sa) - np.array(sb)).max()) if sa and len(sa) == len(sb)
                            else None)
    a, _ = raster(TEXT.sub("", svg), zoom, "rsvg-convert")
    b, _ = raster(TEXT.sub("", svg), zoom, "resvg")
    ia, ib = a < 128, b < 128
    row["notext_mad"] = float(np.abs(a.astype(np.int16) - b).mean())
    row["notext_ink_iou"] = float((ia & ib).sum() / max(1, (ia | ib).sum()))
    return row


def compare_crops(engraved, zoom: float) -> dict:
    os.environ[RASTER_ENV] = "rsvg-convert"
    ca = crop_systems(engraved, zoom=zoom)
    os.environ[RASTER_ENV] = "resvg"
    cb = crop_systems(engraved, zoom=zoom)
    same = [x.crop == y.crop and x.image.shape == y.image.shape for x, y in zip(ca, cb, strict=True)]
    pairs = [(x.image, y.image) for x, y in zip(ca, cb, strict=True) if x.image.shape == y.image.shape]
    mads = [float(np.abs(x.astype(np.int16) - y).mean()) for x, y in pairs]
    ious = [float(((x < 128) & (y < 128)).sum() / max(1, ((x < 128) | (y < 128)).sum())) for x, y in pairs]
    return {"systems": len(ca), "same_boxes": sum(same), "crop_mad_mean": float(np.mean(mads)) if mads else None,
            "crop_ink_iou_mean": float(np.mean(ious)) if ious else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lieder", type=int, default=6)
    ap.add_argument("--kern", type=int, default=4)
    ap.add_argument("--zoom", type=float, default=1.0)
    args = ap.parse_args()
    files = sorted((CORPORA / "openscore-lieder" / "scores").glob("*.mxl"),
                   key=lambda p: int(p.stem))[: args.lieder]
    files += sorted((CORPORA / "kern" / "joplin").glob("*.krn"))[: args.kern]
    rows = []
    for path in files:
        engraved = engrave(path)
        for i, svg in enumerate(engraved.pages[:2]):  # two pages per score at most
            rows.append({"file": path.name, "page": i + 1, **compare_page(svg, args.zoom)})
        rows[-1].update(compare_crops(engraved, args.zoom * 2))  # the builder's supersampled zoom is ~2
        print(json.dumps(rows[-1]), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_svg_raster.json").write_text(json.dumps(rows, indent=1))
    ok = [r for r in rows if "mad" in r]
    print(f"pages {len(rows)}, same size {len(ok)}; MAD mean {np.mean([r['mad'] for r in ok]):.3f} "
          f"max {max(r['mad'] for r in ok):.3f}; ink IoU mean {np.mean([r['ink_iou'] for r in ok]):.4f} "
          f"min {min(r['ink_iou'] for r in ok):.4f}; same staff count "
          f"{sum(r['staves'][0] == r['staves'][1] for r in ok)}/{len(ok)}, max staff dpx "
          f"{max((r['staff_max_dpx'] or 0) for r in ok):.2f}")
    print(f"without <text>: MAD mean {np.mean([r['notext_mad'] for r in ok]):.3f} max "
          f"{max(r['notext_mad'] for r in ok):.3f}; ink IoU mean {np.mean([r['notext_ink_iou'] for r in ok]):.4f} "
          f"min {min(r['notext_ink_iou'] for r in ok):.4f}")
    crops = [r for r in rows if "systems" in r]
    print(f"systems {sum(r['systems'] for r in crops)}, same boxes {sum(r['same_boxes'] for r in crops)}; "
          f"crop MAD mean {np.mean([r['crop_mad_mean'] for r in crops if r['crop_mad_mean'] is not None]):.3f}, "
          f"crop ink IoU mean {np.mean([r['crop_ink_iou_mean'] for r in crops if r['crop_ink_iou_mean']]):.4f}")
    print(f"s/page rsvg-convert {np.mean([r['rsvg_s'] for r in rows]):.3f}, "
          f"resvg {np.mean([r['resvg_s'] for r in rows]):.3f} (zoom {args.zoom})")


if __name__ == "__main__":
    main()
