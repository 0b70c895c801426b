"""Copy a seeded subset of built datasets into a small folder of the same format, audio resampled (24 kHz,
16-bit FLAC by default): what travels to a lent GPU machine (a size limit on the files it takes) or a laptop.

    python scripts/subset_dataset.py --data /work/datasets/kern-piano --out gpu/data/kern-piano \
        --train-mb 18 --valid-mb 0.7

Whole shards (pieces) are drawn at random per split until the split's budget is spent, so pieces never straddle
splits and the subset keeps the dataset's split rules. The copy's manifest and config.json are rewritten to match.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import tarfile
from pathlib import Path

import numpy as np
import soxr
import webdataset as wds

from scorebridge.data.dataset import load_manifest
from scorebridge.data.schema import from_record, to_record
from scorebridge.fileio import atomic_dir


def _record_bytes(record: dict) -> int:
    return sum(len(v) for k, v in record.items() if not k.startswith("__"))


def _resampled(sample, sample_rate: int, keep: frozenset[str]):
    from dataclasses import replace

    dropped = {k: None for k, name in (("image", "image"), ("lmx", "lmx"), ("notes", "midi"), ("audio", "audio"))
               if name not in keep}
    sample = replace(sample, **dropped)
    if sample.audio is None or sample.sample_rate == sample_rate:
        return sample
    audio = soxr.resample(sample.audio.astype(np.float32), sample.sample_rate, sample_rate, quality="HQ")
    return replace(sample, audio=np.clip(audio, -1.0, 1.0).astype(np.float32), sample_rate=sample_rate)


def _write_shard(path: Path, records: list[dict]) -> None:
    with tarfile.open(path, "w") as tar:
        for rec in records:
            for ext, payload in rec.items():
                if ext.startswith("__"):
                    continue
                info = tarfile.TarInfo(f"{rec['__key__']}.{ext}")
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))


def _rows_by_shard(data: Path) -> dict[str, list[dict]]:
    by_shard: dict[str, list[dict]] = {}
    for r in load_manifest(data):
        by_shard.setdefault(r["shard"], []).append(r)
    return by_shard


def _shuffled_shards(by_shard: dict[str, list[dict]], split: str, seed: int) -> list[str]:
    """The shards wholly of ``split`` (pieces never straddle splits), in a seeded random order."""
    shards = sorted(s for s, rs in by_shard.items() if all(r["split"] == split for r in rs))
    random.Random(f"{seed}-{split}").shuffle(shards)
    return shards


def subset(data: Path, out: Path, budgets: dict[str, float], sample_rate: int, seed: int,
           keep: frozenset[str] = frozenset({"image", "lmx", "midi", "audio"})) -> dict[str, int]:
    by_shard = _rows_by_shard(data)
    counts: dict[str, int] = {}
    with atomic_dir(out) as tmp:
        (tmp / "shards").mkdir()
        manifest: list[dict] = []
        for split, mb in budgets.items():
            shards = _shuffled_shards(by_shard, split, seed)
            spent, n = 0, 0
            for shard in shards:
                if spent >= mb * 1e6:
                    break
                records, kept = [], []
                for rec in wds.WebDataset(str(data / shard), shardshuffle=False, empty_check=False):
                    sample = _resampled(from_record(rec), sample_rate, keep)
                    records.append(to_record(sample, audio_subtype="PCM_16"))
                    kept.append({**sample.row(), "shard": f"shards/{Path(shard).name}"})
                _write_shard(tmp / "shards" / Path(shard).name, records)
                spent += sum(_record_bytes(r) for r in records)
                manifest += kept
                n += len(kept)
            counts[split] = n
            print(f"{data.name} {split}: {n} samples, {spent / 1e6:.1f} MB")
        (tmp / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in manifest))
        config = json.loads((data / "config.json").read_text())
        config["config"]["sample_rate"] = sample_rate
        config["subset_of"] = str(data)
        (tmp / "config.json").write_text(json.dumps(config, indent=1))
    return counts


def link_subset(data: Path, out: Path, budgets: dict[str, int], seed: int) -> dict[str, int]:
    """A view: a manifest of whole shards drawn at random until each split has its number of samples, with
    ``shards`` a link to the original folder (nothing copied; readers follow the manifest)."""
    by_shard = _rows_by_shard(data)
    counts: dict[str, int] = {}
    with atomic_dir(out) as tmp:
        manifest: list[dict] = []
        for split, wanted in budgets.items():
            shards = _shuffled_shards(by_shard, split, seed)
            n = 0
            for shard in shards:
                if n >= wanted:
                    break
                manifest += by_shard[shard]
                n += len(by_shard[shard])
            counts[split] = n
            print(f"{data.name} {split}: {n} samples (linked)")
        (tmp / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in manifest))
        config = json.loads((data / "config.json").read_text())
        config["subset_of"] = str(data.resolve())
        (tmp / "config.json").write_text(json.dumps(config, indent=1))
        (tmp / "shards").symlink_to((data / "shards").resolve())
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--train-mb", type=float, required=True)
    ap.add_argument("--valid-mb", type=float, default=0.0)
    ap.add_argument("--test-mb", type=float, default=0.0)
    ap.add_argument("--sample-rate", type=int, default=24000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default="image,lmx,midi,audio", help="modalities to copy (comma-separated)")
    ap.add_argument("--link", action="store_true",
                    help="write a view (manifest + link to the shards); the budgets count samples, not MB")
    a = ap.parse_args()
    if a.link:
        counts = {k: int(v) for k, v in (("train", a.train_mb), ("valid", a.valid_mb), ("test", a.test_mb)) if v > 0}
        link_subset(a.data, a.out, counts, a.seed)
        return
    budgets = {k: v for k, v in (("train", a.train_mb), ("valid", a.valid_mb), ("test", a.test_mb)) if v > 0}
    subset(a.data, a.out, budgets, a.sample_rate, a.seed, frozenset(a.keep.split(",")))


if __name__ == "__main__":
    main()
