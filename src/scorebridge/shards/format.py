"""The baked token format: one record per sample, its decoded form and the folder's manifest.

A baked folder (written by ``shards.bake``) holds::

    bake.json                 settings, codec configs, the datasets baked (a rerun must match)
    codebooks.safetensors     image (Q, K, D) and audio (Q, K, D) codebook vectors, for embedding init
    shards/<dataset>/<shard>.tar   one token shard per input shard (WebDataset; written atomically)
    done/<dataset>/<shard>.json    the manifest rows of a finished shard (written after the shard)
    manifest.jsonl            one row per baked sample (written at the end)

A record holds ``json`` (the sample's manifest row plus token shapes), ``image.npy`` int16
(shifts, variants, h, w, Q), ``audio.npy`` int16 (shifts, Q, frames), and the sample's ``lmx`` and
``notes.json`` as the data engine wrote them, so the translator reads one shard per step.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

BAKE_VERSION = 1
CODEBOOKS_NAME = "codebooks.safetensors"
MANIFEST_NAME = "manifest.jsonl"
SETTINGS_NAME = "bake.json"


@dataclass(frozen=True)
class BakedSample:
    """One baked record. ``image`` (S, V, h, w, Q), ``audio`` (S, Q, frames), int16, either may be None."""

    id: str
    split: str
    meta: dict[str, Any]
    image: np.ndarray | None = field(default=None, repr=False)
    audio: np.ndarray | None = field(default=None, repr=False)
    lmx: tuple[str, ...] | None = None
    notes_json: bytes | None = field(default=None, repr=False)


def baked_from_record(raw: dict[str, Any]) -> BakedSample:
    """A ``BakedSample`` from one record's files (``__key__``, ``json``, ``image.npy`` ...), as read from a shard."""
    meta = json.loads(bytes(raw["json"]))
    image = np.load(io.BytesIO(bytes(raw["image.npy"]))) if "image.npy" in raw else None
    audio = np.load(io.BytesIO(bytes(raw["audio.npy"]))) if "audio.npy" in raw else None
    lmx = tuple(bytes(raw["lmx"]).decode().split()) if "lmx" in raw else None
    notes = bytes(raw["notes.json"]) if "notes.json" in raw else None
    return BakedSample(raw["__key__"], meta["sample"]["split"], meta, image, audio, lmx, notes)


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as the bytes of an ``.npy`` file (no pickles), a record's ``image.npy`` / ``audio.npy``."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def read_baked_manifest(root: Path) -> list[dict[str, Any]]:
    """The rows of a baked folder's ``manifest.jsonl``; InputError when there is none."""
    file = Path(root) / MANIFEST_NAME
    if not file.is_file():
        raise InputError(root, "not a baked token folder (no manifest.jsonl); run `scorebridge codec bake`")
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
