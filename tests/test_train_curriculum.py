"""The curriculum: linear ramps, per-item weights, deterministic draws, rank slices."""

from __future__ import annotations

import numpy as np
import pytest

from scorebridge.modality import Modality, Task
from scorebridge.train.curriculum import Pool, TaskEntry, draw, example_rng, pool_probabilities, ramp, rank_slice


def test_ramp_is_zero_before_start_linear_between_and_full_after():
    assert ramp(0, 2.0, 10, 20) == 0.0
    assert ramp(9, 2.0, 10, 20) == 0.0
    assert ramp(10, 2.0, 10, 20) == 0.0
    assert ramp(15, 2.0, 10, 20) == pytest.approx(1.0)
    assert ramp(20, 2.0, 10, 20) == 2.0
    assert ramp(10_000, 2.0, 10, 20) == 2.0
    assert ramp(5, 1.5, 5, 0) == 1.5  # end <= start: a step
    assert ramp(4, 1.5, 5, 0) == 0.0


def _pool(name: str, weight: float, start: int, end: int, n: int) -> Pool:
    return Pool(name, "d", Task(Modality.IMAGE, Modality.NOTATION), weight, start, end, tuple(range(n)))


def test_pool_probabilities_weigh_items_and_follow_the_ramps():
    pools = [_pool("a", 1.0, 0, 0, 10), _pool("b", 0.5, 100, 200, 40)]
    assert pool_probabilities(pools, 50).tolist() == [1.0, 0.0]
    p = pool_probabilities(pools, 150)  # b at half of 0.5 x 40 items = 10, a = 10
    assert p.tolist() == pytest.approx([0.5, 0.5])
    p = pool_probabilities(pools, 500)  # 10 vs 20
    assert p.tolist() == pytest.approx([1 / 3, 2 / 3])
    assert not pool_probabilities([_pool("late", 1.0, 10, 20, 3)], 0).any()


def test_draws_depend_only_on_seed_step_and_index():
    pools = [_pool("a", 1.0, 0, 0, 7), _pool("b", 1.0, 0, 0, 5)]
    probs = pool_probabilities(pools, 3)
    first = [draw(pools, probs, example_rng(0, 3, i)) for i in range(20)]
    again = [draw(pools, probs, example_rng(0, 3, i)) for i in reversed(range(20))][::-1]
    assert first == again
    other = [draw(pools, probs, example_rng(1, 3, i)) for i in range(20)]
    assert other != first
    assert {p for p, _ in first} == {0, 1}
    assert all(row < len(pools[p].items) for p, row in first)


def test_draw_frequencies_follow_the_probabilities():
    pools = [_pool("a", 1.0, 0, 0, 10), _pool("b", 3.0, 0, 0, 10)]
    probs = pool_probabilities(pools, 0)
    picks = np.array([draw(pools, probs, example_rng(0, 0, i))[0] for i in range(4000)])
    assert abs(picks.mean() - 0.75) < 0.03


def test_rank_slices_partition_the_global_batch():
    assert list(rank_slice(8, 0, 1)) == list(range(8))
    assert list(rank_slice(8, 0, 2)) + list(rank_slice(8, 1, 2)) == list(range(8))
    with pytest.raises(ValueError, match="divide"):
        rank_slice(7, 0, 2)


def test_task_entries_validate():
    entry = TaskEntry("*", "image", "notation", 0.5, 10, 20)
    assert entry.task == Task(Modality.IMAGE, Modality.NOTATION)
    with pytest.raises(ValueError):
        TaskEntry("*", "image", "image")
    with pytest.raises(ValueError):
        TaskEntry("*", "image", "midi", weight=0)
    with pytest.raises(ValueError):
        TaskEntry("*", "pictures", "midi")
