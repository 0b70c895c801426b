"""Image -> audio on held-out ASAP systems: the direct model vs. the cascade (image -> LMX -> MusicXML -> MIDI ->
FluidSynth), one judge transcriber (basic-pitch) for all, onset F1 direct and after DTW alignment.

    .venv/bin/python bench/bench_image_audio.py [--weights RUN/step-N] [--data ../datasets/asap] [--limit 8]

Rows, each over the same test systems (``eval.tasks.select_rows``, spread evenly over the split):
- the data's own FluidSynth rendering, judged: the ceiling the judge allows;
- the cascade on the truth LMX (no model): what a perfect OMR would give through this cascade;
- ours direct (``ScoreBridgeModel.translate``, as ``scorebridge eval image-audio``) and ours via notation
  (``translate_long(..., via="notation")``), with ``--weights``. A cascade whose LMX forms no score produces no
  audio and is scored as no notes (counted in the table).
Onset F1 is averaged over systems (50 ms, offsets ignored), against the system's score-time notes. Writes
bench/out/bench_image_audio.md and .json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from scorebridge.data.schema import Sample
from scorebridge.decoding import DecodingOptions
from scorebridge.errors import ScorebridgeError
from scorebridge.eval.alignment import aligned_onset_f1
from scorebridge.eval.codec_metrics import onset_f1
from scorebridge.eval.tasks import load_judge, select_rows, stream_samples

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATASETS = ROOT.parent / "datasets"

Generator = Callable[[Sample], tuple[np.ndarray, int]]  # a system sample -> (mono audio, rate); raises to fail


@dataclass(frozen=True)
class SystemScore:
    id: str
    onset_f1: float
    aligned_f1: float
    audio_s: float
    failure: str | None


@dataclass(frozen=True)
class RowResult:
    name: str
    systems: tuple[SystemScore, ...]
    seconds: float

    def mean(self, key: str) -> float | None:
        values = [getattr(s, key) for s in self.systems]
        return float(np.mean(values)) if values else None

    @property
    def failures(self) -> int:
        return sum(s.failure is not None for s in self.systems)


def run_row(name: str, samples: Sequence[Sample], generate: Generator, judge: object) -> RowResult:
    """Generate audio for every sample, judge it, score it against the sample's notes (no audio: no notes)."""
    out, started = [], time.perf_counter()
    for s in samples:
        failure = None
        try:
            audio, rate = generate(s)
        except ScorebridgeError as exc:
            audio, rate, failure = np.zeros(0, np.float32), 1, str(exc)
        judged = judge.transcribe(audio, rate) if audio.size else []  # type: ignore[attr-defined]
        truth = list(s.notes or ())
        out.append(SystemScore(s.id, onset_f1(truth, judged).f1, aligned_onset_f1(truth, judged).f1,
                               len(audio) / rate, failure))
    print(f"{name}: {len(out)} systems in {time.perf_counter() - started:.0f} s", flush=True)
    return RowResult(name, tuple(out), time.perf_counter() - started)


def truth_audio(s: Sample) -> tuple[np.ndarray, int]:
    return np.asarray(s.audio, np.float32), int(s.sample_rate or 0)


def oracle_cascade(s: Sample) -> tuple[np.ndarray, int]:
    from scorebridge.inference.stitch import notation_to_audio
    from scorebridge.notation import LinearizationError, lmx_to_musicxml

    try:
        xml = lmx_to_musicxml(list(s.lmx or ()))
    except LinearizationError as exc:
        raise ScorebridgeError(f"truth LMX forms no score ({exc.problem})") from exc
    audio, _ = notation_to_audio(xml, s.soundfont or "fluidr3")
    from scorebridge.constants import AUDIO_SAMPLE_RATE

    return audio, AUDIO_SAMPLE_RATE


# the reference's decoding: image -> audio by plain sampling at temperature 1 (seeded), OMR greedy
AUDIO_OPTIONS = DecodingOptions(method="sample", temperature=1.0, seed=0)
OMR_OPTIONS = DecodingOptions()


def model_rows(weights: str, device: str) -> list[tuple[str, Generator]]:
    from scorebridge import load_model, translate_long

    model = load_model(weights, device)

    def direct(s: Sample) -> tuple[np.ndarray, int]:
        result = model.translate(s.image, to="audio", source_modality="image", options=AUDIO_OPTIONS)
        return result.audio, result.sample_rate

    def cascade(s: Sample) -> tuple[np.ndarray, int]:
        result = translate_long(model, [s.image], to="audio", via="notation", options=OMR_OPTIONS)
        return result.audio, result.sample_rate

    return [(f"ours direct ({weights})", direct), (f"ours via notation ({weights})", cascade)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None)
    p.add_argument("--data", default=str(DATASETS / "asap"))
    p.add_argument("--limit", type=int, default=8, help="test systems")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    selection = select_rows("image-audio", [args.data], "test", args.limit)
    samples = list(stream_samples(selection.rows, []))
    judge = load_judge("basic-pitch")
    rows: list[tuple[str, Generator]] = [("FluidSynth rendering of the truth (judge ceiling)", truth_audio),
                                         ("cascade on the truth LMX (no model)", oracle_cascade)]
    if args.weights:
        rows += model_rows(args.weights, args.device)
    results = [run_row(name, samples, gen, judge) for name, gen in rows]
    text = table(results, samples, judge.name, args)  # type: ignore[attr-defined]
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_image_audio.md").write_text(text + "\n", encoding="utf-8")
    (OUT / "bench_image_audio.json").write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n",
                                                encoding="utf-8")


def table(results: Sequence[RowResult], samples: Sequence[Sample], judge: str, args: argparse.Namespace) -> str:
    seconds = sum((s.end_ms or 0) - (s.start_ms or 0) for s in samples) / 1000
    lines = [f"Image -> audio on {len(samples)} held-out systems of {Path(args.data).name} (test, "
             f"{seconds:.0f} s of score time); judge {judge}; direct: sampling T=1 seed 0, cascade OMR: greedy; "
             f"{platform.machine()}, "
             f"{os.environ.get('OMP_NUM_THREADS', 'all')} thread(s)", "",
             "| system | onset F1 % | onset F1 % after DTW | no audio | audio s generated | wall s |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        f1, al = r.mean("onset_f1"), r.mean("aligned_f1")
        lines.append(f"| {r.name} | {'n/a' if f1 is None else f'{100 * f1:.2f}'} | "
                     f"{'n/a' if al is None else f'{100 * al:.2f}'} | {r.failures} | "
                     f"{sum(s.audio_s for s in r.systems):.1f} | {r.seconds:.0f} |")
    lines.append("| U-MusT (reference) | — | — | — | — | — |")
    lines += ["", "The reference scores image -> audio by onset F1 on BPSD systems (its Tables IV-VI), numbers and "
                  "protocol not recovered (u-must.md §6-7): nothing published to quote beside these rows."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
