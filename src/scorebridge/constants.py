"""Sample rates, grids and sizes shared across the engine; derived values are checked to be exact."""

from __future__ import annotations

AUDIO_SAMPLE_RATE = 44_100  # Hz, mono, as the reference system's audio codec
MIDI_TICKS_PER_SECOND = 100  # MT3-style time shifts of 10 ms
MIDI_TICK_MS = 1000 // MIDI_TICKS_PER_SECOND
MIDI_WINDOW_SECONDS = 10
WINDOW_MS = MIDI_WINDOW_SECONDS * 1000  # one long-form window of audio or performance MIDI
MIDI_MAX_SHIFT_STEPS = MIDI_WINDOW_SECONDS * MIDI_TICKS_PER_SECOND + 1  # 1,001 covers a whole 10 s window
STAFF_HEIGHT_PX = 18  # normalized staff height of a system crop (reference: "unirqvae3")
IMAGE_PATCH_PX = 16  # one image token = one 16x16 patch
WHITEN_MARGIN = 20  # pixels brighter than (median - 20) become white

assert MIDI_TICK_MS * MIDI_TICKS_PER_SECOND == 1000
assert AUDIO_SAMPLE_RATE % MIDI_TICKS_PER_SECOND == 0  # 441 samples per MIDI tick
AUDIO_SAMPLES_PER_MIDI_TICK = AUDIO_SAMPLE_RATE // MIDI_TICKS_PER_SECOND
