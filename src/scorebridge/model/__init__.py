"""The translator network: token steps -> encoder memory -> decoder states (`Translator.encode`/`decode`, the
latter with the cross-attention weights of chosen layers) -> per-slot logits; its config presets, its loss
and its checkpoints. It knows nothing of modalities' files or of search: searching over its outputs is
``scorebridge.decoding``, reading and writing files is ``scorebridge.inference``."""

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
