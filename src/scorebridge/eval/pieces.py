"""Whole pieces from consecutive windows, as the reference scores transcription (u-must.md §6: each recording cut
into consecutive 10 s windows, each transcribed alone, notes shifted by the window start and joined, F1 per file).

Both sides are joined with the ties the windows carry, so that a note sounding across a boundary is one note:

- the truth: built windows list the notes sounding in them, times relative to the window start, a note still
  sounding at the end cut there and one tied in from before starting at 0 (its index in ``Sample.tied_in``);
  ``join_truth_windows`` glues each tied-in note to the note of the same key cut at that boundary;
- the prediction: each window's MIDI tokens are decoded at the window's start tick (their tie sections name
  the notes carried over) and joined by the tokenizer's own ``stitch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from scorebridge.midi.notes import Note, ms_to_tick
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.midi.windows import DecodedWindow


@dataclass(frozen=True)
class TruthWindow:
    """One window of truth notes: [start_ms, end_ms) of the piece, notes relative to start_ms, and the indices
    of the notes tied in from the previous window (None when the data did not record them)."""

    start_ms: int
    end_ms: int
    notes: tuple[Note, ...]
    tied_in: tuple[int, ...] | None = None


def join_truth_windows(windows: Sequence[TruthWindow]) -> list[Note]:
    """The notes of consecutive windows on the piece's time (ms), sorted; a note tied into a window extends the
    note of the same key that the previous window cut at that boundary.

    Without ``tied_in`` a note at onset 0 that continues such a cut note counts as tied in (a new strike exactly
    at the boundary cannot be told apart there). A tied-in note with nothing to continue starts at the window
    start, as the data has it."""
    out: list[Note] = []
    cut: dict[tuple[bool, int, int], int] = {}  # key -> index in out of a note cut at the previous window's end
    previous_end: int | None = None
    for w in sorted(windows, key=lambda w: w.start_ms):
        tied = set(w.tied_in) if w.tied_in is not None else {i for i, n in enumerate(w.notes) if n.onset == 0}
        carried = cut if previous_end == w.start_ms else {}
        cut = {}
        for i, note in enumerate(w.notes):
            moved = replace(note, onset=note.onset + w.start_ms, offset=note.offset + w.start_ms)
            if i in tied and note.key in carried:
                index = carried.pop(note.key)
                out[index] = replace(out[index], offset=moved.offset)
            else:
                index = len(out)
                out.append(moved)
            if moved.offset == w.end_ms:
                cut[note.key] = index
        previous_end = w.end_ms
    return sorted(out)


def decode_piece_window(tokenizer: MidiTokenizer, tokens: Sequence[int], start_ms: int,
                        end_ms: int) -> DecodedWindow:
    """One window's generated MIDI tokens decoded on the piece's time (ticks from the piece's start)."""
    return tokenizer.decode_window(tokens, ms_to_tick(start_ms), ms_to_tick(end_ms))


def stitch_piece(tokenizer: MidiTokenizer, windows: Sequence[DecodedWindow]) -> list[Note]:
    """The predicted notes of a piece (ms), its decoded windows joined through their tie sections."""
    return tokenizer.stitch(sorted(windows, key=lambda w: w.start)) if windows else []
