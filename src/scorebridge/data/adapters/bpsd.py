"""BPSD v2 (Zeitler et al., TISMIR 2024): the first movements of Beethoven's 32 sonatas in 11 performances.

Layout (Zenodo 12783403): ``2_Annotations/ann_audio_note/<sonata>_<performer>.csv`` (``;``-separated, columns
start, end, pitch in seconds / MIDI numbers: the score notes aligned to the recording),
``2_Annotations/ann_audio_measure/<sonata>_<performer>.csv`` (columns start, measure: where each bar starts),
``1_Audio/<sonata>_<performer>.wav`` where the recording is included, and the repeat-unfolded scores
``0_RawData/score_xml_unfolded/<sonata>.xml``.

Samples are runs of whole measures up to ``config.window_ms`` long with the aligned notes, the audio when
present, and the LMX of exactly those measures when the unfolded score has as many measures as the
annotation. The reference system uses BPSD for testing only, so every piece is in the test split.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from scorebridge.data.adapters import common
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec, sample_id
from scorebridge.data.cutting import cut_audio, cut_notes, window_samples
from scorebridge.data.schema import Sample
from scorebridge.errors import InputError
from scorebridge.midi import Note

log = logging.getLogger(__name__)

NOTES_DIR = "2_Annotations/ann_audio_note"
MEASURES_DIR = "2_Annotations/ann_audio_measure"
AUDIO_DIR = "1_Audio"
SCORE_DIR = "0_RawData/score_xml_unfolded"
VELOCITY = 64  # the annotations carry none; BPSD's own MIDI export uses 64


class BpsdSource:
    """Measure-aligned (notes, audio, LMX) windows of every BPSD performance."""

    name = "bpsd"

    def __init__(self, root: str | Path, name: str | None = None):
        self.root = common.dataset_root(root, "BPSD")
        self.name = name or self.name

    def pieces(self) -> list[PieceSpec]:
        notes_dir = self.root / NOTES_DIR
        if not notes_dir.is_dir():
            raise InputError(self.root, f"expected {NOTES_DIR}/ (note annotations aligned to the recordings) — "
                                        "is this a BPSD folder?")
        specs = []
        for csv_path in sorted(notes_dir.glob("*.csv")):
            sonata = csv_path.stem.rsplit("_", 1)[0]
            extra = {"measures": str(self.root / MEASURES_DIR / csv_path.name),
                     "audio": str(self.root / AUDIO_DIR / f"{csv_path.stem}.wav"),
                     "score": str(self.root / SCORE_DIR / f"{sonata}.xml")}
            specs.append(PieceSpec(self.name, csv_path.stem, str(csv_path), "test", extra))
        if not specs:
            raise InputError(notes_dir, "no <sonata>_<performer>.csv note annotations here")
        return specs

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        notes = [Note(common.parse_seconds_ms(r["start"]), common.parse_seconds_ms(r["end"]), int(float(r["pitch"])),
                      VELOCITY) for r in read_rows(Path(spec.path), ("start", "end", "pitch"))]
        notes.sort(key=lambda n: (n.onset, n.pitch))
        audio_path = Path(spec.extra["audio"])
        audio = common.read_recording(audio_path, config.sample_rate) if audio_path.is_file() else None
        measures_path = Path(spec.extra["measures"])
        if not measures_path.is_file():
            return window_samples(spec, notes, audio, config, meta={"measures": False})
        starts = [common.parse_seconds_ms(r["start"]) for r in read_rows(measures_path, ("start",))]
        end = max([n.offset for n in notes] + [len(audio) * 1000 // config.sample_rate if audio is not None else 0])
        part = _score_part(Path(spec.extra["score"]))
        spans = measure_spans(starts, end, None if part is None else len(part.findall("measure")))
        if part is not None and spans is None:
            log.warning("%s: the unfolded score and the measure annotation disagree; no LMX", spec.piece)
            spans = measure_spans(starts, end, None)
            part = None
        samples = []
        for a, b in group_measures(spans, config.window_ms):
            start_ms, end_ms = spans[a][0], spans[b - 1][1]
            cut = cut_notes(notes, start_ms, end_ms)
            lmx = None
            if part is not None:
                from scorebridge.notation.slicing import lmx_for_measures

                lmx = tuple(lmx_for_measures(part, a, b))
            samples.append(Sample(
                id=sample_id(spec, "window", len(samples)), source=spec.source, piece=spec.piece, split=spec.split,
                kind="window", start_ms=start_ms, end_ms=end_ms, timeline="performance", measure_start=a,
                measure_end=b, sample_rate=config.sample_rate, lmx=lmx, notes=cut.notes, tied_in=cut.tied_in,
                audio=None if audio is None else cut_audio(audio, start_ms, end_ms, config.sample_rate),
            ))
        if not samples:
            raise PieceRejected("no measures to cut")
        return samples


def measure_spans(starts: list[int], end_ms: int, score_measures: int | None) -> list[tuple[int, int]] | None:
    """[start, end) of each measure. The annotation may or may not close with an end-of-movement row; a
    score measure count decides which (None if it fits neither). Without a score, the last row is taken as
    the start of a last measure that lasts until ``end_ms``."""
    closed = [(a, b) for a, b in zip(starts, starts[1:], strict=False) if b > a]
    open_last = closed + ([(starts[-1], end_ms)] if starts and end_ms > starts[-1] else [])
    if score_measures is None:
        return open_last
    for spans in (open_last, closed):
        if len(spans) == score_measures and len(spans) == len(starts) - (spans is closed):
            return spans
    return None


def group_measures(spans: list[tuple[int, int]], window_ms: int) -> list[tuple[int, int]]:
    """Consecutive runs [a, b) of whole measures, each as long as fits in ``window_ms`` (at least one)."""
    runs, a = [], 0
    while a < len(spans):
        b = a + 1
        while b < len(spans) and spans[b][1] - spans[a][0] <= window_ms:
            b += 1
        runs.append((a, b))
        a = b
    return runs


def read_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f, delimiter=";")
            fields = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in required if c not in fields]
            if missing:
                raise InputError(path, f"expected ';'-separated columns {', '.join(required)}, missing "
                                       f"{', '.join(missing)}")
            return [{k.strip(): v for k, v in row.items() if k} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"cannot read the annotation ({exc})") from exc


def _score_part(path: Path):
    if not path.is_file():
        return None
    from scorebridge.notation import load_musicxml, select_part

    tree = load_musicxml(path)
    return select_part(tree, None, path)
