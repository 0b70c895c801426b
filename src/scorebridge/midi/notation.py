"""Notes → MusicXML through music21: a piano grand staff, quantized explicitly.

A performance (the default): beats, tempo, meter and the first downbeat are estimated from the notes
(``midi.meter``), onsets are placed on the tracked beats and written with plain rhythms unless a tuplet fits
much better (``midi.rhythm``). With ``tempo_bpm`` given (or a performance too short to estimate, or no librosa):
a fixed tempo in 4/4, onsets and ends snapped to 1/d quarter for the divisors d given (music21's ``quantize``).
Either way simultaneous notes become chords, and notes of different lengths overlapping on one staff are split
and tied by ``chordify``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from music21 import chord, clef, duration, layout, meter, note, stream, tempo
from music21.musicxml.m21ToXml import GeneralObjectExporter

from scorebridge.limits import MidiMeasure, check_quantize
from scorebridge.midi.meter import DEFAULT_METER, Meter, MeterOptions, beat_positions, estimate_meter
from scorebridge.midi.notes import Note
from scorebridge.midi.rhythm import DEFAULT_RHYTHM, RhythmOptions, quantize_rhythm

log = logging.getLogger(__name__)

MIDDLE_C = 60


def _quarters(ms: int, tempo_bpm: float) -> float:
    return ms / 1000 * tempo_bpm / 60


def _fixed_tempo_part(notes: Sequence[Note], tempo_bpm: float, divisors: tuple[int, ...]) -> stream.Part:
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
    return raw


def _placed_part(notes: Sequence[Note], starts: Sequence[Fraction], ends: Sequence[Fraction]) -> stream.Part:
    """Notes at already quantized positions (quarters from the first bar line)."""
    raw = stream.Part()
    for n, start, end in zip(notes, starts, ends, strict=True):
        m21_note = note.Note(n.pitch)
        m21_note.duration = duration.Duration(end - start)
        m21_note.volume.velocity = n.velocity
        raw.insert(start, m21_note)
    return raw


def _staff_part(raw: stream.Part, time_signature: str, staff_clef: clef.Clef, number: int) -> stream.PartStaff:
    # one voice per staff: simultaneous or overlapping notes become (tied) chords
    flat = raw.chordify().flatten() if raw.notes else raw
    part = stream.PartStaff(id=f"staff{number}")
    part.insert(0, staff_clef)
    part.insert(0, meter.TimeSignature(time_signature))
    for el in list(flat.notesAndRests):
        offset = flat.elementOffset(el)
        if isinstance(el, chord.Chord) and len(el.pitches) == 1:
            single = note.Note(el.pitches[0], quarterLength=el.quarterLength)
            single.tie = el.tie
            el = single
        part.insert(offset, el)
    return part


@dataclass(frozen=True)
class NotationResult:
    """MusicXML text and how it was timed: ``meter`` (None: a fixed tempo in 4/4), the written time signature
    and tempo, and how many beats were written with a tuplet grid."""

    xml: str
    time_signature: str
    bpm: float
    meter: Meter | None = None
    tuplet_beats: int = 0


def midi_to_musicxml(notes: Sequence[Note], *, tempo_bpm: float | None = None,
                     quantization: tuple[int, ...] = (4, 3), split_pitch: int = MIDDLE_C,
                     meter_options: MeterOptions = DEFAULT_METER, rhythm: RhythmOptions = DEFAULT_RHYTHM) -> str:
    """MusicXML text for a piano grand staff (see ``notes_to_notation``)."""
    return notes_to_notation(notes, tempo_bpm=tempo_bpm, quantization=quantization, split_pitch=split_pitch,
                             meter_options=meter_options, rhythm=rhythm).xml


def notes_to_notation(notes: Sequence[Note], *, tempo_bpm: float | None = None,
                      quantization: tuple[int, ...] = (4, 3), split_pitch: int = MIDDLE_C,
                      meter_options: MeterOptions = DEFAULT_METER, rhythm: RhythmOptions = DEFAULT_RHYTHM
                      ) -> NotationResult:
    """A piano grand staff: pitches >= ``split_pitch`` on the treble staff, the rest on the bass staff.

    ``tempo_bpm`` None (default): tempo, beats and meter are estimated from the notes (a performance); given: times
    convert at that many quarter notes per minute in 4/4, snapped to music21 quarterLengthDivisors
    ``quantization`` (4, 3 = sixteenths and eighth-triplets). Performances too short to estimate fall back to
    120 bpm. Drum notes are left out. InputError beyond ``LIMITS.max_quantize_notes`` / ``max_quantize_seconds``
    (music21 slows down fast).
    """
    if (tempo_bpm is not None and tempo_bpm <= 0) or not quantization or any(d <= 0 for d in quantization):
        raise ValueError(f"bad tempo {tempo_bpm} or quantization {quantization}")
    end_ms = max((n.offset for n in notes), default=0)
    check_quantize(MidiMeasure(len(notes), end_ms, end_ms / 1000, 1000), "<notes>")  # music21 is slow beyond
    pitched = sorted((n for n in notes if not n.is_drum), key=lambda n: (n.onset, n.pitch))
    if len(pitched) < len(notes):
        log.info("midi_to_musicxml: %d drum notes left out", len(notes) - len(pitched))
    estimate = _estimate(pitched, meter_options) if tempo_bpm is None and pitched else None
    staves = [1 if n.pitch >= split_pitch else 2 for n in pitched]
    if estimate is None:
        bpm = 120.0 if tempo_bpm is None else tempo_bpm
        signature, tuplet_beats, referent = "4/4", 0, duration.Duration(1)
        raws = [_fixed_tempo_part([n for n, s in zip(pitched, staves, strict=True) if s == staff], bpm,
                                  quantization) for staff in (1, 2)]
    else:
        signature = estimate.time_signature
        unit = Fraction(3, 2) if estimate.is_compound_time else Fraction(1)  # the felt beat
        bpm = estimate.quarter_bpm / float(unit)
        referent = duration.Duration(float(unit))
        starts, ends, tuplet_beats = _written_times(pitched, staves, estimate, rhythm)
        log.info("estimated %s at %.0f beats per minute; %d beat(s) written with tuplets", signature, bpm,
                 tuplet_beats)
        raws = [_placed_part(*zip(*[(n, a, b) for n, a, b, s in zip(pitched, starts, ends, staves, strict=True)
                                    if s == staff], strict=True)) if staff in staves else stream.Part()
                for staff in (1, 2)]
    treble = _staff_part(raws[0], signature, clef.TrebleClef(), 1)
    bass = _staff_part(raws[1], signature, clef.BassClef(), 2)
    treble.insert(0, tempo.MetronomeMark(number=round(bpm), referent=referent))
    score = stream.Score()
    score.insert(0, treble)
    score.insert(0, bass)
    score.insert(0, layout.StaffGroup([treble, bass], symbol="brace", name="Piano"))
    score.makeNotation(inPlace=True)
    xml = GeneralObjectExporter(score).parse().decode("utf-8")
    return NotationResult(xml, signature, bpm, estimate, tuplet_beats)


def _estimate(notes: Sequence[Note], options: MeterOptions) -> Meter | None:
    try:
        estimate = estimate_meter(notes, options)
    except ImportError:  # librosa is an optional extra in a lean install
        log.warning("tempo and meter estimation needs librosa: writing at 120 bpm in 4/4 instead")
        return None
    if estimate is None:
        log.info("too short to estimate tempo and meter: writing at 120 bpm in 4/4")
    return estimate


def _written_times(notes: Sequence[Note], staves: Sequence[int], estimate: Meter, options: RhythmOptions
                   ) -> tuple[list[Fraction], list[Fraction], int]:
    """Onsets and ends in quarters from the first bar line (which may lie before the first note: a pickup)."""
    beats = np.asarray(estimate.beats_ms, dtype=np.int64)
    positions = beat_positions(np.array([n.onset for n in notes]), beats)
    ends = beat_positions(np.array([n.offset for n in notes]), beats)
    origin = estimate.downbeat
    while origin > positions.min() - 0.25:  # the first bar line at or before the first onset
        origin -= estimate.beats_per_bar
    written = quantize_rhythm(positions, ends, staves, estimate.compound, origin, options)
    unit = estimate.beat_quarters
    return [t * unit for t in written.onsets], [t * unit for t in written.offsets], written.tuplet_beats
