"""Residual vector quantization as DAC's: factorized, L2-normalized code lookup and quantizer dropout.

Each stage projects the residual to a low dimension (`in_proj`), picks the nearest code by cosine
similarity, and projects back (`out_proj`); gradients pass the lookup by the straight-through estimator.
Module and parameter names (`quantizers.N.in_proj`, `.out_proj`, `.codebook`) match DAC's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .layers import WNConv1d


@dataclass(frozen=True)
class QuantizerOutput:
    z: torch.Tensor  # FloatTensor[B, D, frames]: sum of the used stages' outputs
    codes: torch.Tensor  # LongTensor[B, n_codebooks, frames]: every stage's codes (dropped stages included)
    commitment_loss: torch.Tensor  # scalar
    codebook_loss: torch.Tensor  # scalar
    n_quantizers: torch.Tensor  # LongTensor[B]: stages each item used


class VectorQuantize(nn.Module):
    def __init__(self, input_dim: int, codebook_size: int, codebook_dim: int) -> None:
        super().__init__()
        self.codebook_size, self.codebook_dim = codebook_size, codebook_dim
        self.in_proj = WNConv1d(input_dim, codebook_dim, kernel_size=1)
        self.out_proj = WNConv1d(codebook_dim, input_dim, kernel_size=1)
        self.codebook = nn.Embedding(codebook_size, codebook_dim)

    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Indices LongTensor[B, T] of the codes nearest to z_e [B, d, T] by cosine similarity."""
        flat = F.normalize(z_e.transpose(1, 2).reshape(-1, z_e.shape[1]), dim=1)
        book = F.normalize(self.codebook.weight, dim=1)
        # For unit vectors the squared distance is 2 - 2·cos, so the nearest code has the largest dot product.
        return (flat @ book.t()).argmax(dim=1).view(z_e.shape[0], z_e.shape[2])

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Code vectors [B, d, T] of indices [B, T] (unnormalized, as DAC's decode_code)."""
        return self.codebook(indices).transpose(1, 2)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(out_proj(z_q) [B, D, T], per-item commitment loss [B], per-item codebook loss [B], indices [B, T])."""
        z_e = self.in_proj(z)
        indices = self.nearest(z_e)
        z_q = self.lookup(indices)
        commitment = F.mse_loss(z_e, z_q.detach(), reduction="none").mean(dim=(1, 2))
        codebook = F.mse_loss(z_q, z_e.detach(), reduction="none").mean(dim=(1, 2))
        z_q = z_e + (z_q - z_e).detach()  # straight-through: forward uses z_q, backward treats it as z_e
        return self.out_proj(z_q), commitment, codebook, indices


class ResidualVectorQuantize(nn.Module):
    def __init__(self, input_dim: int, n_codebooks: int, codebook_size: int, codebook_dim: int,
                 quantizer_dropout: float = 0.0) -> None:
        super().__init__()
        self.n_codebooks = n_codebooks
        self.quantizer_dropout = quantizer_dropout
        self.quantizers = nn.ModuleList(
            VectorQuantize(input_dim, codebook_size, codebook_dim) for _ in range(n_codebooks))

    def _stages_used(self, batch: int, device: torch.device, dropout: bool) -> torch.Tensor:
        n = torch.full((batch,), self.n_codebooks, dtype=torch.long)
        if dropout:
            # As DAC: the first round(B * p) items of the batch use a random 1..n stages, the rest use all.
            n_drop = int(batch * self.quantizer_dropout)
            n[:n_drop] = torch.randint(1, self.n_codebooks + 1, (n_drop,))
        return n.to(device)

    def forward(self, z: torch.Tensor, dropout: bool | None = None) -> QuantizerOutput:
        """Quantize z [B, D, T]; `dropout` defaults to `self.training` (never in eval mode)."""
        dropout = self.training if dropout is None else dropout
        n_used = self._stages_used(z.shape[0], z.device, dropout)
        z_q = torch.zeros_like(z)
        residual = z
        commitment = z.new_zeros(())
        codebook = z.new_zeros(())
        codes = []
        for i, quantizer in enumerate(self.quantizers):
            z_q_i, commitment_i, codebook_i, indices = quantizer(residual)
            mask = (i < n_used).to(z.dtype)
            z_q = z_q + z_q_i * mask[:, None, None]
            residual = residual - z_q_i
            commitment = commitment + (commitment_i * mask).mean()
            codebook = codebook + (codebook_i * mask).mean()
            codes.append(indices)
        return QuantizerOutput(z_q, torch.stack(codes, dim=1), commitment, codebook, n_used)

    def from_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """The quantized latent [B, D, T] of codes [B, n, T] (n <= n_codebooks stages)."""
        if codes.dim() != 3 or codes.shape[1] > self.n_codebooks:
            raise ValueError(f"codes of shape {tuple(codes.shape)}; expected [B, <= {self.n_codebooks}, frames]")
        z_q = 0.0
        for i in range(codes.shape[1]):
            quantizer = self.quantizers[i]
            z_q = z_q + quantizer.out_proj(quantizer.lookup(codes[:, i]))
        return z_q  # type: ignore[return-value]

    def codebook_vectors(self) -> torch.Tensor:
        """FloatTensor[n_codebooks, size, D]: every code through its stage's out_proj."""
        rows = []
        for quantizer in self.quantizers:
            codes = quantizer.codebook.weight.t().unsqueeze(0)  # [1, d, size]
            rows.append(quantizer.out_proj(codes)[0].t())
        return torch.stack(rows)
