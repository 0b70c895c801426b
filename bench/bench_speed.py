"""Speed: real-time factor of transcription (ours vs. basic-pitch vs. transkun where it runs), OMR pages per second
(page -> systems -> LMX), audio seconds generated per second (MIDI -> audio, image -> audio).

    .venv/bin/python bench/bench_speed.py --weights RUN/step-N [--seconds 30] [--pages 2] [--device cpu|cuda]

Inputs: the first ``--seconds`` of one held-out ASAP performance (the built dataset's test windows, joined), the
MuseScore pages of the first OLiMPiC test scores (``--pages`` pages), and held-out ASAP system samples (their
notes for MIDI -> audio, their images for image -> audio). Real-time factor = wall seconds / audio seconds (lower
is faster). Times include everything after the model is loaded (a first untimed call warms up). Writes
bench/out/bench_speed.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scorebridge.eval.tasks import select_rows, stream_pieces, stream_samples

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATASETS = ROOT.parent / "datasets"
LIEDER = ROOT.parent / "shared" / "corpora" / "openscore-lieder"


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - started


def held_out_audio(asap: Path, seconds: float) -> tuple[np.ndarray, int]:
    """The first ``seconds`` of the first test performance, from its consecutive windows."""
    selection = select_rows("transcription", [asap], "test", 1)
    _name, windows = next(iter(stream_pieces(selection.rows, [])))
    windows = sorted(windows, key=lambda w: w.start_ms or 0)
    rate = int(windows[0].sample_rate or 0)
    audio = np.concatenate([w.audio for w in windows])[: int(seconds * rate)]
    return np.ascontiguousarray(audio, np.float32), rate


def musescore_pages(n: int) -> list[np.ndarray]:
    import re

    from scorebridge.notation import load_musicxml, select_part
    from scorebridge.notation.compare import part_to_musicxml
    from scorebridge.pages import load_pages
    from scorebridge.render.musescore import musescore_render

    ids = re.findall(r"^(\d+):", (LIEDER / "olimpic-splits" / "test_scores.yaml").read_text(), flags=re.M)
    pages: list[np.ndarray] = []
    for score_id in ids:
        path = LIEDER / "scores" / f"{score_id}.mxl"
        with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
            score = Path(tmp) / "part.musicxml"
            score.write_text(part_to_musicxml(select_part(load_musicxml(path), None, path)), encoding="utf-8")
            pages += [p.image for f in musescore_render(score, Path(tmp) / "png", "png", 200) for p in load_pages(f)]
        if len(pages) >= n:
            return pages[:n]
    return pages


# checked on the development machine: `pip install --dry-run transkun` would add torchaudio 2.11 (built for torch
# 2.11, not the 2.13 installed here); transkun 2.0.1 installed --no-deps into a throwaway folder fails when its model
# is built, as its mel front end imports torchaudio
TRANSKUN_CHECK = "pip would add torchaudio 2.11, which does not pair with torch 2.13; cannot run here"


def transkun_status() -> str:
    """Why transkun cannot run in this environment, or '' when it imports with its model code."""
    try:
        import transkun  # noqa: F401
    except ImportError as exc:
        return f"not installed ({exc})"
    try:
        import torchaudio  # noqa: F401  (transkun's mel front end)
    except ImportError as exc:
        return f"installed but its front end needs torchaudio ({exc})"
    return ""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None)
    p.add_argument("--asap", default=str(DATASETS / "asap"))
    p.add_argument("--seconds", type=float, default=30.0, help="audio to transcribe")
    p.add_argument("--pages", type=int, default=2, help="MuseScore pages for OMR")
    p.add_argument("--systems", type=int, default=2, help="ASAP test systems for MIDI/image -> audio")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)
    threads = os.environ.get("OMP_NUM_THREADS", str(torch.get_num_threads()))
    where = (torch.cuda.get_device_name() if args.device.startswith("cuda") else
             f"CPU {platform.machine()}, {os.cpu_count()} cores, {threads} thread(s)")
    rows: list[str] = []
    audio, rate = held_out_audio(Path(args.asap), args.seconds)
    audio_s = len(audio) / rate
    model = None
    if args.weights:
        from scorebridge import load_model, translate_long

        model = load_model(args.weights, args.device)
        translate_long(model, (audio[: rate * 2], rate), to="midi")  # warm-up
        result, wall = timed(lambda: translate_long(model, (audio, rate), to="midi"))
        rows.append(f"| transcription RTF | ours ({args.weights}) | {wall / audio_s:.3f} | {audio_s:.0f} s of audio, "
                    f"{result.windows} windows, {len(result.notes)} notes, {wall:.1f} s |")
    try:
        from scorebridge.eval.transcribers import BasicPitchTranscriber

        bp = BasicPitchTranscriber()
        bp.transcribe(audio[: rate * 2], rate)
        notes, wall = timed(lambda: bp.transcribe(audio, rate))
        rows.append(f"| transcription RTF | basic-pitch (ONNX, CPU) | {wall / audio_s:.3f} | {audio_s:.0f} s of audio, "
                    f"{len(notes)} notes, {wall:.1f} s |")
    except Exception as exc:  # noqa: BLE001 - an optional peer
        rows.append(f"| transcription RTF | basic-pitch | n/a | could not run: {type(exc).__name__}: {exc} |")
    status = transkun_status()
    why = f"{status}; {TRANSKUN_CHECK}" if status else "importable, not timed by this bench"
    rows.append(f"| transcription RTF | transkun | n/a | {why} |")
    pages = musescore_pages(args.pages)
    from scorebridge.pages import page_systems

    found, wall = timed(lambda: [page_systems(pg) for pg in pages])
    n_systems = sum(len(f) for f in found)
    rows.append(f"| OMR pages/s | page -> systems only (scorebridge.pages) | {len(pages) / wall:.2f} | "
                f"{len(pages)} MuseScore pages at 200 dpi, {n_systems} systems |")
    if model is not None:
        from scorebridge import translate_long

        def omr() -> list[Any]:
            return [translate_long(model, [s.image for s in page_systems(pg)], to="notation") for pg in pages]

        _, wall = timed(omr)
        rows.append(f"| OMR pages/s | ours, page -> systems -> LMX | {len(pages) / wall:.3f} | {len(pages)} pages, "
                    f"{n_systems} systems, greedy, {wall:.1f} s |")
        samples = list(stream_samples(select_rows("image-audio", [args.asap], "test", args.systems).rows, []))
        notes = [n for s in samples[:1] for n in (s.notes or ())]
        res, wall = timed(lambda: translate_long(model, notes, to="audio"))
        gen_s = len(res.audio) / res.sample_rate
        rows.append(f"| audio s generated per s | ours, MIDI -> audio | {gen_s / wall:.3f} | {gen_s:.1f} s generated "
                    f"({res.windows} windows) in {wall:.1f} s |")
        res, wall = timed(lambda: translate_long(model, [s.image for s in samples], to="audio"))
        gen_s = len(res.audio) / res.sample_rate
        rows.append(f"| audio s generated per s | ours, image -> audio ({len(samples)} systems) | {gen_s / wall:.3f} | "
                    f"{gen_s:.1f} s generated ({res.windows} windows) in {wall:.1f} s |")
    text = "\n".join([f"Speed on {where}; torch {torch.__version__}", "",
                      "| measure | system | value | notes |", "|---|---|---:|---|", *rows, "",
                      "The reference publishes no speed figures to quote beside these."])
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_speed.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
