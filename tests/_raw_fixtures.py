"""A small built dataset in the data engine's format (manifest.jsonl + a tar shard), made directly: images whose
ink pattern and audio whose tones follow the sample's notes, so a tiny model can learn them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import webdataset as wds

from _baked_fixtures import LMX_SNIPPETS
from scorebridge.data.schema import Sample, to_record
from scorebridge.midi import Note

RATE = 16_000


def _image(i: int) -> np.ndarray:
    img = np.full((40, 96 + 16 * (i % 3)), 255, np.uint8)
    for k in range(5):  # a staff
        img[10 + 4 * k, :] = 0
    img[4:36, 24 * (i % 4): 24 * (i % 4) + 20] = 0  # a block whose place names the sample
    return img


def _audio(notes: list[Note], ms: int) -> np.ndarray:
    t = np.arange(ms * RATE // 1000) / RATE
    out = np.zeros_like(t)
    for n in notes:
        on = (t >= n.onset / 1000) & (t < n.offset / 1000)
        out[on] += 0.3 * np.sin(2 * np.pi * 440 * 2 ** ((n.pitch - 69) / 12) * t[on])
    return out.astype(np.float32)


def write_raw(root: Path, n_train: int = 4, n_valid: int = 2, source: str = "toyraw") -> Path:
    """``root`` as a built dataset of ``n_train`` + ``n_valid`` one-second system samples (image, LMX, notes,
    audio at 16 kHz)."""
    shard = "shards/piece.tar"
    (root / "shards").mkdir(parents=True, exist_ok=True)
    rows = []
    with wds.TarWriter(str(root / shard)) as sink:
        for i in range(n_train + n_valid):
            notes = [Note(0, 400, 60 + i, 80), Note(500, 900, 64 + i % 5, 80)]
            sample = Sample(id=f"{source}/piece/system-{i:04d}", source=source, piece="piece",
                            split="train" if i < n_train else "valid", kind="system", start_ms=0, end_ms=1000,
                            sample_rate=RATE, image=_image(i), lmx=tuple(LMX_SNIPPETS[i % len(LMX_SNIPPETS)].split()),
                            notes=tuple(notes), audio=_audio(notes, 1000))
            sink.write(to_record(sample))
            rows.append({**sample.row(), "shard": shard})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root
