"""Checkpoint folders: round trip, strict loading, config keys checked."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from scorebridge.checkpoint import (
    config_from_dict,
    config_to_dict,
    load_weights_strict,
    read_checkpoint_meta,
    save_checkpoint,
)
from scorebridge.errors import InputError


@dataclass(frozen=True)
class Inner:
    width: int = 4
    rates: tuple[int, ...] = (2, 4)


@dataclass(frozen=True)
class Outer:
    name: str = "tiny"
    inner: Inner = Inner()
    dropout: float | None = None


def test_config_round_trip_restores_tuples_and_nested():
    cfg = Outer(name="x", inner=Inner(width=8, rates=(1, 2, 3)), dropout=0.5)
    back = config_from_dict(Outer, config_to_dict(cfg))
    assert back == cfg and isinstance(back.inner.rates, tuple)


def test_unknown_key_is_an_error():
    with pytest.raises(InputError, match="unknown Outer keys: widht"):
        config_from_dict(Outer, {"widht": 3})
    with pytest.raises(InputError, match="unknown Inner keys"):
        config_from_dict(Outer, {"inner": {"width": 3, "bad": 1}})


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Linear(5, 2))
    save_checkpoint(tmp_path / "ck", "toy", Outer(), model.state_dict())
    meta = read_checkpoint_meta(tmp_path / "ck", "toy")
    assert config_from_dict(Outer, meta["config"]) == Outer()
    other = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Linear(5, 2))
    load_weights_strict(other, tmp_path / "ck")
    x = torch.randn(4, 3)
    assert torch.equal(model(x), other(x))


def test_mismatched_weights_and_kind_are_errors(tmp_path):
    save_checkpoint(tmp_path / "ck", "toy", Outer(), torch.nn.Linear(3, 5).state_dict())
    with pytest.raises(InputError, match="of another shape"):
        load_weights_strict(torch.nn.Linear(3, 6), tmp_path / "ck")
    with pytest.raises(InputError, match="missing"):
        load_weights_strict(torch.nn.Sequential(torch.nn.Linear(3, 5)), tmp_path / "ck")
    with pytest.raises(InputError, match="expected 'audio-codec'"):
        read_checkpoint_meta(tmp_path / "ck", "audio-codec")
    with pytest.raises(InputError, match="not a checkpoint folder"):
        read_checkpoint_meta(tmp_path / "nothing", "toy")
