"""Tempo-tolerant note scoring: DTW between two note lists, and onset F1 after moving one onto the other's time.

Generated audio (image -> audio, MIDI -> audio) need not keep the reference's tempo; onset F1 at 50 ms then
measures tempo more than notes. ``dtw_align_notes`` warps the estimate's times onto the reference's with
dynamic time warping (librosa) over frame features of both note lists: for each 20 ms frame, which pitch
classes sound (12), which start (12, so that repeated notes of one pitch stay apart) and whether nothing
sounds (1), compared by cosine distance. Pitch classes rather than pitches keep an octave error of the judge
from derailing the path; the F1 that follows still demands the exact pitch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from scorebridge.eval.codec_metrics import NoteScore, onset_f1
from scorebridge.midi.notes import Note

HOP_MS = 20
N_FEATURES = 25  # 12 sounding pitch classes, 12 starting, 1 silence


def note_features(notes: Sequence[Note], n_frames: int, hop_ms: int = HOP_MS) -> np.ndarray:
    """(25, n_frames) float features of pitched notes on a ``hop_ms`` grid (frame k covers [k, k+1) hops)."""
    if hop_ms <= 0 or n_frames < 1:
        raise ValueError(f"hop_ms and n_frames must be positive, not {hop_ms} and {n_frames}")
    feats = np.zeros((N_FEATURES, n_frames), dtype=np.float64)
    for n in notes:
        if n.is_drum:
            continue
        first = min(n.onset // hop_ms, n_frames - 1)
        last = max(first + 1, min(-(-n.offset // hop_ms), n_frames))
        feats[n.pitch % 12, first:last] = 1.0
        feats[12 + n.pitch % 12, first] = 1.0
    feats[24] = feats[:12].sum(axis=0) == 0
    return feats


def _frames(notes: Sequence[Note], hop_ms: int) -> int:
    return max(max((n.offset for n in notes), default=0) // hop_ms + 2, 2)


def warp_path(reference: Sequence[Note], estimate: Sequence[Note], hop_ms: int = HOP_MS) -> np.ndarray:
    """The DTW path as (k, 2) int frame pairs (reference frame, estimate frame), both non-decreasing, from
    (0, 0) to the last frames."""
    import librosa

    ref = note_features(reference, _frames(reference, hop_ms), hop_ms)
    est = note_features(estimate, _frames(estimate, hop_ms), hop_ms)
    _, path = librosa.sequence.dtw(X=ref, Y=est, metric="cosine")
    return np.asarray(path[::-1], dtype=np.int64)


def dtw_align_notes(reference: Sequence[Note], estimate: Sequence[Note], hop_ms: int = HOP_MS) -> list[Note]:
    """The estimate's notes with onsets and offsets moved onto the reference's time (ms, sorted).

    Each estimate frame maps to the mean reference frame the path pairs it with; times between frame starts
    are interpolated linearly. An empty side leaves the estimate as it is (there is nothing to align to)."""
    if not reference or not estimate:
        return sorted(estimate)
    path = warp_path(reference, estimate, hop_ms)
    est_frames = int(path[-1, 1]) + 1
    counts = np.bincount(path[:, 1], minlength=est_frames)
    ref_of_est = np.bincount(path[:, 1], weights=path[:, 0], minlength=est_frames) / np.maximum(counts, 1)
    grid = np.arange(est_frames)

    def move(ms: int) -> int:
        return max(0, round(float(np.interp(ms / hop_ms, grid, ref_of_est)) * hop_ms))

    moved = []
    for n in estimate:
        onset = move(n.onset)
        moved.append(replace(n, onset=onset, offset=max(onset, move(n.offset))))
    return sorted(moved)


def aligned_onset_f1(reference: Sequence[Note], estimate: Sequence[Note], onset_tolerance_ms: float = 50,
                     hop_ms: int = HOP_MS) -> NoteScore:
    """``onset_f1`` of the estimate after ``dtw_align_notes`` onto the reference (offsets ignored)."""
    return onset_f1(reference, dtw_align_notes(reference, estimate, hop_ms), onset_tolerance_ms)
