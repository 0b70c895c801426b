"""Reconstruction losses of the audio codec, in torch only (`torch.stft` and librosa's mel filterbank).

- Multi-scale mel loss as DAC's: for each window length, L1 between log10 mel magnitudes (hop = window/4).
- Multi-resolution STFT loss (Parallel WaveGAN): spectral convergence plus L1 of log magnitudes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import STFT_RESOLUTIONS, AudioCodecConfig

CLAMP_EPS = 1e-5  # DAC's floor under the mel magnitudes before the log


def stft_magnitude(wav: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """|STFT| of wav [B, 1, T] as [B, n_fft//2 + 1, frames], Hann window, centred frames."""
    window = torch.hann_window(n_fft, device=wav.device, dtype=wav.dtype)
    spec = torch.stft(wav.reshape(-1, wav.shape[-1]), n_fft, hop, window=window, center=True,
                      pad_mode="reflect" if wav.shape[-1] > n_fft // 2 else "constant", return_complex=True)
    return spec.abs()


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """FloatTensor[n_mels, n_fft//2 + 1] from librosa (Slaney mel scale, area-normalized)."""
    import librosa

    with warnings.catch_warnings():
        # DAC's smallest scales (32-sample windows, 5 bands) leave some bands empty; that is the recipe.
        warnings.simplefilter("ignore", UserWarning)
        fb = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=sample_rate / 2)
    return torch.from_numpy(fb).float()


@dataclass(frozen=True)
class ReconstructionLosses:
    mel: torch.Tensor  # multi-scale log-mel L1 (sum over scales, as DAC)
    spectral_convergence: torch.Tensor  # mean over resolutions
    log_magnitude: torch.Tensor  # mean over resolutions

    @property
    def stft(self) -> torch.Tensor:
        return self.spectral_convergence + self.log_magnitude


class MultiScaleMelLoss(nn.Module):
    def __init__(self, sample_rate: int, windows: tuple[int, ...], bins: tuple[int, ...]) -> None:
        super().__init__()
        self.windows = windows
        for w, m in zip(windows, bins, strict=True):
            self.register_buffer(f"fb_{w}", mel_filterbank(sample_rate, w, m), persistent=False)

    def forward(self, recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = recon.new_zeros(())
        for w in self.windows:
            fb = getattr(self, f"fb_{w}")
            mel_x = torch.matmul(fb, stft_magnitude(recon, w, w // 4))
            mel_y = torch.matmul(fb, stft_magnitude(target, w, w // 4))
            total = total + F.l1_loss(mel_x.clamp(min=CLAMP_EPS).log10(), mel_y.clamp(min=CLAMP_EPS).log10())
        return total


class MultiResolutionSTFTLoss(nn.Module):
    def __init__(self, resolutions: tuple[tuple[int, int], ...] = STFT_RESOLUTIONS) -> None:
        super().__init__()
        self.resolutions = resolutions

    def forward(self, recon: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sc = recon.new_zeros(())
        mag = recon.new_zeros(())
        for n_fft, hop in self.resolutions:
            x = stft_magnitude(recon, n_fft, hop).clamp(min=1e-7)
            y = stft_magnitude(target, n_fft, hop).clamp(min=1e-7)
            sc = sc + torch.linalg.norm(y - x) / torch.linalg.norm(y).clamp(min=1e-7)
            mag = mag + F.l1_loss(x.log(), y.log())
        n = len(self.resolutions)
        return sc / n, mag / n


class ReconstructionLoss(nn.Module):
    """Both spectral losses of a codec configuration; buffers follow the module to its device."""

    def __init__(self, config: AudioCodecConfig) -> None:
        super().__init__()
        self.mel = MultiScaleMelLoss(config.sample_rate, config.mel_windows, config.mel_bins)
        self.stft = MultiResolutionSTFTLoss()

    def forward(self, recon: torch.Tensor, target: torch.Tensor) -> ReconstructionLosses:
        sc, mag = self.stft(recon, target)
        return ReconstructionLosses(self.mel(recon, target), sc, mag)
