"""Our model beside the reference's published numbers and the peers that run here, in one run.

    .venv/bin/python bench/bench_eval.py --weights RUN/step-N [--lieder DIR] [--asap DIR] [--limit 20]

- OMR: SER on the OLiMPiC test split of OpenScore Lieder as our data engine builds it (Verovio engravings,
  piano part); the reference's figures are on OLiMPiC-synthetic (MuseScore 3.6.2 engravings), quoted beside.
- Transcription: note-onset F1 per piece over consecutive 10 s windows of held-out ASAP performances,
  averaged over pieces; basic-pitch (when installed by `make bench`) on the same audio, each piece
  transcribed whole, scored against the same truth notes. ``--soundfont`` re-renders every test piece with a
  soundfont the training data never used (default: MuseScore_General_Lite.sf3, Debian's
  musescore-general-soundfont-small, when installed; the builds use FluidR3 and TimGM6mb).
Without ``--weights`` only the peer rows run (no weights ship yet). Prints markdown tables; writes
bench/out/bench_eval.md and the full JSON reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from scorebridge.eval.codec_metrics import onset_f1
from scorebridge.eval.pieces import join_truth_windows
from scorebridge.eval.runs import truth_window
from scorebridge.eval.tasks import REFERENCE_OPTIONS, evaluate, select_rows, stream_pieces
from scorebridge.midi import write_midi
from scorebridge.render import synthesize

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DATASETS = ROOT.parent / "datasets"  # built datasets beside the checkout (as on the development machine)

# u-must.md §7 (published); the conditions differ from ours as the table notes say
REFERENCE_OMR = [("U-MusT full model (reference, OLiMPiC-synthetic)", 9.72),
                 ("U-MusT OMR-only (reference, OLiMPiC-synthetic)", 15.90),
                 ("Zeus (as quoted by the reference, OLiMPiC-synthetic)", 10.10)]
REFERENCE_AMT = [("U-MusT (reference, MAESTRO)", 89.45)]
HELD_OUT_SOUNDFONT = Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3")


def asap_pieces(asap: Path, limit: int | None, soundfont: Path | None) -> list[tuple[str, list]]:
    """The test pieces' window samples, in time order; with ``soundfont`` each piece's truth notes are rendered
    again in one pass and cut back into the windows (the same spans, so the truth stays aligned)."""
    from scorebridge.data.schema import ms_to_sample_floor

    pieces = []
    for name, windows in stream_pieces(select_rows("transcription", [asap], "test", limit).rows, []):
        windows = sorted(windows, key=lambda w: w.start_ms or 0)
        if soundfont is not None:
            notes = join_truth_windows([truth_window(w) for w in windows])
            rate = windows[0].sample_rate
            with tempfile.TemporaryDirectory() as tmp:
                write_midi(notes, Path(tmp) / "piece.mid")
                audio = synthesize(Path(tmp) / "piece.mid", soundfont=soundfont, sample_rate=rate)
            audio = audio if audio.ndim == 1 else audio.mean(axis=1)
            redone = []
            for w in windows:
                start, end = ms_to_sample_floor(w.start_ms, rate), ms_to_sample_floor(w.end_ms, rate)
                part = np.zeros(end - start, np.float32)
                got = audio[start:end]
                part[:len(got)] = got
                redone.append(dataclasses.replace(w, audio=part, soundfont=soundfont.name))
            windows = redone
        pieces.append((name, windows))
    return pieces


def basic_pitch_rows(pieces: list[tuple[str, list]]) -> tuple[list[float], float, float] | None:
    """Per-piece onset F1 of basic-pitch, total audio seconds and wall seconds; None when not installed."""
    try:
        from scorebridge.eval.transcribers import BasicPitchTranscriber

        judge = BasicPitchTranscriber()
        judge.transcribe(np.zeros(22050, np.float32), 22050)
    except Exception as exc:  # noqa: BLE001 - the extra is optional
        print(f"basic-pitch unavailable ({type(exc).__name__}: {exc}); `make bench` installs it")
        return None
    scores, audio_s, started = [], 0.0, time.perf_counter()
    for _name, windows in pieces:
        audio = np.concatenate([w.audio for w in windows])
        rate = windows[0].sample_rate
        audio_s += len(audio) / rate
        truth = join_truth_windows([truth_window(w) for w in windows])
        scores.append(onset_f1(truth, judge.transcribe(audio, rate)).f1)
    return scores, audio_s, time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None)
    p.add_argument("--lieder", default=str(DATASETS / "lieder"))
    p.add_argument("--asap", default=str(DATASETS / "asap"))
    p.add_argument("--limit", type=int, default=20, help="samples (OMR) and pieces (transcription)")
    p.add_argument("--pieces", type=int, default=None, help="transcription pieces (default: --limit)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--soundfont", default=str(HELD_OUT_SOUNDFONT) if HELD_OUT_SOUNDFONT.is_file() else None,
                   help="re-render the transcription test pieces with this soundfont ('none': the built audio)")
    args = p.parse_args()
    soundfont = None if args.soundfont in (None, "none") else Path(args.soundfont)
    rendered = f"re-rendered with {soundfont.name}" if soundfont else "the build's FluidSynth audio"
    OUT.mkdir(parents=True, exist_ok=True)
    lines = []
    omr_rows = [f"| {name} | {ser:.2f} | — |" for name, ser in REFERENCE_OMR]
    amt_rows = [f"| {name} | {f1:.2f} | — |" for name, f1 in REFERENCE_AMT]
    if args.weights:
        if Path(args.lieder, "manifest.jsonl").is_file():
            r = evaluate("omr", [args.lieder], args.weights, limit=args.limit, progress=True, device=args.device)
            r.save(OUT / "eval_omr.json")
            ser = r.scores.ser
            omr_rows.insert(0, f"| ours ({args.weights}, Lieder test, Verovio) | "
                               f"{'n/a' if ser is None else f'{100 * ser:.2f}'} | {r.samples} evaluated, "
                               f"{len(r.skipped)} skipped, {r.seconds:.0f} s |")
    asap_ok = Path(args.asap, "manifest.jsonl").is_file()
    pieces = asap_pieces(Path(args.asap), args.pieces or args.limit, soundfont) if asap_ok else []
    if args.weights and pieces:
        from scorebridge.api import load_model
        from scorebridge.eval.runs import run_transcription

        started = time.perf_counter()
        out = run_transcription(load_model(args.weights, args.device), pieces, REFERENCE_OPTIONS["transcription"])
        f1 = out.scores.onset.f1 if out.scores.onset else None
        amt_rows.insert(0, f"| ours ({args.weights}), ASAP test, {rendered} | "
                           f"{'n/a' if f1 is None else f'{100 * f1:.2f}'} | {out.evaluated} pieces, "
                           f"{len(out.skipped)} skipped, {time.perf_counter() - started:.0f} s |")
    if pieces:
        bp = basic_pitch_rows(pieces)
        if bp is not None:
            scores, audio_s, wall = bp
            amt_rows.append(f"| basic-pitch 0.4 (ONNX), the same pieces, {rendered} | "
                            f"{100 * float(np.mean(scores)):.2f} | {len(scores)} pieces, "
                            f"{audio_s / wall:.1f} s of audio per s |")
    lines += ["OMR: symbol error rate (%) on LMX, greedy", "", "| system | SER % | notes |", "|---|---:|---|",
              *omr_rows, "", "Transcription: note-onset F1 (%) per piece, 50 ms, averaged over pieces", "",
              "| system | onset F1 % | notes |", "|---|---:|---|", *amt_rows]
    text = "\n".join(lines)
    print(text)
    (OUT / "bench_eval.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
