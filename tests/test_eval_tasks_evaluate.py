"""evaluate() end to end: a tiny random model folder over a small built dataset. Random weights give random
output: these tests check the report's fields and counts (evaluated, skipped and why), never quality."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from _image_codec_fixtures import staff_image
from scorebridge.api import ScoreBridgeModel, load_model
from scorebridge.checkpoint import config_to_dict
from scorebridge.codecs.audio import AUDIO_PRESETS, AudioCodec, save_audio_codec
from scorebridge.codecs.image import IMAGE_PRESETS, ImageCodec, save_image_codec
from scorebridge.data.build import build
from scorebridge.data.contract import BuildConfig, PieceSpec, piece_rng, sample_id
from scorebridge.data.schema import Sample, ms_to_sample_floor
from scorebridge.decoding import DecodingOptions
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.eval.codec_metrics import NoteScore
from scorebridge.eval.runs import SerScores, TranscriptionScores
from scorebridge.eval.tasks import TASKS, evaluate, select_rows
from scorebridge.midi import Note
from scorebridge.modality import Modality
from scorebridge.model import Translator, model_preset, save_translator
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig

VOCAB = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=4))
LIMITS = LengthLimits(image=200, notation=50, midi=100, audio=60, image_columns=20)  # audio: 1.2 s at 50 frames/s
RATE = AUDIO_PRESETS["tiny"].sample_rate
LMX = ("measure", "key:fifths:0", "time", "beats:4", "beat-type:4", "clef:G2", "C4", "voice:1", "quarter",
       "D4", "quarter", "E4", "half")
FAST = DecodingOptions(max_steps=6)


class EvalSource:
    """piece0 (test): two system samples and three consecutive 1 s windows, a note tied from window 0 into 1;
    piece1 (test): one system too wide for the model and one 1.5 s window (too long: the piece is skipped);
    piece2 (train): one system sample, never evaluated on the test split."""

    name = "evalfake"

    def pieces(self) -> list[PieceSpec]:
        return [PieceSpec(self.name, f"set/piece{i}", f"/nowhere/{i}.xml", split)
                for i, split in enumerate(("test", "test", "train"))]

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        rng = piece_rng(spec, config)
        index = int(spec.piece[-1])

        def audio(ms: int) -> np.ndarray:
            return rng.uniform(-0.3, 0.3, ms_to_sample_floor(ms, config.sample_rate)).astype(np.float32)

        widths = {0: (100, 120), 1: (400,), 2: (100,)}[index]
        out = [Sample(id=sample_id(spec, "system", k), source=spec.source, piece=spec.piece, split=spec.split,
                      kind="system", start_ms=0, end_ms=1000, sample_rate=config.sample_rate,
                      image=staff_image(height=40, width=w, seed=k), lmx=LMX,
                      notes=(Note(0, 500, 60), Note(500, 1000, 64)), audio=audio(1000))
               for k, w in enumerate(widths)]
        if index == 0:
            windows = [((Note(200, 1000, 60), Note(500, 700, 64)), []), ((Note(0, 300, 60),), [0]),
                       ((Note(100, 400, 67),), [])]
        elif index == 1:
            windows = [((Note(0, 1500, 62),), [])]
        else:
            windows = []
        start = 0
        for k, (notes, tied) in enumerate(windows):
            length = 1500 if index == 1 else 1000
            out.append(Sample(id=sample_id(spec, "window", k), source=spec.source, piece=spec.piece,
                              split=spec.split, kind="window", start_ms=start, end_ms=start + length,
                              timeline="performance", sample_rate=config.sample_rate, notes=notes,
                              audio=audio(length), tied_in=tuple(tied)))
            start += length
        return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "ds"
    build(EvalSource(), out, BuildConfig(sample_rate=RATE, soundfonts=("none",)))
    return out


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("run")
    torch.manual_seed(1)
    save_image_codec(ImageCodec(IMAGE_PRESETS["tiny"]).eval(), root / "codecs" / "image")
    save_audio_codec(AudioCodec(AUDIO_PRESETS["tiny"]).eval(), root / "codecs" / "audio")
    torch.manual_seed(0)
    extra = {"vocabulary": VOCAB.to_dict(), "limits": config_to_dict(LIMITS), "step": 1234,
             "tasks": [[s.value, t.value] for s, t in itertools.permutations(Modality, 2)],
             "codecs": {"image": config_to_dict(IMAGE_PRESETS["tiny"]), "audio": config_to_dict(AUDIO_PRESETS["tiny"])}}
    save_translator(Translator(model_preset("tiny", VOCAB.size)).eval(), root / "model", extra=extra)
    return root / "model"


def test_omr_report_counts_evaluated_and_skipped_samples(dataset: Path, model_dir: Path, tmp_path: Path) -> None:
    report = evaluate("omr", [dataset], model_dir, options=FAST, progress=False)
    assert report.task == "omr" and report.split == "test" and report.samples == 2
    assert [s.id for s in report.skipped] == ["evalfake/set/piece1/system-0000"]
    assert "columns wide" in report.skipped[0].reason
    scores = report.scores
    assert isinstance(scores, SerScores) and len(scores.samples) == 2
    assert scores.truth_tokens == 2 * len(LMX) and scores.ser == scores.edits / scores.truth_tokens
    assert scores.error_kinds.edits == scores.edits and scores.ser_no_tuplets is not None
    assert report.model.path == str(model_dir) and report.model.step == 1234
    assert report.data[0].available == 3 and report.data[0].selected == 3 and report.judge is None
    assert report.decoding["options"]["max_steps"] == 6
    data = json.loads(report.save(tmp_path / "omr.json").read_text())
    assert data["samples"] == 2 and data["versions"]["mir_eval"] != "not installed"


def test_limit_spreads_over_the_selection(dataset: Path, model_dir: Path) -> None:
    report = evaluate("omr", [dataset], model_dir, options=FAST, progress=False, limit=2)
    assert report.limit == 2 and report.data[0].selected == 2 and report.samples + len(report.skipped) == 2
    assert len(report.notes) == 1 and report.notes[0].startswith("decoding: ended with EOS ")  # only the end counts


def test_a_model_in_memory_that_takes_nothing_says_so(dataset: Path, model_dir: Path) -> None:
    loaded = load_model(model_dir)
    narrow = ScoreBridgeModel(loaded.translator, loaded.vocab, replace(LIMITS, image_columns=3), loaded.tasks,
                              loaded.codecs)
    report = evaluate("omr", [dataset], narrow, options=FAST, progress=False)
    assert report.samples == 0 and len(report.skipped) == 3 and report.scores.ser is None
    assert report.model.path is None and report.model.step is None and len(report.model.tasks) == 12
    assert any("nothing could be evaluated" in n for n in report.notes)
    assert json.loads(report.to_json())["scores"]["ser"] is None
    rows = select_rows("omr", [dataset], "test", 2).rows
    assert [r["id"] for _, r in rows] == ["evalfake/set/piece0/system-0000", "evalfake/set/piece1/system-0000"]
    assert len(select_rows("omr", [dataset], "train", None).rows) == 1


def test_transcription_scores_whole_pieces_and_skips_a_piece_with_a_too_long_window(
        dataset: Path, model_dir: Path) -> None:
    report = evaluate("transcription", [dataset], model_dir, options=FAST, progress=False)
    assert report.samples == 1
    assert [s.id for s in report.skipped] == ["evalfake/set/piece1"]
    assert "window evalfake/set/piece1/window-0000" in report.skipped[0].reason and "limit" in report.skipped[0].reason
    scores = report.scores
    assert isinstance(scores, TranscriptionScores) and scores.windows == 3
    (piece,) = scores.pieces
    assert piece.piece == "evalfake/set/piece0" and piece.windows == 3
    assert piece.truth_notes == 3  # the note tied from window 0 into window 1 counts once
    assert isinstance(scores.onset, NoteScore) and scores.onset == piece.onset
    assert 0.0 <= scores.onset.f1 <= 1.0 and 0.0 <= scores.onset_offset.f1 <= 1.0
    assert report.data[0].available == 4 and report.data[0].selected == 4
    assert sum(scores.ends.values()) == 3 and scores.ends == piece.ends  # one end reason per window
    assert any(n.startswith("windows: ended with EOS") for n in report.notes)


def test_why_decoding_ended_reaches_the_report(dataset: Path, model_dir: Path, tmp_path: Path) -> None:
    ends = evaluate("omr", [dataset], model_dir, options=replace(FAST, eos_bias=1e4), progress=False).scores.ends
    assert ends == {"eos": 2, "loop": 0, "source_length": 0, "max_steps": 0}
    never = replace(FAST, eos_bias=-1e4, loop_repeats=0)
    report = evaluate("omr", [dataset], model_dir, options=never, progress=False)
    assert report.scores.ends["max_steps"] == 2 and [s.end for s in report.scores.samples] == ["max_steps"] * 2
    assert "decoding: ended with EOS 0/2; cut as loop 0/2; at the source-length bound 0/2; at the step limit 2/2" \
        in report.notes
    assert all(s.predicted_tokens == 6 for s in report.scores.samples)  # scored as produced, all 6 steps
    data = json.loads(report.save(tmp_path / "ends.json").read_text())
    assert data["scores"]["ends"]["max_steps"] == 2 and data["decoding"]["options"]["eos_bias"] == -1e4


class FixedJudge:
    name = "fixed-judge"

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> list[Note]:
        assert audio.ndim == 1 and sample_rate == RATE
        return [Note(0, 500, 60)]


def test_midi_audio_needs_a_judge_and_records_its_name(dataset: Path, model_dir: Path) -> None:
    with pytest.raises(ScorebridgeError, match="judge"):
        evaluate("midi-audio", [dataset], model_dir, options=FAST, progress=False)
    report = evaluate("midi-audio", [dataset], model_dir, options=FAST, progress=False, judge=FixedJudge())
    assert report.judge == "fixed-judge" and report.samples == 3 and not report.skipped
    for row in report.scores.samples:
        assert row.judged_notes in (0, 1) and row.truth_notes == 2
        assert row.mel_distance is not None and row.mel_distance >= 0
    assert report.scores.empty_audio + sum(r.judged_notes for r in report.scores.samples) == 3


def test_lmx_image_reads_the_generated_image_back(dataset: Path, model_dir: Path) -> None:
    report = evaluate("lmx-image", [dataset], model_dir, options=DecodingOptions(max_steps=12), progress=False)
    assert report.samples == 3 and report.scores.truth_tokens == 3 * len(LMX)
    assert "readback" in report.decoding and report.decoding["readback"]["method"] == "greedy"
    assert report.scores.unreadable <= 3
    assert sum(report.scores.ends.values()) == 3  # the generated images (loops are not looked for in images)
    assert report.scores.ends["loop"] == 0 and any(n.startswith("image generation: ") for n in report.notes)


def test_bad_requests_fail_clearly(dataset: Path, model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown task"):
        evaluate("ocr", [dataset], model_dir, progress=False)
    with pytest.raises(InputError, match="no valid samples"):
        evaluate("omr", [dataset], model_dir, split="valid", progress=False)
    with pytest.raises(InputError, match="manifest"):
        evaluate("omr", [tmp_path], model_dir, progress=False)
    with pytest.raises(InputError):
        evaluate("omr", [dataset], tmp_path / "no-model", progress=False)
    assert set(TASKS) == {"omr", "transcription", "image-audio", "midi-audio", "audio-image", "lmx-image"}


def test_cli_eval_writes_the_report(dataset: Path, model_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    from scorebridge.cli import main
    from scorebridge.cli.evaluate import EVAL_JUDGES, EVAL_TASKS
    from scorebridge.eval.tasks import JUDGES, TASKS

    assert EVAL_TASKS == tuple(TASKS) and EVAL_JUDGES == JUDGES  # the parser's copies, kept torch-free
    out = tmp_path / "omr.json"
    assert main(["eval", "omr", "--data", str(dataset), "--weights", str(model_dir), "--max-steps", "6", "-q",
                 "-o", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["task"] == "omr" and report["samples"] == 2 and report["decoding"]["options"]["max_steps"] == 6
    assert "omr on test" in capsys.readouterr().out
    from scorebridge import shipped

    monkeypatch.setattr(shipped, "weights_root", lambda: tmp_path / "no-weights")  # an installation without them
    assert main(["eval", "omr", "--data", str(dataset), "-o", str(tmp_path / "x.json")]) == 2
    assert "--weights" in capsys.readouterr().err
    assert main(["eval", "image-audio", "--data", str(dataset), "--weights", str(model_dir), "-q",
                 "-o", str(tmp_path / "y.json")]) == 2
    assert not (tmp_path / "y.json").exists()
