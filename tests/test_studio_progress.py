"""Progress per window or system: ``LongformOptions.report`` in the long-form layer, ``translate_file``'s
``progress`` callable and the studio job's bar, on tiny random models (their output is never judged here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from _image_codec_fixtures import staff_image
from _model_fixtures import AUDIO_RATE, write_tiny_run
from scorebridge.api import ScoreBridgeModel, load_model
from scorebridge.decoding import DecodingOptions
from scorebridge.inference.longform import LongformOptions, midi_to_audio, read_aloud, read_systems, transcribe
from scorebridge.midi import Note
from scorebridge.modality import Modality
from scorebridge.studio.work import SCALE, JobSpec, run_job
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig
from scorebridge.translate import TranslateRequest, translate_file

FAST = DecodingOptions(max_steps=8)


class Calls(list):
    def __call__(self, done: int, total: int) -> None:
        self.append((done, total))


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> ScoreBridgeModel:
    return load_model(write_tiny_run(tmp_path_factory.mktemp("run")) / "model")


@pytest.fixture(scope="module")
def roomy_model(tmp_path_factory: pytest.TempPathFactory) -> ScoreBridgeModel:
    """Limits that hold a default 10 s window (what translate_file and the studio use)."""
    limits = LengthLimits(image=1000, notation=50, midi=1000, audio=1000, image_columns=150)
    vocab = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=16))
    return load_model(write_tiny_run(tmp_path_factory.mktemp("roomy"), limits, vocab) / "model")


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def one_second(report: Calls) -> LongformOptions:
    return LongformOptions(window_ms=1000, midi_overlap_ms=200, progress=False, report=report)


def test_each_window_of_a_recording_is_reported(model: ScoreBridgeModel) -> None:
    calls = Calls()
    result = transcribe(model, tone(3.5), AUDIO_RATE, options=FAST, longform=one_second(calls))
    assert result.windows == 4 and calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert LongformOptions().report is None


def test_each_midi_window_is_reported_the_last_one_too(model: ScoreBridgeModel) -> None:
    calls = Calls()
    notes = [Note(0, 900, 60, 80), Note(700, 1500, 64, 90), Note(1900, 2500, 67, 70)]
    result = midi_to_audio(model, notes, options=FAST, longform=one_second(calls))
    assert result.windows == 3 and calls == [(1, 3), (2, 3), (3, 3)]


def test_each_system_of_a_page_is_reported(model: ScoreBridgeModel) -> None:
    systems = [staff_image(height=40, width=100, seed=s) for s in range(3)]
    calls = Calls()
    read_systems(model, systems, "notation", options=FAST, longform=one_second(calls))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    read_aloud(model, systems, options=FAST, longform=one_second(calls))
    assert calls == [(1, 3), (2, 3), (3, 3)]  # one two-system window per system


def test_translate_file_passes_a_callable_through(roomy_model: ScoreBridgeModel, tmp_path: Path) -> None:
    sf.write(tmp_path / "long.wav", tone(25), AUDIO_RATE)
    calls = Calls()
    translate_file(TranslateRequest(tmp_path / "long.wav", tmp_path / "long.mid"), roomy_model, options=FAST,
                   progress=calls)
    assert calls == [(1, 3), (2, 3), (3, 3)]  # three 10 s windows
    assert (tmp_path / "long.mid").is_file()


def test_a_studio_job_moves_its_bar_per_window(roomy_model: ScoreBridgeModel, tmp_path: Path) -> None:
    sf.write(tmp_path / "input.wav", tone(25), AUDIO_RATE)
    seen: list[tuple[int, int, str]] = []
    spec = JobSpec(tmp_path / "input.wav", Modality.AUDIO, (Modality.MIDI,), "take.wav")
    run_job(spec, tmp_path / "out", roomy_model, FAST, lambda step, steps, message: seen.append((step, steps, message)))
    steps = {s for _, s, _ in seen}
    assert steps == {2 * SCALE}  # one target and the views
    windows = [m for _, _, m in seen if "sections done" in m]
    assert windows == [f"making the MIDI from the recording: {k} of 3 10-second sections done" for k in (1, 2, 3)]
    bar = [step for step, _, _ in seen]
    assert bar == sorted(bar)  # it only moves forward
    assert [step for step, _, m in seen if "sections done" in m] == [SCALE // 3, 2 * SCALE // 3, SCALE]
