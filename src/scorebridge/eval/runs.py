"""One runner per task family: translate each sample with the model, score it, collect the task's scores.

A source the model cannot take (``ScoreBridgeModel.translate`` raises InputError: longer than its limits, too
wide, beyond its position tables) is skipped with the reason; anything the model generates is scored, an empty
or unreadable output as an empty prediction. Scores are frozen dataclasses with a ``headline()`` of the numbers
a table quotes; rates are fractions (an SER of 0.0972 is the reference's 9.72 %).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any, Protocol

import numpy as np

from scorebridge.data.schema import Sample
from scorebridge.decoding import DecodingOptions, end_counts
from scorebridge.errors import InputError
from scorebridge.eval.alignment import aligned_onset_f1
from scorebridge.eval.codec_metrics import NoteScore, mel_distance, note_f1_with_offsets, onset_f1
from scorebridge.eval.omr_errors import ErrorBreakdown, classify_errors, drop_tuplets, empty_breakdown
from scorebridge.eval.pieces import TruthWindow, decode_piece_window, join_truth_windows, stitch_piece
from scorebridge.eval.report import SkippedSample
from scorebridge.eval.ser import edit_distance
from scorebridge.inference import ScoreBridgeModel, Translation
from scorebridge.midi.notes import Note
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.midi.windows import DecodedWindow
from scorebridge.modality import Modality
from scorebridge.tokens.layout import decode_midi

log = logging.getLogger(__name__)


class Judge(Protocol):
    """A transcriber that scores generated audio: ``name`` goes in the report."""

    name: str

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> list[Note]: ...


END_WORDS = {"eos": "ended with EOS", "loop": "cut as loop", "source_length": "at the source-length bound",
             "max_steps": "at the step limit"}


def describe_ends(counts: Mapping[str, int], what: str = "decoding") -> str:
    """One line for a report, e.g. "decoding: ended with EOS 3/20; cut as loop 12/20; ..."."""
    total = sum(counts.values())
    return f"{what}: " + "; ".join(f"{END_WORDS.get(k, k)} {n}/{total}" for k, n in counts.items())


@dataclass
class Outcome:
    """What a runner hands back: the scores, the units scored, those skipped, remarks for the report (the
    counts of why decoding ended among them)."""

    scores: Any
    evaluated: int
    skipped: list[SkippedSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def translate_or_reason(model: ScoreBridgeModel, source: Any, src: Modality, target: Modality,
                        options: DecodingOptions) -> Translation | str:
    """The model's Translation of one window, or the reason (str) it cannot take the source."""
    try:
        return model.translate(source, to=target, source_modality=src, options=options)
    except InputError as exc:
        return exc.problem


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return fmean(values) if values else None


def mean_note_score(scores: Sequence[NoteScore]) -> NoteScore | None:
    """Precision, recall and F1 each averaged over files (None for no files), as the reference averages."""
    if not scores:
        return None
    return NoteScore(*(fmean(getattr(s, k) for s in scores) for k in ("precision", "recall", "f1")))


# ---------------------------------------------------------------- SER: omr, audio-image, lmx-image
@dataclass(frozen=True)
class SerSample:
    id: str
    edits: int
    truth_tokens: int
    predicted_tokens: int
    end: str | None = None  # why decoding the prediction stopped (the generated image's, for read-back tasks)


@dataclass(frozen=True)
class SerScores:
    """Corpus SER (sum of edits / sum of truth tokens), the same without tuplet tokens, edits by kind.
    ``empty_predictions``: samples the model produced no LMX for; ``unreadable``: for image targets, generated
    images that gave no image or could not be read back (both scored as empty predictions);
    ``over_target_limit``: truths longer than the model's notation limit (scored all the same). ``ends``: how
    many translations ended for each reason (``decoding.stopping.END_REASONS``; for audio-image and lmx-image
    the generated images, ``readback_ends`` their OMR). Predictions are scored as produced: a row cut as a
    loop keeps its repeats, which count as the errors they are."""

    ser: float | None
    ser_no_tuplets: float | None
    edits: int
    truth_tokens: int
    edits_no_tuplets: int
    truth_tokens_no_tuplets: int
    error_kinds: ErrorBreakdown
    empty_predictions: int
    unreadable: int
    over_target_limit: int
    samples: tuple[SerSample, ...]
    ends: Mapping[str, int] = field(default_factory=dict)
    readback_ends: Mapping[str, int] | None = None

    def headline(self) -> dict[str, float | None]:
        return {"ser": self.ser, "ser_no_tuplets": self.ser_no_tuplets,
                **{f"{k}_error_rate": e.rate for k, e in self.error_kinds.by_kind.items()}}


