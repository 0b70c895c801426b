"""The translator network: token steps in, logits out (search lives in `scorebridge.decoding`).

Every time step is a vector of `n_slots` token ids from one unified vocabulary (PAD = 0). A step's embedding is
the sum of its slot embeddings (one shared table) plus learned x and y position embeddings from tables with a
separate range per modality; every encoder position also gets a learned target-modality embedding, which is
how the encoder knows the task (u-must.md §2.1, §3).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from scorebridge.checkpoint import config_from_dict, load_weights_strict, read_checkpoint_meta, save_checkpoint
from scorebridge.constants import IMAGE_PATCH_PX

from .config import ModelConfig
from .layers import DecoderCache, DecoderLayer, EncoderLayer, PatchStem, SubDecoder

log = logging.getLogger(__name__)

CHECKPOINT_KIND = "translator"


@dataclass(frozen=True)
class TranslationBatch:
    """One padded batch. Source steps (B, S, n_slots) with positions (B, S) and `src_pad` (B, S) True on padding;
    target steps (B, T, n_slots) = [SOS step, y_1 .. y_n, EOS step, PAD steps...] with positions (B, T). The
    decoder reads steps 0..T-2 and is scored on steps 1..T-1. Modalities (B,) are indices into
    list(scorebridge.modality.Modality)."""

    src_tokens: Tensor
    src_x: Tensor
    src_y: Tensor
    src_pad: Tensor
    src_modality: Tensor
    tgt_tokens: Tensor
    tgt_x: Tensor
    tgt_y: Tensor
    tgt_modality: Tensor
    src_features: Tensor | None = None  # (B, S, feature_dim) float for sources read as signal; zeros elsewhere

    def to(self, device: torch.device | str, non_blocking: bool = False) -> TranslationBatch:
        def move(value: Tensor | None) -> Tensor | None:
            return None if value is None else value.to(device, non_blocking=non_blocking)

        return TranslationBatch(**{f.name: move(getattr(self, f.name)) for f in dataclasses.fields(self)})


@dataclass(frozen=True)
class DecoderOutput:
    """Decoder states (B, T, d) and, for each requested layer, its cross-attention weights (B, T, S) averaged
    over heads."""

    hidden: Tensor
    cross_attention: dict[int, Tensor]
    memory: Tensor | None = None  # the encoder states it read (teacher-forced ``decoder_output`` only)


def _check_range(values: Tensor, limit: int, name: str) -> None:
    # An out-of-range position would silently read another modality's rows of the shared table.
    if values.numel() and bool(((values < 0) | (values >= limit)).any()):
        raise ValueError(f"{name} must lie in [0, {limit}), got [{int(values.min())}, {int(values.max())}]")


class Translator(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.vocab_size < 2:
            raise ValueError("ModelConfig.vocab_size is not set (fill it in with config.with_vocab(vocab.size))")
        self.config = config
        c = config
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model, padding_idx=0)
        self.pos_x = nn.Embedding(c.n_modalities * c.max_x, c.d_model)
        self.pos_y = nn.Embedding(c.n_modalities * c.max_y, c.d_model)
        self.task_emb = nn.Embedding(c.n_modalities, c.d_model)  # target modality, added on the encoder side
        # continuous sources (pixel patches, mel frames): projected into the step embedding; no bias, so the
        # zero vectors of token steps add nothing
        self.feat_proj = nn.Linear(c.feature_dim, c.d_model, bias=False) if c.feature_dim else None
        if c.patch_stem and c.feature_dim < IMAGE_PATCH_PX ** 2:
            raise ValueError(f"a patch stem needs pixel features (feature_dim >= {IMAGE_PATCH_PX ** 2})")
        self.patch_stem = PatchStem(IMAGE_PATCH_PX, c.patch_stem, c.d_model) if c.patch_stem else None
        self.emb_drop = nn.Dropout(c.dropout)
        self.encoder = nn.ModuleList(EncoderLayer(c.d_model, c.n_heads, c.d_ff, c.dropout)
                                     for _ in range(c.enc_layers))
        self.enc_norm = nn.LayerNorm(c.d_model)
        self.decoder = nn.ModuleList(DecoderLayer(c.d_model, c.n_heads, c.d_ff, c.dropout)
                                     for _ in range(c.dec_layers))
        self.dec_norm = nn.LayerNorm(c.d_model)
        self.sub = SubDecoder(c.vocab_size, c.n_slots, c.d_model, c.sub_heads, c.d_ff, c.sub_layers, c.dropout)
        # a training aid (hybrid CTC/attention, Watanabe et al. 2017): encoder states read out as LMX tokens in
        # source order, so the encoder learns where each symbol is before the decoder has learned to look
        self.ctc_head = nn.Linear(c.d_model, c.ctc_classes) if c.ctc_classes else None
        self.apply(_init_weights)
        with torch.no_grad():
            self.tok_emb.weight[0].zero_()
            self.sub.emb.weight[0].zero_()

    # ---- embeddings -------------------------------------------------------------------------------------------
    def embed_steps(self, tokens: Tensor, x: Tensor, y: Tensor, modality: Tensor,
                    features: Tensor | None = None) -> Tensor:
        """tokens (B, T, n_slots), x/y (B, T), modality (B,) [, features (B, T, feature_dim)] -> (B, T, d): slot
        sum + x and y positions [+ projected features]."""
        c = self.config
        if tokens.dim() != 3 or tokens.shape[-1] != c.n_slots:
            raise ValueError(f"expected tokens (B, T, {c.n_slots}), got {tuple(tokens.shape)}")
        _check_range(x, c.max_x, "x positions")
        _check_range(y, c.max_y, "y positions")
        _check_range(modality, c.n_modalities, "modality indices")
        m = modality.long()[:, None]
        h = (self.tok_emb(tokens).sum(dim=2) + self.pos_x(m * c.max_x + x.long())
             + self.pos_y(m * c.max_y + y.long()))
        if features is not None:
            if self.feat_proj is None:
                raise ValueError("this model reads sources as tokens only (feature_dim = 0), features were given")
            if features.shape != (*tokens.shape[:2], c.feature_dim):
                raise ValueError(f"expected features (B, T, {c.feature_dim}), got {tuple(features.shape)}")
            h = h + self.feat_proj(features.to(h.dtype))
            if self.patch_stem is not None:
                h = h + self.patch_stem(features.to(h.dtype))
        return h

    # ---- encoder / decoder ------------------------------------------------------------------------------------
    def encode(self, src_tokens: Tensor, src_x: Tensor, src_y: Tensor, src_modality: Tensor, tgt_modality: Tensor,
               src_pad: Tensor, src_features: Tensor | None = None) -> Tensor:
        """-> memory (B, S, d). `src_pad` (B, S) is True on padding steps; `src_features` as in `embed_steps`."""
        _check_range(tgt_modality, self.config.n_modalities, "target modality indices")
        h = (self.embed_steps(src_tokens, src_x, src_y, src_modality, src_features)
             + self.task_emb(tgt_modality.long())[:, None])
        h = self.emb_drop(h)
        mask = _key_mask(src_pad)
        for layer in self.encoder:
            h = layer(h, mask)
        return self.enc_norm(h)

    def decode(self, memory: Tensor, src_pad: Tensor, tgt_tokens: Tensor, tgt_x: Tensor, tgt_y: Tensor,
               tgt_modality: Tensor, cache: DecoderCache | None = None,
               attention_layers: Sequence[int] = ()) -> DecoderOutput:
        """-> decoder states (B, T, d) and the cross-attention weights of `attention_layers` (negative indices
        count from the top; only those layers compute their weights explicitly, the others stay on the fused
        kernel). With a `cache`, `tgt_*` hold only the new steps (the cache keeps the earlier ones); without,
        the whole target prefix under a causal mask."""
        n = len(self.decoder)
        if any(not -n <= i < n for i in attention_layers):
            raise ValueError(f"attention layers {list(attention_layers)} outside a {n}-layer decoder")
        wanted = {i % n for i in attention_layers}
        h = self.emb_drop(self.embed_steps(tgt_tokens, tgt_x, tgt_y, tgt_modality))
        mask = _key_mask(src_pad)
        weights: dict[int, Tensor] = {}
        for i, layer in enumerate(self.decoder):
            h, w = layer(h, memory, mask, cache, i, i in wanted)
            if w is not None:
                weights[i] = w
        return DecoderOutput(self.dec_norm(h), weights)

    def new_cache(self) -> DecoderCache:
        return DecoderCache(len(self.decoder))

    # ---- logits -----------------------------------------------------------------------------------------------
    def step_logits(self, hidden: Tensor, codes: Tensor) -> Tensor:
        """Teacher-forced sub-decoder: hidden (N, d), the step's codes (N, n_slots) -> logits (N, n_slots, V)."""
        return self.sub(hidden, codes[:, : self.config.n_slots - 1])

    def forward(self, batch: TranslationBatch) -> Tensor:
        """Logits (B, T-1, n_slots, V) for target steps 1..T-1. Materialises every logit: for training with a
        large vocabulary use `scorebridge.model.loss.translation_loss`, which works in chunks."""
        hidden = self.decoder_states(batch)
        labels = batch.tgt_tokens[:, 1:]
        b, t, _ = hidden.shape
        logits = self.step_logits(hidden.reshape(b * t, -1), labels.reshape(b * t, -1))
        return logits.view(b, t, self.config.n_slots, -1)

    def decoder_states(self, batch: TranslationBatch) -> Tensor:
        """Teacher-forced decoder states (B, T-1, d) that predict target steps 1..T-1."""
        return self.decoder_output(batch).hidden

    def decoder_output(self, batch: TranslationBatch, attention_layers: Sequence[int] = ()) -> DecoderOutput:
        """`decoder_states` plus the cross-attention weights (B, T-1, S) of `attention_layers`."""
        memory = self.encode(batch.src_tokens, batch.src_x, batch.src_y, batch.src_modality, batch.tgt_modality,
                             batch.src_pad, batch.src_features)
        out = self.decode(memory, batch.src_pad, batch.tgt_tokens[:, :-1], batch.tgt_x[:, :-1], batch.tgt_y[:, :-1],
                          batch.tgt_modality, None, attention_layers)
        return dataclasses.replace(out, memory=memory)


