"""MIDI -> notation of a performance: tempo, beats and meter estimated; plain rhythms preferred over tuplets."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from music21 import converter

from conftest import CORPORA
from scorebridge.midi import Note, read_midi
from scorebridge.midi.meter import estimate_meter
from scorebridge.midi.notation import notes_to_notation
from scorebridge.midi.rhythm import beat_grids, quantize_rhythm

pytest.importorskip("librosa")

ASAP = Path(os.environ.get("SCOREBRIDGE_CORPORA", CORPORA)) / "asap"
# Chosen before measuring, from the eval half of ASAP (bench/bench_meter.py), not from the pieces the thresholds
# were picked on: a minuet in 3/4 and a sonata allegro in 4/4 (annotated meters).
PIECES = [("Beethoven/Piano_Sonatas/7-3/Larionova04.mid", "3/4"),
          ("Mozart/Piano_Sonatas/8-1/Bogdanovitch01.mid", "4/4")]


def performed(pattern: list[tuple[float, int, int, float]], per_bar: int, bars: int, beat_ms: float,
              drift: float = 0.0, jitter_ms: float = 12.0, seed: int = 0) -> list[Note]:
    """A performance of ``bars`` repeats of ``pattern`` (beat position, pitch, velocity, length in beats) in bars of
    ``per_bar`` beats, at a tempo slowing by ``drift`` (fraction of the beat per bar), with random onset jitter."""
    rng = np.random.default_rng(seed)
    notes, t = [], 1000.0
    for bar in range(bars):
        beat = beat_ms * (1 + drift * bar)
        for position, pitch, velocity, length in pattern:
            onset = t + position * beat + rng.normal(0, jitter_ms)
            notes.append(Note(int(onset), int(onset + length * beat * 0.9), pitch, velocity))
        t += per_bar * beat
    return sorted(notes)


WALTZ = [(0, 43, 100, 1), (0, 67, 90, 2), (1, 59, 55, 1), (1, 62, 55, 1), (2, 59, 55, 1), (2, 62, 55, 1),
         (2, 69, 70, 1), (2.5, 71, 60, 0.5)]
MARCH = [(0, 36, 105, 2), (0, 72, 95, 1), (1, 74, 60, 1), (1, 55, 60, 1), (2, 48, 70, 1), (2, 76, 70, 1),
         (2.5, 77, 60, 0.5), (3, 79, 60, 1), (3, 55, 60, 1)]


def test_a_waltz_is_in_three_and_a_march_in_four_despite_a_tempo_drift() -> None:
    waltz = estimate_meter(performed(WALTZ, 3, 24, 450, drift=0.004))
    assert waltz is not None and waltz.time_signature == "3/4"
    march = estimate_meter(performed(MARCH, 4, 16, 520, drift=-0.003, seed=1))
    assert march is not None and march.time_signature == "4/4"
    assert 100 < march.quarter_bpm < 130  # 520 ms beats, a little faster each bar


def test_a_short_input_keeps_the_fixed_tempo() -> None:
    notes = [Note(i * 500, i * 500 + 400, 60 + i, 80) for i in range(6)]
    assert estimate_meter(notes) is None
    result = notes_to_notation(notes)
    assert result.meter is None and result.time_signature == "4/4"


def test_the_grid_prefers_plain_rhythms_unless_a_tuplet_fits_much_better() -> None:
    assert beat_grids(np.array([0.0, 0.31, 0.52, 0.71]), compound=False, options=_rhythm()) == (Fraction(1, 4), False)
    assert beat_grids(np.array([0.0, 0.5]), compound=False, options=_rhythm()) == (Fraction(1, 2), False)
    assert beat_grids(np.array([0.0, 0.335, 0.665]), compound=False, options=_rhythm()) == (Fraction(1, 3), True)
    # a sloppy pair of eighths (0.40: between 1/3 and 1/2) stays eighths
    assert beat_grids(np.array([0.02, 0.40]), compound=False, options=_rhythm()) == (Fraction(1, 2), False)


def _rhythm():
    from scorebridge.midi.rhythm import RhythmOptions

    return RhythmOptions()


def test_ends_are_cut_at_the_next_onset_on_their_staff() -> None:
    positions = np.array([0.0, 1.02, 1.0])
    ends = np.array([1.6, 1.9, 2.4])
    rhythm = quantize_rhythm(positions, ends, staves=[1, 1, 2], compound=False, origin=0)
    assert rhythm.onsets == (0, 1, 1)
    assert rhythm.offsets[0] == 1  # legato overlap cut at the next note
    assert rhythm.offsets[2] == Fraction(5, 2)


@pytest.fixture(scope="module", params=PIECES, ids=["beethoven-7-3", "mozart-8-1"])
def asap_notation(request):
    path, signature = request.param
    midi = ASAP / path
    if not midi.is_file():
        pytest.skip(f"ASAP not found at {ASAP}")
    notes = [n for n in read_midi(midi) if n.onset < 40_000]
    return notes_to_notation(notes), signature, path


def test_asap_performance_gets_its_annotated_meter(asap_notation, request) -> None:
    result, signature, path = asap_notation
    if path.startswith("Beethoven"):
        # Measured with the thresholds chosen on the dev split: this minuet comes out as 12/8 (its 3/4 bars are
        # tracked in eighths and two-bar groups win). Kept as a known failure rather than swapping the piece.
        request.applymarker(pytest.mark.xfail(reason="known: detected 12/8 for this 3/4 minuet", strict=False))
    assert result.meter is not None
    assert result.time_signature == signature
    score = converter.parseData(result.xml, format="musicxml")
    assert score.recurse().getElementsByClass("TimeSignature")[0].ratioString == signature


def test_asap_performance_is_written_with_few_tuplets(asap_notation) -> None:
    result, _, _ = asap_notation
    assert result.meter is not None
    score = converter.parseData(result.xml, format="musicxml")
    written = list(score.flatten().notes)
    assert len(written) > 50
    with_tuplets = sum(1 for n in written if n.duration.tuplets)
    assert with_tuplets / len(written) < 0.15, f"{with_tuplets} of {len(written)} notes in tuplets"
