"""MT3-style event tokens for one window of notes, and back.

A window [t0, t1) (10 ms ticks) is encoded as

    tie section: (program? pitch)* for notes sounding at t0, then the tie token
    events:      per time step: shift(t - t0) once, then offsets, then onsets, each as
                 (program? velocity? pitch) or (velocity? drum); EOS

where ``program?``/``velocity?`` appear only when they change (state carried through the window, starting
unset). Onsets lie in [t0, t1); offsets in (t0, t1], so a note ending exactly at t1 ends in this window
(shift value t1 - t0) and is not tied into the next one; a note still sounding at t1 is listed in the next
window's tie section. Drums are onset-only and never tied.

Decoding turns tokens back into ``NoteSegment``s (a tied segment has no onset; an open one no offset);
``stitch`` joins segments across consecutive windows into notes.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Sequence

from scorebridge.constants import MIDI_TICKS_PER_SECOND
from scorebridge.midi.notes import Note
from scorebridge.midi.quantize import TickNote, quantize_notes
from scorebridge.midi.vocab import EventType, MidiEventConfig, MidiVocab
from scorebridge.midi.windows import DecodedWindow, NoteSegment, Window, plan_windows, stitch_segments

log = logging.getLogger(__name__)

_OFF, _ON = 0, 1


class MidiTokenizer:
    """Encode notes to MT3-style event tokens per window, decode tokens and stitch windows back into notes.

    Special ids are properties (``pad``, ``eos``, ``unk``, ``tie``); ``vocab_size`` counts every id.
    """

    def __init__(self, config: MidiEventConfig | None = None):
        self.config = config or MidiEventConfig()
        self.vocab = MidiVocab(self.config)

    # vocabulary passthrough -----------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.vocab.vocab_size

    @property
    def pad(self) -> int:
        return self.vocab.pad

    @property
    def eos(self) -> int:
        return self.vocab.eos

    @property
    def unk(self) -> int:
        return self.vocab.unk

    @property
    def tie(self) -> int:
        return self.vocab.tie

    def token_to_string(self, token: int) -> str:
        return self.vocab.token_to_string(token)

    def describe(self, tokens: Iterable[int]) -> str:
        return self.vocab.describe(tokens)

    # encoding -------------------------------------------------------------------------------------
    def _check_window(self, t0: int, t1: int) -> None:
        if not 0 <= t0 < t1 or t1 - t0 > self.config.max_window_ticks:
            raise ValueError(f"window [{t0}, {t1}) must satisfy 0 <= t0 < t1 <= t0 + "
                             f"{self.config.max_window_ticks} ticks")

    def encode_window(self, notes: Sequence[Note], t0: int, t1: int) -> list[int]:
        """Tokens (ending with EOS) for the notes sounding in [t0, t1), times in 10 ms ticks."""
        qnotes = quantize_notes(notes)
        held = [n for n in qnotes if not n.is_drum and n.onset < t0 < n.offset]
        starting = [n for n in qnotes if t0 <= n.onset < t1]
        return self.encode_quantized(held, starting, t0, t1)

    def encode_quantized(self, held: Sequence[TickNote], starting: Sequence[TickNote], t0: int,
                         t1: int) -> list[int]:
        """Tokens for one window given the notes held at t0 and those starting in [t0, t1)."""
        self._check_window(t0, t1)
        v = self.vocab
        tokens: list[int] = []
        program: int | None = None
        for n in sorted(held, key=lambda n: (n.program, n.pitch)):
            if n.program != program:
                program = n.program
                tokens.append(v.program(program))
            tokens.append(v.pitch(n.pitch))
        tokens.append(v.tie)

        # (time, off/on, drum, program, pitch, velocity bin); a zero-tick note (two onsets on one tick)
        # gets no offset: the re-strike that follows ends it.
        events = [(n.offset, _OFF, False, n.program, n.pitch, 0) for n in held if n.offset <= t1]
        for n in starting:
            events.append((n.onset, _ON, n.is_drum, n.program, n.pitch, v.velocity_to_bin(n.velocity)))
            if not n.is_drum and n.onset < n.offset <= t1:
                events.append((n.offset, _OFF, False, n.program, n.pitch, 0))
        events.sort(key=lambda e: e[:5])  # stable: two onsets of one key on one tick keep their order

        time, velocity = t0, None
        for t, _kind, is_drum, prog, pitch, vbin in events:
            if t != time:
                time = t
                tokens.append(v.shift(t - t0))
            if not is_drum and prog != program:
                program = prog
                tokens.append(v.program(prog))
            if vbin != velocity:
                velocity = vbin
                tokens.append(v.velocity(vbin))
            tokens.append(v.drum(pitch) if is_drum else v.pitch(pitch))
        tokens.append(v.eos)
        return tokens

    def encode_notes(self, notes: Sequence[Note], window_s: int = 10) -> list[list[int]]:
        """Tokens for consecutive windows of ``window_s`` seconds covering every note (window k starts at
        k * window_s). The same tokens as ``encode_window`` per window, with one quantization pass."""
        window = self._window_ticks(window_s)
        qnotes = quantize_notes(notes)
        if not qnotes:
            return []
        end = max(n.offset for n in qnotes)
        onsets = [n.onset for n in qnotes]
        out: list[list[int]] = []
        carry: list[TickNote] = []
        for w in plan_windows(end, window):
            lo, hi = bisect.bisect_left(onsets, w.start), bisect.bisect_left(onsets, w.end)
            starting = qnotes[lo:hi]
            out.append(self.encode_quantized(carry, starting, w.start, w.end))
            carry = [n for n in (*carry, *starting) if not n.is_drum and n.offset > w.end]
        return out

    def _window_ticks(self, window_s: int) -> int:
        ticks = window_s * MIDI_TICKS_PER_SECOND
        if ticks != int(ticks) or not 0 < ticks <= self.config.max_window_ticks:
            raise ValueError(f"window of {window_s} s does not fit {self.config.max_shift_steps} shift steps")
        return int(ticks)

    # decoding -------------------------------------------------------------------------------------
    def decode_window(self, tokens: Sequence[int], t0: int, t1: int | None = None) -> DecodedWindow:
        """Segments of the window starting at tick ``t0``. Never raises on model output: irregular tokens
        are skipped or repaired, and each is recorded in ``problems`` (and logged at debug level)."""
        t1 = t0 + self.config.max_window_ticks if t1 is None else t1
        return _WindowDecoder(self.vocab, t0, t1).run(tokens)

    def stitch(self, windows: Sequence[DecodedWindow]) -> list[Note]:
        """Join consecutive decoded windows into notes (ms), sorted; see ``windows.stitch_segments``."""
        default_velocity = self.vocab.bin_to_velocity(self.config.velocity_bins)
        return stitch_segments(windows, default_velocity)

    def decode_windows(self, token_windows: Sequence[Sequence[int]], window_s: int = 10) -> list[Note]:
        """Inverse of ``encode_notes``: decode window k at tick k * window ticks, then stitch."""
        window = self._window_ticks(window_s)
        decoded = [self.decode_window(toks, k * window, (k + 1) * window)
                   for k, toks in enumerate(token_windows)]
        return self.stitch(decoded)


class _WindowDecoder:
    """The decoding state machine for one window (kept out of the tokenizer so each piece stays small)."""

    def __init__(self, vocab: MidiVocab, t0: int, t1: int):
        self.vocab, self.t0, self.t1 = vocab, t0, t1
        self.time = t0
        self.program: int | None = None
        self.velocity: int | None = None
        self.in_ties = True
        self.ties: list[tuple[int, int]] = []
        self.open: dict[tuple[int, int], tuple[int | None, int | None]] = {}  # key -> (onset, velocity)
        self.segments: list[NoteSegment] = []
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)
        log.debug("window at tick %d: %s", self.t0, text)

    def run(self, tokens: Sequence[int]) -> DecodedWindow:
        handlers = {kind: getattr(self, f"_on_{kind.value}")
                    for kind in EventType if kind is not EventType.SPECIAL}
        for i, token in enumerate(tokens):
            ev = self.vocab.event(token)
            if ev.type is EventType.SPECIAL:
                if token == self.vocab.eos:
                    break
                if token != self.vocab.pad:
                    self.problem(f"token {i}: unknown token {token}")
                continue
            if self.in_ties and ev.type not in (EventType.PROGRAM, EventType.PITCH, EventType.TIE):
                self.problem(f"token {i}: {self.vocab.token_to_string(token)} before the tie token")
                self.in_ties = False
            handlers[ev.type](i, ev.value)
        for (program, pitch), (onset, velocity) in self.open.items():
            self.segments.append(NoteSegment(pitch, program, False, velocity, onset, None))
        self.segments.sort(key=NoteSegment.sort_key)
        return DecodedWindow(self.t0, self.t1, tuple(self.ties), tuple(self.segments), tuple(self.problems))

    def _on_tie(self, i: int, _value: int) -> None:
        if not self.in_ties:
            self.problem(f"token {i}: second tie token ignored")
        self.in_ties = False

    def _on_program(self, _i: int, value: int) -> None:
        self.program = value

    def _on_velocity(self, i: int, value: int) -> None:
        self.velocity = value

    def _on_shift(self, i: int, value: int) -> None:
        time = self.t0 + value
        if time < self.time:
            self.problem(f"token {i}: time goes back from {self.time - self.t0} to {value}")
        self.time = time

    def _current_program(self, i: int) -> int:
        if self.program is None:
            self.problem(f"token {i}: note before any program token; program 0 assumed")
            self.program = 0
        return self.program

    def _on_pitch(self, i: int, pitch: int) -> None:
        key = (self._current_program(i), pitch)
        if self.in_ties:
            if key in self.open:
                self.problem(f"token {i}: pitch {pitch} tied twice")
                return
            self.ties.append(key)
            self.open[key] = (None, None)
            return
        if self.velocity is None:
            self.problem(f"token {i}: pitch before any velocity token; onset assumed")
            self.velocity = self.vocab.config.velocity_bins
        if self.velocity == 0:
            if key not in self.open:
                self.problem(f"token {i}: offset of pitch {pitch} that is not sounding")
                return
            self._close(key)
            return
        if key in self.open:  # a re-struck key ends the note sounding on it
            self._close(key)
        self.open[key] = (self.time, self.vocab.bin_to_velocity(self.velocity))

    def _close(self, key: tuple[int, int]) -> None:
        onset, velocity = self.open.pop(key)
        self.segments.append(NoteSegment(key[1], key[0], False, velocity, onset, self.time))

    def _on_drum(self, i: int, pitch: int) -> None:
        if not self.velocity:
            self.problem(f"token {i}: drum {pitch} without an onset velocity; onset assumed")
            self.velocity = self.vocab.config.velocity_bins
        velocity = self.vocab.bin_to_velocity(self.velocity)
        self.segments.append(NoteSegment(pitch, 0, True, velocity, self.time, self.time + 1))


__all__ = ["MidiTokenizer", "DecodedWindow", "NoteSegment", "Window"]
