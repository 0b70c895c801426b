"""The keyboard pieces of music21's bundled corpus (inside the music21 wheel; no download).

The corpus is mostly chorales, quartets and folk tunes; its pianoform scores are few (toolchain notes §1,
landscape §D.1): twelve solo keyboard pieces, plus four ensemble scores whose piano part is taken alone, as for
the Lieder (the other parts are dropped). The list is fixed here so that the piece order never changes.
"""

from __future__ import annotations

from pathlib import Path

from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.schema import Sample
from scorebridge.data.splits import hash_split

KEYBOARD = (  # corpus-relative paths
    "bach/bwv846.mxl",
    "chopin/mazurka06-2.krn",
    "cpebach/h186.mxl",
    "joplin/maple_leaf_rag.mxl",
    "mozart/k545/movement1_exposition.mxl",
    "schoenberg/opus19/movement2.mxl",
    "schoenberg/opus19/movement6.mxl",
    "schumann_clara/polonaise_op1n1.mxl",
    "schumann_clara/polonaise_op1n2.mxl",
    "schumann_clara/polonaise_op1n3.mxl",
    "schumann_clara/polonaise_op1n4.mxl",
    "verdi/laDonnaEMobile.mxl",  # a piano reduction: one two-staff part
)
PIANO_PARTS = (  # ensembles: the piano part only
    "handel/rinaldo/Lascia_chio_pianga.mxl",
    "schubert/Lindenbaum.xml",
    "schumann_clara/opus17/movement3.xml",
    "weber/concertino_clarinet.mxl",
)


def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


class Music21CorpusSource:
    """Pieces are corpus paths without suffix (e.g. 'bach/bwv846'); split by hash of the id."""

    name = "music21"

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else corpus_root()

    def pieces(self) -> list[PieceSpec]:
        out = []
        for rel in KEYBOARD + PIANO_PARTS:
            piece = rel.rsplit(".", 1)[0]
            out.append(PieceSpec(self.name, piece, str(self.root / rel), hash_split(piece)))
        return out

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        from scorebridge.data.system_samples import score_file_samples

        if not Path(spec.path).is_file():
            raise PieceRejected(f"not in this music21 installation's corpus ({spec.path})")
        return score_file_samples(spec, config)
