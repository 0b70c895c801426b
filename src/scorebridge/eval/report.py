"""The evaluation report: what was measured, on what, with what, and how to read it back.

An ``EvalReport`` records the task, its scores (one frozen dataclass per task family, in ``eval.tasks``), the
model (path, training step, network config), the data folders and split, how many samples were evaluated and
which were skipped and why, the decoding options, the judge transcriber and the versions of the packages that
shape the numbers. ``to_json`` is plain JSON (no NaN: a mean over nothing is null), written atomically by
``save``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from scorebridge.fileio import write_text

REPORT_VERSION = 1
# distributions whose versions change the numbers (mir_eval matches notes, librosa warps and resamples)
VERSIONED = ("scorebridge", "torch", "numpy", "mir_eval", "librosa", "editdistance")


@dataclass(frozen=True)
class SkippedSample:
    """A sample (or a whole piece) left out of the scores, and why (e.g. longer than the model's limits)."""

    id: str
    reason: str


@dataclass(frozen=True)
class DataInfo:
    """One dataset folder: how many of its ``split`` samples the task could use, and how many were taken."""

    path: str
    available: int
    selected: int


@dataclass(frozen=True)
class ModelInfo:
    """The model evaluated: folder (None for a model given in memory), training step when recorded, the
    network config and the tasks it was trained on."""

    path: str | None
    step: int | None
    config: Mapping[str, Any]
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class EvalReport:
    """One run of one evaluation task. ``samples`` counts the evaluated units (samples, or pieces for
    transcription); ``skipped`` lists every unit left out with its reason; ``scores`` is the task's result."""

    task: str
    scores: Any
    model: ModelInfo
    data: tuple[DataInfo, ...]
    split: str
    samples: int
    skipped: tuple[SkippedSample, ...]
    decoding: Mapping[str, Any]
    judge: str | None
    versions: Mapping[str, str]
    limit: int | None = None
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())  # remarks worth reading beside the numbers

    def to_dict(self) -> dict[str, Any]:
        return {"report_version": REPORT_VERSION, **_plain(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``to_json()`` atomically to ``path``."""
        write_text(path, self.to_json())
        return Path(path)

    def headline(self) -> dict[str, float | None]:
        """The task's main numbers (those a table quotes), by name."""
        fn = getattr(self.scores, "headline", None)
        return fn() if callable(fn) else {}

    def summary(self) -> str:
        """A few lines for a terminal: task, counts, headline numbers."""
        numbers = ", ".join(f"{k} {_fmt(v)}" for k, v in self.headline().items())
        lines = [f"{self.task} on {self.split} of {', '.join(d.path for d in self.data)}: {self.samples} evaluated, "
                 f"{len(self.skipped)} skipped", numbers]
        if self.judge:
            lines.append(f"judge: {self.judge}")
        lines += list(self.notes)
        return "\n".join(line for line in lines if line)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _plain(value: Any) -> Any:
    """JSON-ready data: an object's own ``to_dict()`` where it has one, dataclasses as dicts of their fields,
    non-finite floats as None, tuples as lists, mapping keys as strings."""
    if callable(getattr(value, "to_dict", None)) and not isinstance(value, EvalReport):
        return _plain(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def package_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Installed versions of ``VERSIONED`` and ``extra`` distributions ("not installed" when absent), and
    Python's."""
    out = {"python": platform.python_version()}
    for name in (*VERSIONED, *extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
