"""Tokens: how every modality becomes the translator's steps and back, with no model and no torch.

``vocabulary`` numbers every id (specials, LMX, MIDI events, codec codes) in one table; ``layout`` lays out
source and target steps (``Steps``: tokens per slot with x/y positions) and reads them back, within the
``LengthLimits``; ``features`` holds the signal inputs (pixel patches, log-mel) some models read instead of
codes; ``image_grid`` the column order of image codes; ``shifts`` the placements of training augmentation.
"""

from .features import CODES, FeatureSpec
from .layout import (
    DEFAULT_LIMITS,
    LengthLimits,
    Steps,
    decode,
    encode,
    encode_features,
    strip_sos_eos,
    target_positions,
    with_sos_eos,
)
from .vocabulary import RVQ_MODALITIES, Vocabulary, VocabularyConfig

__all__ = [
    "CODES", "DEFAULT_LIMITS", "RVQ_MODALITIES", "FeatureSpec", "LengthLimits", "Steps", "Vocabulary",
    "VocabularyConfig", "decode", "encode", "encode_features", "strip_sos_eos", "target_positions", "with_sos_eos",
]
