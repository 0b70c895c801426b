"""A small baked token folder written directly in the bake format (random codes, real LMX and MIDI notes)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch
import webdataset as wds
from safetensors.torch import save_file

CODEBOOK = 16  # codes per codebook: keeps the vocabulary (and the tiny model's logits) small
LMX_SNIPPETS = [
    "measure key:fifths:0 time beats:4 beat-type:4 clef:G2 G4 quarter stem:up C5 quarter stem:down",
    "measure E4 half stem:up F4 half stem:up",
    "measure key:fifths:1 clef:F4 D3 whole",
    "measure A4 quarter stem:up B4 quarter stem:down C5 half stem:down",
]


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def write_baked(root: Path, n_train: int = 6, n_valid: int = 2, dataset: str = "toy", seed: int = 0,
                shifts: tuple[int, int] = (2, 2)) -> Path:
    """``root`` as a baked folder with ``n_train`` + ``n_valid`` system samples holding all four modalities."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    image_codec = {"num_quantizers": 4, "codebook_size": CODEBOOK}
    audio_codec = {"n_codebooks": 4, "codebook_size": CODEBOOK, "sample_rate": 24000}
    (root / "bake.json").write_text(json.dumps({"version": 1, "image_codec": image_codec,
                                                "audio_codec": audio_codec, "codec_digest": "0000beef"}))
    g = torch.Generator().manual_seed(seed)
    save_file({"image": torch.randn(4, CODEBOOK, 8, generator=g), "audio": torch.randn(4, CODEBOOK, 8, generator=g)},
              str(root / "codebooks.safetensors"))
    shard = f"shards/{dataset}/000000.tar"
    (root / shard).parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with wds.TarWriter(str(root / shard)) as sink:
        for i in range(n_train + n_valid):
            split = "train" if i < n_train else "valid"
            sid = f"{dataset}/piece/system-{i:04d}"
            h, w, frames = 2, 3 + i % 3, 5 + i % 4
            image = rng.integers(0, CODEBOOK, (shifts[0], 2 if split == "train" else 1, h, w, 4)).astype(np.int16)
            audio = rng.integers(0, CODEBOOK, (shifts[1], 4, frames)).astype(np.int16)
            lmx = LMX_SNIPPETS[i % len(LMX_SNIPPETS)]
            notes = [[0, 400, 60 + i, 80, 0, False], [500, 900, 64 + i % 5, 80, 0, False]]
            row = {"id": sid, "source": dataset, "piece": "piece", "split": split, "kind": "system",
                   "start_ms": 1000 * i, "end_ms": 1000 * i + 1000}
            meta = {"sample": row, "meta": {}, "image_codes": list(image.shape), "audio_codes": list(audio.shape),
                    "image_shifts": [[-1, 0], [0, 0], [1, 0]][: shifts[0]], "audio_shifts": [-5, 0, 5][: shifts[1]]}
            sink.write({"__key__": sid, "json": json.dumps(meta).encode(), "image.npy": _npy(image),
                        "audio.npy": _npy(audio), "lmx": lmx.encode(), "notes.json": json.dumps(notes).encode()})
            rows.append({"id": sid, "dataset": dataset, "source": dataset, "piece": "piece", "split": split,
                         "kind": "system", "shard": shard, "image_codes": list(image.shape),
                         "audio_codes": list(audio.shape), "lmx_tokens": len(lmx.split()), "notes": len(notes)})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


RECIPE = """
name = "toy"
data = [{data}]
model = "tiny"
steps = {steps}
batch_size = {batch}
checkpoint_every = {checkpoint_every}
log_every = 1
seed = 0
{extra}

[limits]
image = 200
notation = 200
midi = 200
audio = 200
image_columns = 50

[optim]
lr = {lr}
warmup = {warmup}

{tasks}
"""

ALL_TASKS = [("image", "notation"), ("audio", "midi"), ("midi", "audio"), ("notation", "image"),
             ("image", "audio"), ("audio", "image"), ("notation", "midi"), ("image", "midi"), ("audio", "notation")]


def write_recipe(path: Path, data: Path, *, steps: int = 4, batch: int = 4, checkpoint_every: int = 2,
                 lr: float = 1e-3, warmup: int = 2, tasks: list[tuple[str, str]] | None = None,
                 extra: str = "") -> Path:
    entries = "\n".join(f'[[tasks]]\ndataset = "*"\nsource = "{s}"\ntarget = "{t}"\n'
                        for s, t in (tasks or ALL_TASKS))
    path.write_text(RECIPE.format(data=json.dumps(str(data)), steps=steps, batch=batch,
                                  checkpoint_every=checkpoint_every, lr=lr, warmup=warmup, tasks=entries, extra=extra))
    return path
