"""Training audio for the codec: clips in memory and random excerpts of them.

The clips come from the train split of data-engine datasets (``train.codecs.load_train_clips`` reads them:
the codecs know nothing about datasets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class TrainClips:
    ids: tuple[str, ...]
    audio: tuple[np.ndarray, ...]  # float32 mono at sample_rate, one per id
    sample_rate: int

    @property
    def total_samples(self) -> int:
        return sum(a.size for a in self.audio)


def sample_excerpts(clips: TrainClips, batch: int, length: int, generator: torch.Generator,
                    silence_rms: float = 1e-3, tries: int = 20) -> torch.Tensor:
    """FloatTensor[batch, 1, length] of random excerpts (clips weighted by length, short ones zero-padded).

    Near-silent excerpts (RMS below `silence_rms`) are redrawn up to `tries` times: they teach the codec
    nothing and the reference skipped them too.
    """
    weights = torch.tensor([max(a.size - length + 1, 1) for a in clips.audio], dtype=torch.float64)
    out = torch.zeros(batch, 1, length)
    for b in range(batch):
        for _ in range(tries):
            clip = clips.audio[int(torch.multinomial(weights, 1, generator=generator))]
            start = int(torch.randint(0, max(clip.size - length, 0) + 1, (1,), generator=generator))
            piece = torch.from_numpy(clip[start:start + length])
            if float(piece.pow(2).mean().sqrt()) >= silence_rms:
                break
        out[b, 0, :piece.numel()] = piece
    return out
