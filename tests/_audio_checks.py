"""Checks on rendered audio shared by the synthesizer tests (FluidSynth and the tinysoundfont fallback)."""

import numpy as np


def peak_hz(audio: np.ndarray, sr: int) -> float:
    """The strongest frequency of the first half second (Hann window, 8x zero padding)."""
    seg = audio[: sr // 2] * np.hanning(sr // 2)
    spec = np.abs(np.fft.rfft(seg, n=8 * len(seg)))
    return float(np.fft.rfftfreq(8 * len(seg), 1 / sr)[np.argmax(spec)])
