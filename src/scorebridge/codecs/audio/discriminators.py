"""Discriminators for adversarial codec training (DAC's recipe), LSGAN losses and feature matching.

- Multi-period (HiFi-GAN): the waveform folded into [T/p, p] for periods 2, 3, 5, 7, 11, 2-D convs along time.
- Multi-band multi-scale STFT (DAC): complex STFTs at several windows, the frequency axis split into bands,
  each band through its own conv stack.
Each discriminator returns its feature maps, the last one being the logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

PERIODS = (2, 3, 5, 7, 11)
STFT_WINDOWS = (2048, 1024, 512)
BANDS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))  # fractions of the STFT bins

FeatureMaps = list[torch.Tensor]


def _conv2d(*args: object, **kwargs: object) -> nn.Module:
    return weight_norm(nn.Conv2d(*args, **kwargs))  # type: ignore[arg-type]


class PeriodDiscriminator(nn.Module):
    def __init__(self, period: int, width: int = 32) -> None:
        super().__init__()
        self.period = period
        chans = (1, width, 4 * width, 16 * width, 32 * width, 32 * width)
        self.convs = nn.ModuleList(
            _conv2d(chans[i], chans[i + 1], (5, 1), (3 if i < 4 else 1, 1), padding=(2, 0)) for i in range(5))
        self.conv_post = _conv2d(chans[-1], 1, (3, 1), padding=(1, 0))

    def forward(self, x: torch.Tensor) -> FeatureMaps:
        t = x.shape[-1]
        x = F.pad(x, (0, -t % self.period), mode="reflect" if t > self.period else "constant")
        x = x.view(x.shape[0], 1, -1, self.period)
        feats = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.1)
            feats.append(x)
        feats.append(self.conv_post(x))
        return feats


class BandSTFTDiscriminator(nn.Module):
    def __init__(self, window: int, width: int = 32, bands: tuple[tuple[float, float], ...] = BANDS) -> None:
        super().__init__()
        self.window = window
        n_bins = window // 2 + 1
        self.bands = [(int(lo * n_bins), int(hi * n_bins)) for lo, hi in bands]
        self.band_convs = nn.ModuleList(nn.ModuleList([
            _conv2d(2, width, (3, 9), padding=(1, 4)),
            *[_conv2d(width, width, (3, 9), (1, 2), padding=(1, 4)) for _ in range(4)],
            _conv2d(width, width, (3, 3), padding=(1, 1)),
        ]) for _ in self.bands)
        self.conv_post = _conv2d(width, 1, (3, 3), padding=(1, 1))

    def forward(self, x: torch.Tensor) -> FeatureMaps:
        window = torch.hann_window(self.window, device=x.device, dtype=x.dtype)
        pad_mode = "reflect" if x.shape[-1] > self.window // 2 else "constant"  # excerpts may be short
        spec = torch.stft(x.reshape(-1, x.shape[-1]), self.window, self.window // 4, window=window,
                          pad_mode=pad_mode, return_complex=True)
        spec = torch.view_as_real(spec).permute(0, 3, 2, 1)  # [B, 2 (re, im), frames, bins]
        feats: FeatureMaps = []
        outs = []
        for (lo, hi), stack in zip(self.bands, self.band_convs, strict=True):
            band = spec[..., lo:hi]
            for conv in stack:
                band = F.leaky_relu(conv(band), 0.1)
                feats.append(band)
            outs.append(band)
        feats.append(self.conv_post(torch.cat(outs, dim=-1)))
        return feats


class Discriminator(nn.Module):
    def __init__(self, periods: tuple[int, ...] = PERIODS, windows: tuple[int, ...] = STFT_WINDOWS,
                 width: int = 32) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            [PeriodDiscriminator(p, width) for p in periods] + [BandSTFTDiscriminator(w, width) for w in windows])

    def forward(self, x: torch.Tensor) -> list[FeatureMaps]:
        return [d(x) for d in self.discriminators]


@dataclass(frozen=True)
class GeneratorAdversarialLosses:
    adversarial: torch.Tensor  # LSGAN: mean (1 - D(fake))²
    feature_matching: torch.Tensor  # L1 between real and fake feature maps


def discriminator_loss(real: list[FeatureMaps], fake: list[FeatureMaps]) -> torch.Tensor:
    """LSGAN: mean (1 - D(real))² + mean D(fake)², summed over discriminators (fake should be detached)."""
    loss = real[0][-1].new_zeros(())
    for r, f in zip(real, fake, strict=True):
        loss = loss + torch.mean((1 - r[-1]) ** 2) + torch.mean(f[-1] ** 2)
    return loss


def generator_losses(real: list[FeatureMaps], fake: list[FeatureMaps]) -> GeneratorAdversarialLosses:
    adv = fake[0][-1].new_zeros(())
    feat = fake[0][-1].new_zeros(())
    for r, f in zip(real, fake, strict=True):
        adv = adv + torch.mean((1 - f[-1]) ** 2)
        for fr, ff in zip(r[:-1], f[:-1], strict=True):
            feat = feat + F.l1_loss(ff, fr.detach())
    return GeneratorAdversarialLosses(adv, feat)
