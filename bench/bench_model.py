"""Translator benchmark: parameters per preset, decoding speed with/without the KV cache, tiny training steps/s.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_model.py [--vocab 4500] [--threads 1]

Prints a markdown table and writes it to bench/out/bench_model.md. Random weights and tokens: speed does not
depend on what the model learned. Decoding is greedy, batch 1, from a 500-step source, with EOS masked out so
every run produces exactly the number of steps asked for.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from scorebridge.checkpoint import count_parameters
from scorebridge.decoding import DecodingOptions, generate
from scorebridge.model import MODEL_PRESETS, TranslationBatch, Translator, translation_loss

OUT = Path(__file__).resolve().parent / "out"


def preset_params(vocab: int) -> list[tuple[str, int]]:
    rows = []
    for name, cfg in MODEL_PRESETS.items():
        with torch.device("meta"):  # count without allocating 1.6 GB for "paper"
            rows.append((name, count_parameters(Translator(cfg.with_vocab(vocab)))))
    return rows


def decode_seconds(model: Translator, steps: int, use_cache: bool, src_len: int = 500) -> float:
    v = model.config.vocab_size
    g = torch.Generator().manual_seed(0)
    src = torch.randint(1, v, (1, src_len, 4), generator=g)
    pad = torch.zeros(1, src_len, dtype=torch.bool)
    x = torch.arange(src_len)[None]
    masks = torch.ones(4, v, dtype=torch.bool)
    masks[:, 0] = False
    masks[0, 2] = False  # no EOS: run the full length
    with torch.no_grad():
        memory = model.encode(src, x, torch.zeros_like(x), torch.tensor([3]), torch.tensor([1]), pad)
    t0 = time.perf_counter()
    out = generate(model, memory, pad, 1, torch.tensor([1, 0, 0, 0]), 2, masks,
                   DecodingOptions(max_steps=steps, use_cache=use_cache, loop_repeats=0)).tokens  # no stop rule either
    elapsed = time.perf_counter() - t0
    assert out.shape[1] == steps
    return elapsed


def train_steps_per_s(vocab: int, batch: int, src_len: int, tgt_len: int, steps: int) -> float:
    torch.manual_seed(0)
    model = Translator(MODEL_PRESETS["tiny"].with_vocab(vocab)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.01)
    b = TranslationBatch(
        src_tokens=torch.randint(1, vocab, (batch, src_len, 4)), src_x=torch.arange(src_len).expand(batch, -1),
        src_y=torch.zeros(batch, src_len, dtype=torch.long), src_pad=torch.zeros(batch, src_len, dtype=torch.bool),
        src_modality=torch.full((batch,), 3), tgt_tokens=torch.randint(1, vocab, (batch, tgt_len, 4)),
        tgt_x=torch.arange(tgt_len).expand(batch, -1), tgt_y=torch.zeros(batch, tgt_len, dtype=torch.long),
        tgt_modality=torch.full((batch,), 1))

    def step() -> None:
        loss = translation_loss(model, b).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=4500, help="vocabulary size for the parameter counts and speed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1000, help="decoded output length")
    ap.add_argument("--small-no-cache-steps", type=int, default=1000,
                    help="output length for the small preset with and without cache (1,000 took ~6 min on 1 CPU "
                         "thread without it; lower it for a quick run)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lines = [f"torch {torch.__version__}, CPU, {torch.get_num_threads()} thread(s), vocab {args.vocab}", ""]

    lines += ["| preset | d_model | layers enc+dec | heads | d_ff | parameters |", "|---|---|---|---|---|---|"]
    for name, n in preset_params(args.vocab):
        c = MODEL_PRESETS[name]
        lines.append(f"| {name} | {c.d_model} | {c.enc_layers}+{c.dec_layers} | {c.n_heads} | {c.d_ff} | "
                     f"{n / 1e6:.1f} M |")
    print("\n".join(lines), flush=True)

    dec = ["", "| preset | output steps | KV cache | seconds | steps/s |", "|---|---|---|---|---|"]
    runs = [("tiny", args.steps, True), ("tiny", args.steps, False), ("small", args.steps, True),
            ("small", args.small_no_cache_steps, True), ("small", args.small_no_cache_steps, False)]
    for name, steps, cache in runs:
        torch.manual_seed(0)
        cfg = dataclasses.replace(MODEL_PRESETS[name].with_vocab(args.vocab), dropout=0.0)
        model = Translator(cfg).eval()
        sec = decode_seconds(model, steps, cache)
        dec.append(f"| {name} | {steps} | {'yes' if cache else 'no'} | {sec:.2f} | {steps / sec:.1f} |")
        print(dec[-1], flush=True)
    lines += dec

    sps = train_steps_per_s(args.vocab, batch=8, src_len=128, tgt_len=128, steps=20)
    lines += ["", "| training | batch | source/target steps | steps/s |", "|---|---|---|---|",
              f"| tiny, AdamW, CPU | 8 | 128/128 | {sps:.2f} |"]
    print(lines[-1], flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_model.md").write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
