"""Autoregressive search over the translator: greedy, top-p and plain sampling, batched, with a KV cache.

Each time step is produced slot by slot through the codebook sub-decoder, with the target's slot masks
applied before choosing: fixed masks, and/or `StepRules` whose slot-0 mask depends on the prefix and whose
slots 1.. depend on the chosen slot 0 (``decoding.grammar``). `generate_target` is the high-level entry
point: one target modality, its grammar and positions, results as `tokens.layout.Steps`. Sampling draws only
from a `torch.Generator` seeded from the options, never from the global RNG (the reference seeded the global
RNG inside inference).

Long-form work adds two things: a forced target ``prefix`` (steps fed verbatim after SOS, checked against the
masks and rules, before free generation; the reference's audio-prefix conditioning) and the cross-attention
weights of chosen decoder layers for every output step (``attention_layers`` of `generate` and
`generate_target`), from which the long-form layer finds where the output moves to the next system.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from scorebridge.modality import Modality
from scorebridge.model.translator import Translator
from scorebridge.tokens.layout import DEFAULT_LIMITS, LengthLimits, Steps, strip_sos_eos, target_positions
from scorebridge.tokens.vocabulary import Vocabulary

from .grammar import TargetGrammar
from .stopping import (
    DEFAULT_LOOP_MAX_PERIOD,
    DEFAULT_LOOP_REPEATS,
    END_REASONS,
    LOOP_TARGETS,
    SourceLength,
    ends_in_loop,
    row_step_limits,
)

log = logging.getLogger(__name__)

METHODS = ("greedy", "top_p", "sample")

# tokens so far (B, t, n_slots), SOS step first -> (x, y) positions (B,) of the last step
PositionFn = Callable[[Tensor], tuple[Tensor, Tensor]]


class StepRules(Protocol):
    """Masks that depend on what was generated: `first_slot` maps the tokens so far (B, t, n_slots), SOS step
    first, to the allowed slot-0 ids (B, V); `other_slots` maps the chosen slot-0 ids (B,) to the allowed ids of
    slots 1.. (B, n_slots - 1, V). `decoding.grammar.TargetGrammar` is one."""

    def first_slot(self, tokens: Tensor) -> Tensor: ...

    def other_slots(self, first: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class DecodingOptions:
    """How to search. `temperature` and `seed` matter for top_p and sample; `top_p` for top_p only;
    `max_steps` counts generated steps (the EOS step included, the SOS step not).

    Stop rules (``decoding.stopping``; each row records which one ended it): `eos_bias` is added to the
    logit of the target's EOS before choosing (0: the model as trained; > 0 ends rows sooner). `loop_repeats`
    ends an LMX or MIDI row once its last slot-0 ids are one cycle of period 1..`loop_max_period` repeated that
    many times (0: off; never applied to image or audio targets). `source_bound` caps each row's steps by the
    direction's measured bound from the source's length (``stopping.SOURCE_BOUNDS``), where one is known and
    the caller gives the source's length. The defaults end the looping rows of an undertrained model within a
    few dozen steps and leave every measured legitimate repetition of real music alone."""

    method: str = "greedy"
    temperature: float = 1.0
    top_p: float = 0.9
    seed: int = 0
    max_steps: int = 1000
    use_cache: bool = True
    eos_bias: float = 0.0
    loop_repeats: int = DEFAULT_LOOP_REPEATS
    loop_max_period: int = DEFAULT_LOOP_MAX_PERIOD
    source_bound: bool = True

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
        if not math.isfinite(self.eos_bias):
            raise ValueError(f"eos_bias must be a finite number, got {self.eos_bias}")
        if self.loop_repeats != 0 and self.loop_repeats < 2:
            raise ValueError(f"loop_repeats must be 0 (off) or >= 2, got {self.loop_repeats}")
        if self.loop_max_period < 1:
            raise ValueError(f"loop_max_period must be >= 1, got {self.loop_max_period}")


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


def _check_rule_mask(mask: Tensor, shape: tuple[int, ...], what: str) -> None:
    if mask.dtype != torch.bool or tuple(mask.shape) != shape:
        raise ValueError(f"rules.{what} must give a bool tensor {shape}, got {mask.dtype} {tuple(mask.shape)}")


def _slot_allowed(k: int, masks: Tensor | None, ruled: Tensor | None, done: Tensor, pad_only: Tensor) -> Tensor:
    """Allowed ids (B, V) or (V,) of slot k: the fixed masks, the rules' masks, or both intersected. With rules,
    finished rows may hold only PAD (their output is PAD anyway) and a live row left with no id is an error."""
    fixed = None if masks is None else (masks[k] if masks.dim() == 2 else masks[:, k])
    if ruled is None:
        return fixed
    allowed = ruled if fixed is None else ruled & fixed
    if not bool((allowed.any(dim=-1) | done).all()):
        raise ValueError(f"the decoding rules allow no id in slot {k} for a sequence that has not ended")
    return torch.where(done[:, None], pad_only, allowed)


@dataclass(frozen=True)
class Generation:
    """What `generate` returns: ``tokens`` (B, T, n_slots), the forced prefix first, and for each requested
    decoder layer its cross-attention weights (B, T, S), averaged over heads: row i holds the weights the
    decoder used while choosing output step i (for a prefix step, while it would have chosen it). Rows after a
    sequence's end are meaningless. ``ends``: why each sequence ended (one of ``stopping.END_REASONS``);
    ``lengths``: its steps up to its end (the EOS step included), the steps after that are PAD."""

    tokens: Tensor
    cross_attention: dict[int, Tensor]
    ends: tuple[str, ...] = ()
    lengths: tuple[int, ...] = ()


def _check_prefix(prefix: Tensor, b: int, n_slots: int, eos_id: int, max_steps: int) -> Tensor:
    if prefix.dim() == 2:
        prefix = prefix[None].expand(b, -1, -1)
    if prefix.dim() != 3 or prefix.shape[0] != b or prefix.shape[2] != n_slots:
        raise ValueError(f"prefix must be (P, {n_slots}) or ({b}, P, {n_slots}), got {tuple(prefix.shape)}")
    if prefix.shape[1] >= max_steps:
        raise ValueError(f"a prefix of {prefix.shape[1]} steps leaves no room in max_steps {max_steps}")
    if bool((prefix[..., 0] == eos_id).any()):
        raise ValueError("the prefix holds the end token")
    return prefix.long()


def _check_prefix_step(step: Tensor, seq: Tensor, p: int, masks: Tensor | None, rules: StepRules | None) -> None:
    """Raise ValueError unless prefix step ``p`` (B, n_slots) is one the search itself could have chosen after
    ``seq`` (the SOS step and the prefix steps before it)."""
    for k in range(step.shape[1]):
        allowed = []
        if masks is not None:
            allowed.append(masks[k] if masks.dim() == 2 else masks[:, k])
        if rules is not None:
            ruled = rules.first_slot(seq) if k == 0 else rules.other_slots(step[:, 0])[:, k - 1]
            allowed.append(ruled.to(step.device))
        for mask in allowed:
            ok = mask.expand(step.shape[0], -1).gather(1, step[:, k : k + 1])
            if not bool(ok.all()):
                raise ValueError(f"prefix step {p} holds an id in slot {k} that the target's masks do not allow")


@torch.no_grad()
def generate(model: Translator, memory: Tensor, src_pad: Tensor, tgt_modality: Tensor | int, sos_step: Tensor,
             eos_id: int, slot_masks: Tensor | None, options: DecodingOptions,
             positions: PositionFn | None = None, rules: StepRules | None = None,
             prefix: Tensor | None = None, attention_layers: Sequence[int] = (),
             row_limits: Tensor | None = None) -> Generation:
    """Decode target steps for an encoded source batch (`memory`, `src_pad` from `model.encode`).

    `sos_step` (n_slots,) starts every sequence; a sequence ends with the first step whose slot 0 is `eos_id`.
    `slot_masks` (n_slots, V) or (B, n_slots, V), True where an id may be emitted in that slot; `rules`
    (`StepRules`) adds masks that depend on the prefix (slot 0) and on the chosen slot 0 (slots 1..), intersected
    with `slot_masks` when both are given (at least one is needed). `positions` gives the (x, y) of each new
    step (default: x = step index, y = 0). `prefix` (P, n_slots) or (B, P, n_slots): steps forced after SOS
    before free generation (each must be allowed by the masks and rules, none may be EOS); they count towards
    `options.max_steps`. `attention_layers`: decoder layers (negative indices count from the top) whose
    cross-attention weights are kept for every output step, prefix steps included (none by default: every
    layer stays on the fused kernel). `row_limits` (B,): each sequence's own step limit (below max_steps it
    ends there as ``source_length``). ``options.eos_bias`` and ``options.loop_repeats`` apply as given
    (`generate_target` turns loops off for image and audio targets). Returns a `Generation`: tokens
    (B, T, n_slots), the prefix then the generated steps up to each sequence's end (an EOS step is written
    [EOS, PAD, ...]), PAD (0) after it, T <= options.max_steps; the weights; why and where each row ended. The
    model runs in eval mode (its mode is restored afterwards)."""
    cfg = model.config
    b, device = memory.shape[0], memory.device
    if slot_masks is None and rules is None:
        raise ValueError("generate needs slot_masks, rules or both")
    if slot_masks is not None:
        _check_masks(slot_masks, cfg.n_slots, cfg.vocab_size)
    if sos_step.shape != (cfg.n_slots,):
        raise ValueError(f"sos_step must be ({cfg.n_slots},), got {tuple(sos_step.shape)}")
    if positions is None and options.max_steps >= cfg.max_x:
        raise ValueError(f"max_steps {options.max_steps} needs more x positions than the model has ({cfg.max_x})")
    positions = positions or step_positions
    masks = None if slot_masks is None else slot_masks.to(device)
    pad_only = torch.zeros(cfg.vocab_size, dtype=torch.bool, device=device)
    pad_only[0] = True
    modality = torch.as_tensor(tgt_modality, dtype=torch.long, device=device).expand(b)
    generator = None
    if options.method != "greedy":
        generator = torch.Generator(device=device)
        generator.manual_seed(options.seed)

    seq = sos_step.to(device=device, dtype=torch.long).expand(b, 1, -1)
    n_prefix = 0
    if prefix is not None:
        forced = _check_prefix(prefix.to(device), b, cfg.n_slots, eos_id, options.max_steps)
        n_prefix = forced.shape[1]
        for p in range(n_prefix):
            _check_prefix_step(forced[:, p], seq, p, masks, rules)
            seq = torch.cat([seq, forced[:, p : p + 1]], dim=1)
    # the positions of every step fed so far, as the positions function gives them step by step
    xs, ys = zip(*(positions(seq[:, : t + 1]) for t in range(seq.shape[1])), strict=True)
    x, y = torch.stack(xs, dim=1), torch.stack(ys, dim=1)
    cache = model.new_cache() if options.use_cache else None
    done = torch.zeros(b, dtype=torch.bool, device=device)
    stop = _StopState.start(b, n_prefix, options, row_limits, device)
    rows: dict[int, list[Tensor]] = {i % len(model.decoder): [] for i in attention_layers}
    fed = 0  # steps of seq already in the cache
    was_training = model.training
    model.eval()
    try:
        for _ in range(options.max_steps - n_prefix):
            if cache is not None:
                out = model.decode(memory, src_pad, seq[:, fed:], x[:, fed:], y[:, fed:], modality, cache,
                                   attention_layers)
                new = seq.shape[1] - fed
            else:
                out = model.decode(memory, src_pad, seq, x, y, modality, None, attention_layers)
                new = seq.shape[1] - fed
            fed = seq.shape[1]
            for layer, weights in out.cross_attention.items():
                rows[layer].append(weights[:, -new:])
            state = out.hidden[:, -1]
            codes = torch.zeros(b, 0, dtype=torch.long, device=device)
            ruled: Tensor | None = None  # the rules' masks of the slots still to choose: (B, slots, V)
            if rules is not None:
                ruled = rules.first_slot(seq).to(device)
                _check_rule_mask(ruled, (b, cfg.vocab_size), "first_slot")
                ruled = ruled[:, None]
            for k in range(cfg.n_slots):
                if k == 1 and rules is not None:  # slots 1.. follow from the slot-0 id just chosen
                    ruled = rules.other_slots(codes[:, 0]).to(device)
                    _check_rule_mask(ruled, (b, cfg.n_slots - 1, cfg.vocab_size), "other_slots")
                rule_k = None if ruled is None else ruled[:, max(k - 1, 0)]
                allowed = _slot_allowed(k, masks, rule_k, done, pad_only)
                logits = model.sub(state, codes, last_only=True)[:, 0]
                if k == 0 and options.eos_bias:
                    logits[:, eos_id] += options.eos_bias
                codes = torch.cat([codes, choose_tokens(logits, allowed, options, generator)[:, None]], dim=1)
            ended = codes[:, 0] == eos_id
            # the loss never scores PAD, so slots after EOS are untrained: the EOS step is [EOS, PAD, ...]
            codes[:, 1:] = codes[:, 1:].masked_fill(ended[:, None], 0)
            codes = codes.masked_fill(done[:, None], 0)
            seq = torch.cat([seq, codes[:, None]], dim=1)
            done = stop.update(seq, done, ended)
            if bool(done.all()):
                break
            nx, ny = positions(seq)
            x, y = torch.cat([x, nx[:, None]], dim=1), torch.cat([y, ny[:, None]], dim=1)
    finally:
        model.train(was_training)
    attention = {layer: torch.cat(parts, dim=1) for layer, parts in rows.items() if parts}
    ends, lengths = stop.finish(seq.shape[1] - 1)
    return Generation(seq[:, 1:], attention, ends, lengths)


@dataclass
class _StopState:
    """Why and where each row of a running search ended: ``why`` (B,) an index into END_REASONS (-1: running),
    ``length`` (B,) its steps at the end. The stop rules other than EOS live here (see ``decoding.stopping``)."""

    why: Tensor
    length: Tensor
    limits: Tensor | None
    repeats: int
    max_period: int

    @classmethod
    def start(cls, b: int, n_prefix: int, options: DecodingOptions, row_limits: Tensor | None,
              device: torch.device) -> _StopState:
        limits = None
        if row_limits is not None:
            if tuple(row_limits.shape) != (b,):
                raise ValueError(f"row_limits must be ({b},), got {tuple(row_limits.shape)}")
            # a bound never cuts into the forced prefix: at least one step is generated after it
            limits = row_limits.to(device=device, dtype=torch.long).clamp_min(n_prefix + 1)
            # a bound at or above the step limit never binds: such rows end as max_steps
            limits = limits.masked_fill(limits >= options.max_steps, options.max_steps + 1)
        return cls(torch.full((b,), -1, dtype=torch.long, device=device), torch.zeros(b, dtype=torch.long,
                   device=device), limits, options.loop_repeats, options.loop_max_period)

    def update(self, seq: Tensor, done: Tensor, ended: Tensor) -> Tensor:
        """Record the rows ended by the step just appended to ``seq`` (SOS first); the new ``done``."""
        steps = seq.shape[1] - 1
        live = ~done
        reasons = [ended]
        reasons.append(ends_in_loop(seq[:, 1:, 0], self.repeats, self.max_period) if self.repeats else
                       torch.zeros_like(ended))
        reasons.append(self.limits <= steps if self.limits is not None else torch.zeros_like(ended))
        for index, hit in zip((0, 1, 2), reasons, strict=True):  # eos, loop, source_length: the first one wins
            now = live & hit & (self.why < 0)
            self.why = torch.where(now, index, self.why)
            self.length = torch.where(now, steps, self.length)
        return done | (self.why >= 0)

    def finish(self, steps: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Rows still running after ``steps`` steps stopped at the step limit."""
        running = self.why < 0
        why = torch.where(running, END_REASONS.index("max_steps"), self.why)
        length = torch.where(running, steps, self.length)
        return tuple(END_REASONS[int(i)] for i in why), tuple(int(n) for n in length)


