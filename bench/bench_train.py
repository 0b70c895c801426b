"""Translator training throughput: steps/s, target tokens/s and model FLOP utilisation of the real training step.

    OMP_NUM_THREADS=2 .venv/bin/python bench/bench_train.py                      # CPU: tiny and small shapes
    .venv/bin/python bench/bench_train.py --device cuda --preset paper --batch 24 --src 1000 --tgt 1750 \\
        --peak-tflops 989 [--compile]                                           # a GPU, the issue's paper shape

Random tokens over the full vocabulary (speed does not depend on what is learned). Each step is
``scorebridge.train.loop.optimizer_step``: the trainer's forward (loss in chunks), backward, clipping and AdamW.
FLOPs per step are counted by ``torch.utils.flop_counter`` on one step (the matmuls and attention actually
run; on CPU, where torch has no formula for its attention kernel, attention is added analytically), so
MFU = counted FLOPs x steps/s / peak. Optionally ``--data BAKED`` also times ``scorebridge.train.train``
end to end on real baked shards (data reading included). Prints a markdown table; writes bench/out/bench_train.md.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from scorebridge.checkpoint import count_parameters
from scorebridge.model import Translator, model_preset
from scorebridge.tokens.vocabulary import Vocabulary
from scorebridge.train.batches import MicroBatch, StepData, target_tokens
from scorebridge.train.distributed import DistEnv
from scorebridge.train.loop import LossModule, StepParts, autocast_dtype, make_optimizer, optimizer_step
from scorebridge.train.recipe import OptimConfig

OUT = Path(__file__).resolve().parent / "out"


def random_step(vocab: int, batch: int, src: int, tgt: int, seed: int = 0) -> StepData:
    from scorebridge.model import TranslationBatch

    g = torch.Generator().manual_seed(seed)
    b = TranslationBatch(
        src_tokens=torch.randint(1, vocab, (batch, src, 4), generator=g), src_x=torch.arange(src).expand(batch, -1),
        src_y=torch.zeros(batch, src, dtype=torch.long), src_pad=torch.zeros(batch, src, dtype=torch.bool),
        src_modality=torch.full((batch,), 0), tgt_tokens=torch.randint(1, vocab, (batch, tgt, 4), generator=g),
        tgt_x=torch.arange(tgt).expand(batch, -1), tgt_y=torch.zeros(batch, tgt, dtype=torch.long),
        tgt_modality=torch.full((batch,), 3))
    return StepData(0, (MicroBatch(b, torch.zeros(batch, dtype=torch.long), target_tokens(b)),))


def attention_flops(cfg, batch: int, src: int, tgt: int) -> int:
    """Forward + backward FLOPs of the fused attention calls (QK^T and AV, 2 per multiply-add, backward = 2x
    forward, full matrices as flop_counter counts them on CUDA): encoder self, decoder self and cross."""
    pairs = cfg.enc_layers * src * src + cfg.dec_layers * (tgt * tgt + tgt * src)
    return 3 * 4 * batch * pairs * cfg.d_model


def measure(preset: str, batch: int, src: int, tgt: int, device: torch.device, precision: str, compile_: bool,
            steps: int, warmup: int) -> dict:
    vocab = Vocabulary().size
    torch.manual_seed(0)
    cfg = model_preset(preset, vocab)
    if max(src, tgt) > cfg.max_x:
        raise SystemExit(f"{preset} has {cfg.max_x} positions; use --src/--tgt below that")
    model = Translator(cfg).to(device).train()
    forward = LossModule(model)
    if compile_:
        forward = torch.compile(forward)
    optim = OptimConfig(warmup=1)
    opt = make_optimizer(model, optim)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    dtype = autocast_dtype(precision, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
    parts = StepParts(forward, model, opt, sched, scaler, dtype, optim.clip)
    env = DistEnv(0, 1, 0, device)
    item = random_step(vocab, batch, src, tgt)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        optimizer_step(parts, item, env)
    counter = FlopCounterMode(display=False)
    with counter:
        optimizer_step(parts, item, env)
    flops = counter.get_total_flops()
    if not any("scaled_dot_product" in str(op) for op in counter.get_flop_counts().get("Global", {})):
        flops += attention_flops(cfg, batch, src, tgt)  # the CPU attention kernel has no FLOP formula in torch
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        optimizer_step(parts, item, env)
    sync()
    seconds = (time.perf_counter() - t0) / steps
    memory = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    return {"preset": preset, "params": count_parameters(model), "batch": batch, "src": src, "tgt": tgt,
            "steps_s": 1 / seconds, "tokens_s": item.micro[0].tokens / seconds, "tflop_step": flops / 1e12,
            "tflops_s": flops / seconds / 1e12, "memory_gib": memory}


def end_to_end(data: str, device: str, steps: int) -> dict:
    """`train()` on real baked shards with the cpu-tiny recipe's shape: steps/s including data reading."""
    from scorebridge.train import read_recipe, train

    recipe = Path(__file__).resolve().parents[1] / "configs" / "cpu-tiny.toml"
    config = read_recipe(recipe, data=(data,), steps=steps, validate_every=0, checkpoint_every=steps)
    with tempfile.TemporaryDirectory() as tmp:
        report = train(config, Path(tmp) / "run", device=device, progress=False)
    return {"steps_s": report.steps / report.seconds, "examples_s": report.examples / report.seconds,
            "batch": config.batch_size, "steps": report.steps}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--preset", action="append", default=None, help="tiny, compact, small, paper (repeatable)")
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--src", type=int, default=None)
    p.add_argument("--tgt", type=int, default=None)
    p.add_argument("--precision", default="auto")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--peak-tflops", type=float, default=None, help="the device's dense peak, for MFU")
    p.add_argument("--data", default=None, help="a baked folder: also time train() end to end")
    args = p.parse_args()
    device = torch.device(args.device)
    cpu = device.type == "cpu"
    shapes = {"tiny": (8, 500, 500), "compact": (8, 500, 500), "small": (2, 500, 500), "paper": (24, 1000, 1750)}
    rows = []
    for preset in args.preset or (["tiny", "small"] if cpu else ["small", "paper"]):
        batch, src, tgt = shapes[preset] if cpu or preset != "small" else (64, 1000, 1750)
        rows.append(measure(preset, args.batch or batch, args.src or src, args.tgt or tgt, device, args.precision,
                            args.compile, args.steps, args.warmup))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    lines = [f"Device: {name}; precision {args.precision}; compile {args.compile}; torch {torch.__version__}", "",
             "| preset | params | batch | source / target steps | steps/s | target tokens/s | TFLOP/step | "
             "TFLOP/s | MFU | peak memory GiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mfu = f"{r['tflops_s'] / args.peak_tflops:.1%}" if args.peak_tflops else "n/a"
        lines.append(f"| {r['preset']} | {r['params'] / 1e6:.1f}M | {r['batch']} | {r['src']} / {r['tgt']} | "
                     f"{r['steps_s']:.3f} | {r['tokens_s']:,.0f} | {r['tflop_step']:.3f} | {r['tflops_s']:.3f} | "
                     f"{mfu} | {r['memory_gib']:.1f} |")
    if args.data:
        e = end_to_end(args.data, args.device, 20)
        lines += ["", f"End to end (`train()` on {args.data}, cpu-tiny recipe, batch {e['batch']}, {e['steps']} "
                  f"steps): {e['steps_s']:.2f} steps/s, {e['examples_s']:.1f} examples/s"]
    text = "\n".join(lines)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_train.md").write_text(text + "\n")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
