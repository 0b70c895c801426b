"""The audio codec: DAC's encoder, residual VQ and decoder in plain PyTorch, with DAC's module names.

`AudioCodec(cfg).state_dict()` has the keys and shapes of `dac.model.DAC` 1.0 built with the same
arguments (`encoder.block.N...`, `quantizer.quantizers.N...`, `decoder.model.N...`), so a DAC checkpoint
of the same configuration loads strictly. Time is counted in samples and frames: the input is right-padded
to whole frames of `hop_length` samples.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scorebridge.checkpoint import config_from_dict, load_weights_strict, read_checkpoint_meta, save_checkpoint
from scorebridge.errors import InputError

from .config import AudioCodecConfig
from .layers import Snake1d, WNConv1d, WNConvTranspose1d
from .quantizer import ResidualVectorQuantize

log = logging.getLogger(__name__)

CHECKPOINT_KIND = "audio-codec"


class ResidualUnit(nn.Module):
    def __init__(self, dim: int, dilation: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(dim),
            WNConv1d(dim, dim, kernel_size=7, dilation=dilation, padding=3 * dilation),
            Snake1d(dim),
            WNConv1d(dim, dim, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)  # "same" padding: lengths agree


class EncoderBlock(nn.Module):
    """Three dilated residual units at dim/2 channels, then a strided conv to dim channels."""

    def __init__(self, dim: int, stride: int) -> None:
        super().__init__()
        half = dim // 2
        self.block = nn.Sequential(
            ResidualUnit(half, 1), ResidualUnit(half, 3), ResidualUnit(half, 9), Snake1d(half),
            WNConv1d(half, dim, kernel_size=2 * stride, stride=stride, padding=math.ceil(stride / 2)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Encoder(nn.Module):
    def __init__(self, d_model: int, strides: tuple[int, ...], d_latent: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [WNConv1d(1, d_model, kernel_size=7, padding=3)]
        for stride in strides:
            d_model *= 2  # channels double at each downsampling
            layers.append(EncoderBlock(d_model, stride))
        layers += [Snake1d(d_model), WNConv1d(d_model, d_latent, kernel_size=3, padding=1)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class DecoderBlock(nn.Module):
    def __init__(self, input_dim: int, output_dim: int, stride: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            Snake1d(input_dim),
            # output_padding makes odd strides give exactly L * stride samples.
            WNConvTranspose1d(input_dim, output_dim, kernel_size=2 * stride, stride=stride,
                              padding=math.ceil(stride / 2), output_padding=stride % 2),
            ResidualUnit(output_dim, 1), ResidualUnit(output_dim, 3), ResidualUnit(output_dim, 9),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class Decoder(nn.Module):
    def __init__(self, input_channel: int, channels: int, rates: tuple[int, ...], d_out: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = [WNConv1d(input_channel, channels, kernel_size=7, padding=3)]
        output_dim = channels
        for i, stride in enumerate(rates):
            output_dim = channels // 2 ** (i + 1)  # channels halve at each upsampling
            layers.append(DecoderBlock(channels // 2**i, output_dim, stride))
        layers += [Snake1d(output_dim), WNConv1d(output_dim, d_out, kernel_size=7, padding=3), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@dataclass(frozen=True)
class AudioCodecOutput:
    recon: torch.Tensor  # FloatTensor[B, 1, T]: the input's length (padding cut off)
    codes: torch.Tensor  # LongTensor[B, n_codebooks, frames]
    commitment_loss: torch.Tensor  # scalar
    codebook_loss: torch.Tensor  # scalar
    n_quantizers: torch.Tensor  # LongTensor[B]: codebooks each item was decoded from (quantizer dropout)


class AudioCodec(nn.Module):
    def __init__(self, config: AudioCodecConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config.encoder_dim, config.encoder_rates, config.latent)
        self.quantizer = ResidualVectorQuantize(config.latent, config.n_codebooks, config.codebook_size,
                                                config.codebook_dim, config.quantizer_dropout)
        self.decoder = Decoder(config.latent, config.decoder_dim, config.decoder_rates)

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    def pad(self, wav: torch.Tensor) -> torch.Tensor:
        """Right-pad [B, 1, T] with zeros to a whole number of frames."""
        if wav.dim() != 3 or wav.shape[1] != 1:
            raise ValueError(f"expected mono audio FloatTensor[B, 1, T], got shape {tuple(wav.shape)}")
        return F.pad(wav, (0, self.config.frames(wav.shape[-1]) * self.hop_length - wav.shape[-1]))

    def forward(self, wav: torch.Tensor) -> AudioCodecOutput:
        """Encode, quantize (with quantizer dropout in training mode) and decode; recon has wav's length."""
        length = wav.shape[-1]
        q = self.quantizer(self.encoder(self.pad(wav)))
        recon = self.decoder(q.z)[..., :length]
        return AudioCodecOutput(recon, q.codes, q.commitment_loss, q.codebook_loss, q.n_quantizers)

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """LongTensor[B, n_codebooks, ceil(T / hop)] of wav [B, 1, T]; deterministic (no dropout in any mode)."""
        return self.quantizer(self.encoder(self.pad(wav)), dropout=False).codes

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """FloatTensor[B, 1, frames * hop] of codes [B, n <= n_codebooks, frames]."""
        if codes.dtype not in (torch.int32, torch.int64) or codes.dim() != 3:
            raise ValueError(f"expected LongTensor[B, n_codebooks, frames], got {codes.dtype} {tuple(codes.shape)}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.config.codebook_size):
            raise ValueError(f"codes outside [0, {self.config.codebook_size})")
        return self.decoder(self.quantizer.from_codes(codes.long()))

    @torch.no_grad()
    def codebook_vectors(self) -> torch.Tensor:
        """FloatTensor[n_codebooks, codebook_size, latent_dim]: each code through its codebook's out_proj."""
        return self.quantizer.codebook_vectors()


def save_audio_codec(model: AudioCodec, out_dir: str | os.PathLike[str]) -> Path:
    """Write the codec as a checkpoint folder (safetensors weights + JSON config)."""
    return save_checkpoint(out_dir, CHECKPOINT_KIND, model.config, model.state_dict(),
                           extra={"hop_length": model.hop_length, "sample_rate": model.config.sample_rate})


def load_audio_codec(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> AudioCodec:
    """Load a codec checkpoint folder strictly, in eval mode; a weight/config mismatch is an InputError."""
    meta = read_checkpoint_meta(path, CHECKPOINT_KIND)
    config = config_from_dict(AudioCodecConfig, meta["config"], Path(path) / "config.json")
    model = AudioCodec(config)
    load_weights_strict(model, path)
    return model.to(device).eval()


def prepare_audio(audio: np.ndarray, sr: int, codec_sr: int) -> torch.Tensor:
    """FloatTensor[1, 1, T] at codec_sr from samples (N,) or (N, channels) at sr: mixed to mono, soxr-resampled."""
    import soxr

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if audio.ndim != 1 or audio.size == 0:
        raise InputError("<audio>", f"expected a non-empty (samples,) or (samples, channels) array, got {audio.shape}")
    if not np.isfinite(audio).all():
        raise InputError("<audio>", "audio holds NaN or infinite samples")
    if sr <= 0 or codec_sr <= 0:
        raise InputError("<audio>", f"bad sample rates {sr} -> {codec_sr}")
    if sr != codec_sr:
        audio = soxr.resample(audio, sr, codec_sr, quality="HQ").astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(audio)).view(1, 1, -1)
