"""ASAP: piano scores aligned beat by beat to human performances — system samples in performance time, and
long (performance MIDI, audio) windows.

One piece = one **performance** ('Composer/Work/.../PERFORMER'); every performance of a score shares the
score folder's split (``data/splits/asap.tsv``, by work). ``build_piece`` gives:

- **performance system samples** (``timeline='performance'``, ids ``...psystem-NNNN``): for each system run
  that ``data.system_samples.build_system_samples`` cut from the engraved score, every time its measures are
  played in a row (a repeated section gives one sample per play). Same image and LMX as the score-time sample; MIDI
  = the performer's notes struck in those measures (``cutting.cut_notes`` with ``tied=False``); audio =
  the performance MIDI file (with its pedal) synthesized once and cut at the span. Each must pass the
  alignment check (``check_performance_sample`` against the score-MIDI notes of the same measures) or it is
  dropped and listed in ``meta['dropped_spans']`` of the piece's samples.
- the **score-time** system samples (``timeline='score'``, ids ``...system-NNNN``) only for the first
  performance of each score (in file-name order), so that the same score-time sample is not stored once per
  performer.
- **long windows** (``kind='window'``, ids ``...window-NNNN``): consecutive ``config.window_ms`` windows over
  the whole performance (a last partial window kept if >= 1 s), MIDI (sustain pedal per
  ``config.sustain_pedal``; tied-in notes start at 0 and are listed in ``Sample.tied_in``) and audio only.

The alignment rules (repeats, pickups, measures without downbeats) are in ``data.performance``.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec, sample_id
from scorebridge.data.cutting import cut_audio, cut_notes, window_samples
from scorebridge.data.performance import (
    Beat,
    MeasureAlignment,
    ScoreClock,
    align_measures,
    check_performance_sample,
    measure_spans,
    read_annotations,
    read_score_clock,
)
from scorebridge.data.schema import Sample
from scorebridge.data.splits import load_split_file
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.midi import Note, read_midi
from scorebridge.notation import load_musicxml, select_part
from scorebridge.scorefile import decode_score_bytes, read_mxl_rootfile

log = logging.getLogger(__name__)

NAME = "asap"
MIN_LAST_WINDOW_MS = 1000


@dataclass(frozen=True, eq=False)
class AsapScore:
    """What the alignment needs from a score folder (no engraving)."""

    part: ET.Element  # the piano part of xml_score.mxl
    clock: ScoreClock  # quarter notes -> score-MIDI ms (midi_score.mid)
    beats: tuple[Beat, ...]  # midi_score_annotations.txt
    notes: tuple[Note, ...]  # midi_score.mid, score-MIDI ms

    @property
    def measures(self) -> int:
        return len(self.part.findall("measure"))


def load_score(spec: PieceSpec) -> AsapScore:
    """Read the score side of a performance's spec; InputError for unreadable files."""
    path = Path(spec.path)
    part = select_part(load_musicxml(path), None, path)
    return AsapScore(part, read_score_clock(spec.extra["score_midi"]),
                     read_annotations(spec.extra["score_annotations"]),
                     tuple(read_midi(spec.extra["score_midi"])))


def align_performance(spec: PieceSpec, score: AsapScore) -> MeasureAlignment:
    """Every played measure of the score with its span in this performance (PieceRejected if impossible)."""
    return align_measures(score.part, score.clock, score.beats, read_annotations(spec.extra["performance_annotations"]))


class AsapSource:
    """The ASAP corpus; ``corpora_dir`` is the folder holding ``asap/`` (or the ASAP folder itself)."""

    name = NAME

    def __init__(self, corpora_dir: str | Path):
        corpora_dir = Path(corpora_dir)
        self.root = corpora_dir / "asap" if (corpora_dir / "asap").is_dir() else corpora_dir
        if not (self.root / "metadata.csv").is_file():
            raise InputError(self.root / "metadata.csv", "ASAP metadata not found (expected asap/metadata.csv)")

    def pieces(self) -> list[PieceSpec]:
        """One spec per performance listed in metadata.csv, sorted by piece id."""
        splits = load_split_file(NAME)
        rows = self._rows()
        first: dict[str, str] = {}
        for folder, performer in sorted(rows):
            first.setdefault(folder, performer)
        specs = []
        for folder, performer in sorted(rows):
            if folder not in splits:
                raise InputError(self.root / folder, "score folder not in the ASAP split file (data/splits/asap.tsv)")
            base = self.root / folder
            specs.append(PieceSpec(NAME, f"{folder}/{performer}", str(base / "xml_score.mxl"), splits[folder], {
                "score_midi": str(base / "midi_score.mid"),
                "score_annotations": str(base / "midi_score_annotations.txt"),
                "performance": str(base / f"{performer}.mid"),
                "performance_annotations": str(base / f"{performer}_annotations.txt"),
                "score_time": "yes" if first[folder] == performer else "no",
            }))
        return specs

    def _rows(self) -> set[tuple[str, str]]:
        path = self.root / "metadata.csv"
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            try:
                return {(row["folder"], Path(row["midi_performance"]).stem) for row in reader}
            except KeyError as exc:
                raise InputError(path, f"metadata.csv lacks the column {exc}") from exc

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        return build_performance(spec, config)


