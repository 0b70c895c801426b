"""One window of an image or audio source -> feature steps, for models that read sources as signal
(``tokens.features``: pixel patches, log-mel frames) instead of codec tokens. The counterpart of
``inference.sources.read_source``, with the same accepted inputs and one-line errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from scorebridge.codecs.files import read_audio, read_image
from scorebridge.errors import InputError
from scorebridge.inference.sources import LONG_FORM_HINT, as_path, source_name
from scorebridge.modality import Modality
from scorebridge.tokens.features import FeatureSpec, anchor_staff, image_patches, log_mel
from scorebridge.tokens.layout import LengthLimits, Steps, encode_features
from scorebridge.tokens.shifts import shift_and_pad_image
from scorebridge.tokens.vocabulary import Vocabulary


def image_patch_grid(source: Any, name: str, spec: FeatureSpec | None = None) -> np.ndarray:
    """The (h, w, 256) pixel patches of one system image (a path or a uint8 (H, W) array) at the centre
    placement, as evaluation data is placed (its staff anchored as ``spec`` says)."""
    path = as_path(source)
    img = read_image(path) if path is not None else source
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 2 or 0 in img.shape:
        raise InputError(name, "an image source must be a non-empty uint8 (H, W) array")
    return image_patches(shift_and_pad_image(anchor_staff(img, spec.staff_top if spec else 0), 0, 0))


def read_feature_source(source: Any, modality: Modality, vocab: Vocabulary, limits: LengthLimits,
                        spec: FeatureSpec) -> Steps:
    """Source steps (encoder layout) of one image or audio window, as features; InputError (one line) for a bad
    or too-long source."""
    modality = Modality(modality)
    name = source_name(source, modality)
    path = as_path(source)
    if modality is Modality.IMAGE:
        data: Any = [image_patch_grid(source, name, spec)]
    elif modality is Modality.AUDIO:
        if path is not None:
            audio, rate = read_audio(path)
        elif isinstance(source, tuple) and len(source) == 2 and np.isscalar(source[1]):
            audio, rate = source
        else:
            raise InputError(name, "an audio source is a path or a (samples, sample_rate) tuple")
        seconds = np.asarray(audio).shape[0] / max(int(rate), 1)
        limit_s = limits.audio * spec.frame_ms / 1000  # checked before the spectrogram is computed
        if seconds > limit_s:
            raise InputError(name, f"audio of {seconds:.2f} s is longer than one window of {limit_s:.2f} s; "
                                   f"{LONG_FORM_HINT}")
        try:
            data = log_mel(audio, int(rate), spec)
        except ValueError as exc:
            raise InputError(name, str(exc)) from None
    else:
        raise ValueError(f"{modality} sources are read as tokens")
    try:
        steps = encode_features(modality, data, vocab, spec, limits)
    except ValueError as exc:  # too long, too wide or too tall
        raise InputError(name, f"{exc}; {LONG_FORM_HINT}" if "longer than" in str(exc) else str(exc)) from None
    if len(steps) == 0:
        raise InputError(name, f"the {modality} source is empty")
    return steps
