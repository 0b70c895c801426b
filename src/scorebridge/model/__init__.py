"""The translator network (token steps -> logits), its loss and checkpoints; search is in scorebridge.decoding."""

from .config import MODEL_PRESETS, ModelConfig, model_preset
from .layers import DecoderCache
from .loss import LossResult, translation_loss
from .translator import (
    DecoderOutput,
    LoadedTranslator,
    TranslationBatch,
    Translator,
    init_codebook_embeddings,
    load_translator,
    save_translator,
)

__all__ = [
    "MODEL_PRESETS", "DecoderCache", "DecoderOutput", "LoadedTranslator", "LossResult", "ModelConfig",
    "TranslationBatch", "Translator", "init_codebook_embeddings", "load_translator",
    "model_preset", "save_translator", "translation_loss",
]
