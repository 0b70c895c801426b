"""Batches of a training step: pools of eligible samples, drawing, and collating examples into padded tensors.

``StepBatches`` is a map-style dataset whose item i is everything process ``rank`` needs for step
``first_step + i``: a DataLoader with workers prefetches steps in order, and a resumed run simply starts at a
later index.

With a token budget (``batch_tokens``) the examples of a step are sorted by length and cut into as many
micro-batches as keep each one's padded size (rows x (longest source + longest target)) within the budget,
instead of ``accumulate`` micro-batches in drawn order: padding stays bounded, memory is the same every step,
and the step is still a pure function of (seed, step, rank) — the gradient does not depend on how a step is cut,
since the loss is summed and divided by the step's token count.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.model import TranslationBatch
from scorebridge.shards import BakedRow, ShardReader
from scorebridge.tokens.features import CODES, FeatureSpec
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary

from .curriculum import Pool, TaskEntry, draw, example_rng, pool_probabilities, rank_slice
from .examples import Example, SkipExample, fits_limits, make_example, row_modalities
from .raw import make_raw_example

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 32  # draws per example before giving up (a skipped draw is redrawn from the next generator)


def build_pools(entries: Sequence[TaskEntry], rows: Sequence[BakedRow], limits: LengthLimits) -> list[Pool]:
    """One pool per (entry, dataset) with at least one eligible row; entries that match nothing are logged."""
    datasets = sorted({r.dataset for r in rows})
    pools = []
    for entry in entries:
        names = datasets if entry.dataset == "*" else [entry.dataset]
        for name in names:
            items = tuple(i for i, r in enumerate(rows) if r.dataset == name
                          and {entry.source, entry.target} <= row_modalities(r) and fits_limits(r, entry.task, limits))
            if items:
                pools.append(Pool(f"{name}:{entry.task}", name, entry.task, entry.weight, entry.start, entry.end,
                                  items))
            else:
                log.warning("no %s sample serves %s within the length limits; entry skipped", name, entry.task)
    return pools


def collate(examples: Sequence[Example]) -> TranslationBatch:
    """Pad sources and targets to the longest of the batch (PAD = 0, positions 0 on padding)."""
    if not examples:
        raise ValueError("cannot collate an empty batch")
    b = len(examples)
    slots = examples[0].source.tokens.shape[1]
    s = max(len(e.source) for e in examples)
    t = max(len(e.target) for e in examples)
    src = np.zeros((b, s, slots), np.int64)
    sx, sy = np.zeros((b, s), np.int64), np.zeros((b, s), np.int64)
    pad = np.ones((b, s), bool)
    dims = {e.source.features.shape[1] for e in examples if e.source.features is not None}
    if len(dims) > 1:
        raise ValueError(f"examples carry features of different lengths {sorted(dims)}")
    feats = np.zeros((b, s, dims.pop()), np.float32) if dims else None
    tgt = np.zeros((b, t, slots), np.int64)
    tx, ty = np.zeros((b, t), np.int64), np.zeros((b, t), np.int64)
    for i, e in enumerate(examples):
        n, m = len(e.source), len(e.target)
        src[i, :n], sx[i, :n], sy[i, :n], pad[i, :n] = e.source.tokens, e.source.x, e.source.y, False
        if feats is not None and e.source.features is not None:
            feats[i, :n] = e.source.features
        tgt[i, :m], tx[i, :m], ty[i, :m] = e.target.tokens, e.target.x, e.target.y
    as_t = torch.from_numpy
    return TranslationBatch(
        src_tokens=as_t(src), src_x=as_t(sx), src_y=as_t(sy), src_pad=as_t(pad),
        src_modality=torch.tensor([e.task.source.index for e in examples]),
        tgt_tokens=as_t(tgt), tgt_x=as_t(tx), tgt_y=as_t(ty),
        tgt_modality=torch.tensor([e.task.target.index for e in examples]),
        src_features=as_t(feats) if feats is not None else None)


def plan_micro_batches(lengths: Sequence[tuple[int, int]], accumulate: int, batch_tokens: int = 0) -> list[list[int]]:
    """Indices of each micro-batch of a step whose examples have (source, target) ``lengths``.

    ``batch_tokens`` = 0: ``accumulate`` equal parts in drawn order. Otherwise: the examples sorted by total
    length (ties by index), cut greedily so that each part's rows x (longest source + longest target) stays
    within ``batch_tokens`` (an example longer than the budget is a part of its own)."""
    n = len(lengths)
    if not batch_tokens:
        if n % accumulate:
            raise ValueError(f"{n} examples do not divide into {accumulate} micro-batches")
        per = n // accumulate
        return [list(range(m * per, (m + 1) * per)) for m in range(accumulate)]
    order = sorted(range(n), key=lambda i: (lengths[i][0] + lengths[i][1], i))
    parts: list[list[int]] = []
    current: list[int] = []
    longest_s = longest_t = 0
    for i in order:
        s, t = max(longest_s, lengths[i][0]), max(longest_t, lengths[i][1])
        if current and (len(current) + 1) * (s + t) > batch_tokens:
            parts.append(current)
            current, s, t = [], lengths[i][0], lengths[i][1]
        current.append(i)
        longest_s, longest_t = s, t
    if current:
        parts.append(current)
    return parts


def padded_size(batch: TranslationBatch) -> int:
    """Source plus target steps of a batch as padded (what the step computes on)."""
    return int(batch.src_tokens.shape[0] * (batch.src_tokens.shape[1] + batch.tgt_tokens.shape[1]))


def target_tokens(batch: TranslationBatch) -> int:
    """Scored (non-PAD) target tokens of a batch: what the loss is normalised by."""
    return int((batch.tgt_tokens[:, 1:] != 0).sum())


@dataclass(frozen=True)
class MicroBatch:
    batch: TranslationBatch
    pools: torch.Tensor  # (B,) pool index of each row, for per-task metrics
    tokens: int


@dataclass(frozen=True)
class StepData:
    step: int
    micro: tuple[MicroBatch, ...]


class ExampleSource:
    """Reads samples and turns them into examples (one per process or DataLoader worker)."""

    def __init__(self, rows: Sequence[BakedRow], pools: Sequence[Pool], vocab: Vocabulary, limits: LengthLimits,
                 inputs: FeatureSpec = CODES, degrade: bool = True):
        self.rows, self.pools, self.vocab, self.limits = list(rows), list(pools), vocab, limits
        self.inputs, self.degrade = inputs, degrade
        self.tokenizer = MidiTokenizer(vocab.config.midi)
        self.reader = ShardReader()

    def example(self, pool: int, row: int, rng: np.random.Generator | None) -> Example:
        r = self.rows[row]
        task = self.pools[pool].task
        if r.raw:
            return make_raw_example(self.reader.record(r), r.dataset, task, self.vocab, self.limits,
                                    self.tokenizer, self.inputs, rng, self.degrade)
        return make_example(self.reader.read(r), r.dataset, task, self.vocab, self.limits, self.tokenizer, rng,
                            self.degrade)

    def drawn(self, seed: int, step: int, index: int) -> tuple[int, Example]:
        """Example ``index`` of ``step``: drawn with the curriculum, redrawn when the sample cannot serve."""
        probs = pool_probabilities(self.pools, step)
        if not probs.any():
            raise ValueError(f"no curriculum entry has weight at step {step}; let one start at step 0")
        for attempt in range(MAX_ATTEMPTS):
            rng = example_rng(seed, step, index, attempt)
            pool, row = draw(self.pools, probs, rng)
            try:
                return pool, self.example(pool, row, rng)
            except SkipExample as exc:
                log.debug("redraw: %s", exc)
        raise RuntimeError(f"{MAX_ATTEMPTS} draws for example {index} of step {step} could not make an example; "
                           "check the length limits against the data")


class StepBatches(Dataset):
    """Item i: this process's micro-batches of step ``first_step + i`` (see module doc)."""

    def __init__(self, source: ExampleSource, seed: int, global_batch: int, accumulate: int, rank: int, world: int,
                 first_step: int, last_step: int, batch_tokens: int = 0):
        self.source, self.seed = source, seed
        self.indices = rank_slice(global_batch, rank, world)
        if not batch_tokens and len(self.indices) % accumulate:
            raise ValueError(f"{len(self.indices)} examples per process do not divide into {accumulate} micro-batches")
        self.accumulate, self.batch_tokens = accumulate, batch_tokens
        self.first_step, self.last_step = first_step, last_step

    def __len__(self) -> int:
        return max(self.last_step - self.first_step, 0)

    def __getitem__(self, i: int) -> StepData:
        step = self.first_step + i
        drawn = [self.source.drawn(self.seed, step, index) for index in self.indices]
        lengths = [(len(e.source), len(e.target)) for _, e in drawn]
        micro = []
        for indices in plan_micro_batches(lengths, self.accumulate, self.batch_tokens):
            part = [drawn[i] for i in indices]
            batch = collate([e for _, e in part])
            micro.append(MicroBatch(batch, torch.tensor([p for p, _ in part]), target_tokens(batch)))
        return StepData(step, tuple(micro))
