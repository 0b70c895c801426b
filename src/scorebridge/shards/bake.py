"""Baking: a data-engine dataset into token shards, every image and audio clip tokenized at every shift.

One pixel or one sample of offset changes every code, so (after the reference system) each image is encoded
at the 32 placements of ``tokens.shifts.IMAGE_SHIFTS`` and each clip at the 9 offsets of ``AUDIO_SHIFTS``;
training draws one at random, evaluation takes the centre one. Training images also get degraded variants
(``data.augment``) for when the image is the model's *input*; variant 0 is always the clean image, the only
one used when the image is a target. Valid and test samples get the clean variant only.

The folder and record layout is ``shards.format``'s. Killing a bake at any moment and running it again finishes
it without duplicates: a shard counts as done only when its ``done`` file exists.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import config_to_dict
from ..codecs.audio import AudioCodec, prepare_audio
from ..codecs.image import ImageCodec, image_to_tensor
from ..codecs.loading import Codecs, load_codecs
from ..data.augment import degrade_variants
from ..data.dataset import load_manifest
from ..data.schema import Sample, from_record
from ..engines import Engine, is_url
from ..errors import InputError
from ..fileio import atomic_path
from ..tokens.shifts import AUDIO_SHIFTS, IMAGE_SHIFTS, shift_and_pad_image, shift_audio
from .format import BAKE_VERSION, CODEBOOKS_NAME, MANIFEST_NAME, SETTINGS_NAME, npy_bytes

log = logging.getLogger(__name__)

REFERENCE_DEGRADED = 5  # degraded copies per training image, besides the clean one (reference: 5)


@dataclass(frozen=True)
class BakeOptions:
    degraded: int = REFERENCE_DEGRADED  # extra degraded image variants for training samples
    image_shifts: str = "all"  # "all" (32) or "centre" (1: a quick bake for evaluation or CPU experiments)
    audio_shifts: str = "all"  # "all" (9) or "centre"
    seed: int = 0
    splits: tuple[str, ...] = ("train", "valid", "test")

    def __post_init__(self) -> None:
        for name in (self.image_shifts, self.audio_shifts):
            if name not in ("all", "centre"):
                raise ValueError(f"shifts must be 'all' or 'centre', not {name!r}")
        if self.degraded < 0:
            raise ValueError(f"degraded must be >= 0, not {self.degraded}")


@dataclass(frozen=True)
class BakeReport:
    out: Path
    shards: int
    baked_shards: int  # in this run; the others were done before
    samples: int
    image_encodes: int  # images passed through the encoder in this run (shifts x variants)
    audio_seconds: float  # audio seconds passed through the encoder in this run (all shifts)


def image_shift_list(options: BakeOptions) -> list[tuple[int, int]]:
    return list(IMAGE_SHIFTS) if options.image_shifts == "all" else [(0, 0)]


def audio_shift_list(options: BakeOptions) -> list[int]:
    return list(AUDIO_SHIFTS) if options.audio_shifts == "all" else [0]


def sample_seed(sample_id: str, seed: int) -> int:
    """A stable per-sample seed (Python's hash() changes between runs)."""
    return zlib.crc32(sample_id.encode()) ^ (seed * 0x9E3779B1 & 0xFFFFFFFF)


def bake_image(codec: ImageCodec, img: np.ndarray, shifts: Sequence[tuple[int, int]], variants: int,
               seed: int) -> np.ndarray:
    """int16 (S, V, h, w, Q) codes of ``img`` at every shift, for the clean image and ``variants - 1`` degraded
    copies (each degraded once, then placed at every shift, so the shifts of a variant show the same pixels)."""
    device = next(codec.parameters()).device
    per_variant = []
    for variant in degrade_variants(img, variants, seed):
        batch = torch.cat([image_to_tensor(shift_and_pad_image(variant, dx, dy)) for dx, dy in shifts])
        per_variant.append(codec.encode(batch.to(device)).cpu().numpy())  # (S, h, w, Q)
    return np.stack(per_variant, axis=1).astype(np.int16)


def bake_audio(codec: AudioCodec, audio: np.ndarray, sample_rate: int, shifts: Sequence[int]) -> np.ndarray:
    """int16 (S, Q, frames) codes of mono ``audio`` resampled to the codec's rate, at every offset (in samples
    of the codec's rate, as the reference's -20..+20 at 44.1 kHz)."""
    device = next(codec.parameters()).device
    wav = prepare_audio(audio, sample_rate, codec.config.sample_rate)[0, 0].numpy()
    batch = torch.from_numpy(np.stack([shift_audio(wav, s) for s in shifts]))[:, None]
    return codec.encode(batch.to(device)).cpu().numpy().astype(np.int16)


def bake_sample(sample: Sample, codecs: Codecs, options: BakeOptions) -> dict[str, Any]:
    """The token record of one sample (pure given the codecs and options); the caller adds its LMX and notes."""
    row = sample.row()
    meta: dict[str, Any] = {"sample": row, "meta": dict(sample.meta)}
    record: dict[str, Any] = {"__key__": sample.id}
    seed = sample_seed(sample.id, options.seed)
    if sample.image is not None and codecs.image is not None:
        variants = 1 + (options.degraded if sample.split == "train" else 0)
        codes = bake_image(codecs.image, sample.image, image_shift_list(options), variants, seed)
        record["image.npy"] = npy_bytes(codes)
        meta["image_codes"] = list(codes.shape)
        meta["image_shifts"] = [list(s) for s in image_shift_list(options)]
    if sample.audio is not None and codecs.audio is not None:
        codes = bake_audio(codecs.audio, sample.audio, sample.sample_rate, audio_shift_list(options))
        record["audio.npy"] = npy_bytes(codes)
        meta["audio_codes"] = list(codes.shape)
        meta["audio_shifts"] = audio_shift_list(options)
        meta["audio_sample_rate"] = codecs.audio.config.sample_rate
    record["json"] = json.dumps(meta, sort_keys=True).encode()
    return record


@dataclass(frozen=True)
class _ShardJob:
    dataset: str
    root: Path
    shard: str
    ids: frozenset[str]


@dataclass(frozen=True)
class _ShardDone:
    image_encodes: int
    audio_seconds: float


def bake(data_dirs: Sequence[str | os.PathLike[str]], codecs_dir: str | os.PathLike[str],
         out: str | os.PathLike[str], options: BakeOptions = BakeOptions(), limit: int | None = None,
         progress: bool = False, device: str = "cpu", workers: int = 0, engine: Engine | None = None) -> BakeReport:
    """Bake (or resume baking) datasets into token shards in ``out``; see the module docstring.

    ``workers`` > 0 bakes that many shards at once in worker processes (each loads the codecs on ``device``);
    the tokens are the same as a sequential bake's, since every sample's randomness is seeded by its id.
    ``engine`` = ``Engine("ray")`` bakes on Ray actors instead (see ``_run_jobs_ray``)."""
    from tqdm import tqdm

    for where in (out, codecs_dir, *data_dirs):
        if is_url(where):  # Path() would turn s3://b/x into a local folder s3:/b/x
            raise InputError(str(where), "codec bake reads and writes paths (a shared filesystem), not URLs")
    out = Path(out)
    codecs = load_codecs(codecs_dir, device)
    datasets = {_dataset_name(Path(d)): Path(d) for d in data_dirs}
    if len(datasets) != len(data_dirs):
        raise InputError(out, "two datasets share a folder name; bake them into separate folders")
    _check_or_write_settings(out, codecs, options, datasets)
    _write_codebooks(out, codecs)
    jobs: list[_ShardJob] = []
    for name, root in datasets.items():
        by_shard: dict[str, set[str]] = {}
        for r in load_manifest(root):
            if r["split"] in options.splits:
                by_shard.setdefault(r["shard"], set()).add(r["id"])
        jobs += [_ShardJob(name, root, shard, frozenset(ids)) for shard, ids in by_shard.items()]
    if limit is not None:
        jobs = jobs[:limit]
    todo = [job for job in jobs if not _done_file(out, job.dataset, job.shard).exists()]
    encodes, audio_s = 0, 0.0
    with tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="bake", unit="shard",
              disable=not progress) as bar:
        for done in _run_jobs(todo, codecs, codecs_dir, options, out, device, workers, engine):
            encodes += done.image_encodes
            audio_s += done.audio_seconds
            bar.update(1)
    total = _write_manifest(out, jobs)
    return BakeReport(out, len(jobs), len(todo), total, encodes, audio_s)


