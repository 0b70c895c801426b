"""Codec quality metrics: thin validated functions with units and shapes in the docstrings.

Images are uint8 grayscale arrays (H, W) with white background (255) and dark ink. Audio is float32 mono (T,).
Notes are ``scorebridge.midi.notes.Note`` lists (integer ms); note matching is delegated to ``mir_eval``.

Edge-case conventions (explicit, so that benchmark averages mean something):
- precision / recall / F1 on empty sets: both sides empty -> 1.0 everywhere (perfect agreement); one side empty
  -> 0.0 everywhere. Applied alike to ink pixels and to notes.
- ``psnr`` of identical images is ``inf``; ``si_sdr`` of an exact copy is ``inf``, of a silent estimate ``-inf``,
  and a silent reference is an error (SI-SDR is undefined there).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scorebridge.midi.notes import Note

# DAC's MelSpectrogramLoss configuration (descript-audio-codec conf/base.yml): 7 scales, hop = window / 4,
# magnitude mel (pow 1), log10 with a 1e-5 floor, summed over scales.
MEL_WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
MEL_BANDS = (5, 10, 20, 40, 80, 160, 320)
MEL_FLOOR = 1e-5


@dataclass(frozen=True)
class InkScore:
    """Pixel-level scores of ink (dark pixels), each in [0, 1]."""

    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class NoteScore:
    """Note-level scores as mir_eval computes them, each in [0, 1]."""

    precision: float
    recall: float
    f1: float


# ---------------------------------------------------------------- images


def _check_images(original: np.ndarray, reconstruction: np.ndarray) -> None:
    for name, img in (("original", original), ("reconstruction", reconstruction)):
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 2:
            raise ValueError(f"{name} must be a uint8 array of shape (H, W), "
                             f"not {getattr(img, 'dtype', type(img))} {getattr(img, 'shape', '')}")
    if original.shape != reconstruction.shape:
        raise ValueError(f"shape mismatch: original {original.shape} vs reconstruction {reconstruction.shape}")
    if original.size == 0:
        raise ValueError("empty image")


def psnr(original: np.ndarray, reconstruction: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 (H, W) images (peak 255); ``inf`` when identical."""
    _check_images(original, reconstruction)
    diff = original.astype(np.float64) - reconstruction.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(255.0**2 / mse)


def ink_f1(original: np.ndarray, reconstruction: np.ndarray, threshold: int = 128) -> InkScore:
    """Precision / recall / F1 of ink pixels: both uint8 (H, W) images binarized as ``pixel < threshold``.

    Precision = share of the reconstruction's ink that is ink in the original; recall = share of the original's
    ink kept. Thin lines (stems, staff lines) weigh as much per pixel as noteheads, so this is harsher on blur
    than PSNR, whose error is dominated by the white background.
    """
    _check_images(original, reconstruction)
    if not 0 < threshold <= 255:
        raise ValueError(f"threshold must be in 1..255, not {threshold}")
    ref = original < threshold
    est = reconstruction < threshold
    tp = int(np.count_nonzero(ref & est))
    return InkScore(*_prf(tp, int(np.count_nonzero(ref)), int(np.count_nonzero(est))))


def _prf(true_positives: int, n_reference: int, n_estimate: int) -> tuple[float, float, float]:
    if n_reference == 0 and n_estimate == 0:
        return 1.0, 1.0, 1.0
    if n_reference == 0 or n_estimate == 0:
        return 0.0, 0.0, 0.0
    precision = true_positives / n_estimate
    recall = true_positives / n_reference
    f1 = 0.0 if true_positives == 0 else 2 * precision * recall / (precision + recall)
    return precision, recall, f1


# ---------------------------------------------------------------- audio


def _check_audio(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference)
    est = np.asarray(estimate)
    if ref.ndim != 1 or est.ndim != 1:
        raise ValueError(f"audio must be mono arrays of shape (T,), not {ref.shape} and {est.shape}")
    if ref.shape != est.shape:
        raise ValueError(f"length mismatch: reference {ref.shape[0]} vs estimate {est.shape[0]} samples")
    if ref.size == 0:
        raise ValueError("empty audio")
    if not (np.isfinite(ref).all() and np.isfinite(est).all()):
        raise ValueError("audio contains NaN or infinite samples")
    return ref.astype(np.float64), est.astype(np.float64)


