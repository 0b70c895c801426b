"""Samples per lease of a pixels + mel lease: the dense pack of a built dataset (shards/built_pack.py) against the
built folder as it travelled before (`tar -cJf`: PNG + FLAC), the CPU time of unpacking it (the audio made
again from the notes, per synthesizer), and how close that audio is to the built audio.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_built_pack.py --data data/voice-short --pieces 12

Sizes: bytes per sample of each packing on the first ``--pieces`` pieces (copied, so tar reads files, not links).
Unpacking: CPU seconds (the fluidsynth child processes included) per sample, one worker. Fidelity, per sample
with notes: `eval.codec_metrics.mel_distance` between the built and the resynthesized audio after matching
levels (the built audio against silence for scale), and the onset F1 (50 ms) of librosa's onsets of the
resynthesized audio against the built audio's. Samples per lease: the room left in the 64 MiB that travel
beside the tree (full, or light: `scripts/gpu/travel.sh light`), the wheels and the soundfont, over the bytes
per sample. Writes bench/out/bench_built_pack.md.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import librosa
import mir_eval
import numpy as np

from scorebridge.data.dataset import iter_samples, load_manifest
from scorebridge.eval.codec_metrics import mel_distance
from scorebridge.render.tsf_synth import SYNTH_ENV
from scorebridge.shards.built_pack import pack_built, unpack_built
from scorebridge.shards.pack import tar_xz_size

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
LEASE_BYTES = 64 * 2**20
WEIGHTS = "src/scorebridge/weights/"
# the wheels a pixels + mel lease carries (scripts/gpu/wheels-read.txt, downloaded for CPython 3.12 and slimmed by
# slim_wheels.py; measured 2026-12-07): training, FLAC, the mel filterbank, and tinysoundfont for the pack's audio
READ_WHEELS = 3_060_045
TINYSOUNDFONT_WHEEL = 192_372  # not needed when the built audio travels


def cpu_s() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def subset(data: Path, pieces: int, out: Path) -> Path:
    rows = load_manifest(data)
    shards = list(dict.fromkeys(r["shard"] for r in rows))[:pieces]
    keep = [r for r in rows if r["shard"] in set(shards)]
    (out / "shards").mkdir(parents=True)
    for shard in shards:
        shutil.copyfile(data / shard, out / shard)
    if (data / "config.json").is_file():
        shutil.copyfile(data / "config.json", out / "config.json")
    (out / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in keep))
    return out


def tree_bytes(light: bool) -> int:
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout.split(b"\0")
    total = 0
    for name in filter(None, (f.decode() for f in files)):
        if light and name.startswith(WEIGHTS):
            continue
        path = ROOT / name
        total += path.stat().st_size if path.is_file() else 0
    return total


def onset_f1(reference: np.ndarray, estimate: np.ndarray, rate: int) -> float | None:
    ref = librosa.onset.onset_detect(y=reference, sr=rate, units="time")
    if len(ref) == 0:
        return None
    est = librosa.onset.onset_detect(y=estimate, sr=rate, units="time")
    return float(mir_eval.onset.f_measure(ref, est, window=0.05)[0])


def fidelity(built: Path, unpacked: Path, limit: int) -> dict[str, float]:
    originals = {s.id: s for s in iter_samples(built) if s.notes}
    mel, silence, f1s = [], [], []
    for s in iter_samples(unpacked):
        a = originals.get(s.id)
        if a is None or a.audio is None or len(mel) >= limit:
            continue
        gain = np.sqrt(np.mean(a.audio ** 2) / max(np.mean(s.audio ** 2), 1e-12))
        mel.append(mel_distance(a.audio, s.audio * gain, a.sample_rate))
        silence.append(mel_distance(a.audio, np.zeros_like(a.audio), a.sample_rate))
        f1 = onset_f1(a.audio, s.audio, a.sample_rate)
        if f1 is not None:
            f1s.append(f1)
    return {"samples": len(mel), "mel": float(np.mean(mel)), "mel_silence": float(np.mean(silence)),
            "onset_f1": float(np.mean(f1s)) if f1s else float("nan"), "onset_samples": len(f1s)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="a built dataset")
    ap.add_argument("--pieces", type=int, default=12)
    ap.add_argument("--soundfont", default="timgm6mb")
    ap.add_argument("--soundfont-file", type=Path, default=Path("/usr/share/sounds/sf2/TimGM6mb.sf2"))
    ap.add_argument("--fidelity", type=int, default=200, help="samples compared for fidelity")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = subset(args.data, args.pieces, tmp / "built")
        n = len(load_manifest(data))
        sizes = {"`tar -cJf` of the built folder (PNG + FLAC; before)": tar_xz_size(data) / n}
        for bits, audio in ((8, "synth"), (4, "synth"), (2, "synth"), (4, "flac")):
            report = pack_built(data, tmp / f"p{bits}{audio}.sbbuilt", bits=bits, audio=audio)
            what = "no audio (made again on unpack)" if audio == "synth" else "FLAC audio carried"
            sizes[f"`built_pack`, {bits}-bit grey, {what}"] = report.bytes / n
        soundfont_xz = len(lzma.compress(args.soundfont_file.read_bytes(), preset=9 | lzma.PRESET_EXTREME))
        unpack_rows, fid = [], {}
        for backend in ("fluidsynth", "tinysoundfont"):
            os.environ[SYNTH_ENV] = backend
            t = cpu_s()
            unpack_built(tmp / "p4synth.sbbuilt", tmp / f"un-{backend}", soundfont=args.soundfont)
            unpack_rows.append((backend, (cpu_s() - t) / n))
            fid[backend] = fidelity(data, tmp / f"un-{backend}", args.fidelity)
    trees = {"full (weights travel)": tree_bytes(False), "light (`travel.sh light`)": tree_bytes(True)}
    lines = [f"# bench_built_pack: {n} samples of the first {args.pieces} pieces of {args.data.name}", "",
             "| packing | bytes per sample |", "|---|---:|"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in sizes.items()]
    lines += ["", f"Soundfont {args.soundfont_file.name} after xz -9e: {soundfont_xz:,} bytes; wheels "
              f"(scripts/gpu/wheels-read.txt, slimmed): {READ_WHEELS:,} bytes.", "",
              "| tree | tree MiB | samples per lease, 4-bit pack + soundfont | built folder, tar.xz |",
              "|---|---:|---:|---:|"]
    per_4 = sizes["`built_pack`, 4-bit grey, no audio (made again on unpack)"]
    per_tar = sizes["`tar -cJf` of the built folder (PNG + FLAC; before)"]
    for name, tree in trees.items():
        room_pack = LEASE_BYTES - tree - READ_WHEELS - soundfont_xz
        room_tar = LEASE_BYTES - tree - (READ_WHEELS - TINYSOUNDFONT_WHEEL)
        lines.append(f"| {name} | {tree / 2**20:.2f} | {max(0, int(room_pack / per_4)):,} | "
                     f"{max(0, int(room_tar / per_tar)):,} |")
    lines += ["", "| unpacking with | CPU s per sample (one worker) | mel distance to the built audio "
              "(built vs silence) | onset F1 vs the built audio's onsets |", "|---|---:|---:|---:|"]
    for backend, per in unpack_rows:
        f = fid[backend]
        lines.append(f"| {backend} | {per:.3f} | {f['mel']:.3f} ({f['mel_silence']:.2f}), {f['samples']} samples | "
                     f"{f['onset_f1']:.3f} ({f['onset_samples']} samples) |")
    text = "\n".join(lines) + "\n"
    (OUT / "bench_built_pack.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
