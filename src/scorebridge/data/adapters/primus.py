"""PrIMuS and Camera-PrIMuS (Calvo-Zaragoza & Rizo 2018): monophonic RISM incipits, one staff each.

Layout: ``<package>/<id>/<id>.png`` with ``<id>.mei``, ``<id>.semantic`` and ``<id>.agnostic`` (and
``<id>_distorted.jpg`` in Camera-PrIMuS), under package folders such as ``package_aa/``. The notation is read
from the MEI file. PrIMuS ships no official split (papers draw random folds), so items are split by a stable
hash of the incipit id.
"""

from __future__ import annotations

from pathlib import Path

from scorebridge.data.adapters.image_lmx import ImageLmxSource
from scorebridge.data.splits import hash_split
from scorebridge.errors import InputError


class PrimusSource(ImageLmxSource):
    """PrIMuS incipits; ``distorted=True`` reads the Camera-PrIMuS photographs."""

    name = "primus"
    dataset = "PrIMuS"
    notation_suffixes = (".mei",)
    chunk = 200

    def __init__(self, root: str | Path, name: str | None = None, distorted: bool = False):
        super().__init__(root, name)
        self.image_suffixes = ("_distorted.jpg",) if distorted else (".png",)

    def _items(self) -> dict[str, str]:
        items = {}
        # <package>/<id>/<id>.mei, or <id>/<id>.mei when the folder given is one package
        for mei in sorted([*self.root.glob("*/*/*.mei"), *self.root.glob("*/*.mei")]):
            if mei.stem == mei.parent.name:
                item = mei.relative_to(self.root).with_suffix("").as_posix()
                items[item] = hash_split(f"primus/{mei.stem}")
        if not items:
            raise InputError(self.root, "expected <package>/<id>/<id>.mei and <id>.png files (PrIMuS incipits) — "
                                        "is this a PrIMuS or Camera-PrIMuS folder?")
        return items

    def _group(self, item: str) -> str:
        return item.split("/", 1)[0] if item.count("/") >= 2 else "root"  # the package folder
