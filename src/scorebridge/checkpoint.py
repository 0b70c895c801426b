"""Checkpoints: a folder with `model.safetensors` (weights) and `config.json` (what the weights mean).

Loading is strict: a missing, unexpected or mis-shaped tensor is an error naming the checkpoint, never a
silent partial load (the reference code wrapped its loading in a bare `except:`). Configs are frozen
dataclasses; `config_from_dict` rejects unknown keys so a typo in a recipe or a checkpoint from another
model family fails loudly.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import load_file, save_file

from .errors import InputError
from .fileio import replace_dir

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
FORMAT_VERSION = 1

C = TypeVar("C")


def count_parameters(model: torch.nn.Module) -> int:
    """Parameters of a network (the translator's or a codec's), counted once each."""
    return sum(p.numel() for p in model.parameters())


def config_to_dict(config: Any) -> dict[str, Any]:
    """A dataclass config as plain JSON-ready data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_from_dict(cls: type[C], data: dict[str, Any], where: str | os.PathLike[str] = "config") -> C:
    """Build a (possibly nested) frozen dataclass from JSON data; unknown or missing keys are errors."""
    if not dataclasses.is_dataclass(cls) or not isinstance(data, dict):
        raise InputError(where, f"expected an object for {getattr(cls, '__name__', cls)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InputError(where, f"unknown {cls.__name__} keys: {', '.join(unknown)}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, value in data.items():
        values[name] = _coerce(hints[name], value, where)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise InputError(where, f"bad {cls.__name__}: {exc}") from None


def _coerce(hint: Any, value: Any, where: str | os.PathLike[str]) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return config_from_dict(hint, value, where)
    if origin is tuple and isinstance(value, list):
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        return tuple(_coerce(inner, v, where) for v in value)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            if arg is type(None) and value is None:
                return None
        non_none = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(non_none[0], value, where) if len(non_none) == 1 else value
    return value


def save_checkpoint(out_dir: str | os.PathLike[str], kind: str, config: Any,
                    state_dict: dict[str, torch.Tensor], extra: dict[str, Any] | None = None) -> Path:
    """Write `kind` (for example "image-codec"), the config and the weights atomically into `out_dir`."""
    out = Path(out_dir)
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in state_dict.items()}
    meta = {"format": FORMAT_VERSION, "kind": kind, "config": config_to_dict(config), **(extra or {})}
    with replace_dir(out) as tmp:
        save_file(tensors, str(tmp / WEIGHTS_NAME))
        (tmp / CONFIG_NAME).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return out


def read_checkpoint_meta(path: str | os.PathLike[str], kind: str) -> dict[str, Any]:
    """The JSON of a checkpoint folder, checked to be of the expected kind."""
    folder = Path(path)
    cfg_file = folder / CONFIG_NAME
    if not folder.is_dir() or not cfg_file.is_file() or not (folder / WEIGHTS_NAME).is_file():
        raise InputError(folder, f"not a checkpoint folder (expected {CONFIG_NAME} and {WEIGHTS_NAME})")
    try:
        meta = json.loads(cfg_file.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(cfg_file, f"unreadable checkpoint config: {exc}") from None
    if not isinstance(meta, dict) or meta.get("kind") != kind:
        found = meta.get("kind") if isinstance(meta, dict) else None
        raise InputError(folder, f"checkpoint holds {found!r}, expected {kind!r}")
    if meta.get("format") != FORMAT_VERSION:
        raise InputError(folder, f"checkpoint format {meta.get('format')!r}, this version reads {FORMAT_VERSION}")
    return meta


def load_weights_strict(module: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    """Load `model.safetensors` from a checkpoint folder into `module`; any mismatch is an InputError."""
    file = Path(path) / WEIGHTS_NAME
    try:
        state = load_file(str(file))
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise InputError(file, f"unreadable weights: {exc}") from None
    load_state_dict_strict(module, state, file)


def load_state_dict_strict(module: torch.nn.Module, state: dict[str, torch.Tensor],
                           where: str | os.PathLike[str]) -> None:
    """`load_state_dict(strict=True)` plus a shape check, with one readable error line on mismatch."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (first: {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (first: {unexpected[0]})")
    if shapes:
        k = shapes[0]
        problems.append(f"{len(shapes)} of another shape (first: {k} {tuple(state[k].shape)} "
                        f"vs {tuple(own[k].shape)})")
    if problems:
        raise InputError(where, "weights do not match the config: " + "; ".join(problems))
    module.load_state_dict(state, strict=True)
