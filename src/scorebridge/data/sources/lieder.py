"""lieder: the piano part of the OpenScore Lieder songs, split as the official OLiMPiC benchmark.

lieder-voice: the same songs' voice part alone, without lyrics, in the same splits: single-staff, mostly
monophonic systems, the reduced OMR problem on which a recipe shows on a CPU that it learns (README, "A CPU
proof").

The voice staff is dropped, as in OLiMPiC. Pieces outside the official split are handled so that nothing held
out can leak into training: a score OLiMPiC ignores globally, or one from a set (composer/collection) that has
valid or test scores, is listed with split 'test' and rejected when built, with the reason; any other score
outside the split goes to train.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path

from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.schema import Sample
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
        from scorebridge.data.system_samples import score_file_samples

        if spec.extra.get(REJECT_KEY):
            raise PieceRejected(spec.extra[REJECT_KEY])
        return score_file_samples(spec, config)


class LiederVoiceSource(LiederSource):
    """The first single-staff part of each song that is not its piano part, lyrics removed."""

    name = "lieder-voice"

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        from scorebridge.data.system_samples import build_system_samples
        from scorebridge.notation import load_musicxml
        from scorebridge.notation.compare import part_to_musicxml

        if spec.extra.get(REJECT_KEY):
            raise PieceRejected(spec.extra[REJECT_KEY])
        try:
            tree = load_musicxml(spec.path)
        except InputError as exc:
            raise PieceRejected(f"cannot read the score ({exc.problem})") from exc
        part = voice_part(tree)
        if part is None:
            raise PieceRejected("no single-staff voice part")
        return list(build_system_samples(spec, config, part_to_musicxml(part)).samples)


def voice_part(tree: ET.ElementTree) -> ET.Element | None:
    """A copy of the first one-staff part that is not the piano part, without its lyrics (None if there is none).
    Lyrics are dropped because LMX does not encode them: the image would show text the target never names."""
    from scorebridge.notation import NoPianoPartError, list_parts, select_part

    try:
        piano = select_part(tree)
    except (NoPianoPartError, InputError):
        piano = None
    parts = tree.getroot().findall("part")
    for info, part in zip(list_parts(tree), parts, strict=True):
        if info.staves == 1 and part is not piano:
            part = copy.deepcopy(part)
            for note in part.iter("note"):
                for lyric in note.findall("lyric"):
                    note.remove(lyric)
            return part
    return None


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
