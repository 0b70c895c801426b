"""Who translates what: the engines of each direction (``ENGINES``), the one ``--engine auto`` picks
(``choose_engine``: the better *measured* of the model and a library, from the weights' ``quality.json``), and
the directions a model serves given those it was trained in (``serves``, ``served_directions``): a direction the
model lacks runs as a cascade through one it has (page -> notation -> MIDI or audio, recording -> MIDI -> page) or
by a library alone. Pure tables and functions; ``scorebridge.translate`` runs the engines, and the relay
(scripts/lease.py) asks ``served_directions`` before new weights replace the shipped ones."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from scorebridge.constants import WINDOW_MS
from scorebridge.errors import InputError
from scorebridge.modality import Modality
from scorebridge.quality import METRICS, Figure, Quality, direction_key

# (source, target) -> {engine: what it does}; "model" routes need weights. `--engine auto` picks per direction
# (``choose_engine``); ``ROUTES`` holds its pick when no model has a usable measured figure, which is today's case.
ENGINES: dict[tuple[Modality, Modality], dict[str, str]] = {
    (Modality.IMAGE, Modality.NOTATION): {"model": "model"},
    (Modality.IMAGE, Modality.MIDI): {"model": "model", "cascade": "model (image -> notation), then Verovio"},
    (Modality.IMAGE, Modality.AUDIO): {"model": "model", "cascade": "model (image -> notation), then Verovio and "
                                                                    "FluidSynth"},
    (Modality.AUDIO, Modality.MIDI): {"model": "model"},
    (Modality.AUDIO, Modality.NOTATION): {"model": "model, then the MIDI quantizer"},
    (Modality.AUDIO, Modality.IMAGE): {"model": f"model, window by window ({WINDOW_MS // 1000} s)",
                                       "cascade": "model (audio -> MIDI), then the MIDI quantizer and Verovio"},
    (Modality.MIDI, Modality.AUDIO): {"fluidsynth": "FluidSynth (no model)", "model": "model"},
    (Modality.MIDI, Modality.NOTATION): {"quantizer": "the MIDI quantizer (no model)"},
    (Modality.MIDI, Modality.IMAGE): {"verovio": "the MIDI quantizer and Verovio (no model)"},
    (Modality.NOTATION, Modality.MIDI): {"verovio": "Verovio (no model)"},
    (Modality.NOTATION, Modality.AUDIO): {"fluidsynth": "Verovio and FluidSynth (no model)"},
    (Modality.NOTATION, Modality.IMAGE): {"verovio": "Verovio (no model)"},
    (Modality.NOTATION, Modality.NOTATION): {"lmx": "LMX <-> MusicXML (no model)"},
}
ENGINE_CHOICES = ("auto", "model", "cascade", "fluidsynth", "verovio")
CASCADE = ENGINES[Modality.IMAGE, Modality.AUDIO]["cascade"]
# the trained direction each model engine runs (a cascade runs the model in one direction, a library the rest);
# a model whose recipe did not train it (``ScoreBridgeModel.tasks``) has the engine left out of auto's choice
MODEL_STEP: dict[tuple[Modality, Modality, str], tuple[Modality, Modality]] = {
    (Modality.AUDIO, Modality.NOTATION, "model"): (Modality.AUDIO, Modality.MIDI),
    (Modality.IMAGE, Modality.MIDI, "cascade"): (Modality.IMAGE, Modality.NOTATION),
    (Modality.IMAGE, Modality.AUDIO, "cascade"): (Modality.IMAGE, Modality.NOTATION),
    (Modality.AUDIO, Modality.IMAGE, "cascade"): (Modality.AUDIO, Modality.MIDI),
}
MODEL_ENGINES = ("model", "cascade")
# the first engine of each direction is auto's pick unless the model's measured figure beats it
ROUTES: dict[tuple[Modality, Modality], str] = {pair: next(iter(engines.values()))
                                                for pair, engines in ENGINES.items() if pair[0] is not pair[1]}


@dataclass(frozen=True)
class EngineChoice:
    """The engine of one request: ``key`` (an ``ENGINES`` key), what it does, and why auto chose it (or "")."""

    key: str
    engine: str
    reason: str = ""


def model_step(source: Modality, target: Modality, engine: str) -> tuple[Modality, Modality] | None:
    """The direction the model must have been trained in for ``engine`` to translate ``source`` to ``target``
    (None: the engine needs no model)."""
    if engine not in MODEL_ENGINES:
        return None
    return MODEL_STEP.get((source, target, engine), (source, target))


def serves(source: Modality, target: Modality, engine: str,
           tasks: Collection[tuple[Modality, Modality]] | None = None) -> bool:
    """Whether ``engine`` can translate ``source`` to ``target`` with a model trained in ``tasks`` (None or
    empty: not recorded, every engine counts)."""
    step = model_step(source, target, engine)
    return engine in ENGINES.get((source, target), {}) and (not tasks or step is None or step in tasks)


def served_directions(tasks: Collection[tuple[Modality, Modality]] | None) -> set[tuple[Modality, Modality]]:
    """The directions a user can translate with a model trained in ``tasks``, by any engine (the relay's check
    that new weights take no direction from users)."""
    return {pair for pair, engines in ENGINES.items() if any(serves(*pair, e, tasks) for e in engines)}


def choose_engine(source: Modality, target: Modality, requested: str = "auto", quality: Quality | None = None,
                  where: Path | None = None, tasks: Collection[tuple[Modality, Modality]] | None = None,
                  ) -> EngineChoice:
    """``requested`` (auto, model, cascade, fluidsynth, verovio) for this direction, or an InputError naming the
    engines that can do it. ``auto``: the only engine, or between the model and a deterministic engine the better
    *measured* one (``quality``: a ``scorebridge.quality.Quality``); the deterministic engine when the model is
    unmeasured or below usable. ``tasks``: the directions the model was trained in; an engine that needs
    another is left out (auto takes the cascade or the library instead and says why)."""
    where = where or Path(".")
    engines = ENGINES.get((source, target), {})
    if requested not in ENGINE_CHOICES:
        raise InputError(where, f"unknown engine {requested!r}; expected one of {', '.join(ENGINE_CHOICES)}")
    usable = {k: v for k, v in engines.items() if serves(source, target, k, tasks)}
    if requested != "auto":
        if requested not in engines:
            names = ", ".join(e for e in engines if e in ENGINE_CHOICES) or "auto"
            raise InputError(where, f"--engine {requested} cannot translate {source} to {target} "
                                    f"(engines for it: {names})")
        if requested not in usable:
            step = model_step(source, target, requested)
            others = f" (engines that can: {', '.join(usable)})" if usable else ""
            raise InputError(where, f"the model was not trained in {step[0]} -> {step[1]}, which --engine "
                                    f"{requested} needs{others}")
        return EngineChoice(requested, engines[requested])
    if not usable:
        raise InputError(where, f"the model was not trained in {source} -> {target}, nor in a direction a "
                                "cascade could use")
    if "model" not in usable:
        key = next(iter(usable))
        why = f"{source} -> {target} by {usable[key]}, as the model was not trained in {source} -> {target}" \
            if "model" in engines else ""
        return EngineChoice(key, usable[key], why)
    det = next((k for k in usable if k not in MODEL_ENGINES), None)
    if det is None:
        return EngineChoice("model", usable["model"])
    return _auto(source, target, det, usable, quality)


def _auto(source: Modality, target: Modality, det: str, engines: dict[str, str],
          quality: Quality | None) -> EngineChoice:
    quality = quality if quality is not None else Quality()
    key = direction_key(source, target)
    model, other = quality.headline(key), quality.headline(key, det)
    if model is not None and model.usable:
        comparable = other is not None and other.metric == model.metric
        if other is None or (comparable and _better(model, other)):
            return EngineChoice("model", engines["model"], f"the model's {model.words()}" +
                                (f" beats {det}'s {other.value:.1f} %" if other is not None else ""))
    why = "has no measured figure for it" if model is None else f"is below usable ({model.words()})" \
        if not model.usable else f"measures worse ({model.value:.1f} % against {other.value:.1f} %)"
    return EngineChoice(det, engines[det], f"{source} -> {target} by {engines[det].removesuffix(' (no model)')} "
                                           f"rather than the model, which {why} (--engine model uses the model)")


def _better(a: Figure, b: Figure) -> bool:
    return METRICS[a.metric].better(a.value, b.value)


def needs_model(engine: str) -> bool:
    """Whether an engine (its description, ``EngineChoice.engine``) runs the model: the model and cascades."""
    return engine.startswith("model")

