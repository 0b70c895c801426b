"""Audio codec configuration: model dimensions and loss weights in one frozen dataclass, plus named presets.

Field names follow DAC's constructor (`encoder_dim`, `encoder_rates`, `latent_dim`, ...) so that a DAC
configuration maps onto an `AudioCodecConfig` one to one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.errors import ScorebridgeError

DAC_MEL_WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)  # DAC's multi-scale mel loss (conf/base.yml)
DAC_MEL_BINS = (5, 10, 20, 40, 80, 160, 320)
STFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))  # (n_fft = window, hop) of the multi-resolution STFT loss


@dataclass(frozen=True)
class AudioCodecConfig:
    sample_rate: int = AUDIO_SAMPLE_RATE
    encoder_dim: int = 64
    encoder_rates: tuple[int, ...] = (2, 4, 8, 8)
    latent_dim: int | None = None  # None: encoder_dim * 2**len(encoder_rates), as DAC
    decoder_dim: int = 1536
    decoder_rates: tuple[int, ...] = (8, 8, 4, 2)
    n_codebooks: int = 4
    codebook_size: int = 1024
    codebook_dim: int = 8
    quantizer_dropout: float = 1.0  # fraction of a batch that uses a random number of codebooks in training
    # Loss weights (reference: DAC base.yml as retrained for 4 codebooks).
    mel_weight: float = 15.0
    stft_weight: float = 1.0  # not in DAC's recipe; helps when training without discriminators
    commitment_weight: float = 0.25
    codebook_weight: float = 1.0
    adv_gen_weight: float = 1.0
    adv_feat_weight: float = 2.0
    mel_windows: tuple[int, ...] = field(default=DAC_MEL_WINDOWS)
    mel_bins: tuple[int, ...] = field(default=DAC_MEL_BINS)

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.encoder_dim <= 0 or self.decoder_dim <= 0:
            raise ValueError("sample_rate, encoder_dim and decoder_dim must be positive")
        if not self.encoder_rates or any(r < 1 for r in self.encoder_rates):
            raise ValueError(f"bad encoder_rates {self.encoder_rates}")
        if math.prod(self.decoder_rates) != math.prod(self.encoder_rates):
            raise ValueError(f"decoder_rates {self.decoder_rates} do not undo encoder_rates {self.encoder_rates}")
        if self.decoder_dim % 2 ** len(self.decoder_rates):
            raise ValueError(f"decoder_dim {self.decoder_dim} cannot be halved {len(self.decoder_rates)} times")
        if self.n_codebooks < 1 or self.codebook_size < 2 or self.codebook_dim < 1:
            raise ValueError("need at least one codebook of two codes of dimension >= 1")
        if not 0.0 <= self.quantizer_dropout <= 1.0:
            raise ValueError(f"quantizer_dropout {self.quantizer_dropout} outside [0, 1]")
        if len(self.mel_windows) != len(self.mel_bins):
            raise ValueError("mel_windows and mel_bins differ in length")

    @property
    def hop_length(self) -> int:
        """Samples per token frame."""
        return math.prod(self.encoder_rates)

    @property
    def latent(self) -> int:
        """The latent width actually used (resolves `latent_dim=None` as DAC does)."""
        return self.latent_dim if self.latent_dim is not None else self.encoder_dim * 2 ** len(self.encoder_rates)

    def frames(self, samples: int) -> int:
        """Token frames for `samples` input samples (input right-padded to a whole frame)."""
        return -(-samples // self.hop_length)


AUDIO_PRESETS: dict[str, AudioCodecConfig] = {
    # The reference ("unidac4"): DAC 44 kHz with 4 codebooks, hop 512.
    "dac44-4": AudioCodecConfig(),
    # Narrow channels for CPU training and quick experiments; same rates, so hop 512 (46.875 frames/s).
    "small24k": AudioCodecConfig(sample_rate=24_000, encoder_dim=16, decoder_dim=192),
    # For tests: seconds per dozen steps; odd stride 5 exercises DAC's output padding; hop 320.
    "tiny": AudioCodecConfig(sample_rate=16_000, encoder_dim=4, encoder_rates=(2, 4, 5, 8), decoder_dim=32,
                             decoder_rates=(8, 5, 4, 2), codebook_size=64,
                             mel_windows=(64, 256, 1024), mel_bins=(10, 40, 80)),
}


def audio_preset(name: str) -> AudioCodecConfig:
    if name not in AUDIO_PRESETS:
        raise ScorebridgeError(f"unknown audio codec preset {name!r} (known: {', '.join(AUDIO_PRESETS)})")
    return AUDIO_PRESETS[name]
