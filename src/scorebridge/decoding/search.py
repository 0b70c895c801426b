"""Autoregressive search over the translator: greedy, top-p and plain sampling, batched, with a KV cache.

Each time step is produced slot by slot through the codebook sub-decoder, with the target's slot masks
applied before choosing. Sampling draws only from a `torch.Generator` seeded from the options, never from
the global RNG (the reference seeded the global RNG inside inference).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from scorebridge.model.translator import Translator

METHODS = ("greedy", "top_p", "sample")

# tokens so far (B, t, n_slots), SOS step first -> (x, y) positions (B,) of the last step
PositionFn = Callable[[Tensor], tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class DecodingOptions:
    """How to search. `temperature` and `seed` matter for top_p and sample; `top_p` for top_p only;
    `max_steps` counts generated steps (the EOS step included, the SOS step not)."""

    method: str = "greedy"
    temperature: float = 1.0
    top_p: float = 0.9
    seed: int = 0
    max_steps: int = 1000
    use_cache: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"decoding method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")


def step_positions(tokens: Tensor) -> tuple[Tensor, Tensor]:
    """Position of the last step of single-row targets, as `tokens.layout` sets them in training: SOS at x = 0
    and content steps counted from x = 0 (so the first content step also sits at 0), y = 0."""
    b, t, _ = tokens.shape
    x = max(t - 2, 0)
    return torch.full((b,), x, dtype=torch.long, device=tokens.device), tokens.new_zeros(b, dtype=torch.long)


def choose_tokens(logits: Tensor, allowed: Tensor, options: DecodingOptions,
                  generator: torch.Generator | None) -> Tensor:
    """logits (B, V), allowed (B, V) or (V,) bool -> token ids (B,) drawn among the allowed ids only."""
    logits = logits.float().masked_fill(~allowed, float("-inf"))
    if options.method == "greedy":
        return logits.argmax(dim=-1)
    probs = (logits / options.temperature).softmax(dim=-1)
    if options.method == "top_p" and options.top_p < 1:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # drop a token when the tokens ranked above it already cover top_p; the best one always stays
        drop = (sorted_p.cumsum(dim=-1) - sorted_p) >= options.top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _check_masks(slot_masks: Tensor, n_slots: int, vocab: int) -> None:
    if slot_masks.dtype != torch.bool or slot_masks.shape[-2:] != (n_slots, vocab) or slot_masks.dim() not in (2, 3):
        raise ValueError(f"slot_masks must be bool ({n_slots}, {vocab}) or (B, {n_slots}, {vocab}), "
                         f"got {slot_masks.dtype} {tuple(slot_masks.shape)}")
    if not bool(slot_masks.any(dim=-1).all()):
        raise ValueError("every slot needs at least one allowed token id")


@torch.no_grad()
def generate(model: Translator, memory: Tensor, src_pad: Tensor, tgt_modality: Tensor | int, sos_step: Tensor,
             eos_id: int, slot_masks: Tensor, options: DecodingOptions,
             positions: PositionFn | None = None) -> Tensor:
    """Decode target steps for an encoded source batch (`memory`, `src_pad` from `model.encode`).

    `sos_step` (n_slots,) starts every sequence; a sequence ends with the first step whose slot 0 is `eos_id`.
    `slot_masks` (n_slots, V) or (B, n_slots, V), True where an id may be emitted in that slot. `positions`
    gives the (x, y) of each new step (default: x = step index, y = 0). Returns (B, T, n_slots) token ids, the
    generated steps after SOS up to each sequence's EOS step (written [EOS, PAD, ...]), PAD (0) after it;
    T <= options.max_steps. The model
    runs in eval mode (its mode is restored afterwards)."""
    cfg = model.config
    b, device = memory.shape[0], memory.device
    _check_masks(slot_masks, cfg.n_slots, cfg.vocab_size)
    if sos_step.shape != (cfg.n_slots,):
        raise ValueError(f"sos_step must be ({cfg.n_slots},), got {tuple(sos_step.shape)}")
    if positions is None and options.max_steps >= cfg.max_x:
        raise ValueError(f"max_steps {options.max_steps} needs more x positions than the model has ({cfg.max_x})")
    positions = positions or step_positions
    masks = slot_masks.to(device)
    modality = torch.as_tensor(tgt_modality, dtype=torch.long, device=device).expand(b)
    generator = None
    if options.method != "greedy":
        generator = torch.Generator(device=device)
        generator.manual_seed(options.seed)

    seq = sos_step.to(device=device, dtype=torch.long).expand(b, 1, -1)
    x, y = (p[:, None] for p in positions(seq))
    cache = model.new_cache() if options.use_cache else None
    done = torch.zeros(b, dtype=torch.bool, device=device)
    was_training = model.training
    model.eval()
    try:
        for _ in range(options.max_steps):
            if cache is not None:
                hidden = model.decode(memory, src_pad, seq[:, -1:], x[:, -1:], y[:, -1:], modality, cache)
            else:
                hidden = model.decode(memory, src_pad, seq, x, y, modality)
            state = hidden[:, -1]
            codes = torch.zeros(b, 0, dtype=torch.long, device=device)
            for k in range(cfg.n_slots):
                logits = model.sub(state, codes, last_only=True)[:, 0]
                allowed = masks[k] if masks.dim() == 2 else masks[:, k]
                codes = torch.cat([codes, choose_tokens(logits, allowed, options, generator)[:, None]], dim=1)
            ended = codes[:, 0] == eos_id
            # the loss never scores PAD, so slots after EOS are untrained: the EOS step is [EOS, PAD, ...]
            codes[:, 1:] = codes[:, 1:].masked_fill(ended[:, None], 0)
            codes = codes.masked_fill(done[:, None], 0)
            seq = torch.cat([seq, codes[:, None]], dim=1)
            done = done | ended
            if bool(done.all()):
                break
            nx, ny = positions(seq)
            x, y = torch.cat([x, nx[:, None]], dim=1), torch.cat([y, ny[:, None]], dim=1)
    finally:
        model.train(was_training)
    return seq[:, 1:]
