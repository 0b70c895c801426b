"""Transformer blocks of the translator: pre-LN encoder/decoder layers, a KV cache, the codebook sub-decoder.

Main attention goes through `F.scaled_dot_product_attention`. The sub-decoder's 4x4 attention uses plain
matmuls: on an H200 (torch 2.11) fused kernels failed on the ~1e5 four-slot sequences of one batch (issue 5).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def split_heads(x: Tensor, heads: int) -> Tensor:
    """(B, T, D) -> (B, heads, T, D / heads)."""
    b, t, d = x.shape
    return x.view(b, t, heads, d // heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """(B, heads, T, dh) -> (B, T, heads * dh)."""
    b, h, t, dh = x.shape
    return x.transpose(1, 2).reshape(b, t, h * dh)


class FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.up = nn.Linear(d_model, d_ff)
        self.down = nn.Linear(d_ff, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.down(self.drop(F.gelu(self.up(x))))


class Attention(nn.Module):
    """Multi-head attention with separate query and key/value projections (K/V can be computed once)."""

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.to_q = nn.Linear(d_model, d_model)
        self.to_kv = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def keys_values(self, x: Tensor) -> tuple[Tensor, Tensor]:
        k, v = self.to_kv(x).chunk(2, dim=-1)
        return split_heads(k, self.heads), split_heads(v, self.heads)

    def forward(self, x: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, is_causal: bool = False,
                need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """`mask`: bool, True = may attend, broadcastable to (B, heads, Tq, Tk). Returns (output, weights), the
        weights (B, Tq, Tk) averaged over heads, computed explicitly only when `need_weights`."""
        q = split_heads(self.to_q(x), self.heads)
        p = self.dropout if self.training else 0.0
        if not need_weights:
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=is_causal)
            return self.out(merge_heads(o)), None
        if is_causal:
            raise ValueError("explicit attention weights are only computed for cross-attention")
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = scores.softmax(dim=-1)
        o = F.dropout(weights, p=p, training=self.training) @ v
        return self.out(merge_heads(o)), weights.mean(dim=1)


class SelfAttentionCache:
    """Keys/values of one decoder layer's self-attention; the buffer doubles when full (amortised O(1) append)."""

    def __init__(self) -> None:
        self.k: Tensor | None = None
        self.v: Tensor | None = None
        self.length = 0

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Add (B, H, T, dh) keys/values; returns views of everything cached so far."""
        t = k.shape[2]
        if self.k is None or self.v is None:
            cap = max(16, 2 * t)
            self.k = k.new_empty(k.shape[:2] + (cap,) + k.shape[3:])
            self.v = v.new_empty(self.k.shape)
        elif self.length + t > self.k.shape[2]:
            cap = max(2 * self.k.shape[2], self.length + t)
            grown_k = k.new_empty(k.shape[:2] + (cap,) + k.shape[3:])
            grown_v = v.new_empty(grown_k.shape)
            grown_k[:, :, : self.length] = self.k[:, :, : self.length]
            grown_v[:, :, : self.length] = self.v[:, :, : self.length]
            self.k, self.v = grown_k, grown_v
        self.k[:, :, self.length : self.length + t] = k
        self.v[:, :, self.length : self.length + t] = v
        self.length += t
        return self.k[:, :, : self.length], self.v[:, :, : self.length]


class DecoderCache:
    """State for incremental decoding: per layer, the self-attention K/V so far and the cross-attention K/V of
    the memory (computed on first use). One cache belongs to one memory; make a new one per source batch."""

    def __init__(self, n_layers: int) -> None:
        self.self_attn = [SelfAttentionCache() for _ in range(n_layers)]
        self.cross: list[tuple[Tensor, Tensor] | None] = [None] * n_layers

    @property
    def length(self) -> int:
        """Target steps already decoded (the position offset of the next call)."""
        return self.self_attn[0].length if self.self_attn else 0


class EncoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, key_mask: Tensor | None) -> Tensor:
        h = self.norm1(x)
        k, v = self.attn.keys_values(h)
        x = x + self.drop(self.attn(h, k, v, mask=key_mask)[0])
        return x + self.drop(self.ff(self.norm2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.self_attn = Attention(d_model, heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.cross_attn = Attention(d_model, heads, dropout)
        self.norm3 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor, memory_mask: Tensor | None, cache: DecoderCache | None,
                index: int, need_weights: bool) -> tuple[Tensor, Tensor | None]:
        h = self.norm1(x)
        k, v = self.self_attn.keys_values(h)
        past = 0
        if cache is not None:
            past = cache.self_attn[index].length
            k, v = cache.self_attn[index].append(k, v)
        t = x.shape[1]
        causal_mask = None
        if past and t > 1:  # new steps see all past steps and the new ones up to themselves
            rows = torch.arange(t, device=x.device)[:, None] + past
            causal_mask = rows >= torch.arange(past + t, device=x.device)[None, :]
        x = x + self.drop(self.self_attn(h, k, v, mask=causal_mask, is_causal=past == 0 and t > 1)[0])

        if cache is not None and cache.cross[index] is not None:
            mk, mv = cache.cross[index]  # type: ignore[misc]
        else:
            mk, mv = self.cross_attn.keys_values(memory)
            if cache is not None:
                cache.cross[index] = (mk, mv)
        out, weights = self.cross_attn(self.norm2(x), mk, mv, mask=memory_mask, need_weights=need_weights)
        x = x + self.drop(out)
        return x + self.drop(self.ff(self.norm3(x))), weights


class MatmulAttention(nn.Module):
    """Causal self-attention over the few slots of one step, in plain matmuls (no fused kernel)."""

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = (split_heads(t, self.heads) for t in self.qkv(x).chunk(3, dim=-1))
        n = x.shape[1]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        future = torch.ones(n, n, dtype=torch.bool, device=x.device).triu(1)
        weights = self.drop(scores.masked_fill(future, float("-inf")).softmax(dim=-1))
        return self.out(merge_heads(weights @ v))


class SubDecoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = MatmulAttention(d_model, heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop(self.attn(self.norm1(x)))
        return x + self.drop(self.ff(self.norm2(x)))


class SubDecoder(nn.Module):
    """Predicts the codes of one time step slot by slot (u-must.md §3): input at slot 0 is the decoder state h,
    at slot k it is h + emb(code of slot k-1); its own token table, zero-initialised slot positions, causal."""

    def __init__(self, vocab_size: int, n_slots: int, d_model: int, heads: int, d_ff: int, layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.n_slots = n_slots
        self.emb = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.slot_pos = nn.Parameter(torch.zeros(n_slots, d_model))
        self.layers = nn.ModuleList(SubDecoderLayer(d_model, heads, d_ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, hidden: Tensor, prev_codes: Tensor, last_only: bool = False) -> Tensor:
        """hidden (N, d), prev_codes (N, k) with k < n_slots (the codes of slots 0..k-1) -> logits (N, k+1, V)
        for slots 0..k, or (N, 1, V) for slot k alone when `last_only`."""
        k = prev_codes.shape[1]
        if k >= self.n_slots:
            raise ValueError(f"at most {self.n_slots - 1} previous codes, got {k}")
        x = hidden[:, None, :].expand(-1, k + 1, -1)
        if k:
            x = x + F.pad(self.emb(prev_codes), (0, 0, 1, 0))
        x = x + self.slot_pos[: k + 1]
        for layer in self.layers:
            x = layer(x)
        if last_only:
            x = x[:, -1:]
        return self.head(self.norm(x))


class PatchStem(nn.Module):
    """A small convolutional stem over each square pixel patch of a feature vector's first ``patch``² values.

    A linear projection sees a notehead at each of a patch's 256 pixel offsets as a different input; a few
    shared convolutions see one shape wherever it sits ("Early convolutions help transformers see better", Xiao
    et al., 2021). Bias-free, with GELU (0 -> 0): zero vectors (token steps, padding, mel-only steps) stay zero,
    and only steps with ink are computed."""

    def __init__(self, patch: int, channels: int, d_model: int) -> None:
        super().__init__()
        if patch % 4:
            raise ValueError(f"the patch size must divide by 4, got {patch}")
        self.patch = patch
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1, bias=False), nn.GELU(),
            nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1, bias=False), nn.GELU(),
            nn.Conv2d(2 * channels, 2 * channels, 3, stride=2, padding=1, bias=False), nn.GELU())
        self.proj = nn.Linear(2 * channels * (patch // 4) ** 2, d_model, bias=False)

    def forward(self, features: Tensor) -> Tensor:
        """(B, S, F >= patch²) -> (B, S, d_model)."""
        b, s, _ = features.shape
        pixels = features[..., : self.patch * self.patch].reshape(b * s, self.patch * self.patch)
        inked = pixels.abs().sum(dim=1) > 0
        out = pixels.new_zeros(b * s, self.proj.out_features)
        if inked.any():
            x = pixels[inked].view(-1, 1, self.patch, self.patch)
            out[inked] = self.proj(self.net(x).flatten(1)).to(out.dtype)
        return out.view(b, s, -1)
