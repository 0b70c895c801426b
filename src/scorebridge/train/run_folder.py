"""A training run's folder: the recipe, a copy of the codecs, checkpoints, logs.

    OUT/recipe.json         the recipe as read (a resumed run must match it, schedule fields aside)
    OUT/codecs/{image,audio}/  the codecs the tokens came from (``scorebridge.load_model`` finds them here)
    OUT/step-00001000/      a model folder (translator checkpoint: config.json, model.safetensors, with the
                            vocabulary, limits and tasks in its JSON) plus train_state.pt (optimiser,
                            scheduler, scaler, every process's RNG states)
    OUT/latest              the name of the newest complete checkpoint, replaced only after it is written
    OUT/metrics.jsonl       one row per logged step and per validation
    OUT/tensorboard/        TensorBoard event files

A crash while writing a checkpoint leaves ``latest`` on the previous one, so ``--resume`` always finds a
complete checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import torch

from scorebridge.checkpoint import config_to_dict
from scorebridge.errors import InputError
from scorebridge.fileio import atomic_dir, atomic_path, write_text

from .recipe import TrainConfig

log = logging.getLogger(__name__)

STATE_NAME = "train_state.pt"
LATEST = "latest"
RECIPE = "recipe.json"
# fields a resumed run may change: they shape the schedule of side work, not the optimisation
RESUMABLE_CHANGES = frozenset({"steps", "checkpoint_every", "keep_checkpoints", "log_every", "validate_every",
                               "valid_examples", "valid_decode", "workers", "data", "codecs", "preload",
                               "init"})


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def latest_checkpoint(out: Path) -> Path | None:
    file = out / LATEST
    if not file.is_file():
        return None
    path = out / file.read_text().strip()
    if not (path / STATE_NAME).is_file():
        raise InputError(path, "the latest checkpoint of this run is incomplete (no train_state.pt)")
    return path


def check_recipe(out: Path, config: TrainConfig, resume: bool) -> None:
    """Read-only, so every process can run it before any writes: a fresh run needs a folder without a run, a
    resumed one a recipe that matches (schedule fields aside)."""
    file = out / RECIPE
    if not resume:
        if file.exists() or (out / LATEST).exists():
            raise InputError(out, "already holds a training run; pass --resume to continue it or choose another --out")
        return
    if not file.is_file():
        raise InputError(out, "has no training run to resume (no recipe.json)")
    old, current = json.loads(file.read_text()), config_to_dict(config)
    # a field the run's version did not have yet counts as its default (a newer version can resume older runs)
    changed = sorted(k for k in current if k not in RESUMABLE_CHANGES
                     and (old[k] if k in old else _field_default(k)) != current[k])
    if changed:
        raise InputError(out, f"cannot resume with a changed recipe ({', '.join(changed)}); start a new --out")


def write_recipe(out: Path, config: TrainConfig) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / RECIPE, json.dumps(config_to_dict(config), indent=1, sort_keys=True) + "\n")


def copy_codecs(codecs: str | None, out: Path) -> None:
    """Copy the codec checkpoints (``image/``, ``audio/``) into OUT/codecs once, atomically."""
    if codecs is None or (out / "codecs").exists():
        return
    src = Path(codecs)
    parts = [p for p in ("image", "audio") if (src / p).is_dir()]
    if not parts:
        raise InputError(src, "holds no image/ or audio/ codec folder")
    with atomic_dir(out / "codecs") as tmp:
        for part in parts:
            shutil.copytree(src / part, tmp / part, symlinks=False)


def write_state(folder: Path, state: dict[str, Any]) -> None:
    with atomic_path(folder / STATE_NAME) as tmp:
        torch.save(state, tmp)


def read_state(folder: Path) -> dict[str, Any]:
    try:
        return torch.load(folder / STATE_NAME, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable state is one bad-input error
        raise InputError(folder / STATE_NAME, f"unreadable training state ({exc})") from None


def mark_latest(out: Path, folder: Path, keep: int) -> None:
    """Point ``latest`` at ``folder``, then delete all but the ``keep`` newest checkpoints."""
    write_text(out / LATEST, folder.name + "\n")
    steps = sorted(p for p in out.glob("step-*") if p.is_dir() and not p.name.endswith(".part"))
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def append_metrics(out: Path, row: dict[str, Any]) -> None:
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")


def read_metrics(out: str | Path) -> list[dict[str, Any]]:
    file = Path(out) / "metrics.jsonl"
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()] if file.is_file() else []


def truncate_metrics(out: Path, step: int) -> None:
    """Drop rows logged after ``step`` (a resumed run logs them again)."""
    rows = [r for r in read_metrics(out) if r.get("step", 0) <= step]
    write_text(out / "metrics.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def _field_default(name: str) -> Any:
    """A TrainConfig field's default as it is stored in recipe.json (a MISSING sentinel for required fields)."""
    f = next(f for f in dataclasses.fields(TrainConfig) if f.name == name)
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return dataclasses.MISSING
    return config_to_dict(value) if dataclasses.is_dataclass(value) else value
