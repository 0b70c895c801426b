"""GrandStaff (Ríos-Vila et al. 2023) and GrandStaff-LMX (Mayer et al. 2024): single piano systems.

Layouts read (each sample is ``<author>/<collection>/<excerpt>/<name>`` with files beside it):

- **GrandStaff-LMX** (LINDAT 11234/1-5423): ``samples.train.txt``, ``samples.dev.txt``, ``samples.test.txt`` at
  the root list sample stems; ``<name>.lmx`` and ``<name>.musicxml`` beside the GrandStaff ``<name>.jpg``.
- **GrandStaff** (grfia.dlsi.ua.es): ``partitions_grandstaff/types/{train,val,test}.txt`` (or directly under
  ``partitions_grandstaff/``) list ``grandstaff_dataset/<...>/<name>.ekrn`` paths (test = the untransposed
  "original" excerpts, train/val = transposed copies); ``<name>.krn`` gives the notation, ``<name>.jpg`` the
  image (``<name>_distorted.jpg`` for Camera-GrandStaff).

The official split of each release is kept as it is.
"""

from __future__ import annotations

from pathlib import Path

from scorebridge.data.adapters import common
from scorebridge.data.adapters.image_lmx import ImageLmxSource, strip_suffix
from scorebridge.errors import InputError

LMX_LISTS = {"train": "samples.train.txt", "valid": "samples.dev.txt", "test": "samples.test.txt"}
PARTITION_DIRS = ("partitions_grandstaff/types", "partitions_grandstaff")
PARTITION_FILES = {"train": "train.txt", "valid": "val.txt", "test": "test.txt"}
DATA_DIR = "grandstaff_dataset"
_LISTED_SUFFIXES = (".bekrn", ".ekrn", ".krn", ".lmx", ".musicxml", ".jpg", ".png")


class GrandStaffSource(ImageLmxSource):
    """GrandStaff / GrandStaff-LMX systems; ``distorted=True`` reads the Camera-GrandStaff images."""

    name = "grandstaff"
    dataset = "GrandStaff"
    notation_suffixes = (".lmx", ".musicxml", ".krn")

    def __init__(self, root: str | Path, name: str | None = None, distorted: bool = False):
        super().__init__(root, name)
        self.distorted = distorted
        self.image_suffixes = ("_distorted.jpg",) if distorted else (".jpg", ".png")
        if (self.root / DATA_DIR).is_dir():
            self.root = self.root / DATA_DIR  # items are relative to the data folder
            self._lists_root = self.root.parent
        else:
            self._lists_root = self.root

    def _items(self) -> dict[str, str]:
        lists = self._split_lists()
        items: dict[str, str] = {}
        for split, path in lists.items():
            for line in common.read_list(path):
                item = strip_suffix(line.removeprefix("./").removeprefix(DATA_DIR + "/"), _LISTED_SUFFIXES)
                items[item] = split
        if not items:
            raise InputError(self._lists_root, "the GrandStaff split lists are empty")
        return items

    def _split_lists(self) -> dict[str, Path]:
        root = self._lists_root
        if all((root / name).is_file() for name in LMX_LISTS.values()):
            return {split: root / name for split, name in LMX_LISTS.items()}
        for folder in PARTITION_DIRS:
            if all((root / folder / name).is_file() for name in PARTITION_FILES.values()):
                return {split: root / folder / name for split, name in PARTITION_FILES.items()}
        raise InputError(root, "expected samples.train.txt, samples.dev.txt and samples.test.txt (GrandStaff-LMX) or "
                               "partitions_grandstaff/types/{train,val,test}.txt (GrandStaff) — "
                               "is this a GrandStaff folder?")
