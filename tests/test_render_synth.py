"""FluidSynth rendering: pitch, determinism, channels, length and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from _audio_checks import peak_hz
from scorebridge.errors import InputError
from scorebridge.render import SOUNDFONTS, SynthOptions, synthesize, synthesize_bytes, synthesize_to_wav

pytestmark = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
needs_sf2 = pytest.mark.skipif(not all(p.is_file() for p, _ in SOUNDFONTS.values()),
                               reason="soundfonts missing")


def one_note_midi(path: Path, note: int = 69, seconds: float = 1.0, program: int = 0) -> Path:
    """A MIDI file with a single note (default A4 = 440 Hz) starting at 0."""
    mid = mido.MidiFile(ticks_per_beat=480)  # 120 bpm default: 960 ticks per second
    track = mido.MidiTrack()
    track.append(mido.Message("program_change", program=program, time=0))
    track.append(mido.Message("note_on", note=note, velocity=100, time=0))
    track.append(mido.Message("note_off", note=note, velocity=0, time=int(960 * seconds)))
    mid.tracks.append(track)
    mid.save(path)
    return path


@needs_sf2
@pytest.mark.parametrize("soundfont", ["fluidr3", "timgm6mb"])
@pytest.mark.parametrize(("note", "hz"), [(45, 110.0), (57, 220.0), (69, 440.0), (81, 880.0)])
def test_one_note_has_its_fundamental(tmp_path, soundfont, note, hz):
    audio = synthesize(one_note_midi(tmp_path / "a.mid", note=note), soundfont)  # piano
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert peak_hz(audio, 44_100) == pytest.approx(hz, rel=0.02)
    assert np.abs(audio).max() > 0.01


@needs_sf2
def test_deterministic_mono_and_length(tmp_path):
    midi = one_note_midi(tmp_path / "a.mid", seconds=1.0)
    a = synthesize(midi, "timgm6mb")
    b = synthesize(midi, "timgm6mb")
    assert np.array_equal(a, b)
    assert 1.0 <= len(a) / 44_100 <= 2.5  # the note plus its release, without fluidsynth's silent tail
    assert np.abs(a[-441:]).max() < 1e-3
    untrimmed = synthesize(midi, "timgm6mb", options=SynthOptions(trim_tail=False))
    assert len(untrimmed) > len(a) and np.array_equal(untrimmed[: len(a)], a)
    stereo = synthesize(midi, "timgm6mb", options=SynthOptions(mono=False))
    assert stereo.shape == (len(a), 2)
    np.testing.assert_allclose(stereo.mean(axis=1), a, atol=1e-7)


@needs_sf2
def test_sample_rate_and_bytes_entry_point(tmp_path):
    midi = one_note_midi(tmp_path / "a.mid", seconds=1.0)
    low = synthesize_bytes(midi.read_bytes(), "timgm6mb", sample_rate=16_000)
    full = synthesize(midi, "timgm6mb")
    assert len(low) / 16_000 == pytest.approx(len(full) / 44_100, abs=0.05)
    assert peak_hz(low, 16_000) == pytest.approx(440.0, rel=0.02)


@needs_sf2
def test_wav_is_written_atomically_as_mono(tmp_path):
    midi = one_note_midi(tmp_path / "a.mid")
    out = synthesize_to_wav(midi, tmp_path / "out" / "a.wav", "timgm6mb", subtype="FLOAT")
    info = sf.info(out)
    assert info.channels == 1 and info.samplerate == 44_100
    data, _ = sf.read(out, dtype="float32")
    assert np.array_equal(data, synthesize(midi, "timgm6mb"))
    assert [p.name for p in out.parent.iterdir()] == ["a.wav"]


def test_soundfont_errors(tmp_path):
    midi = one_note_midi(tmp_path / "a.mid")
    with pytest.raises(InputError, match="unknown soundfont"):
        synthesize(midi, "grand-piano")
    with pytest.raises(InputError, match="not found"):
        synthesize(midi, tmp_path / "nope.sf2")


@needs_sf2
def test_midi_errors(tmp_path):
    empty = mido.MidiFile()
    empty.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000)]))
    empty.save(tmp_path / "empty.mid")
    with pytest.raises(InputError, match="no notes"):
        synthesize(tmp_path / "empty.mid")
    (tmp_path / "text.mid").write_text("not midi")
    with pytest.raises(InputError, match="not a MIDI file"):
        synthesize(tmp_path / "text.mid")
    with pytest.raises(InputError, match="no such file"):
        synthesize(tmp_path / "missing.mid")
    assert not (tmp_path / "missing.wav").exists()


def test_trim_tail_cuts_only_silence_after_the_midi_end():
    from scorebridge.render.synth import trim_tail

    audio = np.zeros(1000, np.float32)
    audio[100] = 0.5  # inside the MIDI's length: never cut
    audio[700] = 0.5  # the release tail ends here
    assert len(trim_tail(audio, min_samples=400)) == 701
    assert len(trim_tail(audio, min_samples=800)) == 800  # never shorter than the MIDI
    stereo = np.zeros((1000, 2), np.float32)
    stereo[650, 1] = 0.5
    assert trim_tail(stereo, min_samples=10).shape == (651, 2)
