"""One window: ``load_model(path)`` and ``ScoreBridgeModel.translate(source, to=...)``.

``translate`` handles ONE window (a system image, a notation fragment, up to one MIDI window, one audio clip
within the length limits); long inputs go through ``inference.longform``, whose functions call this model one
window (or one batch of windows) at a time. A model folder is what the trainer writes with
``model.save_translator(model, MODEL, extra=...)``: ``extra`` holds the vocabulary, the length limits, the
tasks trained on and the codec configs; codecs are found in ``codecs=``, ``MODEL/codecs`` or
``MODEL/../codecs`` (see ``inference.codecs``).

Example::

    model = load_model("runs/small/best")
    result = model.translate("system.png", to="notation", options=DecodingOptions(max_steps=500))
    print(result.musicxml())
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scorebridge.checkpoint import config_from_dict
from scorebridge.decoding import DecodingOptions, SourceLength, TargetGeneration, generate_target, source_units_of
from scorebridge.errors import InputError
from scorebridge.inference.codecs import CODEC_MODALITIES, CodecLookup
from scorebridge.inference.results import Translation, build_result
from scorebridge.inference.signal import read_feature_source
from scorebridge.inference.sources import infer_modality, read_source, source_name
from scorebridge.modality import Modality
from scorebridge.model import ModelConfig, Translator, load_translator
from scorebridge.tokens.features import CODES, FeatureSpec
from scorebridge.tokens.layout import DEFAULT_LIMITS, LengthLimits, Steps, strip_sos_eos
from scorebridge.tokens.vocabulary import Vocabulary

log = logging.getLogger(__name__)

DEFAULT_OPTIONS = DecodingOptions()


def as_modality(value: Any, what: str) -> Modality:
    """``value`` as a Modality; ValueError naming ``what`` and the modalities otherwise."""
    try:
        return Modality(value)
    except ValueError:
        raise ValueError(f"{what} must be one of {', '.join(m.value for m in Modality)}, got {value!r}") from None


def model_mismatch(config: ModelConfig, vocab: Vocabulary) -> str | None:
    """Why a translator of ``config`` cannot work with ``vocab``, or None."""
    if config.vocab_size != vocab.size:
        return f"the translator has {config.vocab_size} token ids, its vocabulary {vocab.size}"
    if config.n_slots != vocab.n_slots:
        return f"the translator has {config.n_slots} slots per step, its vocabulary {vocab.n_slots}"
    if config.n_modalities != len(Modality):
        return f"the translator knows {config.n_modalities} modalities, this version {len(Modality)}"
    return None


class ScoreBridgeModel:
    """A translator with its vocabulary, length limits, the tasks it was trained on and its codecs."""

    def __init__(self, translator: Translator, vocab: Vocabulary, limits: LengthLimits = DEFAULT_LIMITS,
                 tasks: Sequence[tuple[Modality, Modality]] = (), codecs: CodecLookup | None = None,
                 inputs: FeatureSpec = CODES) -> None:
        problem = model_mismatch(translator.config, vocab)
        if problem:
            raise ValueError(problem)
        if inputs.dim != translator.config.feature_dim:
            raise ValueError(f"the inputs {inputs} need feature_dim {inputs.dim}, the model has "
                             f"{translator.config.feature_dim}")
        self.inputs = inputs
        self.translator = translator.eval()
        self.vocab = vocab
        self.limits = limits
        self.tasks: tuple[tuple[Modality, Modality], ...] = tuple((Modality(s), Modality(t)) for s, t in tasks)
        self.codecs = codecs or CodecLookup()

    @property
    def device(self) -> torch.device:
        return next(self.translator.parameters()).device

    def __repr__(self) -> str:
        tasks = ", ".join(f"{s}->{t}" for s, t in self.tasks) or "not recorded"
        return f"ScoreBridgeModel({self.vocab!r}, tasks: {tasks})"

    def translate(self, source: Any, to: Modality | str, *, source_modality: Modality | str | None = None,
                  options: DecodingOptions = DEFAULT_OPTIONS) -> Translation:
        """Translate one window of ``source`` into modality ``to``.

        ``source``: a file path or in-memory data (see ``inference.sources``); its modality comes from the
        suffix or type unless ``source_modality`` is given. Returns a NotationTranslation, MidiTranslation,
        AudioTranslation or ImageTranslation. ValueError for a bad ``to`` or ``to`` equal to the source
        modality; InputError for a bad or too-long source or a missing codec."""
        return self.translate_batch([source], to, source_modality=source_modality, options=options)[0]

    def translate_batch(self, sources: Sequence[Any], to: Modality | str, *,
                        source_modality: Modality | str | None = None,
                        options: DecodingOptions = DEFAULT_OPTIONS) -> list[Translation]:
        """``translate`` for several windows of one modality in ONE batched search, results in order. Greedy
        results are those of translating the windows one by one; sampled rows draw from one generator, so a
        sampled result depends on the other windows of its batch."""
        if not len(sources):
            return []
        target = as_modality(to, "to")
        kinds = {infer_modality(s) if source_modality is None else as_modality(source_modality, "source_modality")
                 for s in sources}
        if len(kinds) != 1:
            raise ValueError(f"one batch holds sources of one modality, got {', '.join(sorted(map(str, kinds)))}")
        src = kinds.pop()
        if src is target:
            raise ValueError(f"the source is already {target}: translate to another modality")
        if self.tasks and (src, target) not in self.tasks:
            log.warning("this model was not trained on %s -> %s; expect poor output", src, target)
        # codecs first: a missing one should fail before any work
        as_signal = self.inputs.uses_features(src)
        src_codec = (self.codecs.get(src, self.vocab, self.device) if src in CODEC_MODALITIES and not as_signal
                     else None)
        tgt_codec = self.codecs.get(target, self.vocab, self.device) if target in CODEC_MODALITIES else None
        steps = []
        for source in sources:
            if as_signal:
                one = read_feature_source(source, src, self.vocab, self.limits, self.inputs)
            else:
                one = read_source(source, src, self.vocab, self.limits, src_codec)
            self._check_positions(one, source_name(source, src))
            steps.append(one)
        return [dataclasses.replace(build_result(g.steps, self.vocab, tgt_codec), end=g.end)
                for g in self.generate(steps, target, options)]

    def _memory(self, sources: Sequence[Steps], target: Modality) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder memory (B, S, d) and padding mask (B, S) of sources padded to the longest: PAD tokens at
        position (0, 0), zero features; the mask keeps every layer from attending to them."""
        dev = self.device
        b, s = len(sources), max(len(one) for one in sources)
        tokens = np.full((b, s, self.vocab.n_slots), self.vocab.pad, np.int64)
        x, y = np.zeros((b, s), np.int64), np.zeros((b, s), np.int64)
        pad = np.ones((b, s), bool)
        with_features = [one.features is not None for one in sources]
        if any(with_features) and not all(with_features):
            raise ValueError("one batch holds sources read as features or as tokens, not both")
        features = None
        if all(with_features):
            features = np.zeros((b, s, sources[0].features.shape[1]), np.float32)  # type: ignore[union-attr]
        for i, one in enumerate(sources):
            n = len(one)
            tokens[i, :n], x[i, :n], y[i, :n], pad[i, :n] = one.tokens, one.x, one.y, False
            if features is not None:
                features[i, :n] = one.features
        src_pad = torch.as_tensor(pad, device=dev)
        modality = torch.full((b,), sources[0].modality.index, device=dev)
        memory = self.translator.encode(torch.as_tensor(tokens, device=dev), torch.as_tensor(x, device=dev),
                                        torch.as_tensor(y, device=dev), modality,
                                        torch.full((b,), target.index, device=dev), src_pad,
                                        None if features is None else torch.as_tensor(features, device=dev))
        return memory, src_pad

    @torch.no_grad()
    def generate(self, sources: Sequence[Steps], target: Modality, options: DecodingOptions = DEFAULT_OPTIONS, *,
                 prefix: Steps | None = None, attention_layers: Sequence[int] = ()) -> list[TargetGeneration]:
        """The target steps generated for encoded ``sources`` of one modality (SOS/EOS stripped), padded into one
        batch and searched together (each row ends on its own: EOS, its loop or length bound). ``prefix``: target
        steps forced at the start of every row (the output starts with them); ``attention_layers``: decoder
        layers whose cross-attention weights, averaged, come back one row per output step over the row's own
        source steps (``decoding.TargetGeneration``). One result per source, in order; greedy rows equal their
        one-by-one results (see ``translate_batch``)."""
        target = Modality(target)
        if not len(sources):
            return []
        if len({one.modality for one in sources}) != 1:
            raise ValueError("one batch holds sources of one modality")
        memory, src_pad = self._memory(sources, target)
        units = torch.tensor([source_units_of(one, self.vocab) for one in sources])
        out = generate_target(self.translator, memory, src_pad, target, self.vocab, options, self.limits, prefix,
                              attention_layers, source=SourceLength(sources[0].modality, units))
        # strip_sos_eos is a no-op on stripped steps; kept as the layout's contract; attention over the row's
        # own source steps (the padding after them got none)
        return [TargetGeneration(strip_sos_eos(row.steps, self.vocab),
                                 None if row.attention is None else row.attention[:, : len(one)], row.end)
                for row, one in zip(out, sources, strict=True)]

    def _check_positions(self, steps: Steps, name: str) -> None:
        # the layout limits may exceed the model's position tables (a small preset); say so instead of failing
        # inside the network
        cfg = self.translator.config
        if len(steps) and (steps.x.max() >= cfg.max_x or steps.y.max() >= cfg.max_y):
            raise InputError(name, f"the {steps.modality} source reaches position x={int(steps.x.max())}, "
                                   f"y={int(steps.y.max())}; this model holds x < {cfg.max_x}, y < {cfg.max_y}: "
                                   f"use the long-form command")


