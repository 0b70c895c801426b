"""tinysoundfont (the wheel) against FluidSynth on the same MIDI and soundfont: level, onsets, mel distance, speed.

Usage: PYTHONPATH=src python bench/bench_tsf_synth.py [--asap 4] [--seconds 30] [--soundfont timgm6mb]
Takes the first SECONDS of the first N ASAP performance MIDI files (real piano playing), renders each with
both backends at the project's sample rate, and reports per file and overall: the RMS level difference (dB,
tinysoundfont - fluidsynth), onset F1 between the two renders' librosa onsets (50 ms, fluidsynth's as the
reference), eval.codec_metrics.mel_distance after matching levels, and each backend's x real time on one core.
Writes bench/out/bench_tsf_synth.json. Needs the fluidsynth binary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import librosa
import mir_eval
import numpy as np
import pretty_midi

from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.eval.codec_metrics import mel_distance
from scorebridge.render.synth import SynthOptions, synthesize
from scorebridge.render.tsf_synth import SYNTH_ENV

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("SCOREBRIDGE_CORPORA", ROOT.parent / "shared" / "corpora"))
OUT = ROOT / "bench" / "out"


def cut(src: Path, seconds: float, dst: Path) -> None:
    pm = pretty_midi.PrettyMIDI(str(src))
    for inst in pm.instruments:
        inst.notes = [n for n in inst.notes if n.start < seconds]
        for n in inst.notes:
            n.end = min(n.end, seconds)
        inst.control_changes = [c for c in inst.control_changes if c.time < seconds]
    pm.write(str(dst))


def render(midi: Path, backend: str, soundfont: str) -> tuple[np.ndarray, float]:
    os.environ[SYNTH_ENV] = backend
    # CPU seconds, the fluidsynth child's included: the machine is shared, wall time would count others' work
    t = cpu_s()
    audio = synthesize(midi, soundfont, options=SynthOptions(trim_tail=False))
    return audio, cpu_s() - t


def cpu_s() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def onsets(audio: np.ndarray) -> np.ndarray:
    return librosa.onset.onset_detect(y=audio, sr=AUDIO_SAMPLE_RATE, units="time", backtrack=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--asap", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--soundfont", default="timgm6mb")
    args = ap.parse_args()
    files = sorted(p for p in (CORPORA / "asap").rglob("*.mid") if p.name != "midi_score.mid")
    step = max(1, len(files) // args.asap)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for src in files[::step][: args.asap]:
            midi = Path(tmp) / "cut.mid"
            cut(src, args.seconds, midi)
            fl, fl_s = render(midi, "fluidsynth", args.soundfont)
            ts, ts_s = render(midi, "tinysoundfont", args.soundfont)
            n = min(len(fl), len(ts))
            fl, ts = fl[:n], ts[:n]
            rms_db = 20 * np.log10(np.sqrt(np.mean(ts ** 2)) / np.sqrt(np.mean(fl ** 2)))
            matched = ts * np.float32(10 ** (-rms_db / 20))
            f1, _, _ = mir_eval.onset.f_measure(onsets(fl), onsets(ts), window=0.05)
            secs = n / AUDIO_SAMPLE_RATE
            rows.append({"file": str(src.relative_to(CORPORA)), "seconds": secs, "rms_db": float(rms_db),
                         "onset_f1": float(f1), "mel_distance": float(mel_distance(fl, matched, AUDIO_SAMPLE_RATE)),
                         "mel_distance_fl_vs_silence": float(mel_distance(fl, fl * 0 + 1e-6, AUDIO_SAMPLE_RATE)),
                         "fluidsynth_xrt": secs / fl_s, "tinysoundfont_xrt": secs / ts_s})
            print(json.dumps(rows[-1]), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_tsf_synth.json").write_text(json.dumps(rows, indent=1))
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "file"}
    print("mean " + ", ".join(f"{k} {v:.3f}" for k, v in mean.items()))


if __name__ == "__main__":
    main()
