"""kern-piano: the 333 piano movements in **kern of ``corpora/kern/`` (the editions GrandStaff was engraved from)."""

from __future__ import annotations

from pathlib import Path

from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.schema import Sample
from scorebridge.data.splits import load_split_file
from scorebridge.errors import InputError

FOLDERS = (
    "beethoven-piano-sonatas",
    "chopin-preludes",
    "haydn-piano-sonatas",
    "joplin",
    "mozart-piano-sonatas",
    "scarlatti-keyboard-sonatas",
)


class KernPianoSource:
    """Pieces 'folder/stem' in folder then file-name order; splits from the committed ``kern-piano.tsv``."""

    name = "kern-piano"

    def __init__(self, corpora_dir: str | Path):
        self.root = Path(corpora_dir) / "kern"
        if not self.root.is_dir():
            raise InputError(self.root, "kern corpus folder not found (expected kern/<folder>/*.krn)")

    def pieces(self) -> list[PieceSpec]:
        splits = load_split_file("kern-piano")
        out = []
        for folder in FOLDERS:
            for path in sorted((self.root / folder).glob("*.krn")):
                piece = f"{folder}/{path.stem}"
                if piece not in splits:
                    # A file the committed split does not know would need a new split decision: refuse, so that
                    # no unknown piece can slip into train.
                    raise InputError(path, "not in data/splits/kern-piano.tsv; regenerate the split file")
                out.append(PieceSpec(self.name, piece, str(path.resolve()), splits[piece]))
        return out

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        from scorebridge.data.system_samples import score_file_samples

        if not Path(spec.path).is_file():
            raise PieceRejected("file not found")
        # Music21 reads each spine as a part and joins a piano's spines into one part; a file where that fails
        # would give an image and LMX without some staves, so it is rejected rather than half-used.
        return score_file_samples(spec, config, sole_part=True)
