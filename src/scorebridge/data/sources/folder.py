"""Any folder of scores the user names: every MusicXML / .mxl / kern / ABC / MEI file under it."""

from __future__ import annotations

from pathlib import Path

from scorebridge.data.contract import BuildConfig, PieceSpec
from scorebridge.data.schema import Sample
from scorebridge.data.splits import hash_split
from scorebridge.errors import InputError
from scorebridge.notation.formats import SUPPORTED_SUFFIXES


class FolderSource:
    """Pieces are file paths relative to the folder, without suffix, in sorted order; split by hash of the id."""

    def __init__(self, path: str | Path):
        self.root = Path(path)
        if not self.root.is_dir():
            raise InputError(self.root, "not a folder of scores")
        self.name = self.root.resolve().name

    def pieces(self) -> list[PieceSpec]:
        files = sorted(p for p in self.root.rglob("*")
                       if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith("."))
        out: list[PieceSpec] = []
        seen: dict[str, Path] = {}
        for path in files:
            rel = path.relative_to(self.root)
            piece = rel.with_suffix("").as_posix()
            if piece in seen:  # 'song.xml' beside 'song.mxl': keep the suffix to keep ids unique
                piece = rel.as_posix()
            seen[piece] = path
            out.append(PieceSpec(self.name, piece, str(path.resolve()), hash_split(piece)))
        return out

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        from scorebridge.data.system_samples import score_file_samples

        return score_file_samples(spec, config)
