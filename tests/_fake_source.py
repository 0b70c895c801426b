"""A tiny in-memory Source for testing the build driver without engraving or synthesis."""

from __future__ import annotations

import time

import numpy as np

from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec, piece_rng, sample_id
from scorebridge.data.schema import Sample, ms_to_sample_floor
from scorebridge.midi import Note


class FakeSource:
    name = "fake"

    def __init__(self, n: int = 6, delay_s: float = 0.0, bad: tuple[int, ...] = (2, 3, 4)):
        self.n, self.delay_s, self.bad = n, delay_s, bad

    def pieces(self) -> list[PieceSpec]:
        return [PieceSpec("fake", f"composer/piece{i}", f"/nowhere/{i}.xml", ("train", "valid", "test")[i % 3])
                for i in range(self.n)]

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        time.sleep(self.delay_s)
        index = int(spec.piece[-1])
        if index in self.bad and index == 2:
            raise PieceRejected("no piano part")
        if index in self.bad and index == 3:
            raise ValueError("a bug")
        rng = piece_rng(spec, config)
        out = []
        for k in range(3):
            start, end = 1000 * k, 1000 * k + 1500
            n = ms_to_sample_floor(end, config.sample_rate) - ms_to_sample_floor(start, config.sample_rate)
            audio = None if (index in self.bad and index == 4) else rng.uniform(-0.5, 0.5, n).astype(np.float32)
            out.append(Sample(
                id=sample_id(spec, "system", k), source=spec.source, piece=spec.piece, split=spec.split,
                kind="system", start_ms=start, end_ms=end, measure_start=k, measure_end=k + 1, soundfont="fluidr3",
                sample_rate=config.sample_rate,
                image=rng.integers(0, 256, (36, 48 + k), dtype=np.uint8), lmx=("measure", "C4", "quarter"),
                notes=(Note(0, 500, 60 + k), Note(200, 1500, 64)), audio=audio, meta={"k": k},
            ))
        return out
