"""Training the image codec: random square crops of system images in memory, Adam, resumable.

The images are the train split of data-engine datasets (``train.codecs`` reads them and calls this loop).

Layout of ``out_dir``: the codec checkpoint (``config.json`` + ``model.safetensors``, loadable by
``load_image_codec``) plus ``train_state.pt`` (optimizer, step, RNG states). Both are replaced together,
atomically, every ``checkpoint_every`` steps and at the end; a run that finds a state in ``out_dir`` continues
from it, and continues exactly as an uninterrupted run would.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from scorebridge.checkpoint import config_to_dict, count_parameters
from scorebridge.constants import IMAGE_PATCH_PX
from scorebridge.deadline import Deadline
from scorebridge.errors import InputError
from scorebridge.fileio import replace_dir

from .config import IMAGE_PRESETS
from .losses import ImageLosses, image_codec_losses
from .model import ImageCodec, save_image_codec
from .preprocess import image_to_tensor

log = logging.getLogger(__name__)

STATE_NAME = "train_state.pt"
_NOT_RECIPE = ("steps", "log_every", "checkpoint_every")  # may change between a run and its resumption


@dataclass(frozen=True)
class ImageTrainConfig:
    preset: str = "small"
    steps: int = 3000
    batch_size: int = 16  # crops per batch at the first crop size; larger crops scale it down by area
    crop_sizes: tuple[int, ...] = (64, 128)  # square crops, as the reference (its sizes: 64/128/256/352)
    lr: float = 3e-4  # the reference's 4e-5 is for batches of 192 on GPUs; small CPU batches train faster higher
    betas: tuple[float, float] = (0.5, 0.9)
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 250
    max_images: int = 4000  # train images held in memory (a random choice over the datasets)

    def __post_init__(self) -> None:
        if self.preset not in IMAGE_PRESETS:
            raise ValueError(f"unknown image codec preset {self.preset!r} (known: {', '.join(IMAGE_PRESETS)})")
        if not self.crop_sizes or any(s <= 0 or s % IMAGE_PATCH_PX for s in self.crop_sizes):
            raise ValueError(f"crop sizes must be positive multiples of {IMAGE_PATCH_PX}, got {self.crop_sizes}")
        for name in ("steps", "batch_size", "log_every", "checkpoint_every", "max_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True)
class ImageTrainResult:
    out_dir: Path
    step: int  # steps done in total
    resumed_from: int  # 0 for a fresh run
    parameters: int
    losses: dict[str, float]  # the last step's loss terms
    seconds: float  # this run's wall time
    images: int  # training images in memory


def _randint(high: int, gen: torch.Generator) -> int:
    """Uniform in [0, high]."""
    return int(torch.randint(high + 1, (1,), generator=gen))


def random_crop(img: np.ndarray, size: int, gen: torch.Generator) -> np.ndarray:
    """A size x size crop; an image smaller than that is placed at a random spot on white paper first."""
    h, w = img.shape
    ph, pw = max(0, size - h), max(0, size - w)
    top, left = _randint(ph, gen), _randint(pw, gen)
    canvas = np.pad(img, ((top, ph - top), (left, pw - left)), constant_values=255)
    y, x = _randint(canvas.shape[0] - size, gen), _randint(canvas.shape[1] - size, gen)
    return canvas[y:y + size, x:x + size]


def sample_batch(images: list[np.ndarray], config: ImageTrainConfig, gen: torch.Generator) -> torch.Tensor:
    size = config.crop_sizes[_randint(len(config.crop_sizes) - 1, gen)]
    n = max(1, config.batch_size * config.crop_sizes[0] ** 2 // size ** 2)
    picks = torch.randint(len(images), (n,), generator=gen).tolist()
    return torch.cat([image_to_tensor(random_crop(images[i], size, gen)) for i in picks])


def train_on_images(config: ImageTrainConfig, images: list[np.ndarray], out_dir: Path,
                    device: str | torch.device = "cpu", deadline: Deadline | None = None) -> ImageTrainResult:
    """The loop itself, on images in memory (uint8 HxW, white paper). Past ``deadline`` it saves and returns
    early; the same call resumes."""
    out_dir, device = Path(out_dir), torch.device(device)
    torch.manual_seed(config.seed)
    model = ImageCodec(IMAGE_PRESETS[config.preset]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas)
    gen = torch.Generator().manual_seed(config.seed)  # data sampling, on CPU whatever the device
    step = _resume(out_dir, config, model, opt, gen, device)
    start, t0 = step, time.monotonic()
    log.info("image codec %s: %d parameters, %d images, steps %d -> %d on %s", config.preset,
             count_parameters(model), len(images), step, config.steps, device)
    losses: ImageLosses | None = None
    model.train()
    for step in tqdm(range(start + 1, config.steps + 1), initial=start, total=config.steps, desc="image codec",
                     disable=None):
        x = sample_batch(images, config, gen).to(device)
        out = model(x)
        losses = image_codec_losses(out.recon, x, out.commit_loss, model.config)
        opt.zero_grad(set_to_none=True)
        losses.total.backward()
        opt.step()
        if step % config.log_every == 0:
            log.info("step %d %s", step, " ".join(f"{k} {v:.4f}" for k, v in losses.as_floats().items()))
        out_of_time = deadline is not None and deadline.passed()
        if step % config.checkpoint_every == 0 or step == config.steps or out_of_time:
            _save(out_dir, config, model, opt, gen, step)
        if out_of_time:
            log.info("time limit reached at step %d", step)
            break
    step = max(step, start)
    return ImageTrainResult(out_dir, step, start, count_parameters(model),
                            losses.as_floats() if losses else {}, time.monotonic() - t0, len(images))


def _save(out_dir: Path, config: ImageTrainConfig, model: ImageCodec, opt: torch.optim.Optimizer,
          gen: torch.Generator, step: int) -> None:
    state = {"step": step, "train_config": config_to_dict(config), "model": model.state_dict(),
             "optimizer": opt.state_dict(), "torch_rng": torch.get_rng_state(), "data_rng": gen.get_state()}
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state_all()
    with replace_dir(out_dir) as tmp:  # checkpoint and state replace the old ones together
        save_image_codec(model, tmp)
        torch.save(state, tmp / STATE_NAME)
    log.info("saved step %d to %s", step, out_dir)


def _resume(out_dir: Path, config: ImageTrainConfig, model: ImageCodec, opt: torch.optim.Optimizer,
            gen: torch.Generator, device: torch.device) -> int:
    path = out_dir / STATE_NAME
    if not path.is_file():
        if out_dir.exists() and any(out_dir.iterdir()):
            raise InputError(out_dir, "exists and holds no training state; choose an empty or new folder")
        return 0
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt pickles
        raise InputError(path, f"unreadable training state: {exc}") from None
    saved = {k: v for k, v in state["train_config"].items() if k not in _NOT_RECIPE}
    wanted = {k: v for k, v in config_to_dict(replace(config)).items() if k not in _NOT_RECIPE}
    if saved != wanted:
        diff = sorted(k for k in wanted if saved.get(k) != wanted[k])
        raise InputError(out_dir, f"holds a run of another recipe (differs in {', '.join(diff)})")
    model.load_state_dict(state["model"], strict=True)
    model.to(device)
    opt.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    gen.set_state(state["data_rng"])
    if "cuda_rng" in state and device.type == "cuda":
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    log.info("resuming %s at step %d", out_dir, state["step"])
    return int(state["step"])
