import logging
import sys

import numpy as np
import pytest

from scorebridge.errors import InputError, MissingToolError
from scorebridge.eval.codec_metrics import onset_f1
from scorebridge.eval.transcribers import BasicPitchOptions, BasicPitchTranscriber
from scorebridge.midi.io import write_midi
from scorebridge.midi.notes import Note

MELODY = [Note(100 + 400 * i, 450 + 400 * i, p, 90) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])]
CHORD = [Note(3500, 4500, 48, 80), Note(3500, 4500, 55, 80)]


def test_missing_basic_pitch_is_a_missing_tool_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "basic_pitch", None)  # import fails as if not installed
    with pytest.raises(MissingToolError, match=r"basic-pitch is not installed \(bash scripts/setup.sh --bench"):
        BasicPitchTranscriber()


def test_options_validate():
    with pytest.raises(ValueError, match="onset_threshold"):
        BasicPitchOptions(onset_threshold=1.5)


@pytest.fixture(scope="module")
def transcriber():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("basic_pitch")
    return BasicPitchTranscriber()


def _render(tmp_path, notes, sample_rate):
    from scorebridge.render.synth import synthesize

    path = tmp_path / "notes.mid"
    write_midi(notes, path)
    return synthesize(path, sample_rate=sample_rate)


@pytest.mark.parametrize("sample_rate", [44_100, 22_050])  # resampled, and at the model's own rate
def test_transcribes_a_fluidsynth_render(transcriber, tmp_path, sample_rate):
    reference = MELODY + CHORD
    estimate = transcriber.transcribe(_render(tmp_path, reference, sample_rate), sample_rate)
    assert all(isinstance(n.onset, int) and n.program == 0 and not n.is_drum for n in estimate)
    assert estimate == sorted(estimate)
    assert onset_f1(reference, estimate).f1 > 0.8
    assert onset_f1(MELODY, [n for n in estimate if n.onset < 3400]).f1 == 1.0  # a plain melody: every note


def test_silence_and_bad_input(transcriber, tmp_path):
    assert transcriber.transcribe(np.zeros(44_100, np.float32), 44_100) == []
    assert transcriber.transcribe(np.zeros(0, np.float32), 44_100) == []
    with pytest.raises(ValueError, match="mono"):
        transcriber.transcribe(np.zeros((2, 100), np.float32), 44_100)
    with pytest.raises(InputError, match="no such model file"):
        BasicPitchTranscriber(tmp_path / "missing.onnx")
    with pytest.raises(InputError, match="ONNX"):
        BasicPitchTranscriber(tmp_path / "model.tflite")


def test_import_leaves_the_root_logger_alone(transcriber):
    # basic-pitch warns on the root logger at import, which would install a stderr StreamHandler there
    assert not any(type(h) is logging.StreamHandler for h in logging.getLogger().handlers)
