"""The sample schema validates itself: spans, shapes, audio length, untimed samples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scorebridge.data.schema import Sample, from_record, ms_to_sample_floor, to_record
from scorebridge.midi import Note


def make(**kw) -> Sample:
    base = dict(id="s/p/system-0000", source="s", piece="p", split="train", kind="system", start_ms=1000,
                end_ms=2500)
    return Sample(**{**base, **kw})


def test_ms_to_samples_is_exact_integer_arithmetic() -> None:
    assert ms_to_sample_floor(1000, 44_100) == 44_100
    assert ms_to_sample_floor(1, 44_100) == 44  # floor of 44.1
    assert ms_to_sample_floor(10, 44_100) == 441


def test_audio_must_cover_exactly_the_span() -> None:
    n = ms_to_sample_floor(2500, 44_100) - ms_to_sample_floor(1000, 44_100)
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


def _v1_record(kind: str, notes: list, tied: object) -> dict:
    """A schema-1 record as builds before issue 17 wrote it: ``tied_in`` inside ``meta``."""
    sample = Sample(id=f"s/p/{kind}-0000", source="s", piece="p", split="train", kind=kind, start_ms=0, end_ms=1000,
                    notes=tuple(notes))
    record = to_record(sample)
    meta = json.loads(record["json"])
    del meta["tied_in"]
    record["json"] = json.dumps({**meta, "schema": 1, "meta": {"tied_in": tied, "other": 1}}).encode()
    return record


def test_schema_1_tied_in_reads_as_indices() -> None:
    notes = [Note(0, 300, 60), Note(0, 500, 64), Note(200, 900, 67)]
    # score systems listed pitches, ASAP windows indices, the dataset adapters a count
    assert from_record(_v1_record("system", notes, [64])).tied_in == (1,)
    assert from_record(_v1_record("window", notes, [0, 1])).tied_in == (0, 1)
    assert from_record(_v1_record("window", notes, 2)).tied_in == (0, 1)
    assert from_record(_v1_record("window", notes, 0)).tied_in == ()
    assert from_record(_v1_record("window", notes, 1)).tied_in is None  # which one of two: not recorded
    assert from_record(_v1_record("system", notes, [67])).tied_in is None  # 67 is struck inside: not a tie
    assert from_record(_v1_record("window", notes, 1)).meta == {"other": 1}


def test_tied_in_round_trips_and_is_validated() -> None:
    notes = (Note(0, 300, 60), Note(100, 500, 64))
    base = dict(id="s/p/window-0000", source="s", piece="p", split="train", kind="window", start_ms=0, end_ms=1000,
                notes=notes)
    sample = Sample(**base, tied_in=(0,))
    assert from_record(to_record(sample)).tied_in == (0,)
    assert from_record(to_record(Sample(**base))).tied_in is None
    with pytest.raises(ValueError, match="tied_in"):
        Sample(**base, tied_in=(1,))  # 64 starts at 100: not tied in
    with pytest.raises(ValueError, match="tied_in"):
        Sample(**base, tied_in=(2,))
