"""How good a model's result is likely to be: the held-out figures that travel with its weights, and a one-line
note in a musician's words for every model route.

A model folder may hold ``quality.json`` (the shipped one does: the evaluation table of MODEL_CARD.md)::

    {"figures": [{"direction": "image->notation", "engine": "model", "metric": "SER %", "value": 362.6,
                  "held_out": "20 Lieder systems, OLiMPiC test split", "decoding": "greedy"}, ...]}

``direction`` is ``source->target`` (``image->audio via notation`` for the cascade), ``engine`` is ``model`` or a
deterministic engine measured on the same data (``fluidsynth``, ``verovio``), so that ``--engine auto`` can compare
them. The first figure of a (direction, engine) is its headline. A direction is *usable* when its headline passes
the metric's threshold below (``METRICS``); weights without a figure for a direction are *unmeasured*. Reading the
file needs no torch, so the CLI decides the engine before any model loads.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scorebridge.errors import InputError
from scorebridge.modality import Modality

if TYPE_CHECKING:  # reading figures needs no torch
    from scorebridge.inference import ScoreBridgeModel

log = logging.getLogger(__name__)

QUALITY_FILE = "quality.json"


@dataclass(frozen=True)
class Metric:
    """A held-out metric in percent: its words for a musician and the level from which a result is usable."""

    words: str
    lower_is_better: bool
    usable: float  # percent; lower_is_better: usable below it, else usable from it

    def passes(self, value: float) -> bool:
        return value < self.usable if self.lower_is_better else value >= self.usable

    def better(self, a: float, b: float) -> bool:
        return a < b if self.lower_is_better else a > b


# Thresholds: below 30 % symbol error a score needs a few corrections, not a rewrite (published OMR systems reach
# ~10 % on OLiMPiC); from 70 % onset F1 most notes of a transcription or a rendering are where they should be
# (FluidSynth of the true MIDI reaches 78 % under the same basic-pitch judge).
METRICS: dict[str, Metric] = {
    "SER %": Metric("symbol error", lower_is_better=True, usable=30.0),
    "onset F1 %": Metric("note-onset F1", lower_is_better=False, usable=70.0),
}

# what a model route does, in a musician's words ("cannot ... reliably yet"), and what to do about its result
TASK_WORDS: dict[tuple[Modality, Modality], tuple[str, str]] = {
    (Modality.IMAGE, Modality.NOTATION): ("read scores", "check the result against the page"),
    (Modality.IMAGE, Modality.MIDI): ("read scores into MIDI", "check the result against the page"),
    (Modality.IMAGE, Modality.AUDIO): ("play a score from its image", "listen to the result beside the page"),
    (Modality.AUDIO, Modality.MIDI): ("transcribe recordings", "listen to the result beside the recording"),
    (Modality.AUDIO, Modality.NOTATION): ("transcribe recordings", "check the score against the recording"),
    (Modality.AUDIO, Modality.IMAGE): ("write out recordings as a score", "check the score against the recording"),
    (Modality.MIDI, Modality.AUDIO): ("synthesize MIDI", "listen to the result before using it"),
    (Modality.NOTATION, Modality.IMAGE): ("engrave scores", "check the image against the score"),
    (Modality.NOTATION, Modality.MIDI): ("play scores as MIDI", "check the result against the score"),
}
# routes whose model part is another direction's (audio -> notation is the model's MIDI, then the quantizer)
MEASURED_AS: dict[tuple[Modality, Modality], tuple[Modality, Modality]] = {
    (Modality.AUDIO, Modality.NOTATION): (Modality.AUDIO, Modality.MIDI),
}


@dataclass(frozen=True)
class Figure:
    """One held-out figure: ``value`` in percent of ``metric`` for ``direction`` by ``engine`` on ``held_out``."""

    direction: str
    metric: str
    value: float
    held_out: str
    engine: str = "model"
    decoding: str = ""

    @property
    def usable(self) -> bool:
        return METRICS[self.metric].passes(self.value)

    def words(self) -> str:
        """E.g. "held-out symbol error 363 %, usable below 30 %"."""
        m = METRICS[self.metric]
        limit = f"usable below {m.usable:g} %" if m.lower_is_better else f"usable from {m.usable:g} %"
        return f"held-out {m.words} {_pct(self.value)} %, {limit}"


@dataclass(frozen=True)
class Quality:
    """The figures of one model folder; ``shipped``: the weights inside the package (named "the built-in model")."""

    figures: tuple[Figure, ...] = ()
    shipped: bool = False
    folder: Path | None = None

    def headline(self, direction: str, engine: str = "model") -> Figure | None:
        return next((f for f in self.figures if f.direction == direction and f.engine == engine), None)


def direction_key(source: Modality, target: Modality, via: str = "direct") -> str:
    return f"{source}->{target}" + (" via notation" if via == "notation" else "")


def _pct(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2g}" if value else "0"


def parse_figures(data: Any, where: Path) -> tuple[Figure, ...]:
    """The figures of a quality.json document (InputError naming ``where`` for a malformed one)."""
    if not isinstance(data, dict) or not isinstance(data.get("figures"), list):
        raise InputError(where, 'expected {"figures": [...]}')
    figures = []
    for i, item in enumerate(data["figures"]):
        try:
            figure = Figure(direction=str(item["direction"]), metric=str(item["metric"]), value=float(item["value"]),
                            held_out=str(item.get("held_out", "")), engine=str(item.get("engine", "model")),
                            decoding=str(item.get("decoding", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(where, f"figure {i}: {type(exc).__name__}: {exc}") from None
        if figure.metric not in METRICS:
            raise InputError(where, f"figure {i}: unknown metric {figure.metric!r}; expected one of "
                                    f"{', '.join(METRICS)}")
        figures.append(figure)
    return tuple(figures)


def read_quality(folder: str | os.PathLike[str] | None) -> Quality:
    """The figures beside a model folder's weights; None: the shipped weights'. A folder without quality.json
    gives no figures (every direction unmeasured); a malformed file is an InputError."""
    from scorebridge.shipped import shipped_available, weights_root

    shipped_dir = weights_root() / "model"
    if folder is None:
        if not shipped_available():
            return Quality(shipped=True)
        folder = shipped_dir
    folder = Path(folder)
    shipped = shipped_dir.exists() and folder.resolve() == shipped_dir.resolve()
    path = folder / QUALITY_FILE
    if not path.is_file():
        return Quality(shipped=shipped, folder=folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"unreadable quality file ({exc})") from None
    return Quality(parse_figures(data, path), shipped, folder)


def model_quality(model: ScoreBridgeModel) -> Quality:
    """The figures of a loaded ``ScoreBridgeModel``: from the folder it was loaded from (its codec lookup names
    it), else none."""
    folder = getattr(model, "folder", None) or getattr(getattr(model, "codecs", None), "model_dir", None)
    if folder is None:
        return Quality()
    return read_quality(folder)


def model_figure(quality: Quality, source: Modality, target: Modality, via: str = "direct") -> Figure | None:
    """The headline figure that speaks for the model on this route (the cascade: its own, else its OMR's)."""
    figure = quality.headline(direction_key(source, target, via))
    if figure is None and via == "notation":
        figure = quality.headline(direction_key(source, Modality.NOTATION))
    if figure is None and (source, target) in MEASURED_AS:
        figure = quality.headline(direction_key(*MEASURED_AS[source, target]))
    return figure


def quality_note(quality: Quality, source: Modality, target: Modality, via: str = "direct") -> str:
    """One line for a model route, e.g. "the built-in model cannot read scores reliably yet (held-out symbol error
    363 %, usable below 30 %): check the result against the page"."""
    who = "the built-in model" if quality.shipped else "this model"
    task, advice = TASK_WORDS.get((source, target), (f"translate {source} to {target}", "check the result"))
    if via == "notation":
        task, advice = "read scores to play them", "listen to the result beside the page"
    figure = model_figure(quality, source, target, via)
    if figure is None:
        return f"{who} has not been measured on how well it can {task} (no held-out figure comes with its " \
               f"weights): {advice}"
    if not figure.usable:
        return f"{who} cannot {task} reliably yet ({figure.words()}): {advice}"
    return f"{who} can {task} ({figure.words()})"


def write_quality(folder: str | os.PathLike[str], figures: list[Figure] | tuple[Figure, ...], about: str = "") -> Path:
    """Write ``figures`` as ``folder/quality.json`` (atomically), e.g. after new weights are measured and shipped."""
    import dataclasses

    from scorebridge.fileio import write_text

    path = Path(folder) / QUALITY_FILE
    data = {"about": about, "figures": [dataclasses.asdict(f) for f in figures]}
    write_text(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return path
