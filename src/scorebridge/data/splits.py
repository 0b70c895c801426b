"""Piece-level train/valid/test splits: deterministic, stored in the repository, leak-free across corpora.

- Lieder follows the official OLiMPiC split (read from the corpus's ``olimpic-splits/``).
- kern-piano and ASAP use the split files in ``data/splits/`` made once by ``scripts/make_splits.py`` with a
  fixed seed. Both corpora hold the same sonatas (Beethoven, Mozart, Haydn), so the split is drawn per
  *work* (a whole sonata, keyed across corpora), never per file: a test sonata is out of every training set.
- Other sources (the music21 corpus, a user's folder) split by a hash of the piece id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from scorebridge.errors import InputError

SPLIT_SEED = 20261126
FRACTIONS = {"train": 0.8, "valid": 0.1}  # the rest is test


def hash_split(key: str, seed: int = SPLIT_SEED) -> str:
    """A stable split for any string key: 80% train, 10% valid, 10% test."""
    value = int.from_bytes(hashlib.sha256(f"{seed}\0{key}".encode()).digest()[:8], "little") / 2**64
    if value < FRACTIONS["train"]:
        return "train"
    return "valid" if value < FRACTIONS["train"] + FRACTIONS["valid"] else "test"


_KERN_SONATA = re.compile(r"sonata(\d+)")
_HOB = re.compile(r"Hob\.\s*XVI\s*:\s*(\d+)")


def kern_work_key(folder: str, path: Path) -> str:
    """The work a kern movement belongs to, in a form shared with ASAP (``asap_work_key``)."""
    match = _KERN_SONATA.match(path.stem)
    if folder == "haydn-piano-sonatas":
        # The kern edition numbers Haydn's sonatas by Landon; ASAP by Hoboken (XVI): key both by Hoboken.
        hob = _HOB.search(path.read_text(encoding="utf-8", errors="replace"))
        if hob:
            return f"haydn/hob16-{int(hob.group(1))}"
    if folder in ("beethoven-piano-sonatas", "mozart-piano-sonatas") and match:
        return f"{folder.split('-')[0]}/sonata-{int(match.group(1))}"
    return f"kern/{folder}/{path.stem}"  # a piece of its own (preludes, rags, Scarlatti sonatas)


def asap_work_key(score_folder: str) -> str:
    """``score_folder`` relative to the ASAP root, e.g. 'Beethoven/Piano_Sonatas/21-1'."""
    parts = score_folder.split("/")
    number = re.match(r"(\d+)-", parts[-1]) if len(parts) == 3 else None
    if number and parts[0] == "Beethoven" and parts[1] == "Piano_Sonatas":
        return f"beethoven/sonata-{int(number.group(1))}"
    if number and parts[0] == "Mozart" and parts[1] == "Piano_Sonatas":
        return f"mozart/sonata-{int(number.group(1))}"
    if number and parts[0] == "Haydn" and parts[1] == "Keyboard_Sonatas":
        return f"haydn/hob16-{int(number.group(1))}"
    # Other works: all movements and variants (e.g. '32-1_no_repeat') of one work together.
    return "asap/" + "/".join(parts[:-1] + [re.sub(r"[-_].*$", "", parts[-1])])


def load_split_file(name: str) -> dict[str, str]:
    """piece -> split from ``data/splits/<name>.tsv`` (shipped with the package)."""
    text = (resources.files("scorebridge") / "data" / "splits" / f"{name}.tsv").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines()[1:]:
        if line.strip():
            piece, split, _work = line.split("\t")
            out[piece] = split
    return out


@dataclass(frozen=True)
class OlimpicSplit:
    """The official OLiMPiC split of OpenScore Lieder by score id, and what it leaves out."""

    split: dict[str, str]  # score id -> train / valid / test
    ignored: frozenset[str]  # globally ignored by OLiMPiC (not pianoform, linearization trouble)
    held_out_sets: frozenset[str]  # set paths (composer/collection) of the valid and test scores


def olimpic_split(corpus: Path) -> OlimpicSplit:
    """Read ``olimpic-splits/*.yaml`` of an OpenScore Lieder folder."""
    import yaml

    folder = corpus / "olimpic-splits"
    try:
        split: dict[str, str] = {}
        held: set[str] = set()
        for name, label in (("train", "train"), ("dev", "valid"), ("test", "test")):
            entries = yaml.safe_load((folder / f"{name}_scores.yaml").read_text(encoding="utf-8")) or {}
            for score_id, info in entries.items():
                split[str(score_id)] = label
                if label != "train":
                    held.add(str(info["path"]).rsplit("/", 1)[0])
        ignored = yaml.safe_load((folder / "globally_ignored_scores.yaml").read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(folder, f"cannot read the OLiMPiC split files ({exc})") from exc
    return OlimpicSplit(split, frozenset(str(i) for i in ignored), frozenset(held))


def spread(items: Sequence[Any], n: int | None) -> list[Any]:
    """``n`` items evenly spaced over ``items`` (all of them for None or when there are fewer), in order: the
    samples an evaluation or a validation takes from a split."""
    if n is None or len(items) <= n:
        return list(items)
    if n < 1:
        return []
    return [items[i] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]
