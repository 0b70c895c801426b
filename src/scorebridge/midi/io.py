"""MIDI files ⇄ note lists, through pretty_midi. Seconds become integer milliseconds here and nowhere else."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import pretty_midi

from scorebridge.errors import InputError
from scorebridge.fileio import atomic_path
from scorebridge.limits import measure_midi_file
from scorebridge.midi.notes import Note, apply_sustain_pedal, pedal_spans, seconds_to_ms, sort_notes

log = logging.getLogger(__name__)

SUSTAIN_CC = 64
# 500 ticks per quarter at 120 bpm = 1 tick per ms, so integer-ms notes are written exactly.
_WRITE_RESOLUTION = 500
_WRITE_TEMPO = 120.0


def _load(path: Path) -> pretty_midi.PrettyMIDI:
    measure_midi_file(path)  # bounded before pretty_midi builds its tick tables (one float per tick)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pm = pretty_midi.PrettyMIDI(str(path))
    except (EOFError, OSError, ValueError, KeyError, IndexError, TypeError, ZeroDivisionError) as exc:
        # mido raises EOFError for truncated tracks, OSError/ValueError for bad chunks or data bytes
        raise InputError(path, f"corrupt or truncated MIDI file ({type(exc).__name__}: {exc})") from exc
    for w in caught:
        log.debug("%s: %s", path, w.message)
    return pm


def _instrument_notes(inst: pretty_midi.Instrument) -> list[Note]:
    # pretty_midi may hand out numpy integers; Note fields are plain ints and bools
    program, is_drum = int(inst.program), bool(inst.is_drum)
    notes = []
    for n in inst.notes:
        onset, offset = seconds_to_ms(n.start), seconds_to_ms(n.end)
        if n.velocity < 1:
            continue  # pretty_midi turns velocity-0 note-ons into offs; defensive only
        notes.append(Note(onset, max(onset, offset), int(n.pitch), int(n.velocity), program, is_drum))
    return notes


def read_midi(path: str | os.PathLike[str], *, sustain_pedal: bool = False) -> list[Note]:
    """Read every note of a Standard MIDI File, sorted by (onset, pitch).

    ``sustain_pedal=True`` extends offsets while CC64 >= 64 on the note's channel (see
    ``apply_sustain_pedal``); off by default, so notes are exactly the key presses in the file.
    Raises ``InputError`` for a missing file, a non-MIDI file, a corrupt or truncated one, one without
    notes, or one beyond ``scorebridge.limits`` (length at its tempi, ticks, notes).
    """
    path = Path(path)
    pm = _load(path)
    end = seconds_to_ms(pm.get_end_time())
    notes: list[Note] = []
    for inst in pm.instruments:
        inst_notes = _instrument_notes(inst)
        if sustain_pedal and not inst.is_drum:
            changes = [(seconds_to_ms(c.time), c.value)
                       for c in inst.control_changes if c.number == SUSTAIN_CC]
            inst_notes = apply_sustain_pedal(inst_notes, pedal_spans(changes, end))
        notes.extend(inst_notes)
    if not notes:
        raise InputError(path, "MIDI file has no notes")
    log.debug("%s: %d notes, sustain pedal %s", path, len(notes), "on" if sustain_pedal else "off")
    return sort_notes(notes)


def write_midi(notes: Sequence[Note], path: str | os.PathLike[str]) -> None:
    """Write notes as a type-1 MIDI file, one track per (program, drum flag), times exact to the millisecond.

    Zero-length notes are written 1 ms long: a note-off in the same MIDI tick as its note-on is read back
    (by pretty_midi and most readers) as an unclosed note. The output appears atomically.
    """
    pm = pretty_midi.PrettyMIDI(resolution=_WRITE_RESOLUTION, initial_tempo=_WRITE_TEMPO)
    instruments: dict[tuple[int, bool], pretty_midi.Instrument] = {}
    for n in sort_notes(notes):
        inst = instruments.get((n.program, n.is_drum))
        if inst is None:
            inst = pretty_midi.Instrument(program=n.program, is_drum=n.is_drum)
            instruments[(n.program, n.is_drum)] = inst
        offset_ms = max(n.offset, n.onset + 1)
        inst.notes.append(pretty_midi.Note(n.velocity, n.pitch, n.onset / 1000, offset_ms / 1000))
    pm.instruments = [instruments[k] for k in sorted(instruments)]
    with atomic_path(path) as tmp:
        pm.write(str(tmp))