class SerTally:
    """Accumulates the SER of (truth, prediction) pairs."""

    def __init__(self) -> None:
        self.edits = self.truth = self.edits_nt = self.truth_nt = 0
        self.empty = self.unreadable = self.over_limit = 0
        self.kinds = empty_breakdown()
        self.rows: list[SerSample] = []
        self.readback_ends: list[str | None] = []

    def add(self, sample_id: str, truth: Sequence[str], predicted: Sequence[str], end: str | None = None) -> None:
        edits = edit_distance(truth, predicted)
        self.edits += edits
        self.truth += len(truth)
        truth_nt, predicted_nt = drop_tuplets(truth), drop_tuplets(predicted)
        self.edits_nt += edit_distance(truth_nt, predicted_nt)
        self.truth_nt += len(truth_nt)
        self.kinds = self.kinds + classify_errors(truth, predicted)
        self.empty += not predicted
        self.rows.append(SerSample(sample_id, edits, len(truth), len(predicted), end))

    def scores(self) -> SerScores:
        readback = end_counts(self.readback_ends) if self.readback_ends else None
        return SerScores(
            ser=self.edits / self.truth if self.truth else None,
            ser_no_tuplets=self.edits_nt / self.truth_nt if self.truth_nt else None,
            edits=self.edits, truth_tokens=self.truth, edits_no_tuplets=self.edits_nt,
            truth_tokens_no_tuplets=self.truth_nt, error_kinds=self.kinds, empty_predictions=self.empty,
            unreadable=self.unreadable, over_target_limit=self.over_limit, samples=tuple(self.rows),
            ends=end_counts(r.end for r in self.rows), readback_ends=readback)


def run_omr(model: ScoreBridgeModel, samples: Iterable[Sample], options: DecodingOptions) -> Outcome:
    """Image -> LMX, SER against the sample's LMX."""
    tally, skipped = SerTally(), []
    for s in samples:
        result = translate_or_reason(model, s.image, Modality.IMAGE, Modality.NOTATION, options)
        if isinstance(result, str):
            skipped.append(SkippedSample(s.id, result))
            continue
        tally.over_limit += len(s.lmx or ()) + 2 > model.limits.notation  # + SOS and EOS steps
        tally.add(s.id, list(s.lmx or ()), list(result.lmx), result.end)
    scores = tally.scores()
    return Outcome(scores, len(tally.rows), skipped, [describe_ends(scores.ends)])


def run_readback(model: ScoreBridgeModel, samples: Iterable[Sample], source: Modality, options: DecodingOptions,
                 readback: DecodingOptions) -> Outcome:
    """Audio or LMX -> image, the image read back by the same model's OMR (``readback`` options), SER against
    the sample's LMX. The generated systems are read back as one stacked image, as a user would pass it."""
    tally, skipped = SerTally(), []
    for s in samples:
        data = (s.audio, s.sample_rate) if source is Modality.AUDIO else list(s.lmx or ())
        image = translate_or_reason(model, data, source, Modality.IMAGE, options)
        if isinstance(image, str):
            skipped.append(SkippedSample(s.id, image))
            continue
        predicted: list[str] = []
        readable = False
        if image.image.size:
            back = translate_or_reason(model, image.image, Modality.IMAGE, Modality.NOTATION, readback)
            if isinstance(back, str):
                log.debug("%s: the generated image cannot be read back: %s", s.id, back)
            else:
                predicted, readable = list(back.lmx), True
                tally.readback_ends.append(back.end)
        tally.unreadable += not readable
        tally.over_limit += len(s.lmx or ()) + 2 > model.limits.notation
        tally.add(s.id, list(s.lmx or ()), predicted, image.end)
    scores = tally.scores()
    notes = [describe_ends(scores.ends, "image generation")]
    if scores.readback_ends is not None:
        notes.append(describe_ends(scores.readback_ends, "read-back OMR"))
    return Outcome(scores, len(tally.rows), skipped, notes)


