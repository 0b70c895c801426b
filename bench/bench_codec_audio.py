"""Audio codec benchmark: parameters per preset, encode/decode speed, and reconstruction quality of a trained
codec on the TEST split of data-engine datasets (multi-scale mel distance, SI-SDR, and the onset F1 of
basic-pitch on the reconstruction against its onset F1 on the original: the issue's target is >= 95%).

    .venv/bin/python bench/bench_codec_audio.py [--codec CHECKPOINT_DIR] [--data DATASET ...] [--limit N]
                                                [--seconds 10] [--device cpu]

Speed uses randomly initialised models (speed does not depend on the weights) on `--seconds` of audio.
Quality needs `--codec`; it reads up to `--limit` test samples of each dataset (in manifest order),
resamples them to the codec's rate, encodes, decodes and compares. Prints markdown tables; per-sample rows
go to bench/out/codec_audio_quality.jsonl.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import torch

from scorebridge.checkpoint import count_parameters
from scorebridge.codecs.audio import AUDIO_PRESETS, AudioCodec, load_audio_codec, prepare_audio
from scorebridge.data.dataset import iter_samples
from scorebridge.errors import MissingToolError
from scorebridge.eval.codec_metrics import mel_distance, onset_f1, si_sdr

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
DATASETS = [Path("/work/datasets/kern-piano"), Path("/work/datasets/lieder")]


def _timed(fn, repeats: int = 2) -> float:
    fn()  # warm-up: first calls pay for kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def speed_table(seconds: int, device: str) -> list[str]:
    rows = ["| preset | params | sample rate | hop | frames/s | encode (audio s / s) | decode (audio s / s) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name, cfg in AUDIO_PRESETS.items():
        torch.manual_seed(0)
        model = AudioCodec(cfg).to(device).eval()
        wav = (torch.randn(1, 1, seconds * cfg.sample_rate) * 0.1).to(device)
        codes = model.encode(wav)
        enc = _timed(lambda: model.encode(wav))  # noqa: B023
        dec = _timed(lambda: model.decode(codes))  # noqa: B023
        rows.append(f"| {name} | {count_parameters(model):,} | {cfg.sample_rate:,} | {cfg.hop_length} | "
                    f"{cfg.sample_rate / cfg.hop_length:.2f} | {seconds / enc:.1f} | {seconds / dec:.1f} |")
    return rows


def _transcriber():
    try:
        from scorebridge.eval.transcribers import BasicPitchTranscriber

        return BasicPitchTranscriber()
    except MissingToolError as exc:
        print(f"(no onset F1: {exc})")
        return None


def quality_table(codec_dir: Path, datasets: list[Path], limit: int, device: str) -> list[str]:
    model = load_audio_codec(codec_dir, device)
    sr = model.config.sample_rate
    transcriber = _transcriber()
    OUT.mkdir(parents=True, exist_ok=True)
    rows = ["| dataset | test samples | audio (min) | mel distance | SI-SDR (dB, median) | onset F1 original | "
            "onset F1 reconstruction | kept |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    with (OUT / "codec_audio_quality.jsonl").open("w") as detail:
        for ds in datasets:
            mels, sdrs, f1_orig, f1_recon, total = [], [], [], [], 0
            for n, sample in enumerate(iter_samples(ds, split="test")):
                if n >= limit:
                    break
                if sample.audio is None or not np.any(sample.audio):
                    continue
                wav = prepare_audio(sample.audio, sample.sample_rate, sr).to(device)
                recon = model.decode(model.encode(wav))[..., :wav.shape[-1]]
                ref, est = wav[0, 0].cpu().numpy(), recon[0, 0].cpu().numpy()
                row = {"id": sample.id, "mel": mel_distance(ref, est, sr), "si_sdr": si_sdr(ref, est)}
                if transcriber is not None and sample.notes:
                    row["f1_original"] = onset_f1(sample.notes, transcriber.transcribe(ref, sr)).f1
                    row["f1_reconstruction"] = onset_f1(sample.notes, transcriber.transcribe(est, sr)).f1
                    f1_orig.append(row["f1_original"])
                    f1_recon.append(row["f1_reconstruction"])
                mels.append(row["mel"])
                sdrs.append(row["si_sdr"])
                total += wav.shape[-1]
                detail.write(json.dumps(row) + "\n")
            f1o, f1r = (np.mean(f1_orig), np.mean(f1_recon)) if f1_orig else (float("nan"), float("nan"))
            rows.append(f"| {ds.name} | {len(mels)} | {total / sr / 60:.1f} | {np.mean(mels):.3f} | "
                        f"{np.median(sdrs):.2f} | {f1o:.3f} | {f1r:.3f} | {100 * f1r / f1o:.0f}% |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", type=Path)
    parser.add_argument("--data", type=Path, nargs="*", default=DATASETS)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}\n")
    if not args.skip_speed:
        print("\n".join(speed_table(args.seconds, args.device)) + "\n")
    if args.codec:
        print(f"codec: {args.codec}\n")
        print("\n".join(quality_table(args.codec, [d for d in args.data if d.is_dir()], args.limit, args.device)))


if __name__ == "__main__":
    main()