def _run_jobs(todo: Sequence[_ShardJob], codecs: Codecs, codecs_dir: str | os.PathLike[str], options: BakeOptions,
              out: Path, device: str, workers: int, engine: Engine | None = None) -> Iterator[_ShardDone]:
    if engine is not None and engine.is_ray:
        if todo:
            yield from _run_jobs_ray(todo, codecs_dir, options, out, device, workers, engine)
        return
    if workers <= 0 or len(todo) <= 1:
        for job in todo:
            yield _bake_shard(job, codecs, options, out)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: a forked child cannot use a CUDA context, and torch's thread pools misbehave after fork
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                             initargs=(str(codecs_dir), device)) as pool:
        futures = [pool.submit(_worker_bake, job, options, out) for job in todo]
        for future in as_completed(futures):
            yield future.result()


def _run_jobs_ray(todo: Sequence[_ShardJob], codecs_dir: str | os.PathLike[str], options: BakeOptions, out: Path,
                  device: str, workers: int, engine: Engine) -> Iterator[_ShardDone]:
    """One Ray actor per CPU of the cluster (per GPU with ``device`` cuda), each loading the codecs once; the
    codecs, inputs and ``out`` must be at the same path on every node (a shared filesystem)."""
    from ..engines.ray_engine import cluster_count, imap_actors, ray_session
    from ..engines.storage import LocalStorage

    gpu = str(device).startswith("cuda")
    with ray_session(engine):
        actors = cluster_count("GPU" if gpu else "CPU")
        if workers > 0:
            actors = min(actors, workers)
        # absolute paths: a Ray worker does not start in this process's working directory
        todo = [dataclasses.replace(job, root=job.root.absolute()) for job in todo]
        yield from imap_actors(_ray_setup, (str(Path(codecs_dir).absolute()), device), _ray_bake,
                               (options, out.absolute()), todo, engine=engine, actors=min(actors, len(todo)),
                               describe=lambda j: f"shard {j.dataset}/{j.shard}", num_gpus=1 if gpu else 0)
    # an actor killed while writing left its temporary file; every job has finished, so none is in use
    store = LocalStorage(out)
    for name in {job.dataset for job in todo}:
        store.sweep_parts(f"shards/{name}")
        store.sweep_parts(f"done/{name}")


