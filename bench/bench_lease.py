"""What one lease learns from: examples/s of the real training step and samples that fit what travels, before
and after issue 19's changes, beside the shipped run (~200 examples/s on an H100, 7,009 samples).

    OMP_NUM_THREADS=2 .venv/bin/python bench/bench_lease.py --data TOKENS [--steps 12]          # CPU here
    .venv/bin/python bench/bench_lease.py --data TOKENS --device cuda --preset compact --batch 192   # a GPU

Throughput: `scorebridge.train.train` end to end (reading, collating, forward, backward, AdamW) on the same
baked data and model, once per configuration, each adding one change: samples held in memory (`preload`),
length-sorted micro-batches under a token budget (`batch_tokens`), the one-slot sub-decoder path. FLOPs per
example are counted by torch.utils.flop_counter on the configuration's own batches (attention added
analytically on CPU), so a GPU's MFU = examples/s x FLOPs per example / peak. Without --data a synthetic bake
with the shipped data's lengths is used (random codes: fine for speed, meaningless for sizes).

Samples per lease: the 64 MiB that travel hold the tracked repository (the shipped weights among it) and the
carried wheels; what is left holds tokens, at the bytes per sample of `tar -cJf` of the baked folder (how the
shipped run's data travelled) or of `scorebridge.shards.pack`. Writes bench/out/bench_lease.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from scorebridge.constants import WINDOW_MS

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
LEASE_BYTES = 64 * 2**20
SHIPPED = {"examples_s": 200.0, "samples": 7009}  # MODEL_CARD.md: 1,517 x 48 examples in 355 s; the bake's rows


def _lease_module():
    spec = importlib.util.spec_from_file_location("lease", ROOT / "scripts" / "lease.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["lease"] = module
    spec.loader.exec_module(module)
    return module


def synthetic_bake(root: Path, n: int = 96, seed: int = 0) -> Path:
    """A baked folder of ``n`` train samples with the shipped data's lengths (systems of 6-10 code rows and
    20-100 columns, 100-600 audio frames, 40-400 LMX tokens, 10-80 notes) and random codes of 1,024."""
    import webdataset as wds
    from safetensors.torch import save_file

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "bake.json").write_text(json.dumps({"version": 1, "codec_digest": "5e7a71c0",
                                                "image_codec": {"num_quantizers": 4, "codebook_size": 1024},
                                                "audio_codec": {"n_codebooks": 4, "codebook_size": 1024}}))
    save_file({"image": torch.randn(4, 1024, 8), "audio": torch.randn(4, 1024, 8)}, str(root / "codebooks.safetensors"))
    words = "measure key:fifths:0 clef:G2 G4 quarter stem:up C5 eighth stem:down beam:begin E4 half".split()
    shard = "shards/synthetic/000000.tar"
    (root / shard).parent.mkdir(parents=True)
    rows = []
    with wds.TarWriter(str(root / shard)) as sink:
        for i in range(n):
            sid = f"synthetic/p/system-{i:05d}"
            h, w = int(rng.integers(6, 11)), int(rng.integers(20, 101))
            image = rng.integers(0, 1024, (1, 2, h, w, 4)).astype(np.int16)
            audio = rng.integers(0, 1024, (1, 4, int(rng.integers(100, 601)))).astype(np.int16)
            lmx = " ".join(words[j % len(words)] for j in range(int(rng.integers(40, 401))))
            n_notes = int(rng.integers(10, 81))
            onsets = np.sort(rng.integers(0, 9000, n_notes))
            notes = [[int(t), int(t) + 300, int(p), 80, 0, False] for t, p in zip(onsets, rng.integers(40, 90, n_notes),
                                                                                strict=True)]
            row = {"id": sid, "source": "synthetic", "piece": "p", "split": "train", "kind": "system", "start_ms": 0,
                   "end_ms": WINDOW_MS}
            meta = {"sample": row, "meta": {}, "image_codes": list(image.shape), "audio_codes": list(audio.shape),
                    "image_shifts": [[0, 0]], "audio_shifts": [0]}
            buf_i, buf_a = io.BytesIO(), io.BytesIO()
            np.save(buf_i, image)
            np.save(buf_a, audio)
            sink.write({"__key__": sid, "json": json.dumps(meta).encode(), "image.npy": buf_i.getvalue(),
                        "audio.npy": buf_a.getvalue(), "lmx": lmx.encode(), "notes.json": json.dumps(notes).encode()})
            rows.append({"id": sid, "dataset": "synthetic", "split": "train", "kind": "system", "shard": shard,
                         "image_codes": list(image.shape), "audio_codes": list(audio.shape),
                         "lmx_tokens": len(lmx.split()), "notes": n_notes})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    preload: bool
    batch_tokens: int
    one_slot: bool


def settings(batch_tokens: int) -> list[Setting]:
    return [Setting("before: tar reads, fixed batch, all slots", False, 0, False),
            Setting("+ samples in memory", True, 0, False),
            Setting(f"+ length-sorted micro-batches of <= {batch_tokens:,} padded steps", True, batch_tokens, False),
            Setting("+ one-slot sub-decoder steps (after)", True, batch_tokens, True)]


def run_setting(s: Setting, config, device: str, lease) -> dict:
    """`train()` for config.steps steps under setting ``s``; examples/s over the steps after the first two."""
    from functools import partial

    import scorebridge.train.loop as loop
    from scorebridge.model import translation_loss
    from scorebridge.train import train
    from scorebridge.train.run_folder import read_metrics

    config = dataclasses.replace(config, preload=s.preload, batch_tokens=s.batch_tokens, log_every=1)
    loop.translation_loss = partial(translation_loss, one_slot_steps=s.one_slot)
    lease_loss = sys.modules["scorebridge.model"].translation_loss
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            train(config, Path(tmp) / "run", device=device, progress=False)
            wall = time.perf_counter() - t0
            rows = read_metrics(Path(tmp) / "run")
        # the flop count uses the model package's loss: patch it the same way
        sys.modules["scorebridge.model"].translation_loss = partial(translation_loss, one_slot_steps=s.one_slot)
        flops = lease.flops_per_example(config, device, steps=2)
    finally:
        loop.translation_loss = translation_loss
        sys.modules["scorebridge.model"].translation_loss = lease_loss
    a, b = rows[1], rows[-1]  # from the end of step 2: the first steps pay for start-up
    examples = sum(r["examples"] for r in rows[2:])
    return {"setting": s.name, "examples_s": examples / (b["seconds"] - a["seconds"]), "flops": flops,
            "wall": wall}


def tracked_bytes() -> int:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    return sum((ROOT / f.decode()).stat().st_size for f in files if f and (ROOT / f.decode()).is_file())


def data_rows(data: Path, wheels_bytes: int) -> list[str]:
    from scorebridge.shards import CODEBOOKS_NAME
    from scorebridge.shards.pack import pack, tar_xz_size

    n = sum(1 for _ in open(data / "manifest.jsonl"))
    with tempfile.TemporaryDirectory() as tmp:
        clean = pack(data, Path(tmp) / "clean.sbpack", clean_only=True).bytes
        every = pack(data, Path(tmp) / "all.sbpack", clean_only=False).bytes
    before = tar_xz_size(data)
    codebooks = before - tar_xz_size(data, exclude=(CODEBOOKS_NAME,))
    repo = tracked_bytes()
    room = LEASE_BYTES - repo - wheels_bytes
    lines = [f"What travels: 64 MiB = tracked repository {repo / 2**20:.2f} MiB (the shipped weights among it) + "
             f"training wheels {wheels_bytes / 2**20:.2f} MiB + tokens: {room / 2**20:.2f} MiB left for tokens "
             f"({n} samples measured in {data.name}; the codebook vectors, {codebooks / 2**20:.2f} MiB after xz, "
             "travel in a tar.xz of the folder and not in a pack).", "",
             "| packing | bytes per sample | samples per MiB | samples per lease (room above) |", "|---|---|---|---|",
             f"| shipped run's data (7,009 samples; the repository carried no weights then) | ~3,500 (issue 19) | "
             f"~290 | {SHIPPED['samples']:,} |"]
    for name, size, fixed in (("`tar -cJf` of the baked folder (before)", before, codebooks),
                              ("`shards.pack`, every image variant", every, 0),
                              ("`shards.pack`, clean images only (after)", clean, 0)):
        per = (size - fixed) / n
        lines.append(f"| {name} | {per:,.0f} | {2**20 / per:,.0f} | {max(room - fixed, 0) / per:,.0f} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="a baked folder (default: a synthetic one)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--preset", default=None, help="model preset (default: tiny on CPU, compact on CUDA)")
    p.add_argument("--batch", type=int, default=None, help="examples per step (default: 16 CPU, 192 CUDA)")
    p.add_argument("--batch-tokens", type=int, default=None, help="padded steps per micro-batch")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--wheels-bytes", type=int, default=569_706, help="the carried training wheels (slimmed)")
    p.add_argument("--peak-tflops", type=float, default=None)
    p.add_argument("--recipe", type=Path, default=ROOT / "scripts" / "gpu" / "lease.toml",
                   help="the lease recipe (lease-read.toml reads a built dataset as pixels and mel frames)")
    p.add_argument("--flops-only", action="store_true",
                   help="only count the training FLOPs per example of the recipe's real batches (2 steps)")
    a = p.parse_args()
    from scorebridge.train import read_recipe

    cpu = a.device == "cpu"
    lease = _lease_module()
    with tempfile.TemporaryDirectory() as tmp:
        data = a.data or synthetic_bake(Path(tmp) / "synthetic")
        batch = a.batch or (16 if cpu else 192)
        budget = a.batch_tokens or (4 * 1024 if cpu else 48 * 1024)
        config = read_recipe(a.recipe, data=(str(data),), model=a.preset or ("tiny" if cpu else "compact"),
                             steps=a.steps, batch_size=batch, batch_tokens=budget, workers=0,
                             checkpoint_every=10**6, init_codebooks=False)
        if a.flops_only:
            flops = lease.flops_per_example(config, a.device, steps=2)
            text = (f"{a.recipe.name}, model {config.model}, batch {batch}, micro-batches of <= {budget:,} padded "
                    f"steps, data {data.name}: {flops / 1e9:,.2f} GFLOP per example (training, counted)")
            print(text)
            return
        results = []
        for s in settings(budget):
            results.append(run_setting(s, config, a.device, lease))
            print(f"{s.name}: {results[-1]}", file=sys.stderr, flush=True)
        name = torch.cuda.get_device_name() if not cpu else f"CPU, {torch.get_num_threads()} threads"
        lines = [f"Device: {name}; torch {torch.__version__}; model {config.model}; batch {batch}; "
                 f"data {data.name if a.data else 'synthetic (shipped lengths)'}; {a.steps} steps each", "",
                 "| configuration | examples/s | GFLOP per example | TFLOP/s | MFU |", "|---|---|---|---|---|"]
        peak = a.peak_tflops or lease.peak_tflops(name)
        for r in results:
            tflops = r["examples_s"] * r["flops"] / 1e12
            mfu = f"{tflops / peak:.1%}" if peak else "n/a"
            lines.append(f"| {r['setting']} | {r['examples_s']:,.1f} | {r['flops'] / 1e9:,.2f} | {tflops:.3f} | "
                         f"{mfu} |")
        lines.append(f"| shipped run (NVIDIA H100, compact, batch 48; MODEL_CARD.md) | ~{SHIPPED['examples_s']:.0f} "
                     "| — | ~10.7 | ~1% |")
        if a.data is not None:
            lines += [""] + data_rows(a.data, a.wheels_bytes)
    text = "\n".join(lines)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_lease.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
