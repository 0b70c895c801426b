"""The wheel-only synthesizer (tinysoundfont): used when fluidsynth is missing, close to FluidSynth's render."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import mido
import numpy as np
import pytest

from _audio_checks import peak_hz
from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.render import SOUNDFONTS, synth, synthesize, tsf_synth

pytest.importorskip("tinysoundfont")
SF2 = SOUNDFONTS["timgm6mb"][0]  # the small GM soundfont a lease would carry
pytestmark = pytest.mark.skipif(not SF2.is_file(), reason="TimGM6mb soundfont missing")
# Measured on ASAP piano (docs/gpu-data.md): levels within ~7 dB after the gain match; onsets agree.
MAX_LEVEL_DB = 9.0


def notes_midi(path: Path, notes: tuple[int, ...] = (69,), seconds: float = 0.5) -> Path:
    mid = mido.MidiFile(ticks_per_beat=480)  # 120 bpm: 960 ticks per second
    track = mido.MidiTrack()
    for n in notes:
        track.append(mido.Message("note_on", note=n, velocity=90, time=0))
        track.append(mido.Message("note_off", note=n, velocity=0, time=int(960 * seconds)))
    mid.tracks.append(track)
    mid.save(path)
    return path


@pytest.fixture(autouse=True)
def _unforced(monkeypatch):
    monkeypatch.delenv(tsf_synth.SYNTH_ENV, raising=False)


@pytest.fixture
def no_fluidsynth(monkeypatch):
    real = shutil.which
    monkeypatch.setattr(tsf_synth.shutil, "which", lambda name: None if name == "fluidsynth" else real(name))


def test_without_fluidsynth_the_wheel_renders_and_says_so(tmp_path, no_fluidsynth, caplog):
    tsf_synth._logged.clear()
    with caplog.at_level(logging.INFO, logger="scorebridge.render.tsf_synth"):
        audio = synthesize(notes_midi(tmp_path / "a.mid"), SF2)
    assert "synthesizing MIDI with tinysoundfont" in caplog.text
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(peak_hz(audio, AUDIO_SAMPLE_RATE) - 440.0) < 3.0
    assert len(audio) >= 0.5 * AUDIO_SAMPLE_RATE  # trimmed to the release tail, never below the MIDI's length
    assert len(audio) < 3.6 * AUDIO_SAMPLE_RATE


def test_the_render_is_deterministic(tmp_path, no_fluidsynth):
    midi = notes_midi(tmp_path / "a.mid", (60, 64, 67))
    assert np.array_equal(synthesize(midi, SF2), synthesize(midi, SF2))


def test_an_unknown_forced_backend_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(tsf_synth.SYNTH_ENV, "timidity")
    with pytest.raises(Exception, match="SCOREBRIDGE_SYNTH"):
        synthesize(notes_midi(tmp_path / "a.mid"), SF2)


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
def test_level_and_pitch_match_fluidsynth(tmp_path, monkeypatch):
    midi = notes_midi(tmp_path / "a.mid", (57, 69, 76))
    monkeypatch.setenv(tsf_synth.SYNTH_ENV, "fluidsynth")
    fl = synthesize(midi, SF2)
    monkeypatch.setenv(tsf_synth.SYNTH_ENV, "tinysoundfont")
    ts = synthesize(midi, SF2)
    n = min(len(fl), len(ts))
    rms = [float(np.sqrt(np.mean(x[:n] ** 2))) for x in (fl, ts)]
    assert abs(20 * np.log10(rms[1] / rms[0])) < MAX_LEVEL_DB
    assert abs(peak_hz(fl, AUDIO_SAMPLE_RATE) - peak_hz(ts, AUDIO_SAMPLE_RATE)) < 3.0


def test_module_reexports():
    assert synth.resolve_soundfont(SF2) == SF2
