"""MAESTRO v3.0.0 (Hawthorne et al. 2019): Disklavier performances, audio and MIDI aligned to about 3 ms.

Layout: ``maestro-v3.0.0.csv`` (columns canonical_composer, canonical_title, split, year, midi_filename,
audio_filename, duration) at the root, the files under year folders (``2004/<name>.midi``, ``.wav``). The
csv's split column (train / validation / test) is the official split.
"""

from __future__ import annotations

import csv
from pathlib import Path

from scorebridge.data.adapters import common
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.cutting import window_samples
from scorebridge.data.schema import Sample
from scorebridge.errors import InputError
from scorebridge.midi import read_midi

CSV_NAME = "maestro-v3.0.0.csv"
COLUMNS = ("split", "midi_filename", "audio_filename")


class MaestroSource:
    """Long (performance MIDI, audio) windows of every MAESTRO performance."""

    name = "maestro"

    def __init__(self, root: str | Path, name: str | None = None):
        self.root = common.dataset_root(root, "MAESTRO v3")
        self.name = name or self.name

    def pieces(self) -> list[PieceSpec]:
        path = common.require_file(self.root, CSV_NAME, "MAESTRO v3 metadata", "MAESTRO v3")
        rows = read_csv_rows(path, COLUMNS)
        specs = []
        for row in rows:
            split = common.SPLIT_NAMES.get(row["split"].strip().lower())
            if split is None:
                raise InputError(path, f"unknown split {row['split']!r} for {row['midi_filename']}")
            piece = Path(row["midi_filename"]).with_suffix("").as_posix()
            specs.append(PieceSpec(self.name, piece, str(self.root / row["midi_filename"]), split,
                                   {"audio": str(self.root / row["audio_filename"])}))
        return sorted(specs, key=lambda s: s.piece)

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        notes = read_midi(spec.path, sustain_pedal=config.sustain_pedal)
        audio = common.read_recording(Path(spec.extra["audio"]), config.sample_rate)
        samples = window_samples(spec, notes, audio, config, meta={"sustain_pedal": config.sustain_pedal})
        if not samples:
            raise PieceRejected("no notes in any window")
        return samples


def read_csv_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a metadata csv; an InputError names the missing columns."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(path, f"expected the columns {', '.join(missing)} — is this the right metadata file?")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"cannot read the metadata ({exc})") from exc
