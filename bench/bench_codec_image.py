"""Image codec quality and speed: PSNR and ink F1 of reconstructions on the test split, images/s.

For every test-split system image of the given datasets (up to --max-images, a seeded random choice): pad to
multiples of 16 with white, encode, decode, crop back to the original size, then

- PSNR over 8-bit pixels (peak 255),
- ink F1: original and reconstruction binarized at the same threshold; F1 of ink pixels, at < 128 (dark ink)
  and at < 242 (also the light-grey 1-px staff lines of an 18-px staff).

Speed: encode and decode of one image at a time (batch 1), and, for every preset (random weights: the
cost does not depend on training), encode of a typical 64 x 1008 px system crop. Prints a markdown table;
per-image figures go to bench/out/codec_image.md.

    .venv/bin/python bench/bench_codec_image.py --codec runs/image-codec-small \
        --data /work/datasets/kern-piano /work/datasets/lieder [--max-images 300] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from scorebridge.checkpoint import count_parameters
from scorebridge.codecs.image import (
    IMAGE_PRESETS,
    ImageCodec,
    image_to_tensor,
    load_image_codec,
    pad_to_patches,
    tensor_to_image,
)
from scorebridge.data.dataset import iter_samples, load_manifest
from scorebridge.fileio import write_text

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
DARK = 128  # binarization thresholds for ink F1: mid-grey (noteheads, stems, beams: dark ink) ...
FAINT = 242  # ... and near-white: also the 1-px staff lines, light grey (~175) at an 18-px staff


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def ink_f1(a: np.ndarray, b: np.ndarray, threshold: int) -> float:
    ta, tb = a < threshold, b < threshold
    tp = float((ta & tb).sum())
    denom = float(ta.sum() + tb.sum())
    return 1.0 if denom == 0 else 2 * tp / denom


def test_images(dirs: list[Path], max_images: int, seed: int) -> list[tuple[str, np.ndarray]]:
    rows = [(d, r["id"]) for d in dirs for r in load_manifest(d) if r["split"] == "test" and r.get("image_hw")]
    keep = {rows[i] for i in np.random.default_rng(seed).permutation(len(rows))[:max_images]}
    out = []
    for d in dirs:
        wanted = {sid for dd, sid in keep if dd == d}
        out += [(s.id, s.image) for s in iter_samples(d, split="test") if s.id in wanted and s.image is not None]
    return out


def preset_speed(repeats: int = 3) -> list[tuple[str, int, float]]:
    x = image_to_tensor(np.full((64, 1008), 255, np.uint8))
    rows = []
    for name, cfg in IMAGE_PRESETS.items():
        model = ImageCodec(cfg).eval()
        model.encode(x)  # warm-up (oneDNN picks kernels on the first call)
        t = time.perf_counter()
        for _ in range(repeats):
            model.encode(x)
        rows.append((name, count_parameters(model), repeats / (time.perf_counter() - t)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codec", type=Path, required=True)
    ap.add_argument("--data", type=Path, nargs="+", required=True)
    ap.add_argument("--max-images", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = load_image_codec(args.codec)
    images = test_images(args.data, args.max_images, args.seed)
    per_image, enc_s, dec_s, pixels = [], 0.0, 0.0, 0
    used = [set() for _ in range(model.config.num_quantizers)]
    for sid, img in tqdm(images, desc="test images", disable=None):
        h, w = img.shape
        x = image_to_tensor(pad_to_patches(img))
        t0 = time.perf_counter()
        codes = model.encode(x)
        t1 = time.perf_counter()
        recon = tensor_to_image(model.decode(codes))[:h, :w]
        t2 = time.perf_counter()
        for q, seen in enumerate(used):
            seen.update(codes[..., q].flatten().tolist())
        enc_s, dec_s, pixels = enc_s + t1 - t0, dec_s + t2 - t1, pixels + x.numel()
        per_image.append((sid, h, w, psnr(img, recon), ink_f1(img, recon, DARK), ink_f1(img, recon, FAINT)))

    n = len(per_image)
    psnrs = np.array([r[3] for r in per_image])
    f1s = np.array([r[4] for r in per_image])
    faint = np.array([r[5] for r in per_image])
    machine = f"{platform.machine()} CPU, {os.cpu_count()} cores, torch threads {args.threads}"
    lines = [
        f"Image codec `{args.codec}` ({model.config.channels} ch, latent {model.config.latent_dim}, "
        f"{count_parameters(model):,} parameters) on {n} test-split images of {', '.join(d.name for d in args.data)}; "
        f"{machine}.",
        "",
        "| metric | mean | median | 10th pct |",
        "|---|---|---|---|",
        f"| PSNR (dB) | {psnrs.mean():.2f} | {np.median(psnrs):.2f} | {np.percentile(psnrs, 10):.2f} |",
        f"| ink F1 (< {DARK}) | {f1s.mean():.4f} | {np.median(f1s):.4f} | {np.percentile(f1s, 10):.4f} |",
        f"| ink F1 (< {FAINT}) | {faint.mean():.4f} | {np.median(faint):.4f} | {np.percentile(faint, 10):.4f} |",
        "",
        f"Codes used per codebook (of {model.config.codebook_size}): {', '.join(str(len(u)) for u in used)}.",
        "",
        "| speed (batch 1) | value |",
        "|---|---|",
        f"| encode, images/s | {n / enc_s:.2f} |",
        f"| decode, images/s | {n / dec_s:.2f} |",
        f"| encode, Mpixel/s | {pixels / enc_s / 1e6:.3f} |",
        "",
        "| preset | parameters | encode 64x1008 px, images/s |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {params:,} | {ips:.2f} |" for name, params, ips in preset_speed()]
    table = "\n".join(lines)
    print(table)
    detail = "".join(f"| {sid} | {h}x{w} | {p:.2f} | {f:.4f} | {g:.4f} |\n" for sid, h, w, p, f, g in per_image)
    head = f"| id | size | PSNR | ink F1 < {DARK} | ink F1 < {FAINT} |\n|---|---|---|---|---|\n"
    write_text(OUT / "codec_image.md", table + "\n\n" + head + detail)


if __name__ == "__main__":
    main()
