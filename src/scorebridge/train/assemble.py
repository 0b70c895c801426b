"""From a recipe and its baked data to a vocabulary and a fresh translator (what every process builds alike)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import torch

from scorebridge.checkpoint import config_to_dict, load_weights_strict, read_checkpoint_meta
from scorebridge.errors import InputError
from scorebridge.modality import Modality
from scorebridge.model import ModelConfig, Translator, init_codebook_embeddings, model_preset
from scorebridge.model.translator import CHECKPOINT_KIND
from scorebridge.shards import BakeInfo
from scorebridge.tokens.features import CODES, FeatureSpec
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig

from .recipe import TrainConfig
from .rows import read_bake_info

log = logging.getLogger(__name__)


def vocabulary_for(info: BakeInfo) -> Vocabulary:
    """The unified vocabulary of a bake: codebook sizes and counts from the codecs it was baked with."""
    counts = {info.image_codec.get("num_quantizers") if info.image_codec else None,
              info.audio_codec.get("n_codebooks") if info.audio_codec else None} - {None}
    if len(counts) > 1:
        raise InputError(info.codebooks.parent, f"image and audio codecs have different codebook counts {counts}")
    kwargs: dict[str, Any] = {}
    if counts:
        kwargs["n_slots"] = counts.pop()
    if info.image_codec:
        kwargs["image_codebook_size"] = info.image_codec["codebook_size"]
    if info.audio_codec:
        kwargs["audio_codebook_size"] = info.audio_codec["codebook_size"]
    return Vocabulary(VocabularyConfig(**kwargs))


def model_config_for(config: TrainConfig, vocab: Vocabulary) -> ModelConfig:
    """The recipe's preset for this vocabulary; checks that the position tables cover the length limits."""
    mcfg = model_preset(config.model, vocab.size)
    changes: dict[str, Any] = {"n_slots": vocab.n_slots, "feature_dim": config.inputs.dim,
                               "ctc_classes": len(vocab.block(Modality.NOTATION)) + 1 if config.ctc else 0,
                               "patch_stem": config.patch_stem}
    if config.dropout is not None:
        changes["dropout"] = config.dropout
    mcfg = dataclasses.replace(mcfg, **changes)
    check_positions(mcfg, config.limits, vocab)
    return mcfg


def check_positions(mcfg: ModelConfig, limits: LengthLimits, vocab: Vocabulary) -> None:
    widest = max(limits.max_x(m) for m in Modality)
    if widest > mcfg.max_x:
        raise ValueError(f"length limits reach x = {widest}, beyond the model's {mcfg.max_x} positions; lower "
                         "[limits] or use a larger preset")
    if vocab.config.max_image_height > mcfg.max_y:
        raise ValueError(f"images up to {vocab.config.max_image_height} rows need max_y >= that, "
                         f"the model has {mcfg.max_y}")


def new_model(config: TrainConfig, vocab: Vocabulary, info: BakeInfo) -> Translator:
    """A freshly initialised translator (seeded by the recipe: every process builds the same weights)."""
    torch.manual_seed(config.seed)
    model = Translator(model_config_for(config, vocab))
    if config.init_codebooks and info.codebooks.is_file():
        from safetensors.torch import load_file

        vectors = load_file(str(info.codebooks))
        for name, modality in (("image", Modality.IMAGE), ("audio", Modality.AUDIO)):
            if name in vectors:
                block = vocab.block(modality, 0)
                init_codebook_embeddings(model, block.start, vectors[name], stride=len(block))
    return model


def model_extra(config: TrainConfig, vocab: Vocabulary, info: BakeInfo, step: int) -> dict[str, Any]:
    """What a model folder stores beside its weights: enough to translate without the training data."""
    return {
        "vocabulary": vocab.to_dict(),
        "limits": config_to_dict(config.limits),
        "tasks": sorted({(t.source.value, t.target.value) for t in config.tasks}),
        "codecs": {"image": info.image_codec, "audio": info.audio_codec, "digest": info.codec_digest},
        "inputs": config_to_dict(config.inputs),
        "recipe": config_to_dict(config),
        "step": step,
    }


def start_from(model: Translator, folder: str, vocab: Vocabulary, info: BakeInfo,
               inputs: FeatureSpec | None = None) -> None:
    """Load a trained translator's weights into a new run's ``model`` (a lease continuing the shipped weights):
    the dimensions, the vocabulary, the codecs and the inputs must be the run's, or the tokens would mean other
    things."""
    meta = read_checkpoint_meta(folder, CHECKPOINT_KIND)
    problem = weights_mismatch(meta, model.config, vocab, info, inputs)
    if problem:
        raise InputError(folder, problem)
    load_weights_strict(model, folder)
    log.info("starting from the weights of %s (step %s)", folder, meta.get("extra", {}).get("step"))


def weights_mismatch(meta: dict[str, Any], own: ModelConfig, vocab: Vocabulary, info: BakeInfo,
                     inputs: FeatureSpec | None = None) -> str | None:
    """Why the translator folder whose checkpoint metadata is ``meta`` cannot start a run of model config
    ``own`` on this bake (vocabulary, codecs) and ``inputs``, or None when it can."""
    mine = config_to_dict(own)
    theirs = meta.get("config", {})
    changed = sorted(k for k in mine if theirs.get(k) != mine[k] and k != "dropout")
    if changed:
        return f"has other model dimensions than the recipe's ({', '.join(changed)})"
    extra = meta.get("extra", {})
    if extra.get("vocabulary") != vocab.to_dict():
        return "was trained on another token vocabulary than this bake's"
    digest = (extra.get("codecs") or {}).get("digest")
    if digest != info.codec_digest:
        return f"was trained on tokens of codecs {digest}, this bake's are {info.codec_digest}"
    if inputs is not None and extra.get("inputs", config_to_dict(CODES)) != config_to_dict(inputs):
        return "reads its sources otherwise than the recipe's [inputs] (codes, pixels, mel frames)"
    return None


def init_mismatch(config: TrainConfig, folder: str | Path) -> str | None:
    """Why ``folder`` cannot start ``config`` (its data, preset and inputs), or None: what a lease asks before
    choosing between continuing the shipped weights and starting afresh. Reads metadata only."""
    info = read_bake_info(config.data)
    vocab = vocabulary_for(info)
    try:
        meta = read_checkpoint_meta(folder, CHECKPOINT_KIND)
    except InputError as exc:
        return exc.problem
    return weights_mismatch(meta, model_config_for(config, vocab), vocab, info, config.inputs)
