"""Benchmark the codec-evaluation tools on the kern-piano TEST split (measuring only; nothing is tuned here).

Usage: .venv/bin/python bench/bench_eval_transcriber.py [--data /work/datasets/kern-piano] [--samples 20]

For every k-th test sample (k chosen so that --samples are spread over the split):
- basic-pitch (ONNX, onnxruntime) on the sample's FluidSynth audio: speed (seconds of audio per second) and onset
  F1 / note-with-offset F1 against the sample's notes;
- the same on a crude stand-in for a codec (audio resampled to 8 kHz and back, i.e. nothing above 4 kHz), with
  mel distance, SI-SDR and the share of the original's onset F1 that it keeps (the issue's target for codecs: >= 95%);
- image metrics (PSNR, ink F1) of the system image against a 2x down-and-up-sampled copy (a blur stand-in).
Prints a markdown table; per-sample rows go to bench/out/bench_eval_transcriber.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from statistics import mean

import numpy as np
import soxr
from PIL import Image

from scorebridge.data.dataset import iter_samples, load_manifest
from scorebridge.eval.codec_metrics import ink_f1, mel_distance, note_f1_with_offsets, onset_f1, psnr, si_sdr
from scorebridge.eval.transcribers import BasicPitchTranscriber

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def _lowpass(audio: np.ndarray, sr: int, via: int = 8_000) -> np.ndarray:
    down = soxr.resample(audio, sr, via)
    return soxr.resample(down, via, sr)[: len(audio)].astype(np.float32)


def _blur(img: np.ndarray) -> np.ndarray:
    h, w = img.shape
    small = Image.fromarray(img).resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.BILINEAR)
    return np.asarray(small.resize((w, h), Image.Resampling.BILINEAR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/work/datasets/kern-piano")
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()

    n_test = sum(1 for r in load_manifest(args.data) if r["split"] == "test")
    every = max(1, n_test // args.samples)
    transcriber = BasicPitchTranscriber()
    rows = []
    audio_s = spent_s = 0.0
    for i, sample in enumerate(iter_samples(args.data, split="test")):
        if i % every or len(rows) >= args.samples or sample.audio is None or not sample.notes:
            continue
        sr = sample.sample_rate
        start = time.perf_counter()
        est = transcriber.transcribe(sample.audio, sr)
        spent_s += time.perf_counter() - start
        audio_s += len(sample.audio) / sr
        degraded = _lowpass(sample.audio, sr)
        est_degraded = transcriber.transcribe(degraded, sr)
        row = {
            "id": sample.id, "seconds": len(sample.audio) / sr, "notes": len(sample.notes),
            "onset_f1": onset_f1(sample.notes, est).f1,
            "offset_f1": note_f1_with_offsets(sample.notes, est).f1,
            "lowpass_onset_f1": onset_f1(sample.notes, est_degraded).f1,
            "lowpass_mel": mel_distance(sample.audio, degraded, sr),
            "lowpass_si_sdr": si_sdr(sample.audio, degraded),
        }
        if sample.image is not None:
            blurred = _blur(sample.image)
            row |= {"blur_psnr": psnr(sample.image, blurred), "blur_ink_f1": ink_f1(sample.image, blurred).f1}
        rows.append(row)

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_eval_transcriber.json").write_text(json.dumps(rows, indent=1))
    f1 = mean(r["onset_f1"] for r in rows)
    f1_low = mean(r["lowpass_onset_f1"] for r in rows)
    with_image = [r for r in rows if "blur_psnr" in r]
    print(f"kern-piano test split: {len(rows)} samples (every {every}th of {n_test}), {audio_s:.1f} s of audio, "
          f"{sum(r['notes'] for r in rows)} notes; CPU: {os.cpu_count()} cores\n")
    print("| measure | value |\n|---|---|")
    print(f"| basic-pitch speed (s of audio / s, 44.1 kHz input incl. resampling) | {audio_s / spent_s:.1f} |")
    print(f"| basic-pitch onset F1 (50 ms), mean over samples | {f1:.3f} |")
    print(f"| basic-pitch note-with-offset F1, mean | {mean(r['offset_f1'] for r in rows):.3f} |")
    print(f"| 8 kHz resampling stand-in: mel distance, mean | {mean(r['lowpass_mel'] for r in rows):.3f} |")
    print(f"| 8 kHz resampling stand-in: SI-SDR dB, mean | {mean(r['lowpass_si_sdr'] for r in rows):.2f} |")
    print(f"| 8 kHz resampling stand-in: onset F1, mean (kept share) | {f1_low:.3f} ({f1_low / f1:.1%}) |")
    if with_image:
        print(f"| 2x blur stand-in: PSNR dB, mean | {mean(r['blur_psnr'] for r in with_image):.2f} |")
        print(f"| 2x blur stand-in: ink F1, mean | {mean(r['blur_ink_f1'] for r in with_image):.3f} |")


if __name__ == "__main__":
    main()
