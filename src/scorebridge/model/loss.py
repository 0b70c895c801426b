"""Training loss of the translator: cross-entropy over every slot, ignoring PAD, computed in chunks of steps.

The logits of n_slots x the whole vocabulary dominate memory at small model sizes (issue 5), so they are
never materialised for the whole batch: the sub-decoder and its cross-entropy run on chunks of steps, each
chunk recomputed in the backward pass (activation checkpointing) so only one chunk's logits live at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from .translator import TranslationBatch, Translator


@dataclass(frozen=True)
class LossResult:
    """`loss`: mean cross-entropy over non-PAD target tokens (differentiable); `accuracy`: share of those tokens
    whose argmax is right (detached); `tokens`: how many were counted (a 0-d long tensor, so summing across steps
    or processes needs no device sync)."""

    loss: Tensor
    accuracy: Tensor
    tokens: Tensor


def _chunk_sums(model: Translator, hidden: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    logits = model.step_logits(hidden, labels).float()
    loss_sum = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=0,
                               reduction="sum")
    correct = ((logits.argmax(dim=-1) == labels) & (labels != 0)).sum()
    return loss_sum, correct


def translation_loss(model: Translator, batch: TranslationBatch, chunk_steps: int = 4096) -> LossResult:
    """Teacher-forced loss of `batch`; the sub-decoder sees at most `chunk_steps` steps at once."""
    if chunk_steps < 1:
        raise ValueError(f"chunk_steps must be >= 1, got {chunk_steps}")
    hidden = model.decoder_states(batch)
    labels = batch.tgt_tokens[:, 1:]
    hidden = hidden.reshape(-1, hidden.shape[-1])
    labels = labels.reshape(-1, labels.shape[-1])
    keep = (labels != 0).any(dim=1)  # PAD steps have nothing to score; skip them entirely
    hidden, labels = hidden[keep], labels[keep]
    tokens = (labels != 0).sum()
    loss_sum = hidden.new_zeros((), dtype=torch.float32)
    correct = torch.zeros((), dtype=torch.long, device=hidden.device)
    recompute = torch.is_grad_enabled() and hidden.shape[0] > chunk_steps
    for start in range(0, hidden.shape[0], chunk_steps):
        h, y = hidden[start : start + chunk_steps], labels[start : start + chunk_steps]
        if recompute:
            part, right = checkpoint(_chunk_sums, model, h, y, use_reentrant=False)
        else:
            part, right = _chunk_sums(model, h, y)
        loss_sum = loss_sum + part
        correct = correct + right
    denom = tokens.clamp_min(1)
    return LossResult(loss_sum / denom, (correct.float() / denom).detach(), tokens.detach())
