"""The MT3-style MIDI event vocabulary: contiguous token ids for specials, shifts, pitches, velocities,
the tie token, programs and drums (in that order, as the reference's "mt3" codec).

With the defaults (1,001 shifts, binary velocity) the vocabulary has 3 + 1001 + 387 = 1,391 tokens.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from scorebridge.constants import MIDI_MAX_SHIFT_STEPS

NUM_PITCHES = 128
NUM_PROGRAMS = 128


class EventType(Enum):
    SPECIAL = "special"
    SHIFT = "shift"
    PITCH = "pitch"
    VELOCITY = "velocity"
    TIE = "tie"
    PROGRAM = "program"
    DRUM = "drum"


SPECIAL_NAMES = ("<pad>", "<eos>", "<unk>")


@dataclass(frozen=True)
class MidiEventConfig:
    """Vocabulary settings.

    max_shift_steps: number of shift tokens; shift v means "time = window start + v ticks" (10 ms ticks,
        MT3's absolute-within-window shifts), so a window may span at most ``max_shift_steps - 1`` ticks.
    velocity_bins: 1 = binary note-on/off (the reference); N > 1 = N loudness bins. Velocity token 0 is off.
    """

    max_shift_steps: int = MIDI_MAX_SHIFT_STEPS
    velocity_bins: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.max_shift_steps, int) or self.max_shift_steps < 2:
            raise ValueError(f"max_shift_steps must be an integer >= 2, got {self.max_shift_steps!r}")
        if not isinstance(self.velocity_bins, int) or not 1 <= self.velocity_bins <= 127:
            raise ValueError(f"velocity_bins must be an integer in 1..127, got {self.velocity_bins!r}")

    @property
    def max_window_ticks(self) -> int:
        return self.max_shift_steps - 1


@dataclass(frozen=True)
class Event:
    type: EventType
    value: int


class MidiVocab:
    """Token ids for one ``MidiEventConfig``. Specials are named properties; ranges are contiguous."""

    def __init__(self, config: MidiEventConfig | None = None):
        self.config = config or MidiEventConfig()
        sizes = [
            (EventType.SPECIAL, len(SPECIAL_NAMES)),
            (EventType.SHIFT, self.config.max_shift_steps),
            (EventType.PITCH, NUM_PITCHES),
            (EventType.VELOCITY, self.config.velocity_bins + 1),
            (EventType.TIE, 1),
            (EventType.PROGRAM, NUM_PROGRAMS),
            (EventType.DRUM, NUM_PITCHES),
        ]
        self._ranges: dict[EventType, tuple[int, int]] = {}
        start = 0
        for kind, size in sizes:
            self._ranges[kind] = (start, size)
            start += size
        self.vocab_size = start
        # one lookup table id -> (type, value) keeps decoding a list index, not a search
        self._table = [Event(kind, v) for kind, size in sizes for v in range(size)]

    # special tokens ------------------------------------------------------------------------------
    @property
    def pad(self) -> int:
        return 0

    @property
    def eos(self) -> int:
        return 1

    @property
    def unk(self) -> int:
        return 2

    @property
    def tie(self) -> int:
        return self._ranges[EventType.TIE][0]

    # encoding ------------------------------------------------------------------------------------
    def encode_event(self, kind: EventType, value: int) -> int:
        start, size = self._ranges[kind]
        if not 0 <= value < size:
            raise ValueError(f"{kind.value} value {value} outside 0..{size - 1}")
        return start + value

    def shift(self, steps: int) -> int:
        return self.encode_event(EventType.SHIFT, steps)

    def pitch(self, pitch: int) -> int:
        return self.encode_event(EventType.PITCH, pitch)

    def velocity(self, bin_: int) -> int:
        return self.encode_event(EventType.VELOCITY, bin_)

    def program(self, program: int) -> int:
        return self.encode_event(EventType.PROGRAM, program)

    def drum(self, pitch: int) -> int:
        return self.encode_event(EventType.DRUM, pitch)

    def range_of(self, kind: EventType) -> range:
        start, size = self._ranges[kind]
        return range(start, start + size)

    # decoding ------------------------------------------------------------------------------------
    def event(self, token: int) -> Event:
        """The event of a token id; ids outside the vocabulary decode as the UNK special."""
        if 0 <= token < self.vocab_size:
            return self._table[token]
        return Event(EventType.SPECIAL, self.unk)

    def token_to_string(self, token: int) -> str:
        ev = self.event(token)
        if ev.type is EventType.SPECIAL:
            return SPECIAL_NAMES[ev.value]
        if ev.type is EventType.TIE:
            return "tie"
        return f"{ev.type.value}:{ev.value}"

    def string_to_token(self, text: str) -> int:
        if text in SPECIAL_NAMES:
            return SPECIAL_NAMES.index(text)
        if text == "tie":
            return self.tie
        name, _, value = text.partition(":")
        return self.encode_event(EventType(name), int(value))

    def describe(self, tokens: Iterable[int]) -> str:
        """Tokens as space-separated readable events, for debugging (``string_to_token`` inverts each)."""
        return " ".join(self.token_to_string(t) for t in tokens)

    # velocity bins (MT3's formulas) ---------------------------------------------------------------
    def velocity_to_bin(self, velocity: int) -> int:
        if velocity == 0:
            return 0
        return math.ceil(self.config.velocity_bins * velocity / 127)

    def bin_to_velocity(self, bin_: int) -> int:
        return int(127 * bin_ / self.config.velocity_bins)
