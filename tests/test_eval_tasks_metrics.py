"""Evaluation metrics on hand-made examples: SER and its tuplet-free variant, errors by kind, DTW-aligned onset F1,
pieces joined from windows, the report's JSON."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from lmx.linearization.vocabulary import ALL_TOKENS, TIME_MODIFICATION_TOKENS

from scorebridge.eval.alignment import aligned_onset_f1, dtw_align_notes, note_features
from scorebridge.eval.codec_metrics import NoteScore, onset_f1
from scorebridge.eval.omr_errors import (
    KINDS,
    TUPLET_TOKENS,
    classify_errors,
    drop_tuplets,
    edit_ops,
    token_kind,
)
from scorebridge.eval.pieces import TruthWindow, decode_piece_window, join_truth_windows, stitch_piece
from scorebridge.eval.report import DataInfo, EvalReport, ModelInfo, SkippedSample, package_versions
from scorebridge.eval.runs import SerTally, mean_note_score
from scorebridge.eval.ser import edit_distance
from scorebridge.midi import MidiTokenizer, Note


def lmx(text: str) -> list[str]:
    return text.split()


# ---------------------------------------------------------------- SER and errors by kind
def test_corpus_ser_sums_edits_over_truth_tokens() -> None:
    tally = SerTally()
    tally.add("a", lmx("measure C4 quarter D4 quarter"), lmx("measure C4 quarter E4 quarter"))  # 1 edit / 5
    tally.add("b", lmx("measure rest whole"), [])  # 3 edits / 3, an empty prediction
    scores = tally.scores()
    assert (scores.edits, scores.truth_tokens) == (4, 8)
    assert scores.ser == pytest.approx(0.5)  # not the mean of the rates (0.6)
    assert scores.empty_predictions == 1 and [r.edits for r in scores.samples] == [1, 3]
    assert SerTally().scores().ser is None


def test_ser_without_tuplets_drops_brackets_and_ratios_from_both_sides() -> None:
    truth = lmx("C4 eighth 3in2 tuplet:start D4 eighth 3in2 E4 eighth 3in2 tuplet:stop")
    predicted = lmx("C4 eighth D4 eighth E4 eighth 6in4")
    assert drop_tuplets(truth) == drop_tuplets(predicted) == lmx("C4 eighth D4 eighth E4 eighth")
    tally = SerTally()
    tally.add("t", truth, predicted)
    scores = tally.scores()
    assert scores.ser == pytest.approx(edit_distance(truth, predicted) / len(truth)) and scores.ser > 0
    assert scores.ser_no_tuplets == 0.0 and scores.truth_tokens_no_tuplets == 6


def test_tuplet_tokens_are_the_brackets_and_every_time_modification() -> None:
    assert {"tuplet:start", "tuplet:stop", "3in2", "7in8"} <= TUPLET_TOKENS
    assert TUPLET_TOKENS == {"tuplet:start", "tuplet:stop", *TIME_MODIFICATION_TOKENS}
    assert not {"tied:start", "slur:start", "dot", "eighth"} & TUPLET_TOKENS


def test_every_lmx_token_has_a_kind() -> None:
    kinds = {t: token_kind(t) for t in ALL_TOKENS}
    assert set(kinds.values()) == set(KINDS)
    assert (kinds["C4"], kinds["B9"], kinds["rest"]) == ("pitch",) * 3
    assert (kinds["quarter"], kinds["dot"], kinds["3in2"], kinds["rest:measure"]) == ("duration",) * 4
    assert (kinds["sharp"], kinds["flat-flat"]) == ("accidental",) * 2
    assert (kinds["measure"], kinds["clef:G2"], kinds["tuplet:start"], kinds["chord"]) == ("structure",) * 4


def test_errors_by_kind_on_a_known_example() -> None:
    truth = lmx("measure C4 quarter D4 sharp half")
    predicted = lmx("measure clef:G2 C4 eighth E4 half")  # clef inserted, quarter->eighth, D4->E4, sharp lost
    kinds = classify_errors(truth, predicted).by_kind
    assert (kinds["pitch"].substitute, kinds["pitch"].edits, kinds["pitch"].truth_tokens) == (1, 1, 2)
    assert (kinds["duration"].substitute, kinds["duration"].edits) == (1, 1)
    assert (kinds["accidental"].delete, kinds["accidental"].edits, kinds["accidental"].rate) == (1, 1, 1.0)
    assert (kinds["structure"].insert, kinds["structure"].edits, kinds["structure"].truth_tokens) == (1, 1, 1)
    assert classify_errors(truth, predicted).edits == edit_distance(truth, predicted) == 4


def test_edit_ops_length_is_the_edit_distance() -> None:
    rng = random.Random(0)
    words = ["C4", "D4", "quarter", "half", "sharp", "measure", "3in2", "tuplet:start"]
    for _ in range(300):
        a = [rng.choice(words) for _ in range(rng.randint(0, 12))]
        b = [rng.choice(words) for _ in range(rng.randint(0, 12))]
        ops = edit_ops(a, b)
        assert len(ops) == edit_distance(a, b)
        assert sum(op.op != "insert" for op in ops) <= len(a) and sum(op.op != "delete" for op in ops) <= len(b)
    assert edit_ops([], []) == [] and [op.op for op in edit_ops(["C4"], [])] == ["delete"]
    assert [op.op for op in edit_ops([], ["C4", "D4"])] == ["insert", "insert"]


# ---------------------------------------------------------------- DTW-aligned onset F1
SCALE = [60, 62, 64, 65, 67, 69, 71, 72, 72, 71, 69, 67]  # with a repeated note (72 72)


def melody(step_ms: int = 300) -> list[Note]:
    return [Note(step_ms * i, step_ms * i + step_ms - 20, p) for i, p in enumerate(SCALE)]


def stretched(notes: list[Note], factor: float, shift_ms: int = 0, transpose: int = 0) -> list[Note]:
    return [Note(round(factor * n.onset) + shift_ms, round(factor * n.offset) + shift_ms, n.pitch + transpose)
            for n in notes]


def test_a_time_stretched_copy_scores_low_directly_and_high_after_alignment() -> None:
    truth, slow = melody(), stretched(melody(), 1.4, shift_ms=30)
    assert onset_f1(truth, slow).f1 < 0.2
    assert aligned_onset_f1(truth, slow).f1 == pytest.approx(1.0)
    fast = stretched(melody(), 0.75)
    assert onset_f1(truth, fast).f1 < 0.3 and aligned_onset_f1(truth, fast).f1 > 0.9
    moved = dtw_align_notes(truth, slow)
    assert [n.pitch for n in moved] == SCALE
    assert all(abs(a.onset - b.onset) <= 40 for a, b in zip(truth, moved, strict=True))


def test_alignment_does_not_invent_matches() -> None:
    truth = melody()
    wrong = stretched(truth, 1.2, transpose=1)  # every pitch a semitone off
    assert aligned_onset_f1(truth, wrong).f1 < 0.3
    assert aligned_onset_f1(truth, []).f1 == 0.0 and aligned_onset_f1([], []).f1 == 1.0
    assert aligned_onset_f1(truth, truth).f1 == 1.0


def test_note_features_mark_sounding_and_starting_pitch_classes_and_silence() -> None:
    feats = note_features([Note(0, 40, 60), Note(60, 100, 72)], n_frames=6, hop_ms=20)
    assert feats.shape == (25, 6)
    assert feats[0].tolist() == [1, 1, 0, 1, 1, 0]  # C sounds (both notes are C)
    assert feats[12].tolist() == [1, 0, 0, 1, 0, 0]  # and starts twice
    assert feats[24].tolist() == [0, 0, 1, 0, 0, 1]  # silence between and after


def test_mean_note_score_averages_each_measure_over_files() -> None:
    mean = mean_note_score([NoteScore(1.0, 0.5, 2 / 3), NoteScore(0.0, 0.0, 0.0)])
    assert mean == NoteScore(0.5, 0.25, pytest.approx(1 / 3))
    assert mean_note_score([]) is None


# ---------------------------------------------------------------- pieces from windows
def test_truth_windows_join_tied_notes_across_boundaries() -> None:
    windows = [
        TruthWindow(0, 1000, (Note(200, 1000, 60), Note(500, 700, 64)), tied_in=()),
        TruthWindow(1000, 2000, (Note(0, 300, 60), Note(0, 100, 67)), tied_in=(0,)),  # 60 tied; 67 struck at 0
        TruthWindow(2000, 2500, (Note(100, 200, 60),), tied_in=()),
    ]
    joined = join_truth_windows(windows)
    assert joined == [Note(200, 1300, 60), Note(500, 700, 64), Note(1000, 1100, 67), Note(2100, 2200, 60)]


def test_truth_windows_without_tie_records_treat_a_continuing_onset_0_as_tied() -> None:
    windows = [TruthWindow(0, 1000, (Note(200, 1000, 60),)), TruthWindow(1000, 2000, (Note(0, 300, 60),))]
    assert join_truth_windows(windows) == [Note(200, 1300, 60)]
    gap = [TruthWindow(0, 1000, (Note(200, 1000, 60),)), TruthWindow(1500, 2000, (Note(0, 300, 60),))]
    assert join_truth_windows(gap) == [Note(200, 1000, 60), Note(1500, 1800, 60)]  # not consecutive: no tie


def test_predicted_windows_decoded_at_their_start_stitch_into_the_piece() -> None:
    tokenizer = MidiTokenizer()
    piece = [Note(100, 2500, 60, 127), Note(1200, 1400, 64, 127), Note(2100, 3300, 67, 127)]  # 60 spans 3 windows
    decoded = [decode_piece_window(tokenizer, tokenizer.encode_window(piece, t0, t0 + 100), 10 * t0, 10 * t0 + 1000)
               for t0 in (0, 100, 200, 300)]
    assert decoded[1].ties and decoded[2].ties  # the long note is carried by the tie sections
    assert stitch_piece(tokenizer, decoded[::-1]) == piece
    assert stitch_piece(tokenizer, []) == []


# ---------------------------------------------------------------- the report
def report(scores: object) -> EvalReport:
    return EvalReport(task="omr", scores=scores, model=ModelInfo("m", 12, {"d_model": 8}, ("image->notation",)),
                      data=(DataInfo("ds", 10, 3),), split="test", samples=3,
                      skipped=(SkippedSample("x", "too long"),), decoding={"options": {"method": "greedy"}},
                      judge=None, versions=package_versions())


def test_report_json_is_strict_and_complete(tmp_path: Path) -> None:
    tally = SerTally()
    tally.add("a", lmx("measure C4 quarter"), lmx("measure C4 half"))
    rep = report(tally.scores())
    data = json.loads(rep.save(tmp_path / "r.json").read_text())
    assert data["task"] == "omr" and data["samples"] == 3 and data["model"]["step"] == 12
    assert data["skipped"] == [{"id": "x", "reason": "too long"}]
    assert data["scores"]["ser"] == pytest.approx(1 / 3)
    assert data["scores"]["error_kinds"]["duration"] == {"truth_tokens": 1, "substitute": 1, "delete": 0, "insert": 0,
                                                         "edits": 1, "rate": 1.0}
    assert {"scorebridge", "torch", "mir_eval", "python"} <= set(data["versions"])
    assert "ser 0.3333" in rep.summary() and rep.headline()["ser"] == pytest.approx(1 / 3)
    nan = report(NoteScore(math.nan, math.inf, 0.5))
    assert json.loads(nan.to_json())["scores"] == {"precision": None, "recall": None, "f1": 0.5}
