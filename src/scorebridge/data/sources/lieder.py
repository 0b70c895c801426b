"""lieder: the piano part of the OpenScore Lieder songs, split as the official OLiMPiC benchmark.

The voice staff is dropped, as in OLiMPiC. Pieces outside the official split are handled so that nothing held
out can leak into training: a score OLiMPiC ignores globally, or one from a set (composer/collection) that has
valid or test scores, is listed with split 'test' and rejected when built, with the reason; any other score
outside the split goes to train.
"""

from __future__ import annotations

from pathlib import Path

from scorebridge.data.schema import Sample
from scorebridge.data.sources.base import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.splits import OlimpicSplit, olimpic_split
from scorebridge.errors import InputError

REJECT_KEY = "reject"  # PieceSpec.extra key: why the piece is listed but never built


class LiederSource:
    """Pieces are score ids (the number in ``scores/ID.mxl``), in numeric order."""

    name = "lieder"

    def __init__(self, corpora_dir: str | Path):
        self.root = Path(corpora_dir) / "openscore-lieder"
        if not (self.root / "scores").is_dir():
            raise InputError(self.root / "scores", "OpenScore Lieder scores folder not found (expected scores/ID.mxl)")

    def pieces(self) -> list[PieceSpec]:
        split = olimpic_split(self.root)
        sets = read_index(self.root / "index.tsv")
        files = sorted(self.root.glob("scores/*.mxl"), key=lambda p: (not p.stem.isdigit(), int(p.stem)
                                                                       if p.stem.isdigit() else 0, p.stem))
        return [self._spec(path, split, sets) for path in files]

    def _spec(self, path: Path, split: OlimpicSplit, sets: dict[str, str]) -> PieceSpec:
        score_id = path.stem
        where = str(path.resolve())
        label, reason = lieder_split(score_id, split, sets.get(score_id))
        extra = {REJECT_KEY: reason} if reason else {}
        return PieceSpec(self.name, score_id, where, label, extra)

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        from scorebridge.data.systems import score_file_samples

        if spec.extra.get(REJECT_KEY):
            raise PieceRejected(spec.extra[REJECT_KEY])
        return score_file_samples(spec, config)


def lieder_split(score_id: str, split: OlimpicSplit, set_path: str | None) -> tuple[str, str | None]:
    """(split, rejection reason or None) of one score id; see the module docstring."""
    if score_id in split.ignored:
        return split.split.get(score_id, "test"), "globally ignored by OLiMPiC (not standard pianoform music)"
    if score_id in split.split:
        return split.split[score_id], None
    if set_path is None:
        return "test", "not in index.tsv, so its set cannot be checked against the held-out sets"
    if set_path in split.held_out_sets:
        return "test", f"outside the OLiMPiC split, from the held-out set {set_path}"
    return "train", None


def read_index(path: Path) -> dict[str, str]:
    """score id -> set path (composer/collection) from the corpus's ``index.tsv`` (id, composer/set/song)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(path, f"cannot read the Lieder index ({exc})") from exc
    out: dict[str, str] = {}
    for line in lines[1:]:
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0].strip():
            out[fields[0].strip()] = fields[1].strip().rsplit("/", 1)[0]
    return out
