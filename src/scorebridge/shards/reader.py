"""Reading baked token shards: in order (``iter_baked``) or any sample by its manifest row (``ShardReader``).

A training step draws samples anywhere in the data (the batch of step s is a pure function of the seed and s,
which makes resuming exact and DDP ranks independent), so shards are indexed once — tar headers only — and
records are read with ``os.pread`` at their offsets. ``pread`` does not move a shared file position, so the open
descriptors stay valid in forked DataLoader workers.

``ShardReader.preload`` instead reads every shard of a run once, front to back, and keeps the decoded samples
in memory (a lease's few hundred MB of tokens): a step then indexes arrays instead of reading and decoding tar
records, and forked workers share the preloaded samples copy-on-write.
"""

from __future__ import annotations

import json
import logging
import os
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scorebridge.errors import InputError

from .format import CODEBOOKS_NAME, SETTINGS_NAME, BakedSample, baked_from_record, read_baked_manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BakedRow:
    """One manifest row of a baked folder: where the sample is and which modalities it holds."""

    folder: Path
    id: str
    dataset: str
    split: str
    kind: str
    shard: str
    image_codes: tuple[int, ...] | None  # (shifts, variants, h, w, Q)
    audio_codes: tuple[int, ...] | None  # (shifts, Q, frames)
    lmx_tokens: int | None
    notes: int | None
    raw: bool = False  # a built dataset's row read as signal (train.raw), not a baked one

    @classmethod
    def from_manifest(cls, folder: Path, row: dict[str, Any]) -> BakedRow:
        def shape(value: Any) -> tuple[int, ...] | None:
            return tuple(int(v) for v in value) if value is not None else None

        return cls(folder, row["id"], row["dataset"], row["split"], row["kind"], row["shard"],
                   shape(row.get("image_codes")), shape(row.get("audio_codes")), row.get("lmx_tokens"),
                   row.get("notes"))


@dataclass(frozen=True)
class BakeInfo:
    """The settings shared by every baked folder of a run (they must agree: one token vocabulary)."""

    image_codec: dict[str, Any] | None
    audio_codec: dict[str, Any] | None
    codec_digest: str
    codebooks: Path = field(compare=False)  # codebooks.safetensors of the first folder


NO_BAKE = BakeInfo(None, None, "", Path())  # data that is only built datasets (train.raw): no codec vocabulary


def bake_info_of(folder: str | os.PathLike[str]) -> BakeInfo:
    """The codec settings of one baked folder (its ``bake.json``); InputError when it is not one."""
    folder = Path(folder)
    file = folder / SETTINGS_NAME
    if not file.is_file():
        raise InputError(folder, "not a baked token folder (no bake.json); run `scorebridge codec bake`")
    settings = json.loads(file.read_text())
    return BakeInfo(settings.get("image_codec"), settings.get("audio_codec"), settings["codec_digest"],
                    folder / CODEBOOKS_NAME)


def baked_rows(folder: str | os.PathLike[str], split: str | None = None) -> list[BakedRow]:
    """The manifest rows of one baked folder, optionally of one split, in manifest order."""
    return [BakedRow.from_manifest(Path(folder), r) for r in read_baked_manifest(Path(folder))
            if split is None or r["split"] == split]


def iter_baked(folder: str | os.PathLike[str], split: str | None = None) -> Iterator[BakedSample]:
    """Every baked sample of a folder in manifest order (one pass over each shard), optionally of one split."""
    import webdataset as wds

    root = Path(folder)
    rows = [r for r in read_baked_manifest(root) if split is None or r["split"] == split]
    wanted = {r["id"] for r in rows}
    for shard in dict.fromkeys(r["shard"] for r in rows):
        for raw in wds.WebDataset(str(root / shard), shardshuffle=False, empty_check=False):
            if raw["__key__"] in wanted:
                yield baked_from_record(raw)


def _record_key(name: str) -> tuple[str, str]:
    """WebDataset's split of a member name: the key ends at the first dot after the last slash."""
    slash = name.rfind("/") + 1
    dot = name.find(".", slash)
    return (name[:dot], name[dot + 1:]) if dot >= 0 else (name, "")


class ShardReader:
    """Reads baked samples by row. Indexes each shard on first use; safe to use after fork (see module doc)."""

    def __init__(self) -> None:
        self._index: dict[Path, dict[str, dict[str, tuple[int, int]]]] = {}
        self._fds: dict[Path, int] = {}
        self._held: dict[tuple[Path, str], dict[str, Any]] = {}

    def preload(self, rows: Sequence[BakedRow]) -> int:
        """Read the shards of ``rows`` once each and keep their records in memory; returns the samples held."""
        wanted: dict[Path, set[str]] = {}
        for row in rows:
            wanted.setdefault(row.folder / row.shard, set()).add(row.id)
        for path, ids in wanted.items():
            if not path.is_file():
                raise InputError(path, "baked shard listed in the manifest is missing")
            records: dict[str, dict[str, Any]] = {}
            try:
                with tarfile.open(path) as tar:
                    for info in tar:
                        key, ext = _record_key(info.name)
                        if info.isfile() and key in ids:
                            file = tar.extractfile(info)
                            records.setdefault(key, {"__key__": key})[ext] = file.read() if file else b""
            except tarfile.TarError as exc:
                raise InputError(path, f"unreadable token shard ({exc})") from None
            for key, raw in records.items():  # raw records: built-dataset rows (train.raw) decode their own
                self._held[(path, key)] = raw
        log.info("holding %d baked samples of %d shards in memory", len(self._held), len(wanted))
        return len(self._held)

    def _shard(self, path: Path) -> dict[str, dict[str, tuple[int, int]]]:
        if path not in self._index:
            if not path.is_file():
                raise InputError(path, "baked shard listed in the manifest is missing")
            members: dict[str, dict[str, tuple[int, int]]] = {}
            try:
                with tarfile.open(path) as tar:
                    for info in tar:
                        if info.isfile():
                            key, ext = _record_key(info.name)
                            members.setdefault(key, {})[ext] = (info.offset_data, info.size)
            except tarfile.TarError as exc:
                raise InputError(path, f"unreadable token shard ({exc})") from None
            self._index[path] = members
            self._fds[path] = os.open(path, os.O_RDONLY)
        return self._index[path]

    def record(self, row: BakedRow) -> dict[str, Any]:
        """The row's files as a WebDataset record (``__key__`` and one bytes value per extension)."""
        path = row.folder / row.shard
        held = self._held.get((path, row.id))
        if held is not None:
            return held
        members = self._shard(path).get(row.id)
        if members is None:
            raise InputError(path, f"sample {row.id} of the manifest is not in its shard")
        raw: dict[str, Any] = {"__key__": row.id}
        for ext, (offset, size) in members.items():
            raw[ext] = os.pread(self._fds[path], size, offset)
        return raw

    def read(self, row: BakedRow) -> BakedSample:
        return baked_from_record(self.record(row))

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._index.clear()
        self._held.clear()

    def __del__(self) -> None:  # descriptors of a reader dropped without close()
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
