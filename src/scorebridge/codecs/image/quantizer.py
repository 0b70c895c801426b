"""The one place `vector_quantize_pytorch` is used: residual VQ over a feature map, EMA codebooks.

The library's own ``accept_image_fmap`` path fails for non-square maps in 1.32, so the adapter flattens the
(B, D, h, w) map to (B, h*w, D) itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from vector_quantize_pytorch import ResidualVQ

from .config import ImageCodecConfig


@dataclass(frozen=True)
class Quantized:
    latent: torch.Tensor  # (B, D, h, w) quantized feature map (straight-through gradients in training)
    codes: torch.Tensor  # (B, h, w, Q) int64
    commit_loss: torch.Tensor  # scalar: sum over quantizers, already times the commitment weight


class ResidualQuantizer(nn.Module):
    """Q unshared codebooks of K vectors, updated by EMA, dead codes restarted from the batch."""

    def __init__(self, config: ImageCodecConfig) -> None:
        super().__init__()
        self.rvq = ResidualVQ(
            dim=config.latent_dim,
            num_quantizers=config.num_quantizers,
            codebook_size=config.codebook_size,
            shared_codebook=False,
            decay=config.ema_decay,
            commitment_weight=config.commitment_weight,
            kmeans_init=config.kmeans_init,
            threshold_ema_dead_code=config.dead_code_threshold,
        )

    def forward(self, z: torch.Tensor, freeze: bool = False) -> Quantized:
        b, _, h, w = z.shape
        flat = z.flatten(2).transpose(1, 2)  # (B, h*w, D)
        if freeze and not self.initialised():
            # k-means initialisation would otherwise run here and change the codebooks.
            raise ValueError("codebooks are not initialised yet (kmeans_init): train the codec before encoding")
        quantized, codes, commit = self.rvq(flat, freeze_codebook=freeze)
        latent = quantized.transpose(1, 2).reshape(b, -1, h, w)
        return Quantized(latent, codes.reshape(b, h, w, -1), commit.sum())

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, h, w, Q) codes -> (B, D, h, w) summed code vectors."""
        b, h, w, q = codes.shape
        out = self.rvq.get_output_from_indices(codes.reshape(b, h * w, q))
        return out.transpose(1, 2).reshape(b, -1, h, w)

    def codebooks(self) -> torch.Tensor:
        """(Q, K, D) copy of the codebook vectors."""
        return self.rvq.codebooks.detach().clone()

    def initialised(self) -> bool:
        return all(bool(layer._codebook.initted) for layer in self.rvq.layers)
