"""ASAP (Foscarin et al. 2020) performances with their MAESTRO recordings.

ASAP's ``metadata.csv`` names, for 520 of its performance MIDI files, the MAESTRO recording they were cut
from (``maestro_audio_performance``, with a ``{maestro}`` placeholder) and the cut (``start``, ``end`` in
seconds). ASAP's ``initialize_dataset.py`` writes the cut audio to ``audio_performance`` inside the ASAP
folder, prepending 0.5 s of silence when ``start`` > 0 — so performance-MIDI time t is MAESTRO time
t + start - 0.5 s. This adapter reads that audio when present, or cuts it from the MAESTRO folder the
same way. Splits follow the repository's work-level ASAP split (``data/splits/asap.tsv``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scorebridge.data.adapters import common
from scorebridge.data.adapters.maestro import read_csv_rows
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.cutting import window_samples
from scorebridge.data.schema import Sample, ms_to_sample_floor
from scorebridge.data.splits import asap_work_key, hash_split, load_split_file
from scorebridge.errors import InputError
from scorebridge.midi import read_midi

COLUMNS = ("folder", "midi_performance", "maestro_audio_performance", "start", "end", "audio_performance")
ASAP_PAD_MS = 500  # initialize_dataset.py's padding before a cut that does not start at 0
MAESTRO_CSVS = ("maestro-v3.0.0.csv", "maestro-v2.0.0.csv")


class AsapMaestroSource:
    """Long (performance MIDI, real audio) windows of the ASAP performances that have MAESTRO audio."""

    name = "asap-maestro"

    def __init__(self, asap: str | Path, maestro: str | Path | None = None, name: str | None = None):
        self.root = common.dataset_root(asap, "ASAP")
        self.maestro = None if maestro is None else common.dataset_root(maestro, "MAESTRO")
        if self.maestro is not None and common.first_existing(self.maestro, MAESTRO_CSVS) is None:
            raise InputError(self.maestro, f"expected {' or '.join(MAESTRO_CSVS)} (MAESTRO metadata) — is this a "
                                           "MAESTRO folder?")
        self.name = name or self.name

    def pieces(self) -> list[PieceSpec]:
        path = common.require_file(self.root, "metadata.csv", "ASAP metadata", "ASAP")
        splits = load_split_file("asap")
        specs = []
        for row in read_csv_rows(path, COLUMNS):
            if not row["maestro_audio_performance"].strip():
                continue
            cut = self.root / row["audio_performance"] if row["audio_performance"].strip() else None
            extra = {"start": row["start"].strip(), "end": row["end"].strip()}
            if cut is not None and cut.is_file():
                extra["audio"] = str(cut)
            elif self.maestro is not None:
                extra["maestro_audio"] = row["maestro_audio_performance"].replace("{maestro}", str(self.maestro))
            else:
                continue
            folder = row["folder"].strip()
            split = splits.get(folder) or hash_split(asap_work_key(folder))
            piece = Path(row["midi_performance"]).with_suffix("").as_posix()
            specs.append(PieceSpec(self.name, piece, str(self.root / row["midi_performance"]), split, extra))
        if not specs:
            raise InputError(self.root, "no performance has audio: expected the audio_performance files made by "
                                        "ASAP's initialize_dataset.py, or a MAESTRO folder "
                                        "(--source asap-maestro:ASAP_DIR,MAESTRO_DIR)")
        return sorted(specs, key=lambda s: s.piece)

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        notes = read_midi(spec.path, sustain_pedal=config.sustain_pedal)
        if "audio" in spec.extra:
            audio = common.read_recording(Path(spec.extra["audio"]), config.sample_rate)
        else:
            audio = cut_maestro_audio(Path(spec.extra["maestro_audio"]), spec.extra["start"], spec.extra["end"],
                                      config.sample_rate)
        samples = window_samples(spec, notes, audio, config, meta={"sustain_pedal": config.sustain_pedal})
        if not samples:
            raise PieceRejected("no notes in any window")
        return samples


def cut_maestro_audio(path: Path, start: str, end: str, sample_rate: int) -> np.ndarray:
    """The MAESTRO recording cut as ``initialize_dataset.py`` cuts it: [start, end), 0.5 s of silence first."""
    if not path.is_file():
        raise InputError(path, "MAESTRO recording not found (is the MAESTRO folder the one ASAP refers to?)")
    audio = common.read_recording(path, sample_rate)
    start_ms = common.parse_seconds_ms(start) if start else 0
    if end:
        audio = audio[: ms_to_sample_floor(common.parse_seconds_ms(end), sample_rate)]
    offset = start_ms - ASAP_PAD_MS if start_ms > 0 else 0
    return common.advance_audio(audio, offset, sample_rate)
