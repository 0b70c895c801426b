"""The weights that ship inside the package: a trained translator and both codecs, used whenever no
``--weights`` is given. Layout (written by ``scripts/ship_weights.py``)::

    scorebridge/weights/model/        the translator (config.json + model.safetensors, fp16)
    scorebridge/weights/codecs/image  the image codec (fp32: fp16 changes about 0.3% of its codes)
    scorebridge/weights/codecs/audio  the audio codec (fp32, likewise)
    scorebridge/weights/card.json     how they were trained and the evaluation table of MODEL_CARD.md
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from scorebridge.errors import InputError


def weights_root() -> Path:
    return Path(str(resources.files("scorebridge") / "weights"))


def shipped_available() -> bool:
    return (weights_root() / "model" / "config.json").is_file()


def shipped_model_dir() -> Path:
    """The shipped translator's folder (its codecs are found beside it, in ``../codecs``)."""
    folder = weights_root() / "model"
    if not shipped_available():
        raise InputError(folder, "the shipped weights are missing from this installation; pass --weights MODEL")
    return folder


def shipped_card() -> dict[str, Any]:
    """Training facts and the evaluation table of the shipped weights (empty when none is recorded)."""
    path = weights_root() / "card.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
