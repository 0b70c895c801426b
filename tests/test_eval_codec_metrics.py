import math

import numpy as np
import pytest

from scorebridge.eval.codec_metrics import (
    InkScore,
    NoteScore,
    ink_f1,
    mel_distance,
    note_f1_with_offsets,
    onset_f1,
    psnr,
    si_sdr,
)
from scorebridge.midi.notes import Note

SR = 16_000


def _tone(seconds: float = 1.0, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


# ------------------------------------------------------------ images

def test_psnr_frozen_values():
    white = np.full((4, 4), 255, np.uint8)
    one_black = white.copy()
    one_black[0, 0] = 0
    assert psnr(white, one_black) == pytest.approx(10 * math.log10(16), abs=1e-12)  # mse = 255^2 / 16
    assert psnr(white, white) == math.inf
    off_by_one = np.full((3, 5), 254, np.uint8)
    assert psnr(np.full((3, 5), 255, np.uint8), off_by_one) == pytest.approx(20 * math.log10(255))


def test_image_metrics_validate():
    a = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError, match="shape mismatch"):
        psnr(a, np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        ink_f1(a, a.astype(np.float32))
    with pytest.raises(ValueError, match="uint8"):
        psnr(np.zeros((2, 4, 4), np.uint8), np.zeros((2, 4, 4), np.uint8))


def test_ink_f1_frozen_values():
    orig = np.full((4, 4), 255, np.uint8)
    orig[0, :] = 0  # 4 ink pixels
    rec = np.full((4, 4), 255, np.uint8)
    rec[0, :2] = 100  # 2 kept (below 128)
    rec[0, 2] = 128  # at the threshold: paper, not ink
    rec[3, 3] = 10  # 1 spurious
    score = ink_f1(orig, rec)
    assert score == InkScore(precision=2 / 3, recall=0.5, f1=pytest.approx(4 / 7))
    assert ink_f1(orig, rec, threshold=129).recall == 0.75  # the same threshold binarizes both
    assert ink_f1(orig, orig) == InkScore(1.0, 1.0, 1.0)


def test_ink_f1_blank_pages():
    blank = np.full((8, 8), 255, np.uint8)
    inked = blank.copy()
    inked[2, 2] = 0
    assert ink_f1(blank, blank) == InkScore(1.0, 1.0, 1.0)
    assert ink_f1(blank, inked) == InkScore(0.0, 0.0, 0.0)
    assert ink_f1(inked, blank) == InkScore(0.0, 0.0, 0.0)


# ------------------------------------------------------------ audio

def test_mel_distance_values():
    x = _tone()
    silence = np.zeros_like(x)
    assert mel_distance(x, x, SR) == 0.0
    assert mel_distance(silence, silence, SR) == 0.0  # silence sits on the log floor on both sides
    half = mel_distance(x, 0.5 * x, SR)
    # A gain of 1/2 shifts every unfloored log10 mel value by log10(2); floored low bands shift less.
    assert 0.5 < half < 7 * math.log10(2)
    assert mel_distance(x, silence, SR) > 5 * half  # silence is far worse than a gain change
    assert mel_distance(x, _tone(hz=880.0), SR) > half
    assert mel_distance(x, 0.5 * x, SR) == pytest.approx(mel_distance(0.5 * x, x, SR))  # symmetric (L1)


def test_audio_metrics_validate():
    x = _tone(0.1)
    with pytest.raises(ValueError, match="length mismatch"):
        mel_distance(x, x[:-1], SR)
    with pytest.raises(ValueError, match="length mismatch"):
        si_sdr(x, x[:-1])
    with pytest.raises(ValueError, match="mono"):
        si_sdr(np.stack([x, x]), np.stack([x, x]))
    with pytest.raises(ValueError, match="empty"):
        si_sdr(x[:0], x[:0])
    with pytest.raises(ValueError, match="NaN"):
        mel_distance(x, np.full_like(x, np.nan), SR)


def test_si_sdr_frozen_values():
    x = _tone()
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(x))
    noise -= noise.mean()
    noise -= np.dot(noise, x) / np.dot(x, x) * x  # orthogonal to x: SI-SDR is exactly the energy ratio
    noise *= np.linalg.norm(x) / np.linalg.norm(noise) / math.sqrt(10)  # 10 dB below the signal
    assert si_sdr(x, x + noise) == pytest.approx(10.0, abs=1e-3)  # x is float32: tiny residual mean
    assert si_sdr(x, 3 * (x + noise)) == pytest.approx(si_sdr(x, x + noise))  # scale-invariant
    assert si_sdr(x, x + 0.7) > 100  # a DC offset is removed first (not inf: float32 rounding of x + 0.7)
    assert si_sdr(x, x) == math.inf


def test_si_sdr_silence():
    x = _tone(0.1)
    assert si_sdr(x, np.zeros_like(x)) == -math.inf
    with pytest.raises(ValueError, match="silent"):
        si_sdr(np.zeros_like(x), x)
    with pytest.raises(ValueError, match="silent"):
        si_sdr(np.full_like(x, 0.3), x)  # constant = silent once zero-mean


# ------------------------------------------------------------ notes

REF = [Note(0, 500, 60), Note(500, 1000, 64), Note(1000, 1500, 67)]


def test_onset_f1_frozen_values():
    est = [Note(30, 400, 60), Note(560, 1000, 64), Note(1000, 1500, 68), Note(1200, 1300, 72)]
    # matches: 60 (30 ms late); 64 is 60 ms late, 67 -> 68 wrong pitch, 72 spurious
    assert onset_f1(REF, est) == NoteScore(precision=0.25, recall=1 / 3, f1=pytest.approx(2 / 7))
    assert onset_f1(REF, est, onset_tolerance_ms=70).precision == 0.5
    assert onset_f1(REF, REF) == NoteScore(1.0, 1.0, 1.0)


def test_note_f1_with_offsets():
    est = [Note(10, 520, 60), Note(500, 700, 64), Note(1000, 1500, 67)]
    # 60: offset 20 ms off (within max(0.2 * 500, 50) ms); 64: offset 300 ms off; 67 exact
    assert onset_f1(REF, est) == NoteScore(1.0, 1.0, 1.0)
    with_off = note_f1_with_offsets(REF, est)
    assert with_off.precision == pytest.approx(2 / 3) and with_off.recall == pytest.approx(2 / 3)
    assert note_f1_with_offsets(REF, est, offset_ratio=0.7).f1 == 1.0


def test_note_scores_edge_cases():
    assert onset_f1([], []) == NoteScore(1.0, 1.0, 1.0)
    assert onset_f1(REF, []) == NoteScore(0.0, 0.0, 0.0)
    assert onset_f1([], REF) == NoteScore(0.0, 0.0, 0.0)
    assert note_f1_with_offsets([], []) == NoteScore(1.0, 1.0, 1.0)
    zero_length = [Note(0, 0, 60), Note(500, 500, 64), Note(1000, 1000, 67)]  # mir_eval needs positive durations
    assert onset_f1(REF, zero_length).f1 == 1.0
    drums = [Note(0, 10, 36, is_drum=True)]
    assert onset_f1(REF, REF + drums) == NoteScore(1.0, 1.0, 1.0)  # drum hits are not pitched notes
    with pytest.raises(ValueError):
        onset_f1(REF, REF, onset_tolerance_ms=0)