@dataclass(frozen=True, eq=False)
class TargetGeneration:
    """One row of `generate_target`: the target ``steps`` (SOS and EOS stripped), ``attention``
    (len(steps), S) float32, the cross-attention weights of the chosen layers averaged over
    layers and heads, row i for step i (None when no layers were chosen), and ``end``, why decoding stopped
    (one of ``stopping.END_REASONS``)."""

    steps: Steps
    attention: np.ndarray | None
    end: str


def generate_target(model: Translator, memory: Tensor, src_pad: Tensor, target: Modality, vocab: Vocabulary,
                    options: DecodingOptions, limits: LengthLimits = DEFAULT_LIMITS, prefix: Steps | None = None,
                    attention_layers: Sequence[int] = (), source: SourceLength | None = None
                    ) -> list[TargetGeneration]:
    """Decode one target per batch row; returns each row's generated target as layout Steps (SOS and EOS
    stripped, positions from target_positions, ready for tokens.layout.decode(steps, vocab, as_target=True)),
    with the cross-attention weights of ``attention_layers`` and why the row ended (`TargetGeneration`).

    Every step follows the target's grammar (``decoding.grammar``), so image targets come out as whole systems
    ending on a column boundary. ``options.max_steps`` is capped by ``limits.max_steps(target) - 1`` (the limit
    counts SOS) and, for targets other than images, by the model's ``max_x``. A MIDI target keeps its EOS step
    (the tokenizer's windows end with it); a row that ran out of steps before its EOS is logged. ``prefix``:
    target steps (no SOS) forced at the start of every row, which then begin with them verbatim; they count
    towards the step limit and must follow the grammar (ValueError otherwise). ``source``: the sources'
    modality and lengths, for the length bound of ``options.source_bound`` (no bound without it). Loop
    detection (``options.loop_repeats``) applies to LMX and MIDI targets only."""
    target = Modality(target)
    cfg = model.config
    if vocab.size != cfg.vocab_size or vocab.n_slots != cfg.n_slots:
        raise ValueError(f"vocabulary of {vocab.size} ids x {vocab.n_slots} slots does not fit a model of "
                         f"{cfg.vocab_size} ids x {cfg.n_slots} slots")
    n = min(options.max_steps, limits.max_steps(target) - 1)
    if target is not Modality.IMAGE:
        n = min(n, cfg.max_x)
    forced = None
    if prefix is not None:
        if prefix.modality is not target:
            raise ValueError(f"a {prefix.modality} prefix cannot start a {target} target")
        forced = torch.as_tensor(prefix.tokens, dtype=torch.long, device=memory.device)
    grammar = TargetGrammar(vocab, target, max_steps=n, max_x=cfg.max_x, max_y=cfg.max_y, limits=limits,
                            device=memory.device)
    sos = torch.full((vocab.n_slots,), vocab.pad, dtype=torch.long)
    sos[0] = vocab.sos(target)
    run = dataclasses.replace(options, max_steps=n, loop_repeats=options.loop_repeats if target in LOOP_TARGETS
                              else 0)
    row_limits = None
    if options.source_bound and source is not None and target is not Modality.IMAGE:
        # image targets end on a column boundary, which only the grammar's own budget can promise
        row_limits = row_step_limits(source.modality, target, source.units, n)
    gen = generate(model, memory, src_pad, target.index, sos, vocab.eos(target), None, run,
                   positions=grammar.positions, rules=grammar, prefix=forced, attention_layers=attention_layers,
                   row_limits=row_limits)
    out = gen.tokens
    rows = torch.cat([sos.to(out.device).expand(out.shape[0], 1, -1), out], dim=1).cpu().numpy()
    cut = {why: [i for i, end in enumerate(gen.ends) if end == why] for why in END_REASONS[1:]}
    if cut["max_steps"]:
        log.warning("%s target rows %s stopped at the %d-step limit before their end token", target,
                    cut["max_steps"], n)
    if cut["loop"] or cut["source_length"]:
        log.info("%s target rows ended as loops: %s, at their bound from the source: %s", target, cut["loop"],
                 cut["source_length"])
    mean = None
    if gen.cross_attention:
        mean = torch.stack(list(gen.cross_attention.values())).mean(dim=0).float().cpu().numpy()
    results = []
    for i, tokens in enumerate(rows):
        tokens = tokens[: 1 + gen.lengths[i]]  # SOS and the row's steps; a row cut early has PAD after them
        x, y = target_positions(tokens[:, 0], target, vocab)
        steps = strip_sos_eos(Steps(np.ascontiguousarray(tokens), x, y, target), vocab)
        # stripping drops SOS (not an output row) and cuts after the content: rows align from the start
        weights = None if mean is None else np.ascontiguousarray(mean[i, : len(steps)])
        results.append(TargetGeneration(steps, weights, gen.ends[i]))
    return results
