"""Measure what the decoding stop rules rest on (``scorebridge.decoding.stopping``), on built datasets.

    .venv/bin/python bench/measure_decoding_bounds.py --data DIR [--data DIR ...] [--split train]

1. Length bounds: for every direction with a notation, MIDI or audio target, the target's length in generated
   steps (EOS step included) against the source's length in x positions (image: 16 px columns at the centre
   placement; audio: frames of the slowest codec preset, small24k at 46.875 frames/s; LMX, MIDI: tokens),
   per sample. The line ``steps = a * units + b`` printed is the lowest one (least total area, a linear
   programme) above every sample of ``--split``; ``--check`` splits report how many of their samples it covers
   with the bounds shipped in ``stopping.SOURCE_BOUNDS`` (the envelope times ``stopping.BOUND_MARGIN``).
2. Loops: for the LMX and MIDI token sequences of every split read, the longest exact cycle of each period
   1..8: the longest run of tokens where token[i] == token[i - p], plus p, in tokens and in copies of the
   cycle. Loop detection must fire only above the longest legitimate run.

Prints markdown tables. Reads samples only (no codec, no model), so it runs in a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

from scorebridge.codecs.audio.config import audio_preset
from scorebridge.data.dataset import load_manifest
from scorebridge.data.schema import Sample
from scorebridge.decoding.stopping import BOUND_MARGIN, SOURCE_BOUNDS, longest_cycles
from scorebridge.eval.tasks import stream_samples
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.modality import Modality
from scorebridge.tokens.shifts import shifted_image_size
from scorebridge.tokens.vocabulary import Vocabulary

IMAGE, NOTATION, MIDI, AUDIO = Modality.IMAGE, Modality.NOTATION, Modality.MIDI, Modality.AUDIO
TARGETS = (NOTATION, MIDI, AUDIO)
CODEC = audio_preset("small24k")  # the slowest frame rate of the presets: a bound per frame is loosest elsewhere
MAX_PERIOD = 8  # the table's periods; --periods widens it


def lengths(s: Sample, tokenizer: MidiTokenizer) -> dict[Modality, int]:
    """Each modality of ``s`` in x positions (sources) and its target length is derived from these."""
    out: dict[Modality, int] = {}
    if s.image is not None:
        out[IMAGE] = shifted_image_size(*s.image.shape)[1] // 16
    if s.lmx:
        out[NOTATION] = len(s.lmx)
    if s.audio is not None:
        out[AUDIO] = CODEC.frames(math.ceil(len(s.audio) * CODEC.sample_rate / s.sample_rate))
    if s.notes is not None and s.start_ms is not None:
        ticks = -(-(s.end_ms - s.start_ms) // 10)
        if ticks <= tokenizer.config.max_window_ticks:
            out[MIDI] = len(tokenizer.encode_window(list(s.notes), 0, ticks))
    return out


def target_steps(modality: Modality, n: int) -> int:
    """Generated steps of a target of ``n`` units: + the EOS step, except MIDI whose tokens end with it."""
    return n if modality is MIDI else n + 1


def envelope(units: np.ndarray, steps: np.ndarray) -> tuple[float, float]:
    """(a, b) of the lowest line a * u + b (a, b >= 0) above every (u, steps) point."""
    res = linprog(c=[units.mean(), 1.0], A_ub=-np.stack([units, np.ones_like(units)], axis=1), b_ub=-steps,
                  bounds=[(0, None), (0, None)], method="highs")
    if not res.success:
        raise RuntimeError(res.message)
    return float(res.x[0]), float(res.x[1])


def read(dirs: Sequence[str], split: str) -> list[Sample]:
    rows = [(Path(d), r) for d in dirs for r in load_manifest(d) if r["split"] == split]
    return list(stream_samples(rows, []))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--split", default="train")
    ap.add_argument("--check", default="valid,test", help="splits whose coverage by the shipped bounds is shown")
    args = ap.parse_args()
    tokenizer = MidiTokenizer(Vocabulary().config.midi)

    def pairs(samples: list[Sample]) -> dict[tuple[Modality, Modality], list[tuple[int, int]]]:
        out: dict[tuple[Modality, Modality], list[tuple[int, int]]] = defaultdict(list)
        for s in samples:
            n = lengths(s, tokenizer)
            for src in n:
                for tgt in TARGETS:
                    if tgt in n and tgt is not src:
                        out[(src, tgt)].append((n[src], target_steps(tgt, n[tgt])))
        return out

    samples = read(args.data, args.split)
    print(f"{len(samples)} {args.split} samples from {', '.join(args.data)}\n")
    print("| direction | samples | units (median) | target steps (median, max) | max steps/unit | "
          "envelope a | envelope b | shipped a | shipped b |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (src, tgt), pts in sorted(pairs(samples).items(), key=lambda kv: (kv[0][0].value, kv[0][1].value)):
        u, t = np.array(pts, float).T
        a, b = envelope(u, t)
        shipped = SOURCE_BOUNDS.get((src, tgt))
        ship = (f"{shipped.per_unit:.4f} | {shipped.offset}" if shipped else "- | -")
        print(f"| {src} → {tgt} | {len(u)} | {np.median(u):.0f} | {np.median(t):.0f}, {t.max():.0f} | "
              f"{(t / u).max():.2f} | {a:.4f} | {b:.2f} | {ship} |")

    held_out = {split: read(args.data, split) for split in args.check.split(",") if split}
    for split, held in held_out.items():
        if not held:
            continue
        print(f"\ncoverage of the shipped bounds (margin {BOUND_MARGIN}) on {len(held)} {split} samples:")
        for (src, tgt), pts in sorted(pairs(held).items(), key=lambda kv: (kv[0][0].value, kv[0][1].value)):
            bound = SOURCE_BOUNDS.get((src, tgt))
            if bound is None:
                continue
            ok = sum(steps <= bound.steps(units) for units, steps in pts)
            print(f"- {src} → {tgt}: {ok}/{len(pts)} within")

    every = samples + [s for held in held_out.values() for s in held]
    print(f"\nlongest exact cycles in the {len(every)} samples of {args.split} and {args.check}:")
    print("\n| tokens | sequences | " + " | ".join(f"p={p}" for p in range(1, MAX_PERIOD + 1)) + " |")
    print("|---|---:|" + "---:|" * MAX_PERIOD)
    lmx = [list(s.lmx) for s in every if s.lmx]
    midi = []
    for s in every:
        n = lengths(s, tokenizer)
        if MIDI in n:
            ticks = -(-(s.end_ms - s.start_ms) // 10)
            midi.append(tokenizer.encode_window(list(s.notes), 0, ticks))
    for name, seqs in (("LMX", lmx), ("MIDI", midi)):
        best = np.zeros(MAX_PERIOD, int)
        for seq in seqs:
            ids = {tok: i for i, tok in enumerate(dict.fromkeys(seq))}
            best = np.maximum(best, longest_cycles(np.array([ids[t] for t in seq]), MAX_PERIOD))
        cells = " | ".join(f"{n} ({n / p:.1f}×)" for p, n in enumerate(best, 1))
        print(f"| {name} | {len(seqs)} | {cells} |")
    print("\ncells: the longest exact cycle run in tokens (copies of the cycle)")


if __name__ == "__main__":
    main()
