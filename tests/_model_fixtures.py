"""A tiny model folder (random translator + tiny codecs) for API, long-form and CLI tests."""

from __future__ import annotations

import itertools
from pathlib import Path

import torch

from scorebridge.checkpoint import config_to_dict
from scorebridge.codecs.audio import AUDIO_PRESETS, AudioCodec, save_audio_codec
from scorebridge.codecs.image import IMAGE_PRESETS, ImageCodec, save_image_codec
from scorebridge.midi import Note
from scorebridge.modality import Modality
from scorebridge.model import Translator, model_preset, save_translator
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig

# codebooks of the tiny codecs (64 codes); 4 image rows keep generated systems short
VOCAB = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=4))
LIMITS = LengthLimits(image=200, notation=50, midi=100, audio=60, image_columns=20)
AUDIO_RATE = AUDIO_PRESETS["tiny"].sample_rate
LMX = "measure key:fifths:0 time beats:4 beat-type:4 clef:G2 C4 voice:1 quarter D4 quarter E4 half"
NOTES = [Note(0, 500, 60, 80), Note(500, 1200, 64, 90), Note(600, 900, 67)]


def extra(vocab: Vocabulary = VOCAB, limits: LengthLimits = LIMITS) -> dict:
    return {"vocabulary": vocab.to_dict(), "limits": config_to_dict(limits),
            "tasks": [[s.value, t.value] for s, t in itertools.permutations(Modality, 2)],
            "codecs": {"image": config_to_dict(IMAGE_PRESETS["tiny"]), "audio": config_to_dict(AUDIO_PRESETS["tiny"])}}


def tiny_translator(vocab_size: int = VOCAB.size) -> Translator:
    torch.manual_seed(0)
    return Translator(model_preset("tiny", vocab_size)).eval()


def write_tiny_run(root: Path, limits: LengthLimits = LIMITS, vocab: Vocabulary = VOCAB) -> Path:
    """A training-run folder: model/ (translator) and codecs/ beside it (found as MODEL/../codecs)."""
    torch.manual_seed(1)
    save_image_codec(ImageCodec(IMAGE_PRESETS["tiny"]).eval(), root / "codecs" / "image")
    save_audio_codec(AudioCodec(AUDIO_PRESETS["tiny"]).eval(), root / "codecs" / "audio")
    save_translator(tiny_translator(vocab.size), root / "model", extra=extra(vocab, limits))
    return root
