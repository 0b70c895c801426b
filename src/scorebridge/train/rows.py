"""The rows a training run reads: baked token folders (``shards``) and built datasets read as signal (``raw``).

A recipe's ``data`` may mix both; every baked folder of one run must share one codec vocabulary.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from scorebridge.errors import InputError
from scorebridge.shards import NO_BAKE, BakedRow, BakeInfo, bake_info_of, baked_rows
from scorebridge.tokens.features import CODES, FeatureSpec

from .raw import is_raw_dataset, raw_rows


def read_bake_info(folders: Sequence[str | os.PathLike[str]]) -> BakeInfo:
    """bake.json of every baked folder (built datasets, read by ``train.raw``, are skipped; NO_BAKE if all are);
    InputError when a folder is neither or two were baked with other codecs."""
    if not folders:
        raise InputError("data", "no baked token folder given")
    folders = [f for f in folders if not is_raw_dataset(f)]
    if not folders:
        return NO_BAKE
    infos = [bake_info_of(folder) for folder in folders]
    for folder, info in zip(folders[1:], infos[1:], strict=True):
        if info != infos[0]:
            raise InputError(folder, f"was baked with other codecs than {folders[0]}; one run needs one vocabulary")
    return infos[0]


def read_rows(folders: Sequence[str | os.PathLike[str]], split: str | None = None,
              inputs: FeatureSpec = CODES) -> list[BakedRow]:
    """Manifest rows of every baked folder or built dataset (``train.raw``, read with ``inputs``), optionally of
    one split, in manifest order."""
    rows: list[BakedRow] = []
    for folder in map(Path, folders):
        rows += raw_rows(folder, inputs, split) if is_raw_dataset(folder) else baked_rows(folder, split)
    return rows


def split_ids(folders: Sequence[str | os.PathLike[str]], split: str) -> list[str]:
    """The sorted sample ids of ``split`` in baked folders and built datasets alike (both keep a
    manifest.jsonl with ``id`` and ``split``): tells whether two sets of folders hold the same samples."""
    ids: list[str] = []
    for folder in map(Path, folders):
        manifest = folder / "manifest.jsonl"
        if not manifest.is_file():
            raise InputError(folder, "has no manifest.jsonl (not a built dataset or a baked folder)")
        with manifest.open(encoding="utf-8") as f:
            ids += [row["id"] for row in map(json.loads, f) if row.get("split") == split]
    return sorted(ids)
