"""Training the audio codec: one readable loop, resumable from its output folder.

`out_dir` holds `train_state.pt` (model, optimizers, schedulers, RNG states, step; written atomically every
`checkpoint_every` steps), `codec/` (the latest codec checkpoint, loadable by `load_audio_codec`) and
`train_log.jsonl`. Running again with the same config continues from the saved step; only `steps`,
`checkpoint_every` and `log_every` may change between runs (so a finished run can be extended).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from scorebridge.checkpoint import config_from_dict, config_to_dict
from scorebridge.deadline import Deadline
from scorebridge.errors import InputError
from scorebridge.fileio import atomic_path, write_text

from .clips import TrainClips, sample_excerpts
from .config import audio_preset
from .discriminators import Discriminator, discriminator_loss, generator_losses
from .losses import ReconstructionLoss
from .model import AudioCodec, save_audio_codec

log = logging.getLogger(__name__)

STATE_NAME = "train_state.pt"
CODEC_DIR = "codec"
LOG_NAME = "train_log.jsonl"
MAY_CHANGE_ON_RESUME = ("steps", "checkpoint_every", "log_every")
REFERENCE_EXCERPT_PER_MILLE_S = 380  # the reference trained on 0.38 s excerpts


@dataclass(frozen=True)
class AudioTrainConfig:
    preset: str = "small24k"
    steps: int = 3000
    batch_size: int = 8
    excerpt_samples: int | None = None  # None: 0.38 s at the preset's sample rate, as the reference
    lr: float = 1e-4
    betas: tuple[float, float] = (0.8, 0.99)
    lr_gamma: float = 0.999996  # ExponentialLR, per step
    grad_clip: float = 1000.0  # generator; the discriminator clips at 10 (DAC)
    adversarial: bool = False  # discriminators cost more than the codec itself: off on CPU
    disc_width: int = 32
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 50
    max_clips: int = 2000
    silence_rms: float = 1e-3

    def __post_init__(self) -> None:
        if self.steps < 0 or self.batch_size < 1 or self.checkpoint_every < 1 or self.log_every < 1:
            raise ValueError("steps must be >= 0; batch_size, checkpoint_every and log_every >= 1")

    def excerpt_length(self, sample_rate: int) -> int:
        if self.excerpt_samples is not None:
            return self.excerpt_samples
        return sample_rate * REFERENCE_EXCERPT_PER_MILLE_S // 1000


@dataclass(frozen=True)
class AudioTrainResult:
    out_dir: Path
    checkpoint: Path  # the codec folder
    start_step: int  # 0 for a fresh run, else the step resumed from
    steps: int  # total steps done (config.steps unless the deadline stopped it)
    clips: int
    first_mel_loss: float | None  # of this run's first step (None when nothing was left to do)
    last_mel_loss: float | None
    seconds: float


@dataclass(frozen=True)
class _StepLosses:
    total: float
    mel: float
    stft: float
    commitment: float
    codebook: float
    disc: float | None
    adversarial: float | None
    feature: float | None


def _check_resumable(saved: dict[str, Any], config: AudioTrainConfig, where: Path) -> None:
    old = config_from_dict(AudioTrainConfig, saved, where)
    keep = {k: getattr(old, k) for k in MAY_CHANGE_ON_RESUME}
    if replace(config, **keep) != old:
        changed = sorted(k for k, v in config_to_dict(config).items() if saved.get(k) != v
                         and k not in MAY_CHANGE_ON_RESUME)
        raise InputError(where, f"holds a run with other settings ({', '.join(changed)}); use another folder")


def _save_state(out: Path, step: int, config: AudioTrainConfig, parts: dict[str, Any]) -> None:
    state = {"step": step, "train_config": json.dumps(config_to_dict(config)), "rng_torch": torch.get_rng_state(),
             **{k: v.get_state() if isinstance(v, torch.Generator) else v.state_dict() for k, v in parts.items()}}
    if torch.cuda.is_available():
        state["rng_cuda"] = torch.cuda.get_rng_state()
    with atomic_path(out / STATE_NAME) as tmp:
        torch.save(state, tmp)


def _trim_log(path: Path, step: int) -> None:
    """Drop log lines past the resumed step (written after the last checkpoint by a killed run)."""
    if path.exists():
        lines = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
        write_text(path, "".join(ln + "\n" for ln in lines))


def train_on_clips(config: AudioTrainConfig, clips: TrainClips, out_dir: str | os.PathLike[str],
                   device: str = "cpu", progress: bool = True, deadline: Deadline | None = None) -> AudioTrainResult:
    """Train (or resume training) a codec of `config.preset` on clips in memory (at the preset's sample rate).
    Past `deadline` it saves and returns early; the same call resumes."""
    from tqdm import tqdm

    started = time.perf_counter()
    codec_cfg = audio_preset(config.preset)
    if clips.sample_rate != codec_cfg.sample_rate:
        raise ValueError(f"clips at {clips.sample_rate} Hz for a codec at {codec_cfg.sample_rate} Hz")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = torch.device(device)
    torch.manual_seed(config.seed)  # quantizer dropout draws from the global generator
    data_gen = torch.Generator().manual_seed(config.seed)

    model = AudioCodec(codec_cfg).to(dev).train()
    recon_loss = ReconstructionLoss(codec_cfg).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=config.betas)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, config.lr_gamma)
    parts: dict[str, Any] = {"model": model, "opt": opt, "sched": sched, "rng_data": data_gen}
    disc = opt_d = sched_d = None
    if config.adversarial:
        disc = Discriminator(width=config.disc_width).to(dev).train()
        opt_d = torch.optim.AdamW(disc.parameters(), lr=config.lr, betas=config.betas)
        sched_d = torch.optim.lr_scheduler.ExponentialLR(opt_d, config.lr_gamma)
        parts |= {"disc": disc, "opt_d": opt_d, "sched_d": sched_d}

    start = 0
    state_file = out / STATE_NAME
    if state_file.exists():
        state = torch.load(state_file, map_location="cpu", weights_only=True)
        _check_resumable(json.loads(state["train_config"]), config, state_file)
        for name, obj in parts.items():
            if name == "rng_data":
                data_gen.set_state(state["rng_data"])
            else:
                obj.load_state_dict(state[name])
        torch.set_rng_state(state["rng_torch"])
        if "rng_cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state(state["rng_cuda"])
        start = int(state["step"])
        _trim_log(out / LOG_NAME, start)
        log.info("resuming %s at step %d of %d", out, start, config.steps)

    length = config.excerpt_length(codec_cfg.sample_rate)
    first = last = None
    done = start
    bar = tqdm(total=config.steps, initial=start, desc=f"audio codec {config.preset}", unit="step",
               disable=not progress)
    with bar, (out / LOG_NAME).open("a") as log_file:
        for step in range(start, config.steps):
            wav = sample_excerpts(clips, config.batch_size, length, data_gen, config.silence_rms).to(dev)
            losses = _train_step(model, recon_loss, opt, wav, config, disc, opt_d)
            sched.step()
            if sched_d is not None:
                sched_d.step()
            first = losses.mel if first is None else first
            last = losses.mel
            bar.update(1)
            bar.set_postfix(mel=f"{losses.mel:.3f}")
            done = step + 1
            out_of_time = deadline is not None and deadline.passed()
            if done % config.log_every == 0 or done == config.steps or out_of_time:
                row = {"step": done, "lr": sched.get_last_lr()[0],
                       **{k: v for k, v in vars(losses).items() if v is not None}}
                log_file.write(json.dumps(row) + "\n")
                log_file.flush()
            if done % config.checkpoint_every == 0 or done == config.steps or out_of_time:
                _save_state(out, done, config, parts)
                save_audio_codec(model, out / CODEC_DIR)
            if out_of_time:
                log.info("time limit reached at step %d", done)
                break
    if not (out / CODEC_DIR).exists():
        save_audio_codec(model, out / CODEC_DIR)
    return AudioTrainResult(out, out / CODEC_DIR, start, done, len(clips.ids), first, last,
                            time.perf_counter() - started)


def _train_step(model: AudioCodec, recon_loss: ReconstructionLoss, opt: torch.optim.Optimizer, wav: torch.Tensor,
                config: AudioTrainConfig, disc: Discriminator | None,
                opt_d: torch.optim.Optimizer | None) -> _StepLosses:
    cfg = model.config
    out = model(wav)
    rec = recon_loss(out.recon, wav)
    loss = (cfg.mel_weight * rec.mel + cfg.stft_weight * rec.stft
            + cfg.commitment_weight * out.commitment_loss + cfg.codebook_weight * out.codebook_loss)
    d_loss = adv = feat = None
    if disc is not None and opt_d is not None:
        loss_d = discriminator_loss(disc(wav), disc(out.recon.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        torch.nn.utils.clip_grad_norm_(disc.parameters(), 10.0)
        opt_d.step()
        g = generator_losses(disc(wav), disc(out.recon))
        loss = loss + cfg.adv_gen_weight * g.adversarial + cfg.adv_feat_weight * g.feature_matching
        d_loss, adv, feat = _item(loss_d), _item(g.adversarial), _item(g.feature_matching)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    opt.step()
    if not math.isfinite(_item(loss)):
        raise FloatingPointError(f"codec loss is {float(loss)}; lower the learning rate")
    return _StepLosses(_item(loss), _item(rec.mel), _item(rec.stft), _item(out.commitment_loss),
                       _item(out.codebook_loss), d_loss, adv, feat)


def _item(t: torch.Tensor) -> float:
    return float(t.detach())
