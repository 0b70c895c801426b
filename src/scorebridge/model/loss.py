"""Training loss of the translator: cross-entropy over every slot, ignoring PAD, computed in chunks of steps.

The logits of n_slots x the whole vocabulary dominate memory at small model sizes (issue 5), so they are
never materialised for the whole batch: the sub-decoder and its cross-entropy run on chunks of steps, each
chunk recomputed in the backward pass (activation checkpointing) so only one chunk's logits live at a time.

Steps whose slots 1..n-1 are all PAD (every LMX and MIDI step) run the sub-decoder and the output head on slot 0
alone: its attention is causal, so slot 0's logits do not depend on the later slots, and PAD labels score
nothing — the loss is the same, for a quarter of the head's FLOPs on those steps (issue 19).
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
    """Per-step cross-entropy sums (N,) and per-step counts of right argmaxes (N,) of one chunk of steps; the
    sub-decoder runs on as many slots as ``labels`` has (the caller drops trailing all-PAD slots)."""
    logits = model.sub(hidden, labels[:, :-1]).float()
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=0, reduction="none")
    correct = ((logits.argmax(dim=-1) == labels) & (labels != 0)).sum(dim=1)
    return ce.view(labels.shape).sum(dim=1), correct


def translation_loss(model: Translator, batch: TranslationBatch, chunk_steps: int = 4096,
                     one_slot_steps: bool = True) -> LossResult:
    """Teacher-forced loss of `batch`; the sub-decoder sees at most `chunk_steps` steps at once. `one_slot_steps`
    False runs every step on all slots (the same loss at more FLOPs; benchmarks compare the two)."""
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
    # one-slot steps (LMX, MIDI) first, then the steps that use later slots (image, audio codes)
    single = (labels[:, 1:] == 0).all(dim=1) & one_slot_steps
    order = torch.cat([single.nonzero().flatten(), (~single).nonzero().flatten()])
    n_single = int(single.sum())
    hidden, labels, rows = hidden[order], labels[order], rows[order]
    step_tokens = (labels != 0).sum(dim=1)
    losses, rights = [], []
    for begin, end, slots in ((0, n_single, 1), (n_single, hidden.shape[0], labels.shape[1])):
        recompute = torch.is_grad_enabled() and end - begin > chunk_steps
        for start in range(begin, end, chunk_steps):
            stop = min(start + chunk_steps, end)
            h, y = hidden[start:stop], labels[start:stop, :slots]
            if recompute:
                part, right = checkpoint(_chunk_sums, model, h, y, use_reentrant=False)
            else:
                part, right = _chunk_sums(model, h, y)
            losses.append(part)
            rights.append(right)
    step_loss = torch.cat(losses) if losses else hidden.new_zeros(0, dtype=torch.float32)
    step_right = torch.cat(rights) if rights else step_tokens.new_zeros(0)
    tokens = step_tokens.sum()
    # a batch of one-slot steps alone never reads the sub-decoder's code table: touch it with weight 0 so that it
    # still gets a (zero) gradient, as before the one-slot path — DDP needs every parameter in the graph, and
    # AdamW skips parameters without a gradient (their weight decay would then depend on the batch)
    loss_sum = step_loss.sum() + 0.0 * model.sub.emb.weight[:1].sum()
    denom = tokens.clamp_min(1)

    def per_row(values: Tensor) -> Tensor:
        return torch.zeros(b, dtype=values.dtype, device=values.device).index_add_(0, rows, values.detach())

    return LossResult(loss_sum / denom, loss_sum, (step_right.sum().float() / denom).detach(), tokens.detach(),
                      per_row(step_loss), per_row(step_right), per_row(step_tokens))