def _ray_setup(codecs_dir: str, device: str) -> Codecs:
    if not str(device).startswith("cuda"):
        torch.set_num_threads(1)  # one actor per CPU
    return load_codecs(codecs_dir, device)


def _ray_bake(codecs: Codecs, options: BakeOptions, out: Path, job: _ShardJob) -> _ShardDone:
    return _bake_shard(job, codecs, options, out)


_WORKER_CODECS: Codecs | None = None


def _worker_init(codecs_dir: str, device: str) -> None:
    global _WORKER_CODECS
    torch.set_num_threads(1)  # the workers share the cores
    _WORKER_CODECS = load_codecs(codecs_dir, device)


def _worker_bake(job: _ShardJob, options: BakeOptions, out: Path) -> _ShardDone:
    assert _WORKER_CODECS is not None, "worker not initialised"
    return _bake_shard(job, _WORKER_CODECS, options, out)


def _bake_shard(job: _ShardJob, codecs: Codecs, options: BakeOptions, out: Path) -> _ShardDone:
    """Token shard and done file of one input shard (both written atomically, the done file last)."""
    import webdataset as wds

    encodes, audio_s = 0, 0.0
    baked_rows = []
    target = out / "shards" / job.dataset / Path(job.shard).name
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp, wds.TarWriter(str(tmp)) as sink:
        for raw in wds.WebDataset(str(job.root / job.shard), shardshuffle=False, empty_check=False):
            if raw["__key__"] not in job.ids:
                continue
            sample = from_record(raw)
            record = bake_sample(sample, codecs, options)
            # LMX and notes go through as the data engine wrote them (same encoding, no round trip)
            record.update({k: raw[k] for k in ("lmx", "notes.json") if k in raw})
            sink.write(record)
            meta = json.loads(record["json"])
            if "image_codes" in meta:
                encodes += meta["image_codes"][0] * meta["image_codes"][1]
            if "audio_codes" in meta and sample.audio is not None:
                audio_s += len(sample.audio) / sample.sample_rate * meta["audio_codes"][0]
            baked_rows.append(_manifest_row(sample, meta, f"shards/{job.dataset}/{target.name}", job.dataset))
    done = _done_file(out, job.dataset, job.shard)
    done.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(done) as tmp:
        tmp.write_text(json.dumps(baked_rows) + "\n")
    return _ShardDone(encodes, audio_s)


