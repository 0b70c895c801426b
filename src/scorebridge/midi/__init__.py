"""MIDI: note lists, MIDI file I/O, the MT3-style event tokenizer, and MIDI → MusicXML.

Times: ``Note`` holds integer milliseconds; the tokenizer works in 10 ms ticks (see ``notes.py``).
"""

from scorebridge.midi.io import read_midi, write_midi
from scorebridge.midi.notes import Note, PedalSpan, apply_sustain_pedal, pedal_spans, resolve_overlaps
from scorebridge.midi.quantize import TickNote, quantize_notes
from scorebridge.midi.roundtrip import NoteComparison, compare_notes
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.midi.vocab import MidiEventConfig, MidiVocab
from scorebridge.midi.windows import DecodedWindow, NoteSegment, Window, plan_windows, stitch_segments


def __getattr__(name: str) -> object:
    # music21 takes a second to import and is not needed to read notes (training machines may lack it)
    if name == "midi_to_musicxml":
        from scorebridge.midi.notation import midi_to_musicxml

        return midi_to_musicxml
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DecodedWindow",
    "MidiEventConfig",
    "MidiTokenizer",
    "MidiVocab",
    "Note",
    "NoteComparison",
    "NoteSegment",
    "PedalSpan",
    "TickNote",
    "Window",
    "apply_sustain_pedal",
    "compare_notes",
    "midi_to_musicxml",
    "pedal_spans",
    "plan_windows",
    "quantize_notes",
    "read_midi",
    "resolve_overlaps",
    "stitch_segments",
    "write_midi",
]