# ---------------------------------------------------------------- transcription
@dataclass(frozen=True)
class PieceScore:
    piece: str
    windows: int
    truth_notes: int
    predicted_notes: int
    onset: NoteScore
    onset_offset: NoteScore
    decoding_problems: int
    ends: Mapping[str, int] = field(default_factory=dict)  # why each window's decoding stopped


@dataclass(frozen=True)
class TranscriptionScores:
    """Note-onset F1 (mir_eval, 50 ms, offsets ignored) and onset+offset F1 per piece over its consecutive
    windows, each averaged over pieces (None for no piece); ``ends``: why each window's decoding stopped,
    counted over all windows."""

    onset: NoteScore | None
    onset_offset: NoteScore | None
    windows: int
    pieces: tuple[PieceScore, ...]
    ends: Mapping[str, int] = field(default_factory=dict)

    def headline(self) -> dict[str, float | None]:
        return {"onset_f1": self.onset.f1 if self.onset else None,
                "onset_offset_f1": self.onset_offset.f1 if self.onset_offset else None}


def truth_window(s: Sample) -> TruthWindow:
    """The truth of one window for joining a piece; its tied-in notes as the sample records them."""
    return TruthWindow(int(s.start_ms or 0), int(s.end_ms or 0), tuple(s.notes or ()), s.tied_in)


def transcribe_piece(model: ScoreBridgeModel, windows: Sequence[Sample], options: DecodingOptions,
                     tokenizer: MidiTokenizer) -> tuple[list[Note], int, list[str | None]] | str:
    """The stitched predicted notes of a piece's windows, the count of decoding problems and why each window's
    decoding stopped, or why a window cannot be taken (the piece is then skipped whole: a hole would score as
    missed notes)."""
    decoded: list[DecodedWindow] = []
    problems = 0
    ends: list[str | None] = []
    for w in windows:
        result = translate_or_reason(model, (w.audio, w.sample_rate), Modality.AUDIO, Modality.MIDI, options)
        if isinstance(result, str):
            return f"window {w.id}: {result}"
        ends.append(result.end)
        try:
            tokens = decode_midi(result.steps, model.vocab)
        except ValueError:  # not MIDI ids (the grammar prevents it); an empty window
            tokens, problems = [], problems + 1
        window = decode_piece_window(tokenizer, tokens, int(w.start_ms or 0), int(w.end_ms or 0))
        problems += len(window.problems)
        decoded.append(window)
    return stitch_piece(tokenizer, decoded), problems, ends


def run_transcription(model: ScoreBridgeModel, pieces: Iterable[tuple[str, list[Sample]]],
                      options: DecodingOptions) -> Outcome:
    """Audio -> MIDI per window, pieces joined, F1 per piece, averaged over pieces."""
    tokenizer = MidiTokenizer(model.vocab.config.midi)
    rows: list[PieceScore] = []
    skipped: list[SkippedSample] = []
    notes: list[str] = []
    for name, windows in pieces:
        windows = sorted(windows, key=lambda w: w.start_ms or 0)
        gaps = sum(a.end_ms != b.start_ms for a, b in zip(windows, windows[1:], strict=False))
        if gaps:
            notes.append(f"{name}: {gaps} gaps or overlaps between consecutive windows")
        done = transcribe_piece(model, windows, options, tokenizer)
        if isinstance(done, str):
            skipped.append(SkippedSample(name, done))
            continue
        predicted, problems, ends = done
        truth = join_truth_windows([truth_window(w) for w in windows])
        rows.append(PieceScore(name, len(windows), len(truth), len(predicted), onset_f1(truth, predicted),
                               note_f1_with_offsets(truth, predicted), problems, end_counts(ends)))
    total = end_counts([])
    for r in rows:
        total = {k: n + r.ends.get(k, 0) for k, n in total.items()}
    scores = TranscriptionScores(mean_note_score([r.onset for r in rows]),
                                 mean_note_score([r.onset_offset for r in rows]),
                                 sum(r.windows for r in rows), tuple(rows), total)
    return Outcome(scores, len(rows), skipped, notes + [describe_ends(total, "windows")])


