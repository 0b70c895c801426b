"""The training loop: one recipe, one process or many under torchrun, resumable to the same loss curve.

Why the loss is divided by the token count of the whole step (all processes, all micro-batches) rather than
averaged per process: DDP averages gradients over processes, so dividing each process's loss *sum* by the
global token count and multiplying by the world size gives exactly the gradient of one process seeing the
whole batch — what the DDP test checks.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from scorebridge.checkpoint import config_to_dict, load_weights_strict
from scorebridge.deadline import Deadline
from scorebridge.errors import InputError
from scorebridge.modality import Modality
from scorebridge.model import TranslationBatch, Translator, save_translator, translation_loss

from . import run_folder as rf
from .assemble import model_extra, new_model, start_from, vocabulary_for
from .batches import ExampleSource, StepBatches, StepData, build_pools
from .distributed import DistEnv, all_sum, all_sum_tensor, barrier, gather_objects, init_distributed, shutdown
from .recipe import OptimConfig, TrainConfig
from .rows import read_bake_info, read_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainReport:
    out: Path
    first_step: int  # steps already done when this invocation started (0, or the resumed checkpoint's)
    steps: int  # steps done at the end
    loss: float  # mean token loss of the last logged window
    checkpoint: Path | None
    seconds: float
    examples: int  # examples this invocation trained on (all processes)


class LossModule(nn.Module):
    """The translator and its loss as one forward, so that DDP sees every parameter used inside forward."""

    def __init__(self, model: Translator, guide: float = 0.0, guide_width: float = 0.2, ctc: float = 0.0,
                 ctc_start: int = 0) -> None:
        super().__init__()
        self.model = model
        self.guide, self.guide_width, self.ctc, self.ctc_start = guide, guide_width, ctc, ctc_start

    def forward(self, batch: TranslationBatch) -> tuple[torch.Tensor, ...]:
        r = translation_loss(self.model, batch, guide=self.guide, guide_width=self.guide_width, ctc=self.ctc,
                             ctc_notation=Modality.NOTATION.index, ctc_start=self.ctc_start)
        return r.loss_sum, r.row_loss, r.row_correct, r.row_tokens


def lr_factor(step: int, total: int, optim: OptimConfig) -> float:
    """Linear warm-up to 1, then cosine to ``min_lr_ratio`` at ``decay_fraction`` x total, flat after."""
    if step < optim.warmup:
        return (step + 1) / optim.warmup
    end = max(int(total * optim.decay_fraction), optim.warmup + 1)
    progress = min((step - optim.warmup) / (end - optim.warmup), 1.0)
    return optim.min_lr_ratio + (1 - optim.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(model: nn.Module, optim: OptimConfig) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices and embedding tables only, not on biases and norms."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": optim.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=optim.lr, betas=optim.betas, eps=optim.eps)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


class _Window:
    """Loss sums per pool between two log lines (local to the process; summed over processes when logged)."""

    def __init__(self, n_pools: int) -> None:
        self.stats = torch.zeros(n_pools, 4, dtype=torch.float64)  # loss sum, correct, tokens, examples
        self.examples = 0

    def add(self, pools: torch.Tensor, row_loss: torch.Tensor, row_correct: torch.Tensor,
            row_tokens: torch.Tensor) -> None:
        rows = torch.stack([row_loss.double(), row_correct.double(), row_tokens.double(),
                            torch.ones_like(row_loss, dtype=torch.float64)], dim=1).cpu()
        self.stats.index_add_(0, pools, rows)
        self.examples += len(pools)


@dataclass(frozen=True)
class StepParts:
    """What one optimiser step touches (the trainer's, or a benchmark's)."""

    forward: nn.Module  # LossModule, possibly wrapped in DDP and/or torch.compile
    model: Translator
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    dtype: torch.dtype | None  # autocast dtype, None for fp32
    clip: float


def optimizer_step(parts: StepParts, item: StepData, env: DistEnv) -> list[tuple[torch.Tensor, ...]]:
    """Forward and backward every micro-batch of a step (gradients synchronised once, on the last), clip, step.
    Returns each micro-batch's (row_loss, row_correct, row_tokens), detached."""
    dev = env.device
    total_tokens = all_sum(sum(m.tokens for m in item.micro), env)
    parts.optimizer.zero_grad(set_to_none=True)
    stats = []
    for j, micro in enumerate(item.micro):
        sync = not env.distributed or j == len(item.micro) - 1
        no_sync = contextlib.nullcontext() if sync else parts.forward.no_sync()
        autocast = torch.autocast(dev.type, dtype=parts.dtype) if parts.dtype is not None else contextlib.nullcontext()
        with no_sync:
            with autocast:
                loss_sum, row_loss, row_correct, row_tokens = parts.forward(micro.batch.to(dev, non_blocking=True))
            loss = loss_sum * env.world / max(total_tokens, 1.0)
            parts.scaler.scale(loss).backward()
        stats.append((row_loss, row_correct, row_tokens))
    parts.scaler.unscale_(parts.optimizer)
    torch.nn.utils.clip_grad_norm_(parts.model.parameters(), parts.clip)
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    parts.scheduler.step()
    return stats