def load_model(path: str | os.PathLike[str] | None = None, device: str | torch.device = "cpu",
               codecs: str | os.PathLike[str] | None = None) -> ScoreBridgeModel:
    """The model of a translator checkpoint folder (InputError, one line, for a missing or bad one); with no
    ``path``, the weights that ship with the package (``scorebridge.shipped``).

    ``codecs``: a folder holding ``image/`` and/or ``audio/`` codec checkpoints, tried before ``path/codecs``
    and ``path/../codecs``; codecs are loaded when a translation first needs them."""
    if path is None:
        from scorebridge.shipped import shipped_model_dir

        path = shipped_model_dir()
    folder = Path(path)
    loaded = load_translator(folder, device)
    where = folder / "config.json"
    extra = loaded.extra
    if "vocabulary" not in extra:
        raise InputError(where, "no vocabulary in the checkpoint's extra data (not a scorebridge model folder?)")
    vocab = Vocabulary.from_dict(extra["vocabulary"], str(where))
    problem = model_mismatch(loaded.model.config, vocab)
    if problem:
        raise InputError(folder, problem)
    limits = config_from_dict(LengthLimits, extra["limits"], where) if "limits" in extra else DEFAULT_LIMITS
    tasks = _read_tasks(extra.get("tasks", []), where)
    if codecs is not None and not Path(codecs).is_dir():
        raise InputError(codecs, "no such codecs folder")
    folders = [Path(codecs)] if codecs is not None else []
    lookup = CodecLookup([*folders, folder / "codecs", folder.parent / "codecs"], model_dir=folder,
                         expected=extra.get("codecs") if isinstance(extra.get("codecs"), dict) else None)
    inputs = config_from_dict(FeatureSpec, extra["inputs"], where) if "inputs" in extra else CODES
    log.info("loaded %s from %s", loaded.model.config, folder)
    try:
        return ScoreBridgeModel(loaded.model, vocab, limits, tasks, lookup, inputs)
    except ValueError as exc:
        raise InputError(folder, str(exc)) from None


def _read_tasks(data: Any, where: Path) -> tuple[tuple[Modality, Modality], ...]:
    try:
        tasks = tuple((Modality(s), Modality(t)) for s, t in data)
    except (TypeError, ValueError):
        raise InputError(where, f"tasks must be [source, target] modality pairs, got {data!r}") from None
    return tasks
