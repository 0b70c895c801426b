"""The image RQ-VAE: convolutional encoder -> residual VQ (4 codebooks) -> convolutional decoder.

A VQGAN-style ResNet encoder/decoder (GroupNorm + SiLU, stride-2 convolutions down, nearest upsampling + conv
up) without attention blocks, as the reference retrained it to keep features local.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from scorebridge.checkpoint import (
    config_from_dict,
    count_parameters,
    load_weights_strict,
    read_checkpoint_meta,
    save_checkpoint,
)

from .config import ImageCodecConfig
from .preprocess import image_to_tensor, pad_to_patches, tensor_to_image
from .quantizer import ResidualQuantizer

log = logging.getLogger(__name__)

CHECKPOINT_KIND = "image-codec"


def _norm(channels: int) -> nn.GroupNorm:
    groups = min(32, channels)
    while channels % groups:
        groups -= 1
    return nn.GroupNorm(groups, channels, eps=1e-6)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.norm1 = _norm(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm2 = _norm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Downsample(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _level_channels(config: ImageCodecConfig) -> list[int]:
    return [config.channels * m for m in config.ch_mult]


class Encoder(nn.Module):
    def __init__(self, config: ImageCodecConfig) -> None:
        super().__init__()
        chans = _level_channels(config)
        self.conv_in = nn.Conv2d(config.in_channels, chans[0], 3, padding=1)
        layers: list[nn.Module] = []
        c = chans[0]
        for level, c_out in enumerate(chans):
            for _ in range(config.num_res_blocks):
                layers.append(ResBlock(c, c_out))
                c = c_out
            if level < len(chans) - 1:
                layers.append(Downsample(c))
        layers += [ResBlock(c, c), ResBlock(c, c)]  # the "mid" blocks, without their attention
        self.blocks = nn.Sequential(*layers)
        self.norm_out = _norm(c)
        self.conv_out = nn.Conv2d(c, config.latent_dim, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(F.silu(self.norm_out(self.blocks(self.conv_in(x)))))


class Decoder(nn.Module):
    def __init__(self, config: ImageCodecConfig) -> None:
        super().__init__()
        chans = _level_channels(config)
        c = chans[-1]
        self.conv_in = nn.Conv2d(config.latent_dim, c, 3, padding=1)
        layers: list[nn.Module] = [ResBlock(c, c), ResBlock(c, c)]
        for level in reversed(range(len(chans))):
            for _ in range(config.num_res_blocks + 1):  # one more block than the encoder, as VQGAN
                layers.append(ResBlock(c, chans[level]))
                c = chans[level]
            if level > 0:
                layers.append(Upsample(c))
        self.blocks = nn.Sequential(*layers)
        self.norm_out = _norm(c)
        self.conv_out = nn.Conv2d(c, config.in_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.conv_out(F.silu(self.norm_out(self.blocks(self.conv_in(z)))))


@dataclass(frozen=True)
class ImageCodecOutput:
    recon: torch.Tensor  # (B, 1, H, W), roughly [-1, 1] (not clamped: the loss sees overshoot)
    codes: torch.Tensor  # (B, H/16, W/16, Q) int64
    commit_loss: torch.Tensor  # scalar


class ImageCodec(nn.Module):
    """Score image <-> grid of Q codes per 16x16 patch. Inputs are (B, 1, H, W) in [-1, 1], white = 1."""

    def __init__(self, config: ImageCodecConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.quantizer = ResidualQuantizer(config)
        self.decoder = Decoder(config)

    def _check(self, x: torch.Tensor) -> None:
        p = self.config.patch_px
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"expected images of shape (B, {self.config.in_channels}, H, W), got {tuple(x.shape)}")
        if x.shape[2] % p or x.shape[3] % p or x.shape[2] == 0 or x.shape[3] == 0:
            raise ValueError(f"image height and width must be positive multiples of {p} px, got "
                             f"{x.shape[2]}x{x.shape[3]} (pad with pad_to_patches first)")

    def forward(self, x: torch.Tensor) -> ImageCodecOutput:
        """Training and evaluation pass. In training mode the codebooks move (EMA, dead-code restarts)."""
        self._check(x)
        q = self.quantizer(self.encoder(x), freeze=not self.training)
        return ImageCodecOutput(self.decoder(q.latent), q.codes, q.commit_loss)

    @torch.inference_mode()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B, H/16, W/16, Q) int64, deterministic: runs in eval mode, codebooks frozen."""
        self._check(x)
        was_training = self.training
        self.eval()
        try:
            return self.quantizer(self.encoder(x), freeze=True).codes
        finally:
            self.train(was_training)

    @torch.inference_mode()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, h, w, Q) int64 -> (B, 1, 16h, 16w) float."""
        cfg = self.config
        if codes.ndim != 4 or codes.shape[-1] != cfg.num_quantizers:
            raise ValueError(f"expected codes of shape (B, h, w, {cfg.num_quantizers}), got {tuple(codes.shape)}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= cfg.codebook_size):
            raise ValueError(f"codes must lie in [0, {cfg.codebook_size})")
        was_training = self.training
        self.eval()
        try:
            return self.decoder(self.quantizer.lookup(codes.long()))
        finally:
            self.train(was_training)

    def codebook_vectors(self) -> torch.Tensor:
        """(Q, K, D) codebook vectors, for initialising the translator's image token embeddings."""
        return self.quantizer.codebooks()


def save_image_codec(model: ImageCodec, out_dir: str | os.PathLike[str]) -> Path:
    """Weights (EMA codebooks included) and config into a checkpoint folder (replaced atomically)."""
    return save_checkpoint(out_dir, CHECKPOINT_KIND, model.config, model.state_dict())


def load_image_codec(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> ImageCodec:
    """A codec from its checkpoint folder, in eval mode; weights that do not match the config are an InputError."""
    meta = read_checkpoint_meta(path, CHECKPOINT_KIND)
    config = config_from_dict(ImageCodecConfig, meta["config"], Path(path))
    model = ImageCodec(config)
    load_weights_strict(model, path)
    log.debug("loaded image codec from %s (%d parameters)", path, count_parameters(model))
    return model.to(device).eval()


def image_to_codes(model: ImageCodec, img: np.ndarray) -> np.ndarray:
    """uint8 (H, W) system image (any size) -> (ceil(H/16), ceil(W/16), Q) int64 codes; pads with white."""
    device = next(model.parameters()).device
    return model.encode(image_to_tensor(pad_to_patches(img, patch=model.config.patch_px)).to(device))[0].cpu().numpy()


def codes_to_image(model: ImageCodec, codes: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """(h, w, Q) codes -> uint8 (16h, 16w) image, cropped to ``size`` = (H, W) when given."""
    device = next(model.parameters()).device
    img = tensor_to_image(model.decode(torch.as_tensor(np.asarray(codes), dtype=torch.long, device=device)[None]))
    return img if size is None else img[:size[0], :size[1]]
