"""Notes → MusicXML through music21: a piano grand staff at a fixed tempo, quantized explicitly.

This is a plain quantizer, not a transcription model: onsets and ends snap to the nearest multiple of
1/d quarter for the divisors d given (music21's ``quantize``), simultaneous notes become chords, and
notes of different lengths overlapping on one staff are split and tied by ``chordify``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from fractions import Fraction

from music21 import chord, clef, layout, meter, note, stream, tempo
from music21.musicxml.m21ToXml import GeneralObjectExporter

from scorebridge.limits import MidiMeasure, check_quantize
from scorebridge.midi.notes import Note

log = logging.getLogger(__name__)

MIDDLE_C = 60


def _quarters(ms: int, tempo_bpm: float) -> float:
    return ms / 1000 * tempo_bpm / 60


def _staff_part(notes: Sequence[Note], tempo_bpm: float, divisors: tuple[int, ...], staff_clef: clef.Clef,
                number: int) -> stream.PartStaff:
    raw = stream.Part()
    smallest = Fraction(1, max(divisors))
    for n in notes:
        start = _quarters(n.onset, tempo_bpm)
        length = max(_quarters(n.offset, tempo_bpm) - start, float(smallest))
        m21_note = note.Note(n.pitch, quarterLength=length)
        m21_note.volume.velocity = n.velocity
        raw.insert(start, m21_note)
    raw.quantize(quarterLengthDivisors=divisors, processOffsets=True, processDurations=True, inPlace=True)
    for n in raw.notes:
        if n.quarterLength == 0:  # a very short note rounds to nothing; keep it as the smallest value
            n.quarterLength = smallest
    # one voice per staff: simultaneous or overlapping notes become (tied) chords
    flat = raw.chordify().flatten() if raw.notes else raw
    part = stream.PartStaff(id=f"staff{number}")
    part.insert(0, staff_clef)
    part.insert(0, meter.TimeSignature("4/4"))
    for el in list(flat.notesAndRests):
        offset = flat.elementOffset(el)
        if isinstance(el, chord.Chord) and len(el.pitches) == 1:
            single = note.Note(el.pitches[0], quarterLength=el.quarterLength)
            single.tie = el.tie
            el = single
        part.insert(offset, el)
    return part


def midi_to_musicxml(notes: Sequence[Note], *, tempo_bpm: float = 120, quantization: tuple[int, ...] = (4, 3),
                     split_pitch: int = MIDDLE_C) -> str:
    """MusicXML text for a piano grand staff: pitches >= ``split_pitch`` on the treble staff, the rest on
    the bass staff. Times convert at ``tempo_bpm`` quarter notes per minute; ``quantization`` are
    music21 quarterLengthDivisors (4, 3 = sixteenths and eighth-triplets). Drum notes are left out.
    InputError beyond ``LIMITS.max_quantize_notes`` / ``max_quantize_seconds`` (music21 slows down fast).
    """
    if tempo_bpm <= 0 or not quantization or any(d <= 0 for d in quantization):
        raise ValueError(f"bad tempo {tempo_bpm} or quantization {quantization}")
    end_ms = max((n.offset for n in notes), default=0)
    check_quantize(MidiMeasure(len(notes), end_ms, end_ms / 1000, 1000), "<notes>")  # music21 is slow beyond
    pitched = [n for n in notes if not n.is_drum]
    if len(pitched) < len(notes):
        log.info("midi_to_musicxml: %d drum notes left out", len(notes) - len(pitched))
    treble = _staff_part([n for n in pitched if n.pitch >= split_pitch], tempo_bpm, quantization,
                         clef.TrebleClef(), 1)
    bass = _staff_part([n for n in pitched if n.pitch < split_pitch], tempo_bpm, quantization,
                       clef.BassClef(), 2)
    treble.insert(0, tempo.MetronomeMark(number=tempo_bpm))
    score = stream.Score()
    score.insert(0, treble)
    score.insert(0, bass)
    score.insert(0, layout.StaffGroup([treble, bass], symbol="brace", name="Piano"))
    score.makeNotation(inPlace=True)
    return GeneralObjectExporter(score).parse().decode("utf-8")
