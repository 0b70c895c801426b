"""Training recipes: small declarative TOML (or YAML) files read into frozen dataclasses.

A recipe names the baked data, the model preset, the curriculum (``[[tasks]]``), the optimiser and the
schedule; unknown keys are errors (a typo must not silently fall back to a default). Relative data and codec
paths are read relative to the current folder, so one recipe serves any checkout; ``--data`` and ``--codecs``
on the command line replace them. The recipe as read is stored in every checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scorebridge.checkpoint import config_from_dict
from scorebridge.errors import InputError
from scorebridge.model import MODEL_PRESETS
from scorebridge.tokens.features import FeatureSpec
from scorebridge.tokens.layout import LengthLimits

from .curriculum import TaskEntry

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up and cosine decay to ``min_lr_ratio`` x lr, reached at ``decay_fraction`` of the
    run and held after (the reference: 1e-4, 2k warm-up, min ratio 0.1, decay fraction 0.8)."""

    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    weight_decay: float = 0.01
    warmup: int = 2000
    min_lr_ratio: float = 0.1
    decay_fraction: float = 1.0
    clip: float = 1.0

    def __post_init__(self) -> None:
        if not self.lr > 0 or self.warmup < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ValueError("lr must be > 0, warmup >= 0 and min_lr_ratio in [0, 1]")
        if not 0 < self.decay_fraction <= 1 or not self.clip > 0:
            raise ValueError("decay_fraction must be in (0, 1] and clip > 0")


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``batch_size`` is the global batch (all processes, all accumulation micro-batches)."""

    name: str
    data: tuple[str, ...]
    tasks: tuple[TaskEntry, ...]
    steps: int
    batch_size: int
    model: str = "small"
    dropout: float | None = None  # None: the preset's
    codecs: str | None = None  # folder with image/ and audio/ codec checkpoints (copied into the run)
    init_codebooks: bool = True  # image/audio token embeddings from the bake's codebook vectors
    accumulate: int = 1
    seed: int = 0
    precision: str = "auto"  # auto = bf16 autocast on CUDA, fp32 on CPU
    compile: bool = False
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 10
    validate_every: int = 0  # 0 = never during training
    valid_examples: int = 16  # teacher-forced validation examples per dataset-task
    valid_decode: int = 4  # generated per dataset-task with a notation (SER) or MIDI (onset F1) target
    workers: int = 0  # DataLoader workers per process
    batch_tokens: int = 0  # > 0: length-sorted micro-batches of at most this many padded steps (batches.py)
    preload: bool = False  # hold every training sample in memory, read once (shards.py)
    init: str | None = None  # a translator folder to start from (its vocabulary must be the bake's)
    limits: LengthLimits = field(default_factory=LengthLimits)
    inputs: FeatureSpec = field(default_factory=FeatureSpec)  # image/audio sources as codes, pixels or mel
    degrade_sources: bool = True  # source images degraded as the reference (baked variants, or drawn for pixels)
    guided_attention: float = 0.0  # weight of the diagonal attention prior (model/loss.py); 0 = off
    guided_width: float = 0.2  # its band's width, as a share of the source and target lengths
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("a recipe needs at least one baked data folder (data = [...])")
        if not self.tasks:
            raise ValueError("a recipe needs at least one [[tasks]] entry")
        if self.model not in MODEL_PRESETS:
            raise ValueError(f"unknown model preset {self.model!r}; choose from {', '.join(MODEL_PRESETS)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        for name in ("steps", "batch_size", "accumulate", "checkpoint_every", "keep_checkpoints", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("validate_every", "valid_examples", "valid_decode", "workers", "batch_tokens"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.guided_attention < 0 or not self.guided_width > 0:
            raise ValueError("guided_attention must be >= 0 and guided_width > 0")
        if self.batch_tokens and self.accumulate > 1:
            raise ValueError("batch_tokens sets the micro-batches itself; leave accumulate at 1")
        if self.batch_size % self.accumulate:
            raise ValueError(f"batch_size {self.batch_size} does not divide into {self.accumulate} micro-batches")


def read_recipe(path: str | os.PathLike[str], **overrides: Any) -> TrainConfig:
    """A recipe file (.toml, .yaml/.yml) as a TrainConfig; keyword ``overrides`` (not None) replace fields."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "recipe file not found")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise InputError(path, "a recipe is a .toml or .yaml file")
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise InputError(path, f"not a valid recipe file ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # yaml.YAMLError without importing yaml at module level
        if type(exc).__module__.startswith("yaml"):
            raise InputError(path, f"not valid YAML ({str(exc).splitlines()[0]})") from None
        raise
    if not isinstance(data, dict):
        raise InputError(path, "a recipe is a table of named fields")
    data.setdefault("name", path.stem)
    config = config_from_dict(TrainConfig, data, path)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if changes:
        try:
            config = dataclasses.replace(config, **changes)
        except (TypeError, ValueError) as exc:
            raise InputError(path, f"bad override: {exc}") from None
    return config