def _log_mel(audio: np.ndarray, sample_rate: int, window: int, n_mels: int) -> np.ndarray:
    import librosa

    spec = np.abs(librosa.stft(audio, n_fft=window, hop_length=window // 4, window="hann", center=True))
    with warnings.catch_warnings():  # the many-band scales have empty low bands at small windows; DAC has the same
        warnings.filterwarnings("ignore", message="Empty filters detected")
        bank = librosa.filters.mel(sr=sample_rate, n_fft=window, n_mels=n_mels)
    return np.log10(np.maximum(bank @ spec, MEL_FLOOR))


def mel_distance(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Multi-scale log-mel L1 distance (DAC's mel loss), unitless, >= 0; 0 for identical signals.

    ``reference`` and ``estimate``: float mono (T,), same length, at ``sample_rate`` Hz. For each of 7 scales
    (Hann windows 32..2048 samples, hop window/4, 5..320 librosa mel bands) the mean absolute difference of
    log10(max(mel magnitude, 1e-5)) is taken; the result is the sum over scales, so it compares with the figures
    DAC-style codecs report. Silent audio is fine (it sits on the 1e-5 floor).
    """
    ref, est = _check_audio(reference, estimate)
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, not {sample_rate}")
    total = 0.0
    for window, n_mels in zip(MEL_WINDOWS, MEL_BANDS, strict=True):
        diff = _log_mel(ref, sample_rate, window, n_mels) - _log_mel(est, sample_rate, window, n_mels)
        total += float(np.mean(np.abs(diff)))
    return total


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB of float mono (T,) signals, both made zero-mean first.

    ``inf`` when the estimate is an exact scaled copy, ``-inf`` when it is silent (or orthogonal to the
    reference); ValueError when the reference is silent (constant), where SI-SDR is undefined.
    """
    ref, est = _check_audio(reference, estimate)
    ref = ref - ref.mean()
    est = est - est.mean()
    ref_energy = float(np.dot(ref, ref))
    if ref_energy == 0.0:
        raise ValueError("reference is silent: SI-SDR is undefined")
    target = (float(np.dot(est, ref)) / ref_energy) * ref
    noise = est - target
    target_energy = float(np.dot(target, target))
    noise_energy = float(np.dot(noise, noise))
    if target_energy == 0.0:
        return -math.inf
    if noise_energy == 0.0:
        return math.inf
    return 10.0 * math.log10(target_energy / noise_energy)


# ---------------------------------------------------------------- notes


def _to_mir_eval(notes: Sequence[Note]) -> tuple[np.ndarray, np.ndarray]:
    """Intervals in seconds (n, 2) and pitches in Hz (n,). Drum notes are left out (their 'pitch' is a drum).

    mir_eval demands strictly positive durations, so a zero-length note lasts 1 ms; onsets are unaffected.
    """
    import mir_eval

    pitched = [n for n in notes if not n.is_drum]
    intervals = np.array([[n.onset, max(n.offset, n.onset + 1)] for n in pitched], dtype=np.float64).reshape(-1, 2)
    pitches = mir_eval.util.midi_to_hz(np.array([n.pitch for n in pitched], dtype=np.float64))
    return intervals / 1000.0, pitches


def _note_score(reference: Sequence[Note], estimate: Sequence[Note], onset_tolerance_ms: float,
                offset_ratio: float | None, offset_min_tolerance_ms: float) -> NoteScore:
    import mir_eval.transcription

    if onset_tolerance_ms <= 0:
        raise ValueError(f"onset_tolerance_ms must be positive, not {onset_tolerance_ms}")
    ref_iv, ref_hz = _to_mir_eval(reference)
    est_iv, est_hz = _to_mir_eval(estimate)
    if len(ref_hz) == 0 or len(est_hz) == 0:  # mir_eval would warn and give 0 even when both are empty
        return NoteScore(*_prf(0, len(ref_hz), len(est_hz)))
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_iv, ref_hz, est_iv, est_hz, onset_tolerance=onset_tolerance_ms / 1000.0,
        offset_ratio=offset_ratio, offset_min_tolerance=offset_min_tolerance_ms / 1000.0)
    return NoteScore(float(p), float(r), float(f))


def onset_f1(reference: Sequence[Note], estimate: Sequence[Note], onset_tolerance_ms: float = 50) -> NoteScore:
    """Note F1 on onsets and pitch (mir_eval, offsets ignored): a match is the same pitch (within 50 cents)
    with onsets within ``onset_tolerance_ms``; one-to-one matching. Drum notes are ignored; programs are not
    compared (a piano-only transcriber is the intended reference)."""
    return _note_score(reference, estimate, onset_tolerance_ms, None, 50.0)


def note_f1_with_offsets(reference: Sequence[Note], estimate: Sequence[Note], onset_tolerance_ms: float = 50,
                         offset_ratio: float = 0.2, offset_min_tolerance_ms: float = 50) -> NoteScore:
    """As ``onset_f1``, and offsets must also lie within max(``offset_ratio`` x reference duration,
    ``offset_min_tolerance_ms``) of the reference's (mir_eval's "note with offset" F1)."""
    if offset_ratio <= 0:
        raise ValueError(f"offset_ratio must be positive, not {offset_ratio}")
    return _note_score(reference, estimate, onset_tolerance_ms, offset_ratio, offset_min_tolerance_ms)
