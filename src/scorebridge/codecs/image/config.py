"""The image codec's dimensions: one frozen dataclass, stored in every checkpoint, plus named presets."""

from __future__ import annotations

from dataclasses import dataclass

from scorebridge.constants import IMAGE_PATCH_PX


@dataclass(frozen=True)
class ImageCodecConfig:
    """RQ-VAE for grayscale score images (reference: Kakao Brain rq-vae, "unirqvae3", u-must.md section 2.2).

    ``len(ch_mult) - 1`` stride-2 downsamplings give the patch size, which must be 16 (one token = 16x16 px).
    """

    in_channels: int = 1
    channels: int = 128
    ch_mult: tuple[int, ...] = (1, 1, 2, 2, 4)
    num_res_blocks: int = 2
    latent_dim: int = 256
    num_quantizers: int = 4
    codebook_size: int = 1024
    ema_decay: float = 0.99
    dead_code_threshold: float = 2.0  # a code whose EMA usage falls below this many vectors per batch is restarted
    kmeans_init: bool = False  # k-means initialisation of the codebooks on the first training batch
    commitment_weight: float = 0.25
    mse_weight: float = 1.0
    ink_weight: float = 1.0  # ink-weighted L1 (losses.py)
    ink_boost: float = 9.0  # an ink pixel weighs 1 + ink_boost in the ink-weighted L1
    # In [-1, 1]. Paper is whitened to exactly 1, and at an 18-px staff the 1-px staff lines are light grey
    # (about 175/255 = 0.37), so anything darker than 0.9 (~242/255) is ink; mid-grey would miss staff lines.
    ink_threshold: float = 0.9
    edge_weight: float = 1.0  # multi-scale Sobel gradient L1 (losses.py)

    def __post_init__(self) -> None:
        if 2 ** (len(self.ch_mult) - 1) != IMAGE_PATCH_PX:
            raise ValueError(f"ch_mult {self.ch_mult} gives {len(self.ch_mult) - 1} downsamplings; "
                             f"{IMAGE_PATCH_PX} px patches need 4 (five entries)")
        if self.in_channels != 1:
            raise ValueError("the image codec reads grayscale images (in_channels=1)")
        for name in ("channels", "num_res_blocks", "latent_dim", "num_quantizers", "codebook_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")

    @property
    def patch_px(self) -> int:
        return 2 ** (len(self.ch_mult) - 1)


IMAGE_PRESETS: dict[str, ImageCodecConfig] = {
    # The reference recipe (GPU scale).
    "paper": ImageCodecConfig(),
    # Trains on 2 CPU cores in about half an hour to usable reconstructions; same codebooks as the paper.
    "small": ImageCodecConfig(channels=32, ch_mult=(1, 1, 2, 2, 4), num_res_blocks=1, latent_dim=64),
    # For tests: a few seconds. Codebooks shrink to 64 codes (4 quantizers kept) so that EMA and dead-code
    # restarts see every code within a few batches; the layout of tokens is the same as the paper's.
    "tiny": ImageCodecConfig(channels=8, ch_mult=(1, 1, 2, 2, 2), num_res_blocks=1, latent_dim=16,
                             codebook_size=64),
}
