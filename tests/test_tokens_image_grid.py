"""Image grid layout: column-by-column reading, encoder (padded) and decoder (height) layouts, limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scorebridge.tokens.image_grid import (
    PAD_CODE,
    ImageSequence,
    StepKind,
    flatten_grid,
    join_systems,
    split_systems,
    unflatten_grid,
)


def grid(h: int, w: int, q: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1024, size=(h, w, q))


def test_flatten_reads_column_by_column():
    # cell (row r, column c) holds codes [10r + c, 1, 2, 3]
    g = np.array([[[10 * r + c, 1, 2, 3] for c in range(3)] for r in range(2)])
    steps, x, y = flatten_grid(g)
    assert steps[:, 0].tolist() == [0, 10, 1, 11, 2, 12]
    assert x.tolist() == [0, 0, 1, 1, 2, 2]
    assert y.tolist() == [0, 1, 0, 1, 0, 1]
    assert (steps[:, 1:] == [1, 2, 3]).all()


def test_flatten_accepts_torch_and_unflatten_inverts():
    g = grid(3, 5)
    steps, _, _ = flatten_grid(torch.from_numpy(g))
    np.testing.assert_array_equal(unflatten_grid(steps, 3), g)
    with pytest.raises(ValueError, match="whole columns"):
        unflatten_grid(steps[:-1], 3)


def test_encoder_layout_pads_to_tallest_and_round_trips():
    systems = [grid(2, 3, seed=1), grid(4, 2, seed=2), grid(3, 1, seed=3)]
    seq = join_systems(systems, pad_to_tallest=True)
    kinds = seq.kinds.tolist()
    assert len(seq) == 4 * 3 + 1 + 4 * 2 + 1 + 4 * 1
    assert [i for i, k in enumerate(kinds) if k == StepKind.SEP] == [12, 21]
    assert StepKind.HEIGHT not in kinds
    first = seq.steps[:12]
    assert (first[2:4] == PAD_CODE).all() and (first[:2] != PAD_CODE).all()  # rows 2, 3 of column 0 padded
    assert seq.y[:12].tolist() == [0, 1, 2, 3] * 3
    back = split_systems(seq)
    assert len(back) == 3
    for a, b in zip(systems, back, strict=True):
        np.testing.assert_array_equal(a, b)


def test_decoder_layout_has_heights_and_no_padding():
    systems = [grid(2, 3, seed=4), grid(4, 2, seed=5)]
    seq = join_systems(systems, pad_to_tallest=False)
    assert seq.kinds.tolist() == [StepKind.HEIGHT] + [StepKind.CODE] * 6 + [StepKind.SEP, StepKind.HEIGHT] + \
        [StepKind.CODE] * 8
    assert seq.height[0] == 2 and seq.height[8] == 4 and seq.height[1:8].sum() == 0
    assert (seq.steps[seq.kinds == StepKind.CODE] != PAD_CODE).all()
    for a, b in zip(systems, split_systems(seq), strict=True):
        np.testing.assert_array_equal(a, b)


def test_single_system_round_trip_both_layouts():
    g = grid(5, 7, seed=6)
    for padded in (True, False):
        (back,) = split_systems(join_systems([g], pad_to_tallest=padded))
        np.testing.assert_array_equal(back, g)


def test_limits_raise():
    systems = [grid(2, 10), grid(2, 10)]
    assert len(join_systems(systems, True, max_steps=41, max_columns=10)) == 41
    with pytest.raises(ValueError, match="longer than the limit"):
        join_systems(systems, True, max_steps=40)
    with pytest.raises(ValueError, match="columns wide"):
        join_systems(systems, True, max_columns=9)
    with pytest.raises(ValueError, match="rows tall"):
        join_systems(systems, False, max_rows=1)


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        join_systems([], True)
    with pytest.raises(ValueError, match="codebook counts"):
        join_systems([grid(2, 2, q=4), grid(2, 2, q=3)], True)
    with pytest.raises(ValueError, match="negative"):
        join_systems([np.full((2, 2, 4), PAD_CODE)], True)
    seq = join_systems([grid(2, 2)], False)
    broken = ImageSequence(seq.steps[1:], seq.x[1:], seq.y[1:], seq.kinds[1:], seq.height[1:], padded=False)
    with pytest.raises(ValueError, match="HEIGHT"):
        split_systems(broken)