def _key_mask(src_pad: Tensor) -> Tensor:
    """(B, S) True-on-padding -> (B, 1, 1, S) True-may-attend, as scaled_dot_product_attention wants."""
    if src_pad.dtype != torch.bool or src_pad.dim() != 2:
        raise ValueError(f"src_pad must be a bool (B, S) tensor, got {src_pad.dtype} {tuple(src_pad.shape)}")
    return ~src_pad[:, None, None, :]


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)


# ---- codec codebooks ------------------------------------------------------------------------------------------
@torch.no_grad()
def init_codebook_embeddings(model: Translator, block_start: int, vectors: Tensor, stride: int | None = None) -> None:
    """Write codec codebook vectors (Q codebooks, K codes, D dims) into the token rows block_start + q * stride + k
    of the shared and the sub-decoder embedding tables (stride defaults to K; the layout may put specials after
    each codebook's codes). As the reference (u-must.md §2.2): vectors are tiled to d_model (cut if D does not
    divide it), centred per codebook and divided by codebook 0's std, which keeps each codebook's spread
    relative to codebook 0; then scaled to the std of the table they replace, so they match the other rows."""
    if vectors.dim() != 3:
        raise ValueError(f"expected codebook vectors (Q, K, D), got {tuple(vectors.shape)}")
    q, k, dim = vectors.shape
    stride = k if stride is None else stride
    d_model, vocab = model.config.d_model, model.config.vocab_size
    if stride < k or block_start < 1 or block_start + (q - 1) * stride + k > vocab:
        raise ValueError(f"{q} codebooks of {k} codes at {block_start} (stride {stride}) do not fit a "
                         f"{vocab}-token vocabulary above PAD")
    v = vectors.float().repeat(1, 1, -(-d_model // dim))[..., :d_model]
    v = v - v.mean(dim=(1, 2), keepdim=True)
    v = v / v[0].std().clamp_min(1e-8)
    rows = torch.cat([torch.arange(block_start + i * stride, block_start + i * stride + k) for i in range(q)])
    for table in (model.tok_emb.weight, model.sub.emb.weight):
        scale = table.std()
        table[rows.to(table.device)] = (v.reshape(q * k, d_model) * scale).to(table)
    log.info("initialised %d codebook rows at %d from codec vectors %s", q * k, block_start, tuple(vectors.shape))


# ---- checkpoints ----------------------------------------------------------------------------------------------
def save_translator(model: Translator, out_dir: str | os.PathLike[str], extra: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint folder (safetensors + JSON). `extra` (e.g. the vocabulary) is stored in the JSON under
    "extra" and returned by `load_translator`."""
    return save_checkpoint(out_dir, CHECKPOINT_KIND, model.config, model.state_dict(), extra={"extra": extra or {}})


@dataclass(frozen=True)
class LoadedTranslator:
    model: Translator
    extra: dict[str, Any]


def load_translator(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> LoadedTranslator:
    """Load a checkpoint strictly (any key/shape mismatch is an InputError), in eval mode, with its extra dict."""
    meta = read_checkpoint_meta(path, CHECKPOINT_KIND)
    config = config_from_dict(ModelConfig, meta["config"], Path(path) / "config.json")
    model = Translator(config)
    load_weights_strict(model, path)
    extra = meta.get("extra", {})
    return LoadedTranslator(model.to(device).eval(), extra if isinstance(extra, dict) else {})