def _dataset_name(root: Path) -> str:
    if not (root / "manifest.jsonl").is_file():  # the data engine's manifest
        raise InputError(root, "not a built dataset (no manifest.jsonl); run `scorebridge data build` first")
    return root.resolve().name


def _done_file(out: Path, name: str, shard: str) -> Path:
    return out / "done" / name / (Path(shard).stem + ".json")


def _manifest_row(sample: Sample, meta: dict[str, Any], shard: str, dataset: str) -> dict[str, Any]:
    return {"id": sample.id, "dataset": dataset, "source": sample.source, "piece": sample.piece,
            "split": sample.split, "kind": sample.kind, "shard": shard,
            "image_codes": meta.get("image_codes"), "audio_codes": meta.get("audio_codes"),
            "lmx_tokens": len(sample.lmx) if sample.lmx is not None else None,
            "notes": len(sample.notes) if sample.notes is not None else None}


def _write_manifest(out: Path, jobs: Sequence[_ShardJob]) -> int:
    rows: list[dict] = []
    for job in jobs:
        rows += json.loads(_done_file(out, job.dataset, job.shard).read_text())
    with atomic_path(out / MANIFEST_NAME) as tmp:
        tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return len(rows)


def _settings(codecs: Codecs, options: BakeOptions, datasets: dict[str, Path]) -> dict[str, Any]:
    return {
        "version": BAKE_VERSION, "options": config_to_dict(options), "datasets": sorted(datasets),
        "image_codec": config_to_dict(codecs.image.config) if codecs.image else None,
        "audio_codec": config_to_dict(codecs.audio.config) if codecs.audio else None,
        "codec_digest": _codec_digest(codecs),
    }


def _codec_digest(codecs: Codecs) -> str:
    """A checksum of the codebooks: baking resumed with other weights would mix two token vocabularies."""
    crc = 0
    for codec in (codecs.image, codecs.audio):
        if codec is not None:
            crc = zlib.crc32(codec.codebook_vectors().detach().float().cpu().numpy().tobytes(), crc)
    return f"{crc:08x}"


def _check_or_write_settings(out: Path, codecs: Codecs, options: BakeOptions, datasets: dict[str, Path]) -> None:
    settings = _settings(codecs, options, datasets)
    file = out / SETTINGS_NAME
    if file.exists():
        old = json.loads(file.read_text())
        if old != settings:
            changed = sorted(k for k in settings if old.get(k) != settings[k])
            raise InputError(out, f"already holds a bake with other settings ({', '.join(changed)}); "
                                  "use a new --out folder")
        return
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(file) as tmp:
        tmp.write_text(json.dumps(settings, indent=1, sort_keys=True) + "\n")


def _write_codebooks(out: Path, codecs: Codecs) -> None:
    from safetensors.torch import save_file

    tensors = {}
    if codecs.image is not None:
        tensors["image"] = codecs.image.codebook_vectors().detach().float().cpu().contiguous()
    if codecs.audio is not None:
        tensors["audio"] = codecs.audio.codebook_vectors().detach().float().cpu().contiguous()
    with atomic_path(out / CODEBOOKS_NAME) as tmp:
        save_file(tensors, str(tmp))
