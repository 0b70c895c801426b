"""The shared shape of image + notation datasets (GrandStaff, OLiMPiC, PrIMuS): one system image per item.

An item is a path stem relative to the dataset root (``beethoven/piano-sonatas/sonata01-2/maj2_down_m-0-5``);
its image and notation files sit beside it with dataset-specific suffixes. Items are batched into pieces
(``common.chunked_pieces``); ``build_piece`` turns each item into one untimed ``system`` sample with a
normalized image and LMX.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from scorebridge.data.adapters import common
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.schema import Sample
from scorebridge.errors import ScorebridgeError

log = logging.getLogger(__name__)


class ImageLmxSource:
    """Base class: subclasses set ``name``, the suffixes, and implement ``_items() -> {item: split}``."""

    name: str = ""
    dataset: str = ""  # human name used in error messages
    image_suffixes: Sequence[str] = (".png",)
    notation_suffixes: Sequence[str] = (".lmx", ".musicxml")  # first that exists wins; .lmx is read as tokens
    chunk: int = 100

    def __init__(self, root: str | Path, name: str | None = None):
        self.root = common.dataset_root(root, self.dataset)
        if name:
            self.name = name

    def _items(self) -> dict[str, str]:
        raise NotImplementedError

    def _group(self, item: str) -> str:
        """Items of one group (an excerpt folder, a score) go into the same pieces."""
        return item.rsplit("/", 1)[0] if "/" in item else "root"  # no "." path parts in sample keys

    def pieces(self) -> list[PieceSpec]:
        groups: dict[tuple[str, str], list[str]] = {}
        for item, split in self._items().items():
            groups.setdefault((self._group(item), split), []).append(item)
        return common.chunked_pieces(self.name, groups, self.root, self.chunk)

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        samples: list[Sample] = []
        skipped: list[str] = []
        for item in common.piece_items(spec):
            try:
                image, lmx = self._load(item, config)
            except (PieceRejected, ScorebridgeError) as exc:
                skipped.append(f"{item}: {exc}")
                continue
            samples.append(common.untimed_system(spec, len(samples), image, lmx, {"item": item}))
        if skipped:
            log.warning("%s/%s: skipped %d of %d items, first: %s", spec.source, spec.piece, len(skipped),
                        len(skipped) + len(samples), skipped[0])
        if not samples:
            raise PieceRejected(f"no usable item ({skipped[0] if skipped else 'empty piece'})")
        return samples

    def _load(self, item: str, config: BuildConfig) -> tuple:
        image_path = self._find(item, self.image_suffixes, "image")
        notation_path = self._find(item, self.notation_suffixes, "notation")
        lmx = self._lmx(notation_path)
        if not lmx:
            raise PieceRejected(f"{notation_path.name}: empty notation")
        image = common.normalized_system(common.load_gray(image_path), config, where=image_path.name)
        return image, lmx

    def _find(self, item: str, suffixes: Sequence[str], what: str) -> Path:
        base = self.root / item
        for suffix in suffixes:
            path = base.parent / (base.name + suffix)
            if path.is_file():
                return path
        raise PieceRejected(f"no {what} file ({' or '.join(base.name + s for s in suffixes)})")

    @staticmethod
    def _lmx(path: Path) -> list[str]:
        from scorebridge.notation import read_lmx_file, score_to_lmx

        if path.suffix == ".lmx":
            return read_lmx_file(path)
        if path.suffix == ".krn":
            return _kern_piano_lmx(path)
        return score_to_lmx(path).tokens


def _kern_piano_lmx(path: Path) -> list[str]:
    """LMX of a GrandStaff kern excerpt. Its spines carry no instrument, so music21 would read two unrelated
    parts; tagging every spine ``*Ipiano`` lets the notation reader join them into one grand-staff part."""
    import tempfile

    from scorebridge.notation import score_to_lmx

    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    if not any(line.startswith("*I") for line in lines) and lines and lines[0].startswith("**"):
        spines = len(lines[0].split("\t"))
        lines.insert(1, "\t".join(["*Ipiano"] * spines))
        with tempfile.TemporaryDirectory() as tmp:
            tagged = Path(tmp) / path.name
            tagged.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return score_to_lmx(tagged).tokens
    return score_to_lmx(path).tokens


def strip_suffix(line: str, suffixes: Sequence[str]) -> str:
    for suffix in suffixes:
        if line.endswith(suffix):
            return line[: -len(suffix)]
    return line