def _out_of_time(deadline: Deadline | None, env: DistEnv) -> bool:
    """Whether any process's clock has passed the deadline (so that all leave at the same step)."""
    if deadline is None:
        return False
    return all_sum(float(deadline.passed()), env) > 0


def train(config: TrainConfig, out: str | Path, *, resume: bool = False, device: str = "auto",
          progress: bool = True, stop_at: int | None = None, deadline: Deadline | None = None) -> TrainReport:
    """Train (or, with ``resume``, continue) the recipe into the run folder ``out``; see ``run_folder``.

    ``stop_at``: leave after this step with a checkpoint (a time-limited cluster job); the schedule still runs
    to ``config.steps``, so ``resume`` continues the same curve. ``deadline``: the same on a wall-clock limit
    (every process leaves at the same step)."""
    if stop_at is not None and stop_at < 1:
        raise ValueError(f"stop_at must be >= 1, got {stop_at}")
    env = init_distributed(device)
    try:
        return _Trainer(config, Path(out), env, resume, progress).run(stop_at, deadline)
    finally:
        shutdown(env)


class _Trainer:
    def __init__(self, config: TrainConfig, out: Path, env: DistEnv, resume: bool, progress: bool) -> None:
        self.config, self.out, self.env, self.progress = config, out, env, progress
        self.info = read_bake_info(config.data)
        self.vocab = vocabulary_for(self.info)
        rows = read_rows(config.data, "train", config.inputs)
        self.pools = build_pools(config.tasks, rows, config.limits)
        if not self.pools:
            raise InputError(config.data[0], "no training sample serves any task of the recipe")
        self.source = ExampleSource(rows, self.pools, self.vocab, config.limits, config.inputs,
                                    config.degrade_sources)
        if config.preload:  # before the DataLoader forks: workers share the samples
            self.source.reader.preload([rows[i] for i in sorted({i for p in self.pools for i in p.items})])
        self.model = new_model(config, self.vocab, self.info)
        if config.init is not None and not resume:
            start_from(self.model, config.init, self.vocab, self.info, config.inputs)
        self.model = self.model.to(env.device)
        self.optimizer = make_optimizer(self.model, config.optim)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, config.steps, config.optim))
        self.dtype = autocast_dtype(config.precision, env.device)
        self.scaler = torch.amp.GradScaler(env.device.type, enabled=self.dtype is torch.float16)
        self.step = 0
        # every process checks before any writes: a refusal on the main process alone would leave the others
        # waiting at the barrier
        rf.check_recipe(out, config, resume)
        barrier(env)
        if env.main:
            if not resume:
                rf.write_recipe(out, config)
            rf.copy_codecs(config.codecs, out)
        barrier(env)
        if resume:
            self._resume()
        self.forward: nn.Module = LossModule(self.model, config.guided_attention, config.guided_width, config.ctc,
                                             self.vocab.block(Modality.NOTATION).start)
        if env.distributed:
            ids = [env.device.index] if env.device.type == "cuda" else None
            self.forward = DistributedDataParallel(self.forward, device_ids=ids)
        if config.compile:
            self.forward = torch.compile(self.forward)
        self.writer = self._tensorboard() if env.main else None

    # ---- resume / checkpoints ---------------------------------------------------------------------------------
    def _resume(self) -> None:
        folder = rf.latest_checkpoint(self.out)
        if folder is None:
            raise InputError(self.out, "has no checkpoint to resume from")
        load_weights_strict(self.model, folder)
        state = rf.read_state(folder)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        rngs = state["rng"]
        if len(rngs) != self.env.world:
            log.warning("resuming %d processes' RNG states in %d processes: dropout draws will differ",
                        len(rngs), self.env.world)
        rf.set_rng_state(rngs[self.env.rank % len(rngs)])
        if self.env.main:
            rf.truncate_metrics(self.out, self.step)
        log.info("resumed %s at step %d", folder, self.step)

    def _checkpoint(self) -> Path:
        rngs = gather_objects(rf.rng_state(), self.env)
        folder = self.out / rf.checkpoint_name(self.step)
        if self.env.main:
            save_translator(self.model, folder, extra=model_extra(self.config, self.vocab, self.info, self.step))
            rf.write_state(folder, {"step": self.step, "optimizer": self.optimizer.state_dict(),
                                    "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                                    "rng": rngs})
            rf.mark_latest(self.out, folder, self.config.keep_checkpoints)
        barrier(self.env)
        return folder

    def _tensorboard(self) -> Any:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is a dependency; a broken install should not stop training
            log.warning("tensorboard is not importable; logging to metrics.jsonl only")
            return None
        return SummaryWriter(str(self.out / "tensorboard"), purge_step=self.step or None)

    # ---- the loop ---------------------------------------------------------------------------------------------
    def run(self, stop_at: int | None = None, deadline: Deadline | None = None) -> TrainReport:
        c, env = self.config, self.env
        first = self.step
        last = min(c.steps, stop_at) if stop_at is not None else c.steps
        data = StepBatches(self.source, c.seed, c.batch_size, c.accumulate, env.rank, env.world, first, last,
                           c.batch_tokens)
        # its own generator: a DataLoader otherwise draws its worker seed from the global RNG, which would
        # shift the dropout draws of a resumed run by one
        loader = DataLoader(data, batch_size=None, shuffle=False, num_workers=c.workers,
                            prefetch_factor=2 if c.workers else None, pin_memory=env.device.type == "cuda",
                            generator=torch.Generator().manual_seed(c.seed))
        window = _Window(len(self.pools))
        last_loss, checkpoint, start = float("nan"), None, time.perf_counter()
        bar = None
        if self.progress and env.main:
            from tqdm import tqdm

            bar = tqdm(total=c.steps, initial=first, desc="train", unit="step")
        self.model.train()
        for item in loader:
            self._update(item, window)
            self.step = item.step + 1
            done = self.step == last or _out_of_time(deadline, env)
            if self.step % c.log_every == 0 or done:
                last_loss = self._log(window, time.perf_counter() - start, bar)
                window = _Window(len(self.pools))
            if c.validate_every and (self.step % c.validate_every == 0 or done):
                self._validate()
            if self.step % c.checkpoint_every == 0 or done:
                checkpoint = self._checkpoint()
            if bar is not None:
                bar.update(1)
            if done:
                break
        if bar is not None:
            bar.close()
        if self.writer is not None:
            self.writer.close()
        seconds = time.perf_counter() - start
        return TrainReport(self.out, first, self.step, last_loss, checkpoint, seconds,
                           (self.step - first) * c.batch_size)

    def _update(self, item: StepData, window: _Window) -> None:
        parts = StepParts(self.forward, self.model, self.optimizer, self.scheduler, self.scaler, self.dtype,
                          self.config.optim.clip)
        for micro, (row_loss, row_correct, row_tokens) in zip(item.micro, optimizer_step(parts, item, self.env),
                                                                strict=True):
            window.add(micro.pools, row_loss, row_correct, row_tokens)

    def _log(self, window: _Window, seconds: float, bar: Any) -> float:
        stats = all_sum_tensor(window.stats.to(self.env.device), self.env).cpu()
        tokens = float(stats[:, 2].sum())
        loss = float(stats[:, 0].sum()) / max(tokens, 1.0)
        if not self.env.main:
            return loss
        row: dict[str, Any] = {"step": self.step, "loss": loss, "accuracy": float(stats[:, 1].sum()) / max(tokens, 1.0),
                               "lr": self.scheduler.get_last_lr()[0], "tokens": tokens, "seconds": round(seconds, 3),
                               "examples": int(stats[:, 3].sum())}
        per_task = {}
        for pool, (loss_sum, correct, n, examples) in zip(self.pools, stats.tolist(), strict=True):
            if n:
                per_task[pool.name] = {"loss": loss_sum / n, "accuracy": correct / n, "examples": int(examples)}
        row["tasks"] = per_task
        rf.append_metrics(self.out, row)
        if self.writer is not None:
            self.writer.add_scalar("train/loss", loss, self.step)
            self.writer.add_scalar("train/accuracy", row["accuracy"], self.step)
            self.writer.add_scalar("train/lr", row["lr"], self.step)
            for name, values in per_task.items():
                self.writer.add_scalar(f"loss/{name}", values["loss"], self.step)
                self.writer.add_scalar(f"accuracy/{name}", values["accuracy"], self.step)
        if bar is not None:
            bar.set_postfix(loss=f"{loss:.3f}", acc=f"{row['accuracy']:.3f}")
        log.info("step %d loss %.4f accuracy %.4f", self.step, loss, row["accuracy"])
        return loss

    def _validate(self) -> None:
        if self.env.main:
            from .validate import VALIDATION_DECODING, validate

            result = validate(self.model, self.config, self.vocab, self.env.device)
            rf.append_metrics(self.out, {"step": self.step, "validation": result,
                                         "decoding": config_to_dict(VALIDATION_DECODING)})
            if self.writer is not None:
                for name, values in result.items():
                    for key, value in values.items():
                        if isinstance(value, float):
                            self.writer.add_scalar(f"valid/{key}/{name}", value, self.step)
        barrier(self.env)
