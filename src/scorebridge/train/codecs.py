"""Training the codecs on data-engine datasets: their train splits read into memory, then the codecs' own loops.

The loops (``codecs.image.train_on_images``, ``codecs.audio.train_on_clips``) take images and clips in memory;
reading datasets sits here, above ``data``, so that ``codecs`` never imports the data engine. Only samples of
split ``train`` are ever read (checked on the manifest row and again on the decoded sample), so validation and
test material never reaches a codec.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from scorebridge.codecs.audio import AudioTrainConfig, AudioTrainResult, TrainClips, audio_preset, train_on_clips
from scorebridge.codecs.image import ImageTrainConfig, ImageTrainResult, train_on_images
from scorebridge.data.dataset import load_manifest
from scorebridge.data.schema import Sample, from_record
from scorebridge.deadline import Deadline
from scorebridge.errors import InputError

log = logging.getLogger(__name__)

TRAIN_SPLIT = "train"


def train_image_codec(config: ImageTrainConfig, data_dirs: Sequence[str | os.PathLike[str]],
                      out_dir: str | os.PathLike[str], device: str | torch.device = "cpu",
                      deadline: Deadline | None = None) -> ImageTrainResult:
    """Train (or resume training) the codec of ``config.preset`` on the train split of data-engine datasets."""
    images = load_train_images([Path(d) for d in data_dirs], config.max_images, config.seed)
    return train_on_images(config, images, Path(out_dir), device, deadline)


def train_audio_codec(config: AudioTrainConfig, data_dirs: Sequence[str | os.PathLike[str]],
                      out_dir: str | os.PathLike[str], device: str = "cpu", progress: bool = True,
                      deadline: Deadline | None = None) -> AudioTrainResult:
    """Train (or resume training) a codec of ``config.preset`` on the train split of ``data_dirs``. Past
    ``deadline`` it saves and returns early; the same call resumes."""
    clips = load_train_clips(data_dirs, audio_preset(config.preset).sample_rate, config.max_clips, config.seed)
    return train_on_clips(config, clips, out_dir, device, progress, deadline)


def load_train_images(data_dirs: Sequence[Path], max_images: int, seed: int) -> list[np.ndarray]:
    """Up to ``max_images`` system images of split "train" (never valid/test) from a seeded random choice of
    shards (pieces): reading whole shards, not scattered samples, keeps start-up to the shards needed."""
    shards: dict[tuple[Path, str], int] = {}
    for d in map(Path, data_dirs):
        for r in load_manifest(d):
            if r["split"] == TRAIN_SPLIT and r.get("image_hw"):
                shards[(d, r["shard"])] = shards.get((d, r["shard"]), 0) + 1
    order = sorted(shards)
    np.random.default_rng(seed).shuffle(order)
    images: list[np.ndarray] = []
    for d, shard in order:
        if len(images) >= max_images:
            break
        for sample in _train_samples(d, shard, None):
            if sample.image is not None and len(images) < max_images:
                images.append(sample.image)
    if not images:
        raise InputError(data_dirs[0] if data_dirs else ".", "no train-split images in the given datasets")
    log.info("%d train images from %d dataset(s)", len(images), len(data_dirs))
    return images


def load_train_clips(data_dirs: Sequence[str | os.PathLike[str]], sample_rate: int, max_clips: int,
                     seed: int = 0) -> TrainClips:
    """Up to about ``max_clips`` train clips at ``sample_rate``, whole shards drawn at random (reading a shard is
    the cost)."""
    import soxr

    shards = _audio_shards(data_dirs)
    if not shards:
        raise InputError(", ".join(str(d) for d in data_dirs), "no train samples with audio in these datasets")
    random.Random(seed).shuffle(shards)
    ids: list[str] = []
    audio: list[np.ndarray] = []
    for root, shard, wanted in shards:
        if len(ids) >= max_clips:
            break
        for sample in _train_samples(root, shard, wanted):
            if sample.audio is None or sample.audio.size == 0:
                continue
            clip = sample.audio.astype(np.float32)
            if sample.sample_rate != sample_rate:
                clip = soxr.resample(clip, sample.sample_rate, sample_rate, quality="HQ").astype(np.float32)
            ids.append(sample.id)
            audio.append(clip)
    log.info("loaded %d train clips (%.2f h at %d Hz)", len(ids), sum(a.size for a in audio) / sample_rate / 3600,
             sample_rate)
    return TrainClips(tuple(ids), tuple(audio), sample_rate)


def _audio_shards(data_dirs: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, str, frozenset[str]]]:
    """(dataset, shard, train sample ids with audio) for every shard holding such samples."""
    shards: dict[tuple[Path, str], set[str]] = {}
    for root in map(Path, data_dirs):
        for row in load_manifest(root):
            if row["split"] == TRAIN_SPLIT and row.get("audio_samples"):
                shards.setdefault((root, row["shard"]), set()).add(row["id"])
    return [(root, shard, frozenset(ids)) for (root, shard), ids in sorted(shards.items())]


def _train_samples(root: Path, shard: str, wanted: frozenset[str] | None) -> Iterator[Sample]:
    """The train-split samples of one shard (of ``wanted`` ids when given), decoded."""
    import webdataset as wds

    for record in wds.WebDataset(str(root / shard), shardshuffle=False, empty_check=False):
        if wanted is not None and record["__key__"] not in wanted:
            continue
        sample = from_record(record)
        if sample.split == TRAIN_SPLIT:
            yield sample
