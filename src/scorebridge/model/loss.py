"""Training loss of the translator: cross-entropy over every slot, ignoring PAD, computed in chunks of steps.

The logits of n_slots x the whole vocabulary dominate memory at small model sizes (issue 5), so they are
never materialised for the whole batch: the sub-decoder and its cross-entropy run on chunks of steps, each
chunk recomputed in the backward pass (activation checkpointing) so only one chunk's logits live at a time.

Steps whose slots 1..n-1 are all PAD (every LMX and MIDI step) run the sub-decoder and the output head on slot 0
alone: its attention is causal, so slot 0's logits do not depend on the later slots, and PAD labels score
nothing — the loss is the same, for a quarter of the head's FLOPs on those steps (issue 19).

Guided attention (Tachibana et al., 2018, for text-to-speech) optionally adds a prior that target step t of T
attends near source column x of X with x / X ≈ t / T: a score is read left to right, a recording in time, so
the alignment is close to that diagonal. A small model trained from scratch otherwise learns the language of the
targets long before it learns where to look (README, "A CPU proof"); the prior only penalises attention far
from the diagonal (a Gaussian band of width ``guide_width``), so key and clef lookups stay possible.
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
    guide: Tensor | None = None  # mean guided-attention penalty per target step (detached), when it was used


def _chunk_sums(model: Translator, hidden: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Per-step cross-entropy sums (N,) and per-step counts of right argmaxes (N,) of one chunk of steps; the
    sub-decoder runs on as many slots as ``labels`` has (the caller drops trailing all-PAD slots)."""
    logits = model.sub(hidden, labels[:, :-1]).float()
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=0, reduction="none")
    correct = ((logits.argmax(dim=-1) == labels) & (labels != 0)).sum(dim=1)
    return ce.view(labels.shape).sum(dim=1), correct


def diagonal_penalty(src_x: Tensor, src_pad: Tensor, tgt_real: Tensor, width: float) -> Tensor:
    """(B, T, S) weights in [0, 1): 0 on the diagonal x / X = t / T of each row, towards 1 away from it.
    ``src_x`` (B, S) source columns (frames), ``src_pad`` (B, S), ``tgt_real`` (B, T) True on scored steps."""
    x = src_x.float().masked_fill(src_pad, 0.0)
    columns = x.amax(dim=1, keepdim=True) + 1.0
    u = (x + 0.5) / columns  # (B, S) in (0, 1)
    steps = tgt_real.sum(dim=1, keepdim=True).clamp_min(1).float()
    v = (torch.arange(tgt_real.shape[1], device=src_x.device).float()[None] + 0.5) / steps  # (B, T)
    return 1.0 - torch.exp(-((v[:, :, None] - u[:, None, :]) ** 2) / (2 * width * width))


def translation_loss(model: Translator, batch: TranslationBatch, chunk_steps: int = 4096,
                     one_slot_steps: bool = True, guide: float = 0.0, guide_width: float = 0.2) -> LossResult:
    """Teacher-forced loss of `batch`; the sub-decoder sees at most `chunk_steps` steps at once. `one_slot_steps`
    False runs every step on all slots (the same loss at more FLOPs; benchmarks compare the two). `guide` > 0
    adds that weight times the guided-attention penalty of every decoder layer, per scored step, to the loss."""
    if chunk_steps < 1:
        raise ValueError(f"chunk_steps must be >= 1, got {chunk_steps}")
    if guide < 0 or not guide_width > 0:
        raise ValueError(f"guide must be >= 0 and guide_width > 0, got {guide}, {guide_width}")
    layers = range(len(model.decoder)) if guide > 0 else ()
    out = model.decoder_output(batch, layers)
    hidden = out.hidden
    labels = batch.tgt_tokens[:, 1:]
    guide_sum = None
    if guide > 0:
        real = (labels != 0).any(dim=-1)  # (B, T-1)
        band = diagonal_penalty(batch.src_x, batch.src_pad, real, guide_width)
        attention = torch.stack([w.float() for w in out.cross_attention.values()]).mean(dim=0)  # (B, T-1, S)
        guide_sum = ((attention * band).sum(dim=-1) * real).sum()
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
    if guide_sum is not None:
        loss_sum = loss_sum + guide * guide_sum
    denom = tokens.clamp_min(1)

    def per_row(values: Tensor) -> Tensor:
        return torch.zeros(b, dtype=values.dtype, device=values.device).index_add_(0, rows, values.detach())

    guide_mean = None if guide_sum is None else (guide_sum / (labels != 0).any(dim=-1).sum().clamp_min(1)).detach()
    return LossResult(loss_sum / denom, loss_sum, (step_right.sum().float() / denom).detach(), tokens.detach(),
                      per_row(step_loss), per_row(step_right), per_row(step_tokens), guide_mean)
