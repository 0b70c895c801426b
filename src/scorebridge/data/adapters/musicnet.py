"""MusicNet (Thickstun et al. 2017) audio with the MusicNetEM labels (Maman & Bermano 2022).

Layout: ``musicnet_em/<id>.mid`` (the EM-aligned labels, with instruments) and the MusicNet recordings
``train_data/<id>.wav`` / ``test_data/<id>.wav`` (also accepted one level down, under ``musicnet/``). The
split is the MusicNetEM one used by MT3 and the reference system: test = recordings 1819, 2106, 2191, 2298,
2416, 2628; every other labelled recording is train (no official validation set exists).
"""

from __future__ import annotations

from pathlib import Path

from scorebridge.data.adapters import common
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.cutting import window_samples
from scorebridge.data.schema import Sample
from scorebridge.errors import InputError
from scorebridge.midi import read_midi

TEST_IDS = frozenset({"1819", "2106", "2191", "2298", "2416", "2628"})
AUDIO_DIRS = ("train_data", "test_data", "musicnet/train_data", "musicnet/test_data")
LABEL_DIR = "musicnet_em"


class MusicNetSource:
    """Long (MIDI, audio) windows of MusicNet recordings with MusicNetEM notes."""

    name = "musicnet"

    def __init__(self, root: str | Path, name: str | None = None):
        self.root = common.dataset_root(root, "MusicNet")
        self.name = name or self.name

    def pieces(self) -> list[PieceSpec]:
        labels = self.root / LABEL_DIR
        if not labels.is_dir():
            raise InputError(self.root, f"expected {LABEL_DIR}/ (the MusicNetEM MIDI labels) — is this a MusicNet "
                                        "folder with MusicNetEM labels?")
        audio = {wav.stem: wav for d in AUDIO_DIRS if (self.root / d).is_dir() for wav in (self.root / d).glob("*.wav")}
        if not audio:
            raise InputError(self.root, "expected train_data/ and test_data/ with the MusicNet .wav recordings")
        specs = []
        for mid in sorted(labels.glob("*.mid")):
            rid = mid.stem.split("_")[0]
            if rid in audio:
                split = "test" if rid in TEST_IDS else "train"
                specs.append(PieceSpec(self.name, rid, str(mid), split, {"audio": str(audio[rid])}))
        if not specs:
            raise InputError(labels, "no label <id>.mid has a matching <id>.wav recording")
        return specs

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        notes = read_midi(spec.path)
        audio = common.read_recording(Path(spec.extra["audio"]), config.sample_rate)
        samples = window_samples(spec, notes, audio, config)
        if not samples:
            raise PieceRejected("no notes in any window")
        return samples