# ---------------------------------------------------------------- image-audio, midi-audio
@dataclass(frozen=True)
class AudioSample:
    id: str
    truth_notes: int
    judged_notes: int
    onset: NoteScore
    onset_aligned: NoteScore
    mel_distance: float | None
    generated_seconds: float
    end: str | None = None


@dataclass(frozen=True)
class AudioScores:
    """Onset F1 (50 ms) of the judge's transcription of the generated audio against the sample's notes, directly
    and after DTW alignment (``eval.alignment``), averaged over samples; multi-scale mel distance to the
    sample's audio (MIDI -> audio only; the generated audio cut or padded with silence to its length, at the
    codec's rate). ``empty_audio``: samples with no generated audio (scored as no notes); ``ends``: why each
    generation stopped."""

    onset: NoteScore | None
    onset_aligned: NoteScore | None
    mel_distance: float | None
    empty_audio: int
    samples: tuple[AudioSample, ...]
    ends: Mapping[str, int] = field(default_factory=dict)

    def headline(self) -> dict[str, float | None]:
        return {"onset_f1": self.onset.f1 if self.onset else None,
                "onset_f1_aligned": self.onset_aligned.f1 if self.onset_aligned else None,
                "mel_distance": self.mel_distance}


def fit_audio(reference: np.ndarray, reference_rate: int, generated: np.ndarray, rate: int) -> tuple[np.ndarray,
                                                                                                      np.ndarray]:
    """The reference resampled to ``rate`` and the generated audio cut or zero-padded to its length."""
    import librosa

    ref = np.asarray(reference, dtype=np.float32)
    if reference_rate != rate:
        ref = librosa.resample(ref, orig_sr=reference_rate, target_sr=rate).astype(np.float32)
    est = np.zeros_like(ref)
    n = min(len(ref), len(generated))
    est[:n] = generated[:n]
    return ref, est


def run_audio_generation(model: ScoreBridgeModel, samples: Iterable[Sample], source: Modality, options: DecodingOptions,
                         judge: Judge) -> Outcome:
    """Image or MIDI -> audio; the judge transcribes it; onset F1 direct and aligned (+ mel for MIDI)."""
    rows: list[AudioSample] = []
    skipped: list[SkippedSample] = []
    empty = 0
    for s in samples:
        data = s.image if source is Modality.IMAGE else list(s.notes or ())
        result = translate_or_reason(model, data, source, Modality.AUDIO, options)
        if isinstance(result, str):
            skipped.append(SkippedSample(s.id, result))
            continue
        audio = result.audio
        empty += not audio.size
        judged = judge.transcribe(audio, result.sample_rate) if audio.size else []
        truth = list(s.notes or ())
        mel = None
        if source is Modality.MIDI and s.audio is not None and len(s.audio):
            mel = mel_distance(*fit_audio(s.audio, s.sample_rate, audio, result.sample_rate), result.sample_rate)
        rows.append(AudioSample(s.id, len(truth), len(judged), onset_f1(truth, judged),
                                aligned_onset_f1(truth, judged), mel, len(audio) / result.sample_rate, result.end))
    ends = end_counts(r.end for r in rows)
    scores = AudioScores(mean_note_score([r.onset for r in rows]), mean_note_score([r.onset_aligned for r in rows]),
                         _mean(r.mel_distance for r in rows if r.mel_distance is not None), empty, tuple(rows),
                         ends)
    return Outcome(scores, len(rows), skipped, [describe_ends(ends, "audio generation")])
