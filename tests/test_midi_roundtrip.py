"""Round trip of real performances (ASAP): read → 10 s windows → tokens → decode → stitch."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorebridge.midi import MidiTokenizer, read_midi, resolve_overlaps
from scorebridge.midi.roundtrip import compare_notes


def asap_performances(corpora: Path) -> list[Path]:
    return sorted(p for p in (corpora / "asap").glob("**/*.mid") if p.name != "midi_score.mid")


@pytest.fixture(scope="module")
def five_files(corpora):
    files = asap_performances(corpora)
    assert len(files) == 1067  # the corpus README's count of performances
    return files[::250][:5]


@pytest.mark.parametrize("sustain_pedal", [False, True])
def test_asap_round_trip_recovers_every_note_within_10_ms(five_files, sustain_pedal):
    tok = MidiTokenizer()
    for path in five_files:
        notes = read_midi(path, sustain_pedal=sustain_pedal)
        assert {type(v) for n in notes for v in (n.onset, n.offset, n.pitch, n.velocity, n.program)} == {int}
        windows = tok.encode_notes(notes)
        assert all(w[-1] == tok.eos and tok.tie in w for w in windows)
        decoded = tok.decode_windows(windows)
        assert len(decoded) == len(notes), path
        # same-key overlaps (rare in performances) are ended at the re-strike before comparing
        result = compare_notes(resolve_overlaps(notes), decoded)
        assert result.all_matched, (path, result.mismatches[:5])


def test_sustain_pedal_lengthens_notes(five_files):
    path = five_files[0]
    plain, pedalled = read_midi(path), read_midi(path, sustain_pedal=True)
    assert len(plain) == len(pedalled)
    assert sum(n.offset - n.onset for n in pedalled) > sum(n.offset - n.onset for n in plain)
