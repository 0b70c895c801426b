"""MIDI files: exact write/read, the sustain-pedal option, and every kind of bad input."""

from __future__ import annotations

import mido
import pytest

from scorebridge.errors import InputError
from scorebridge.midi import Note, read_midi, write_midi

NOTES = [Note(0, 480, 60, 80), Note(0, 1001, 64, 70), Note(523, 777, 67, 1), Note(1999, 2000, 72, 127),
         Note(100, 350, 40, 90, program=33), Note(250, 251, 36, 100, is_drum=True)]


def test_write_then_read_is_exact_to_the_millisecond(tmp_path):
    path = tmp_path / "out" / "x.mid"
    write_midi(NOTES, path)
    assert read_midi(path) == sorted(NOTES)
    assert [p.name for p in path.parent.iterdir()] == ["x.mid"]  # no temporary left behind


def test_zero_length_notes_are_written_one_ms_long(tmp_path):
    write_midi([Note(10, 10, 60)], tmp_path / "z.mid")
    assert read_midi(tmp_path / "z.mid") == [Note(10, 11, 60)]


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    import pretty_midi

    def boom(self, filename):
        open(filename, "wb").write(b"MThd partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(pretty_midi.PrettyMIDI, "write", boom)
    with pytest.raises(RuntimeError):
        write_midi(NOTES, tmp_path / "y.mid")
    assert list(tmp_path.iterdir()) == []


def _pedal_file(path):
    """One piano track: C4 0-0.5 s, E4 1-1.2 s, pedal down 0.4-1.5 s, C4 again 1.3-1.4 s."""
    mid = mido.MidiFile(ticks_per_beat=480)  # 120 bpm: 960 ticks per second
    track = mido.MidiTrack()
    events = [(0, "note_on", 60, 80), (384, "cc", 64, 127), (480, "note_off", 60, 0),
              (960, "note_on", 64, 80), (1152, "note_off", 64, 0), (1248, "note_on", 60, 80),
              (1344, "note_off", 60, 0),
              (1440, "cc", 64, 0)]
    now = 0
    for tick, kind, a, b in events:
        msg = (mido.Message("control_change", control=a, value=b, time=tick - now) if kind == "cc"
               else mido.Message(kind, note=a, velocity=b, time=tick - now))
        track.append(msg)
        now = tick
    mid.tracks.append(track)
    mid.save(path)


def test_sustain_pedal_is_off_by_default_and_extends_when_asked(tmp_path):
    path = tmp_path / "pedal.mid"
    _pedal_file(path)
    assert read_midi(path) == [Note(0, 500, 60, 80), Note(1000, 1200, 64, 80), Note(1300, 1400, 60, 80)]
    assert read_midi(path, sustain_pedal=True) == [Note(0, 1300, 60, 80), Note(1000, 1500, 64, 80),
                                                   Note(1300, 1500, 60, 80)]


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file") as err:
        read_midi(tmp_path / "nope.mid")
    assert str(tmp_path / "nope.mid") in str(err.value)


def test_not_a_midi_file(tmp_path):
    path = tmp_path / "a.mid"
    path.write_text("this is text, not music")
    with pytest.raises(InputError, match="not a MIDI file"):
        read_midi(path)


def test_truncated_file(tmp_path):
    good = tmp_path / "good.mid"
    write_midi(NOTES, good)
    data = good.read_bytes()
    for cut in (10, 30, len(data) - 5):
        bad = tmp_path / f"cut{cut}.mid"
        bad.write_bytes(data[:cut])
        with pytest.raises(InputError, match="corrupt or truncated") as err:
            read_midi(bad)
        assert str(bad) in str(err.value)


def test_midi_without_notes(tmp_path):
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("control_change", control=64, value=127)]))
    path = tmp_path / "empty.mid"
    mid.save(path)
    with pytest.raises(InputError, match="no notes"):
        read_midi(path)
