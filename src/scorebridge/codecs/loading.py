"""Loading codecs: the one place a checkpoint folder becomes an ImageCodec or AudioCodec.

A codec folder is a checkpoint (``config.json`` + weights) or a training run whose latest checkpoint is in
``codec/``. A folder of codecs holds ``image/`` and/or ``audio/``; ``codec_folder`` finds the first such folder
of a list (how inference looks beside a model), ``load_codecs`` loads both of one folder (how the bake does).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:  # the models pull in torch; file encode/decode and suffix checks should not pay for it
    import torch

    from .audio import AudioCodec
    from .image import ImageCodec

log = logging.getLogger(__name__)

KINDS = ("image", "audio")


@dataclass(frozen=True)
class Codecs:
    """The image and audio codec of one folder (either may be absent)."""

    image: ImageCodec | None
    audio: AudioCodec | None


def checkpoint_dir(path: str | os.PathLike[str]) -> Path:
    """A codec checkpoint folder, or a training-run folder whose latest checkpoint is in ``codec/``."""
    folder = Path(path)
    if (folder / "config.json").is_file():
        return folder
    if (folder / "codec" / "config.json").is_file():
        return folder / "codec"
    raise InputError(folder, "not a codec checkpoint (no config.json here or in codec/)")


def load_codec(kind: str, path: str | os.PathLike[str]) -> ImageCodec | AudioCodec:
    """The image or audio codec of a checkpoint (or training-run) folder, in eval mode."""
    if kind == "image":
        from .image import load_image_codec

        return load_image_codec(checkpoint_dir(path))
    if kind == "audio":
        from .audio import load_audio_codec

        return load_audio_codec(checkpoint_dir(path))
    raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")


def codec_folder(folders: Sequence[str | os.PathLike[str]], kind: str) -> Path | None:
    """``<folder>/<kind>`` of the first of ``folders`` that holds one, or None."""
    return next((Path(f) / kind for f in folders if (Path(f) / kind).exists()), None)


def load_codecs(folder: str | os.PathLike[str], device: str | torch.device = "cpu") -> Codecs:
    """The codecs of a folder holding ``image/`` and/or ``audio/`` (checkpoint or training-run folders)."""
    loaded = {kind: load_codec(kind, where).to(device) for kind in KINDS
              if (where := codec_folder([folder], kind)) is not None}
    if not loaded:
        raise InputError(folder, "no codec here: expected an image/ or audio/ checkpoint folder")
    return Codecs(loaded.get("image"), loaded.get("audio"))  # type: ignore[arg-type]
