"""Reading a built dataset: the manifest, samples streamed from the WebDataset shards, statistics, export."""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scorebridge.constants import IMAGE_PATCH_PX
from scorebridge.data.schema import SPLITS, Sample, from_record
from scorebridge.errors import InputError


def _dataset_dir(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not (path / "manifest.jsonl").is_file():
        raise InputError(path, "not a scorebridge dataset (no manifest.jsonl; build one with `scorebridge data build`)")
    return path


def load_manifest(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    path = _dataset_dir(path)
    return [json.loads(line) for line in (path / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line]


def load_rejected(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    path = _dataset_dir(path) / "rejected.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def iter_samples(path: str | os.PathLike[str], split: str | None = None) -> Iterator[Sample]:
    """Every sample in manifest order (shard by shard), optionally of one split, decoded from the shards."""
    import webdataset as wds

    root = _dataset_dir(path)
    rows = [r for r in load_manifest(root) if split is None or r["split"] == split]
    shards = list(dict.fromkeys(r["shard"] for r in rows))
    wanted = {r["id"] for r in rows}
    for shard in shards:
        # Decoded by hand (from_record), not by webdataset's decoders, so that shards stay plain files.
        for record in wds.WebDataset(str(root / shard), shardshuffle=False, empty_check=False):
            sample = from_record(record)
            if sample.id in wanted:
                yield sample


def get_sample(path: str | os.PathLike[str], sample_id: str) -> Sample:
    import webdataset as wds

    root = _dataset_dir(path)
    row = next((r for r in load_manifest(root) if r["id"] == sample_id), None)
    if row is None:
        raise InputError(root, f"no sample {sample_id!r} in the manifest")
    for record in wds.WebDataset(str(root / row["shard"]), shardshuffle=False, empty_check=False):
        if record["__key__"] == sample_id:
            return from_record(record)
    raise InputError(root / row["shard"], f"sample {sample_id!r} is in the manifest but not in its shard")


@dataclass
class SplitStats:
    samples: int = 0
    systems: int = 0  # system samples
    windows: int = 0  # long window samples
    pieces: int = 0
    audio_hours: float = 0.0
    image_patches: int = 0  # 16x16 patches over all images
    lmx_tokens: int = 0
    notes: int = 0
    by_kind_modalities: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetStats:
    splits: dict[str, SplitStats]
    rejected: int
    rejected_reasons: dict[str, int]


def dataset_stats(path: str | os.PathLike[str]) -> DatasetStats:
    """Counts per split from the manifest alone (no shard is read)."""
    rows = load_manifest(path)
    stats = {s: SplitStats() for s in SPLITS}
    pieces: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        st = stats[r["split"]]
        st.samples += 1
        st.systems += r["kind"] == "system"
        st.windows += r["kind"] == "window"
        pieces[r["split"]].add(r["piece"])
        if r.get("audio_samples"):
            st.audio_hours += r["audio_samples"] / r["sample_rate"] / 3600
        if r.get("image_hw"):
            h, w = r["image_hw"]
            st.image_patches += -(-h // IMAGE_PATCH_PX) * -(-w // IMAGE_PATCH_PX)
        st.lmx_tokens += r.get("lmx_tokens") or 0
        st.notes += r.get("notes") or 0
        key = f"{r['kind']}:{'+'.join(r['modalities'])}"
        st.by_kind_modalities[key] = st.by_kind_modalities.get(key, 0) + 1
    for split, names in pieces.items():
        stats[split].pieces = len(names)
    rejected = load_rejected(path)
    reasons: dict[str, int] = defaultdict(int)
    for r in rejected:
        reasons[_reason_class(r["reason"])] += 1
    return DatasetStats(stats, len(rejected), dict(sorted(reasons.items(), key=lambda kv: -kv[1])))


def _reason_class(reason: str) -> str:
    """Group reasons for a summary: drop the file path, details in parentheses and the numbers."""
    text = reason.split(": ", 1)[1] if reason.startswith("/") and ": " in reason else reason
    return re.sub(r"\d+", "N", text.split(" (")[0])[:80]  # "544 performance beats for 547 ..." -> one class


def export_sample(sample: Sample, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write a sample's modalities as ordinary files (PNG, LMX, MusicXML, MIDI, WAV, JSON) for a person to check."""
    import soundfile as sf
    from PIL import Image

    from scorebridge.fileio import atomic_dir
    from scorebridge.midi import write_midi
    from scorebridge.notation import lmx_to_musicxml

    out_dir = Path(out_dir)
    names: list[str] = []
    with atomic_dir(out_dir) as tmp:
        meta = {**sample.row(), "meta": dict(sample.meta)}
        (tmp / "sample.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        names.append("sample.json")
        if sample.image is not None:
            Image.fromarray(sample.image, mode="L").save(tmp / "image.png")
            names.append("image.png")
        if sample.lmx is not None:
            (tmp / "notation.lmx").write_text(" ".join(sample.lmx) + "\n", encoding="utf-8")
            (tmp / "notation.musicxml").write_text(lmx_to_musicxml(list(sample.lmx)), encoding="utf-8")
            names += ["notation.lmx", "notation.musicxml"]
        if sample.notes is not None:
            write_midi(list(sample.notes), tmp / "notes.mid")
            names.append("notes.mid")
        if sample.audio is not None:
            sf.write(tmp / "audio.wav", sample.audio, sample.sample_rate, subtype="PCM_16")
            names.append("audio.wav")
    return [out_dir / n for n in names]


def format_stats(stats: DatasetStats) -> str:
    """A markdown table per split, then the rejection reasons."""
    lines = ["| split | pieces | samples | systems | windows | audio h | image patches | LMX tokens | notes |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for split, st in stats.splits.items():
        lines.append(f"| {split} | {st.pieces} | {st.samples} | {st.systems} | {st.windows} | {st.audio_hours:.2f} "
                     f"| {st.image_patches} | {st.lmx_tokens} | {st.notes} |")
    lines.append(f"\nrejected pieces: {stats.rejected}")
    lines += [f"  {n:5d}  {reason}" for reason, n in stats.rejected_reasons.items()]
    return "\n".join(lines) + "\n"
