"""The sample schema validates itself: spans, shapes, audio length, untimed samples."""

from __future__ import annotations

import numpy as np
import pytest

from scorebridge.data.schema import Sample, from_record, ms_to_samples, to_record
from scorebridge.midi import Note


def make(**kw) -> Sample:
    base = dict(id="s/p/system-0000", source="s", piece="p", split="train", kind="system", start_ms=1000,
                end_ms=2500)
    return Sample(**{**base, **kw})


def test_ms_to_samples_is_exact_integer_arithmetic() -> None:
    assert ms_to_samples(1000, 44_100) == 44_100
    assert ms_to_samples(1, 44_100) == 44  # floor of 44.1
    assert ms_to_samples(10, 44_100) == 441


def test_audio_must_cover_exactly_the_span() -> None:
    n = ms_to_samples(2500, 44_100) - ms_to_samples(1000, 44_100)
    assert make(audio=np.zeros(n, np.float32)).audio_samples_expected == n
    with pytest.raises(ValueError, match="expected"):
        make(audio=np.zeros(n + 1, np.float32))
    with pytest.raises(ValueError, match="mono"):
        make(audio=np.zeros((n, 2), np.float32))


def test_bad_spans_splits_images_and_notes_are_rejected() -> None:
    with pytest.raises(ValueError, match="time span"):
        make(start_ms=2000, end_ms=2000)
    with pytest.raises(ValueError, match="split"):
        make(split="dev")
    with pytest.raises(ValueError, match="uint8"):
        make(image=np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="end after"):
        make(notes=(Note(0, 1600, 60),))  # the sample lasts 1500 ms


def test_untimed_samples_carry_no_midi_or_audio_and_round_trip() -> None:
    s = make(start_ms=None, end_ms=None, image=np.full((20, 30), 255, np.uint8), lmx=("measure", "rest"))
    assert not s.timed and s.duration_ms == 0 and s.modalities == ("image", "lmx")
    back = from_record(to_record(s))
    assert back == s and back.start_ms is None
    with pytest.raises(ValueError, match="untimed"):
        make(start_ms=None, end_ms=None, notes=(Note(0, 10, 60),))
    with pytest.raises(ValueError, match="untimed"):
        make(start_ms=None, end_ms=5)
