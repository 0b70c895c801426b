"""Building blocks named and shaped as DAC's: Snake activation and weight-normalized 1-D convolutions.

The convolutions hold `weight_g`, `weight_v` and `bias` directly, as `torch.nn.utils.weight_norm` leaves
them on DAC 1.0's `nn.Conv1d` modules, so DAC state dicts load key for key. Writing the normalization in
`forward` (instead of the deprecated hook) keeps the modules plain for `torch.compile` and CUDA.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """x + sin²(αx)/α per channel (Ziyin et al. 2020); the 1e-9 keeps α = 0 finite as in DAC."""
    return x + (alpha + 1e-9).reciprocal() * torch.sin(alpha * x).pow(2)


class Snake1d(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return snake(x, self.alpha)


def _norm_over_dim0(v: torch.Tensor) -> torch.Tensor:
    return v.norm(dim=tuple(range(1, v.dim())), keepdim=True)


class _WeightNormed(nn.Module):
    """weight = g · v / ‖v‖ with the norm over every dimension but the first (weight_norm's dim=0)."""

    def _init_weights(self, v_shape: tuple[int, ...], out_channels: int) -> None:
        v = torch.empty(v_shape)
        nn.init.kaiming_uniform_(v, a=math.sqrt(5))  # nn.Conv1d's default initialisation
        self.weight_v = nn.Parameter(v)
        self.weight_g = nn.Parameter(_norm_over_dim0(v).detach().clone())
        self.bias = nn.Parameter(torch.zeros(out_channels))  # DAC's init_weights zeroes conv biases

    def weight(self) -> torch.Tensor:
        return self.weight_v * (self.weight_g / _norm_over_dim0(self.weight_v))


class WNConv1d(_WeightNormed):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1) -> None:
        super().__init__()
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self._init_weights((out_channels, in_channels, kernel_size), out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.weight(), self.bias, self.stride, self.padding, self.dilation)


class WNConvTranspose1d(_WeightNormed):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 output_padding: int = 0) -> None:
        super().__init__()
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        # A transposed convolution's weight is (in, out, k); weight_norm(dim=0) normalizes per input channel.
        self._init_weights((in_channels, out_channels, kernel_size), out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose1d(x, self.weight(), self.bias, self.stride, self.padding, self.output_padding)
