"""Training audio for the codec: clips of the TRAIN split of data-engine datasets, and random excerpts.

Only `split == "train"` samples are ever read (checked on the manifest row and again on the decoded
sample), so validation and test audio never reach the codec.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from scorebridge.data.dataset import load_manifest
from scorebridge.data.schema import from_record
from scorebridge.errors import InputError

log = logging.getLogger(__name__)

TRAIN_SPLIT = "train"


@dataclass(frozen=True)
class TrainClips:
    ids: tuple[str, ...]
    audio: tuple[np.ndarray, ...]  # float32 mono at sample_rate, one per id
    sample_rate: int

    @property
    def total_samples(self) -> int:
        return sum(a.size for a in self.audio)


def _train_shards(data_dirs: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, str, frozenset[str]]]:
    """(dataset, shard, train sample ids with audio) for every shard holding such samples."""
    shards: dict[tuple[Path, str], set[str]] = {}
    for d in data_dirs:
        root = Path(d)
        for row in load_manifest(root):
            if row["split"] == TRAIN_SPLIT and row.get("audio_samples"):
                shards.setdefault((root, row["shard"]), set()).add(row["id"])
    return [(root, shard, frozenset(ids)) for (root, shard), ids in sorted(shards.items())]


def load_train_clips(data_dirs: Sequence[str | os.PathLike[str]], sample_rate: int, max_clips: int,
                     seed: int = 0) -> TrainClips:
    """Up to about `max_clips` train clips, whole shards drawn at random (reading a shard is the cost)."""
    import soxr
    import webdataset as wds

    shards = _train_shards(data_dirs)
    if not shards:
        raise InputError(", ".join(str(d) for d in data_dirs), "no train samples with audio in these datasets")
    random.Random(seed).shuffle(shards)
    ids: list[str] = []
    audio: list[np.ndarray] = []
    for root, shard, wanted in shards:
        if len(ids) >= max_clips:
            break
        for record in wds.WebDataset(str(root / shard), shardshuffle=False, empty_check=False):
            if record["__key__"] not in wanted:
                continue
            sample = from_record(record)
            if sample.split != TRAIN_SPLIT or sample.audio is None or sample.audio.size == 0:
                continue
            clip = sample.audio.astype(np.float32)
            if sample.sample_rate != sample_rate:
                clip = soxr.resample(clip, sample.sample_rate, sample_rate, quality="HQ").astype(np.float32)
            ids.append(sample.id)
            audio.append(clip)
    log.info("loaded %d train clips (%.2f h at %d Hz)", len(ids), sum(a.size for a in audio) / sample_rate / 3600,
             sample_rate)
    return TrainClips(tuple(ids), tuple(audio), sample_rate)


def sample_excerpts(clips: TrainClips, batch: int, length: int, generator: torch.Generator,
                    silence_rms: float = 1e-3, tries: int = 20) -> torch.Tensor:
    """FloatTensor[batch, 1, length] of random excerpts (clips weighted by length, short ones zero-padded).

    Near-silent excerpts (RMS below `silence_rms`) are redrawn up to `tries` times: they teach the codec
    nothing and the reference skipped them too.
    """
    weights = torch.tensor([max(a.size - length + 1, 1) for a in clips.audio], dtype=torch.float64)
    out = torch.zeros(batch, 1, length)
    for b in range(batch):
        for _ in range(tries):
            clip = clips.audio[int(torch.multinomial(weights, 1, generator=generator))]
            start = int(torch.randint(0, max(clip.size - length, 0) + 1, (1,), generator=generator))
            piece = torch.from_numpy(clip[start:start + length])
            if float(piece.pow(2).mean().sqrt()) >= silence_rms:
                break
        out[b, 0, :piece.numel()] = piece
    return out
