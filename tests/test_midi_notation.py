"""Notes → MusicXML through music21: a grand staff that music21 parses back."""

from __future__ import annotations

from music21 import converter

from scorebridge.midi import Note, midi_to_musicxml

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


def parse(xml: str):
    return converter.parseData(xml, format="musicxml")


def test_scale_in_eighths_comes_back_in_order_on_the_treble_staff():
    # 250 ms at 120 bpm = an eighth note; a little timing noise is quantized away
    jitter = [0, 7, -3, 7, -3, 7, -3, 7]
    notes = [Note(i * 250 + jitter[i], i * 250 + 240, p, 80) for i, p in enumerate(C_MAJOR)]
    score = parse(midi_to_musicxml(notes))
    treble, bass = score.parts
    got = [(float(n.offset), n.pitch.midi, float(n.quarterLength)) for n in treble.flatten().notes]
    assert got == [(i * 0.5, p, 0.5) for i, p in enumerate(C_MAJOR)]
    assert not bass.flatten().notes
    assert treble.flatten().getElementsByClass("Clef")[0].sign == "G"
    assert bass.flatten().getElementsByClass("Clef")[0].sign == "F"


def test_notes_split_at_middle_c_and_chords_are_kept():
    notes = [Note(0, 1000, 48), Note(0, 1000, 55), Note(0, 500, 60), Note(500, 1000, 59)]
    treble, bass = parse(midi_to_musicxml(notes, tempo_bpm=60)).parts
    assert [n.pitch.midi for n in treble.flatten().notes] == [60]
    bass_notes = list(bass.flatten().notes)
    assert sorted(p.midi for p in bass_notes[0].pitches) == [48, 55]
    assert 59 in [p.midi for n in bass_notes for p in n.pitches]


def test_triplets_quantize_with_divisor_3_and_not_with_4_only():
    notes = [Note(round(i * 1000 / 3), round((i + 1) * 1000 / 3), 67) for i in range(3)]  # 60 bpm
    triplet = [float(n.offset) for n in parse(midi_to_musicxml(notes, tempo_bpm=60)).parts[0].flatten().notes]
    assert [round(x, 4) for x in triplet] == [0.0, 0.3333, 0.6667]
    straight = parse(midi_to_musicxml(notes, tempo_bpm=60, quantization=(4,))).parts[0].flatten().notes
    assert [float(n.offset) for n in straight] == [0.0, 0.25, 0.75]