def build_performance(spec: PieceSpec, config: BuildConfig) -> list[Sample]:
    """All samples of one performance (see the module docstring); PieceRejected with a one-line reason."""
    from scorebridge.data.system_samples import build_system_samples

    try:
        score = load_score(spec)
        alignment = align_performance(spec, score)
        musicxml = _score_text(Path(spec.path))
        performance = read_midi(spec.extra["performance"], sustain_pedal=config.sustain_pedal)
    except InputError as exc:
        raise PieceRejected(str(exc)) from exc
    built = build_system_samples(spec, config, musicxml)
    audio = _synthesize_performance(spec, built.soundfont, config.sample_rate)

    samples: list[Sample] = list(built.samples) if spec.extra.get("score_time") == "yes" else []
    performed, dropped = performance_system_samples(spec, config, built.samples, alignment, score, performance)
    samples += [dataclasses.replace(s, soundfont=built.soundfont,
                                    audio=cut_audio(audio, s.start_ms, s.end_ms, config.sample_rate))
                for s in performed]
    samples += window_samples(spec, performance, audio, config, meta={"sustain_pedal": config.sustain_pedal},
                              soundfont=built.soundfont, min_last_ms=MIN_LAST_WINDOW_MS, keep_silent=True)
    meta = {"dropped_spans": dropped, "repeats_unfolded": alignment.unfolded}
    return [dataclasses.replace(s, meta={**s.meta, **meta}) for s in samples]


def performance_system_samples(spec: PieceSpec, config: BuildConfig, score_samples: Sequence[Sample],
                               alignment: MeasureAlignment, score: AsapScore, performance: Sequence[Note]
                               ) -> tuple[list[Sample], list[dict[str, object]]]:
    """The performance version of each score-time system sample (no audio yet), and the spans dropped by the
    check (measure range, play, reason)."""
    out: list[Sample] = []
    dropped: list[dict[str, object]] = []
    for sample in score_samples:
        m0, m1 = sample.measure_start or 0, sample.measure_end or 0
        for play, span in enumerate(measure_spans(alignment, m0, m1)):
            score_notes = cut_notes(score.notes, span.score_start_ms, span.score_end_ms, tied=False).notes
            candidate = dataclasses.replace(
                sample, id=sample_id(spec, "psystem", len(out)), timeline="performance",
                start_ms=span.start_ms, end_ms=span.end_ms, audio=None,
                notes=cut_notes(performance, span.start_ms, span.end_ms, tied=False).notes, tied_in=(),
                # The score pitches go with the sample so that `data check` can repeat this check later.
                meta={**sample.meta, "score_sample": sample.id, "play": play,
                      "score_midi_span_ms": [span.score_start_ms, span.score_end_ms],
                      "score_pitches": sorted(n.pitch for n in score_notes)})
            check = check_performance_sample(candidate, score_notes)
            if not check.ok:
                dropped.append({"measure_start": m0, "measure_end": m1, "play": play, "reason": check.reason})
                continue
            out.append(candidate)
    if score_samples and not out:
        raise PieceRejected(f"no system passes the performance alignment check ({len(dropped)} dropped)")
    return out, dropped


def _score_text(path: Path) -> str:
    data = read_mxl_rootfile(path) if path.suffix.lower() == ".mxl" else path.read_bytes()
    if not data.strip():
        raise InputError(path, "empty score")
    return decode_score_bytes(data)


def _synthesize_performance(spec: PieceSpec, soundfont: str, sample_rate: int) -> np.ndarray:
    """The performance MIDI file itself (pedal included), synthesized once for every sample of the piece."""
    from scorebridge.render import synthesize

    try:
        return synthesize(spec.extra["performance"], soundfont, sample_rate)
    except ScorebridgeError as exc:
        raise PieceRejected(f"synthesis failed ({exc})") from exc


__all__ = ["AsapScore", "AsapSource", "align_performance", "build_performance", "load_score",
           "performance_system_samples"]
