"""Finding the image and audio codecs a translation needs, loaded lazily and checked against the vocabulary.

Loading itself is ``codecs.loading`` (shared with the bake); this adds the search order, the vocabulary check and
the comparison with the configs the model was trained with.

Folders are tried in order (the ``codecs=`` argument, ``MODEL/codecs``, ``MODEL/../codecs``); the first that
holds ``image/`` (or ``audio/``) wins. A missing codec is an error only when a translation needs it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from scorebridge.checkpoint import config_to_dict
from scorebridge.codecs import codec_folder, load_codec
from scorebridge.errors import InputError
from scorebridge.modality import Modality
from scorebridge.tokens.vocabulary import Vocabulary

if TYPE_CHECKING:
    from scorebridge.codecs.audio import AudioCodec
    from scorebridge.codecs.image import ImageCodec

    Codec = ImageCodec | AudioCodec

log = logging.getLogger(__name__)

CODEC_MODALITIES = (Modality.IMAGE, Modality.AUDIO)


class CodecLookup:
    """The codecs of one model: given objects first, then the first of ``folders`` holding ``<kind>/``.

    ``model_dir`` names the model in error messages; ``expected`` holds the codec configs the model was trained
    with (the checkpoint's ``extra["codecs"]``), compared with what is loaded (a mismatch is logged)."""

    def __init__(self, folders: Sequence[str | os.PathLike[str]] = (), *, image: ImageCodec | None = None,
                 audio: AudioCodec | None = None,
                 model_dir: str | os.PathLike[str] | None = None,
                 expected: dict[str, dict[str, Any] | None] | None = None) -> None:
        self.folders = tuple(Path(f) for f in folders)
        self.model_dir = None if model_dir is None else Path(model_dir)
        self.expected = dict(expected or {})
        self._loaded: dict[Modality, Codec] = {m: c for m, c in ((Modality.IMAGE, image), (Modality.AUDIO, audio))
                                             if c is not None}

    def folder_of(self, kind: Modality) -> Path | None:
        """The first folder holding a ``kind`` codec, or None."""
        return codec_folder(self.folders, Modality(kind).value)

    def get(self, kind: Modality, vocab: Vocabulary, device: torch.device | str = "cpu") -> Codec:
        """The ``kind`` codec (an ImageCodec or AudioCodec) on ``device``; InputError when none is found or it
        does not fit the vocabulary."""
        kind = Modality(kind)
        if kind not in CODEC_MODALITIES:
            raise ValueError(f"{kind} has no codec")
        if kind not in self._loaded:
            folder = self.folder_of(kind)
            if folder is None:
                if self.model_dir is None:
                    raise InputError(None, f"no {kind} codec: pass codecs=CodecLookup([a folder holding {kind}/])")
                raise InputError(self.model_dir, f"no {kind} codec: pass codecs= or put one in "
                                                 f"{self.model_dir / 'codecs' / kind.value}")
            codec = load_codec(kind.value, folder)
            problem = codec_mismatch(kind, codec.config, vocab)
            if problem:
                raise InputError(folder, problem)
            expected = self.expected.get(kind.value)
            if isinstance(expected, dict) and expected != config_to_dict(codec.config):
                log.warning("%s: the %s codec's config differs from the one the model was trained with", folder, kind)
            log.debug("loaded the %s codec from %s", kind, folder)
            self._loaded[kind] = codec
        codec = self._loaded[kind]
        problem = codec_mismatch(kind, codec.config, vocab)
        if problem:
            raise InputError(self.model_dir, problem)
        return codec.to(device).eval()


def codec_mismatch(kind: Modality, config: Any, vocab: Vocabulary) -> str | None:
    """Why a codec config cannot feed this vocabulary (codebook count or size), or None when it can.

    A larger codebook would make codes the vocabulary cannot hold; a smaller one could not decode every id
    the translator may generate."""
    if kind is Modality.IMAGE:
        books, size, want = config.num_quantizers, config.codebook_size, vocab.config.image_codebook_size
    else:
        books, size, want = config.n_codebooks, config.codebook_size, vocab.config.audio_codebook_size
    if books != vocab.n_slots or size != want:
        return (f"the {kind} codec has {books} codebooks of {size} codes, the model's vocabulary expects "
                f"{vocab.n_slots} of {want}")
    return None
