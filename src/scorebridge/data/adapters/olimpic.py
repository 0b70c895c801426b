"""OLiMPiC (Mayer et al., ICDAR 2024): pianoform systems of OpenScore Lieder, synthetic and scanned.

Layout of both releases (``olimpic-1.0-synthetic/``, ``olimpic-1.0-scanned/``): ``samples/<score id>/p<page>-s<system>``
with ``.png``, ``.lmx`` and ``.musicxml`` files, and the official split lists ``samples.train.txt`` (synthetic
only), ``samples.dev.txt`` and ``samples.test.txt`` at the root, one sample stem per line.
"""

from __future__ import annotations

from scorebridge.data.adapters import common
from scorebridge.data.adapters.image_lmx import ImageLmxSource, strip_suffix
from scorebridge.errors import InputError

LISTS = {"train": "samples.train.txt", "valid": "samples.dev.txt", "test": "samples.test.txt"}


class OlimpicSource(ImageLmxSource):
    """OLiMPiC systems; the scanned release has no train list (it is for evaluation only)."""

    name = "olimpic"
    dataset = "OLiMPiC"
    image_suffixes = (".png",)
    notation_suffixes = (".lmx", ".musicxml")
    chunk = 200  # a score's systems stay together: its split is per score

    def _items(self) -> dict[str, str]:
        present = {split: self.root / name for split, name in LISTS.items() if (self.root / name).is_file()}
        if "valid" not in present or "test" not in present or not (self.root / "samples").is_dir():
            raise InputError(self.root, "expected samples/ and the split lists samples.dev.txt, samples.test.txt "
                                        "(and samples.train.txt for the synthetic release) — is this an "
                                        "olimpic-1.0-synthetic or olimpic-1.0-scanned folder?")
        items: dict[str, str] = {}
        for split, path in present.items():
            for line in common.read_list(path):
                items[strip_suffix(line, (".png", ".lmx", ".musicxml"))] = split
        return items
