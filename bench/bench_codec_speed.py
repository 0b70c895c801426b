"""Codec throughput on one device: system images encoded/decoded per second and audio seconds per second, at
batch 1 (interactive use) and batch 32 (baking). Synthetic inputs of real sizes; the weights do not change the
cost, so any checkpoint (or the presets' random weights) measures it.

    python bench/bench_codec_speed.py --codecs runs/codecs --device cuda
"""

from __future__ import annotations

import argparse
import time

import torch

from scorebridge.codecs import load_codecs


def _rate(fn, items: float, device: torch.device, min_seconds: float = 2.0) -> float:
    fn()  # warm-up (kernels, allocator)
    if device.type == "cuda":
        torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_seconds:
        fn()
        n += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n * items / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codecs", required=True, help="folder with image/ and audio/ codecs")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    codecs = load_codecs(a.codecs, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {a.threads} threads"
    print(f"| codec | batch | encode | decode |  ({name})")
    print("|---|---|---|---|")
    with torch.inference_mode():
        if codecs.image is not None:
            for batch in (1, 32):
                x = torch.rand(batch, 1, 128, 1024, device=device) * 2 - 1  # a two-staff system, 128 x 1024 px
                codes = codecs.image.encode(x)
                enc = _rate(lambda x=x: codecs.image.encode(x), batch, device)
                dec = _rate(lambda c=codes: codecs.image.decode(c), batch, device)
                print(f"| image (128 x 1024 px) | {batch} | {enc:.1f} images/s | {dec:.1f} images/s |")
        if codecs.audio is not None:
            sr = codecs.audio.config.sample_rate
            for batch in (1, 32):
                wav = (torch.rand(batch, 1, 10 * sr, device=device) - 0.5) * 0.2  # 10 s clips
                codes = codecs.audio.encode(wav)
                enc = _rate(lambda w=wav: codecs.audio.encode(w), 10 * batch, device)
                dec = _rate(lambda c=codes: codecs.audio.decode(c), 10 * batch, device)
                print(f"| audio ({sr} Hz, 10 s clips) | {batch} | {enc:.0f} s/s | {dec:.0f} s/s |")


if __name__ == "__main__":
    main()
