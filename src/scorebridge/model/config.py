"""Translator dimensions: one frozen dataclass, stored in every checkpoint (Whisper's `ModelDimensions`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the translator. `vocab_size` is 0 in the presets and filled in with `with_vocab` (or
    `dataclasses.replace`) once the unified vocabulary is known; a model cannot be built before that."""

    vocab_size: int = 0
    n_slots: int = 4            # codes per time step (the largest codebook count among modalities)
    d_model: int = 512
    n_heads: int = 8
    enc_layers: int = 6
    dec_layers: int = 6
    d_ff: int = 2048
    dropout: float = 0.0
    n_modalities: int = 4       # index = position in list(scorebridge.modality.Modality)
    max_x: int = 4096           # x-position table size per modality (image column or time step)
    max_y: int = 64             # y-position table size per modality (image row; 0 elsewhere)
    sub_layers: int = 1         # codebook sub-decoder depth
    sub_heads: int = 8
    feature_dim: int = 0        # length of continuous source vectors (tokens.features); 0 = tokens only
    ctc_classes: int = 0        # > 0: a CTC head on the encoder over blank + this many - 1 LMX tokens (training aid)
    patch_stem: int = 0         # > 0: a convolutional stem with this many channels over pixel patches (layers.py)

    def __post_init__(self) -> None:
        positive = ("n_slots", "d_model", "n_heads", "enc_layers", "dec_layers", "d_ff", "n_modalities", "max_x",
                    "max_y", "sub_layers", "sub_heads")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"ModelConfig.{name} must be >= 1, got {getattr(self, name)}")
        if min(self.vocab_size, self.feature_dim, self.ctc_classes, self.patch_stem) < 0:
            raise ValueError(f"ModelConfig.vocab_size, feature_dim, ctc_classes and patch_stem must be >= 0, got "
                             f"{self.vocab_size}, {self.feature_dim}, {self.ctc_classes}, {self.patch_stem}")
        if self.d_model % self.n_heads or self.d_model % self.sub_heads:
            raise ValueError(f"d_model {self.d_model} must divide by n_heads {self.n_heads} "
                             f"and sub_heads {self.sub_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"ModelConfig.dropout must be in [0, 1), got {self.dropout}")

    def with_vocab(self, vocab_size: int) -> ModelConfig:
        return dataclasses.replace(self, vocab_size=vocab_size)


MODEL_PRESETS: dict[str, ModelConfig] = {
    # Tests and CPU smoke runs.
    "tiny": ModelConfig(d_model=64, n_heads=4, enc_layers=2, dec_layers=2, d_ff=256, max_x=1024, max_y=32),
    # CPU proofs of a recipe (README, "A CPU proof"): learns single-staff OMR on 2 cores in under an hour.
    "mini": ModelConfig(d_model=128, n_heads=4, enc_layers=3, dec_layers=3, d_ff=512, dropout=0.1, max_x=1024,
                        max_y=32),
    # The shipped default (16.9 M parameters): fp16, it and both codecs fit the repository's 60 MB.
    "compact": ModelConfig(d_model=256, n_heads=8, enc_layers=4, dec_layers=4, d_ff=1024, dropout=0.1, max_x=1024),
    # Trainable in minutes on one GPU.
    "small": ModelConfig(d_model=512, n_heads=8, enc_layers=6, dec_layers=6, d_ff=2048, dropout=0.1),
    # The reference's shape (u-must.md §3): 12 + 12 x 1024, 16 heads, FFN 4096, dropout 0.1.
    "paper": ModelConfig(d_model=1024, n_heads=16, enc_layers=12, dec_layers=12, d_ff=4096, dropout=0.1),
}


def model_preset(name: str, vocab_size: int) -> ModelConfig:
    """A preset with its vocabulary size filled in."""
    if name not in MODEL_PRESETS:
        raise ValueError(f"unknown model preset {name!r}; choose from {', '.join(MODEL_PRESETS)}")
    return MODEL_PRESETS[name].with_vocab(vocab_size)
