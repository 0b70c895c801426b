"""What fraction of image/audio codes change when the fp32 codec weights are rounded to fp16 and back.

Usage: PYTHONPATH=src python bench/bench_codec_fp16.py DATASET [DATASET ...] [--limit 200]
Encodes each sample's clean image (centre shift) and audio (no offset) with the shipped codecs
(src/scorebridge/weights/codecs) as they are and with every floating tensor rounded through fp16, both run in
fp32, and reports the share of code entries that differ (all codebook levels, and the first level alone).
The shipped weights are not changed. Writes bench/out/bench_codec_fp16.json.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import torch

from scorebridge.codecs import load_codecs
from scorebridge.data.dataset import iter_samples
from scorebridge.shards.bake import bake_audio, bake_image

ROOT = Path(__file__).resolve().parents[1]
CODECS = ROOT / "src" / "scorebridge" / "weights" / "codecs"
OUT = ROOT / "bench" / "out"


def rounded(module: torch.nn.Module) -> torch.nn.Module:
    out = copy.deepcopy(module)
    with torch.no_grad():
        for t in list(out.parameters()) + list(out.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+", type=Path)
    ap.add_argument("--limit", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    codecs = load_codecs(CODECS)
    half = {"image": rounded(codecs.image), "audio": rounded(codecs.audio)}
    diff = {"image": [0, 0, 0, 0], "audio": [0, 0, 0, 0]}  # changed, total, changed level 0, total level 0
    n = 0
    with torch.no_grad():
        for ds in args.datasets:
            for s in iter_samples(ds):
                if n >= args.limit:
                    break
                n += 1
                pairs = []
                if s.image is not None:
                    a = bake_image(codecs.image, s.image, [(0, 0)], 1, 0)  # (S, V, h, w, Q)
                    b = bake_image(half["image"], s.image, [(0, 0)], 1, 0)
                    pairs.append(("image", a, b, a[..., 0], b[..., 0]))
                if s.audio is not None:
                    a = bake_audio(codecs.audio, s.audio, s.sample_rate, [0])  # (S, Q, frames)
                    b = bake_audio(half["audio"], s.audio, s.sample_rate, [0])
                    pairs.append(("audio", a, b, a[:, 0], b[:, 0]))
                for name, a, b, a0, b0 in pairs:
                    d = diff[name]
                    d[0] += int((a != b).sum())
                    d[1] += a.size
                    d[2] += int((a0 != b0).sum())
                    d[3] += a0.size
    result = {"samples": n, **{k: {"changed": v[0] / max(1, v[1]), "codes": v[1],
                                   "changed_level0": v[2] / max(1, v[3])} for k, v in diff.items()}}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_codec_fp16.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
