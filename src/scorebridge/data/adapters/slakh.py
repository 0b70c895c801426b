"""Slakh2100 (Manilow et al. 2019): multitrack renders of Lakh MIDI, with stems, MIDI and metadata.

Layout (``slakh2100_flac_redux``): ``{train,validation,test}/TrackNNNNN/`` with ``mix.flac``,
``metadata.yaml`` (``stems: {S00: {program_num, is_drum, audio_rendered, ...}}``), ``MIDI/S00.mid`` per
stem (and ``all_src.mid``). The split folders are the official split; ``omitted/`` is left out.
"""

from __future__ import annotations

from pathlib import Path

from scorebridge.data.adapters import common
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.cutting import window_samples
from scorebridge.data.schema import Sample
from scorebridge.errors import InputError
from scorebridge.midi import Note, read_midi

SPLIT_DIRS = {"train": "train", "validation": "valid", "test": "test"}


class SlakhSource:
    """Long (multi-instrument MIDI, mix audio) windows of every Slakh track."""

    name = "slakh"

    def __init__(self, root: str | Path, name: str | None = None):
        self.root = common.dataset_root(root, "Slakh2100")
        self.name = name or self.name

    def pieces(self) -> list[PieceSpec]:
        present = [d for d in SPLIT_DIRS if (self.root / d).is_dir()]
        if not present:
            raise InputError(self.root, "expected train/, validation/ and test/ track folders — is this a "
                                        "slakh2100_flac_redux folder?")
        specs = []
        for folder in present:
            for track in sorted(p for p in (self.root / folder).iterdir() if p.is_dir()):
                specs.append(PieceSpec(self.name, track.name, str(track), SPLIT_DIRS[folder]))
        return specs

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        track = Path(spec.path)
        stems = read_stems(common.require_file(track, "metadata.yaml", "Slakh track metadata", "Slakh2100 track"))
        mix = common.require_file(track, "mix.flac", "the mixture audio", "Slakh2100 track")
        notes: list[Note] = []
        for stem, info in stems.items():
            midi = track / "MIDI" / f"{stem}.mid"
            if not info.get("audio_rendered", True) or not midi.is_file():
                continue  # not in the mix: its notes would be labels for silence
            program, drum = int(info.get("program_num", 0)), bool(info.get("is_drum", False))
            try:
                stem_notes = read_midi(midi)
            except InputError:
                continue  # an empty stem
            notes += [Note(n.onset, n.offset, n.pitch, n.velocity, program, drum) for n in stem_notes]
        if not notes:
            raise PieceRejected("no rendered stem has notes")
        notes.sort(key=lambda n: (n.onset, n.pitch, n.program))
        audio = common.read_recording(mix, config.sample_rate)
        samples = window_samples(spec, notes, audio, config)
        if not samples:
            raise PieceRejected("no notes in any window")
        return samples


def read_stems(path: Path) -> dict[str, dict]:
    import yaml

    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        stems = meta["stems"]
        if not isinstance(stems, dict):
            raise TypeError("stems is not a mapping")
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise InputError(path, f"cannot read the stems of the track metadata ({exc})") from exc
    return {str(k): (v or {}) for k, v in sorted(stems.items())}
