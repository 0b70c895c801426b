"""Cleaning the pages of a score video (u-must.md §4.1): silent intros and outros, pages without staves.

Leading pages are dropped until one sounds for at least 60% of its span, trailing pages while they sound for
less than 16%. Silence is audio below -50 dBFS (RMS over 10-ms frames) in stretches of at least 1/100 of the
page; shorter quiet moments (rests, attacks) count as sound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CleanOptions:
    silence_dbfs: float = -50.0
    min_silence_share: float = 0.01  # a silent stretch counts when at least this share of the page
    lead_min_sound: float = 0.6  # the first kept page sounds for at least this share
    tail_min_sound: float = 0.16  # trailing pages sounding for less are dropped
    frame_ms: int = 10

    def __post_init__(self) -> None:
        if not (0 <= self.min_silence_share < 1 and 0 <= self.lead_min_sound <= 1 and 0 <= self.tail_min_sound <= 1):
            raise ValueError("shares must be in [0, 1]")
        if self.frame_ms < 1 or self.silence_dbfs >= 0:
            raise ValueError("frame_ms must be >= 1 and silence_dbfs < 0")


def sound_share(audio: np.ndarray, sample_rate: int, options: CleanOptions = CleanOptions()) -> float:
    """Share of ``audio`` (float mono, full scale 1.0) that is not in a silent stretch; 0.0 for no audio."""
    hop = max(1, sample_rate * options.frame_ms // 1000)
    n = len(audio) // hop
    if n == 0:
        return 0.0
    frames = audio[: n * hop].astype(np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    silent = rms < 10.0 ** (options.silence_dbfs / 20.0)
    shortest = max(1, math.ceil(options.min_silence_share * n))
    counted = 0
    start = None
    for i, flag in enumerate(np.append(silent, False)):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            counted += (i - start) if i - start >= shortest else 0
            start = None
    return 1.0 - counted / n


def kept_range(shares: Sequence[float], options: CleanOptions = CleanOptions()) -> tuple[int, int]:
    """[first, end) of the pages left after the silent-intro and silent-outro rules (first == end: none)."""
    first = next((i for i, s in enumerate(shares) if s >= options.lead_min_sound), len(shares))
    end = len(shares)
    while end > first and shares[end - 1] < options.tail_min_sound:
        end -= 1
    return first, end
