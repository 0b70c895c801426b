"""The multitask curriculum: which (dataset, task) each example of a step comes from.

Each recipe entry names a dataset, a task and a per-item weight that ramps linearly from 0 at ``start`` to
``weight`` at ``end`` (u-must.md §5: OMR from step 0, MIDI->audio ramping in from 15k to 50k, ...). As in the
reference, the weight is per item: an entry's share of the examples is weight x eligible items, so a large
corpus with a small weight and a small corpus with a large one can be balanced.

Everything here is a pure function of (seed, step, example index): the batch of a step does not depend on what
was drawn before, on the number of processes, or on whether the run was resumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scorebridge.modality import Modality, Task


@dataclass(frozen=True)
class TaskEntry:
    """One line of a recipe's curriculum. ``dataset`` is a baked dataset name ("*" = every dataset)."""

    dataset: str
    source: Modality
    target: Modality
    weight: float = 1.0
    start: int = 0
    end: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", Modality(self.source))
        object.__setattr__(self, "target", Modality(self.target))
        Task(self.source, self.target)  # validates source != target
        if not self.weight > 0:
            raise ValueError(f"task weight must be > 0, got {self.weight}")
        if self.start < 0 or self.end < 0:
            raise ValueError(f"ramp steps must be >= 0, got start {self.start}, end {self.end}")

    @property
    def task(self) -> Task:
        return Task(self.source, self.target)

    def __str__(self) -> str:
        return f"{self.dataset}:{self.task}"


def ramp(step: int, weight: float, start: int, end: int) -> float:
    """0 before ``start``, ``weight`` from ``end`` on, linear in between (a step ramp when end <= start)."""
    if step < start:
        return 0.0
    if end <= start or step >= end:
        return weight
    return weight * (step - start) / (end - start)


@dataclass(frozen=True)
class Pool:
    """The eligible items (indices into the run's rows) of one resolved entry: one dataset, one task."""

    name: str  # "<dataset>:<source>-><target>"
    dataset: str
    task: Task
    weight: float
    start: int
    end: int
    items: tuple[int, ...]


def pool_probabilities(pools: Sequence[Pool], step: int) -> np.ndarray:
    """Probability of each pool at ``step`` (weight(step) x items, normalised); all zero before any starts."""
    mass = np.array([ramp(step, p.weight, p.start, p.end) * len(p.items) for p in pools], np.float64)
    total = mass.sum()
    return mass / total if total > 0 else mass


def example_rng(seed: int, step: int, index: int, attempt: int = 0) -> np.random.Generator:
    """The generator of example ``index`` of ``step`` (``attempt`` > 0 after a skipped draw)."""
    return np.random.default_rng([seed, step, index, attempt])


def draw(pools: Sequence[Pool], probabilities: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """(pool index, row index) of one example."""
    p = int(rng.choice(len(pools), p=probabilities))
    items = pools[p].items
    return p, items[int(rng.integers(len(items)))]


def rank_slice(global_batch: int, rank: int, world: int) -> range:
    """The example indices of a global batch that process ``rank`` of ``world`` computes (contiguous blocks)."""
    if global_batch % world:
        raise ValueError(f"batch size {global_batch} does not divide among {world} processes")
    per = global_batch // world
    return range(rank * per, (rank + 1) * per)
