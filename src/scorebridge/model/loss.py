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
    """`loss`: mean cross-entropy over non-PAD target tokens (differentiable); `loss_sum`: the same before dividing
    (differentiable; distributed training divides it by the token count of all processes); `accuracy`: share of
    those tokens whose argmax is right (detached); `tokens`: how many were counted (a 0-d long tensor, so summing
    across steps or processes needs no device sync). `row_loss`, `row_correct`, `row_tokens` (B,) split the sums
    by batch row (detached), for metrics per task."""

    loss: Tensor
    loss_sum: Tensor
    accuracy: Tensor
    tokens: Tensor
    row_loss: Tensor
    row_correct: Tensor
    row_tokens: Tensor


def _chunk_sums(model: Translator, hidden: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Per-step cross-entropy sums (N,) and per-step counts of right argmaxes (N,) of one chunk of steps."""
    logits = model.step_logits(hidden, labels).float()
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=0, reduction="none")
    correct = ((logits.argmax(dim=-1) == labels) & (labels != 0)).sum(dim=1)
    return ce.view(labels.shape).sum(dim=1), correct


def translation_loss(model: Translator, batch: TranslationBatch, chunk_steps: int = 4096) -> LossResult:
    """Teacher-forced loss of `batch`; the sub-decoder sees at most `chunk_steps` steps at once."""
    if chunk_steps < 1:
        raise ValueError(f"chunk_steps must be >= 1, got {chunk_steps}")
    hidden = model.decoder_states(batch)
    labels = batch.tgt_tokens[:, 1:]
    b, t = labels.shape[:2]
    rows = torch.arange(b, device=labels.device).repeat_interleave(t)
    hidden = hidden.reshape(-1, hidden.shape[-1])
    labels = labels.reshape(-1, labels.shape[-1])
    keep = (labels != 0).any(dim=1)  # PAD steps have nothing to score; skip them entirely
    hidden, labels, rows = hidden[keep], labels[keep], rows[keep]
    step_tokens = (labels != 0).sum(dim=1)
    losses, rights = [], []
    recompute = torch.is_grad_enabled() and hidden.shape[0] > chunk_steps
    for start in range(0, hidden.shape[0], chunk_steps):
        h, y = hidden[start : start + chunk_steps], labels[start : start + chunk_steps]
        if recompute:
            part, right = checkpoint(_chunk_sums, model, h, y, use_reentrant=False)
        else:
            part, right = _chunk_sums(model, h, y)
        losses.append(part)
        rights.append(right)
    step_loss = torch.cat(losses) if losses else hidden.new_zeros(0, dtype=torch.float32)
    step_right = torch.cat(rights) if rights else step_tokens.new_zeros(0)
    tokens = step_tokens.sum()
    loss_sum = step_loss.sum()
    denom = tokens.clamp_min(1)

    def per_row(values: Tensor) -> Tensor:
        return torch.zeros(b, dtype=values.dtype, device=values.device).index_add_(0, rows, values.detach())

    return LossResult(loss_sum / denom, loss_sum, (step_right.sum().float() / denom).detach(), tokens.detach(),
                      per_row(step_loss), per_row(step_right), per_row(step_tokens))
