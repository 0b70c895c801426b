"""MIDI tokenizer round trip over every ASAP performance (pedal off, then pedal on).

Each performance is read, cut into 10 s windows, encoded, decoded and stitched; the decoded notes are
compared with the notes read from the file (``scorebridge.midi.roundtrip.compare_notes``: 1:1 per key in
time order, onset and offset within 10 ms). Mismatches are also compared with the re-strike policy applied
(``resolve_overlaps``), to tell the policy's changes from tokenizer errors. Prints a markdown table;
mismatches go to bench/out/midi_roundtrip.md.

    .venv/bin/python bench/bench_midi.py [--workers 2] [--limit N]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

from tqdm import tqdm

from scorebridge.midi import MidiTokenizer, read_midi, resolve_overlaps
from scorebridge.midi.roundtrip import compare_notes

REPO = Path(__file__).resolve().parents[1]
ASAP = REPO.parent / "shared" / "corpora" / "asap"
OUT = REPO / "bench" / "out"
MAX_LISTED = 200


@dataclass
class FileResult:
    path: str
    pedal: bool
    notes: int = 0
    matched: int = 0
    matched_after_policy: int = 0
    windows: int = 0
    tokens: int = 0
    max_tokens: int = 0
    windows_over_1000: int = 0
    read_s: float = 0.0
    encode_s: float = 0.0
    decode_s: float = 0.0
    mismatches: list[str] = field(default_factory=list)
    error: str | None = None


def run_file(job: tuple[str, bool]) -> FileResult:
    path, pedal = job
    res = FileResult(path, pedal)
    tok = MidiTokenizer()
    try:
        t = time.perf_counter()
        notes = read_midi(path, sustain_pedal=pedal)
        res.read_s = time.perf_counter() - t
        t = time.perf_counter()
        windows = tok.encode_notes(notes)
        res.encode_s = time.perf_counter() - t
        t = time.perf_counter()
        decoded = tok.decode_windows(windows)
        res.decode_s = time.perf_counter() - t
    except Exception as exc:  # one broken file is a row in the report, not a crashed bench
        res.error = f"{type(exc).__name__}: {exc}"
        return res
    lengths = [len(w) for w in windows]
    res.notes, res.windows, res.tokens = len(notes), len(windows), sum(lengths)
    res.max_tokens, res.windows_over_1000 = max(lengths), sum(n > 1000 for n in lengths)
    vs_file = compare_notes(notes, decoded)
    res.matched = vs_file.matched
    res.matched_after_policy = compare_notes(resolve_overlaps(notes), decoded).matched
    res.mismatches = [f"{m.reference} -> {m.decoded}" for m in vs_file.mismatches]
    return res


def summarize(results: list[FileResult], pedal: bool) -> dict[str, str]:
    rows = [r for r in results if r.pedal == pedal and r.error is None]
    notes = sum(r.notes for r in rows)
    matched = sum(r.matched for r in rows)
    windows = sum(r.windows for r in rows)
    return {
        "pedal": "on" if pedal else "off",
        "files": f"{len(rows):,}",
        "failed": str(sum(r.pedal == pedal and r.error is not None for r in results)),
        "notes": f"{notes:,}",
        "within 10 ms": f"{matched:,} ({100 * matched / notes:.4f}%)",
        "mismatches": f"{notes - matched:,}",
        "of which re-strike policy": f"{sum(r.matched_after_policy - r.matched for r in rows):,}",
        "windows": f"{windows:,}",
        "tokens/window mean": f"{sum(r.tokens for r in rows) / windows:.1f}",
        "tokens/window max": f"{max(r.max_tokens for r in rows):,}",
        "windows > 1000 tokens": f"{sum(r.windows_over_1000 for r in rows):,}",
        "read notes/s": f"{notes / sum(r.read_s for r in rows):,.0f}",
        "encode notes/s": f"{notes / sum(r.encode_s for r in rows):,.0f}",
        "decode notes/s": f"{notes / sum(r.decode_s for r in rows):,.0f}",
    }


def table(rows: list[dict[str, str]]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r[h] for h in head) + " |" for r in rows]
    return "\n".join(lines)


def report(results: list[FileResult], summary: str, wall_s: float) -> str:
    lines = ["# MIDI tokenizer round trip over ASAP performances", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; wall time {wall_s:.0f} s.", "",
             "Notes/s are single-process throughput (notes / seconds spent in that step inside one worker).",
             "'of which re-strike policy': mismatches against the file that match once a re-struck key ends",
             "the sounding note (resolve_overlaps) — the vocabulary cannot hold one key twice.",
             "", summary, ""]
    for r in results:
        if r.error:
            lines.append(f"- FAILED {r.path} (pedal {'on' if r.pedal else 'off'}): {r.error}")
    listed = 0
    for r in sorted(results, key=lambda r: (r.pedal, r.path)):
        if r.mismatches and listed < MAX_LISTED:
            lines += ["", f"## {r.path} (pedal {'on' if r.pedal else 'off'}): {len(r.mismatches)} mismatches"]
            lines += [f"- {m}" for m in r.mismatches[: MAX_LISTED - listed]]
            listed += len(r.mismatches)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="only the first N files (0 = all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # stitch warnings would flood the progress bar
    files = sorted(str(p) for p in ASAP.glob("**/*.mid") if p.name != "midi_score.mid")
    print(f"{len(files)} ASAP performance MIDI files (README: 1,067)")
    if args.limit:
        files = files[: args.limit]
    jobs = [(f, pedal) for pedal in (False, True) for f in files]
    start = time.perf_counter()
    with Pool(args.workers) as pool:
        results = list(tqdm(pool.imap_unordered(run_file, jobs, chunksize=4), total=len(jobs), unit="file"))
    wall = time.perf_counter() - start
    summary = table([summarize(results, False), summarize(results, True)])
    print(summary)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "midi_roundtrip.md").write_text(report(results, summary, wall), encoding="utf-8")
    print(f"\nwall {wall:.0f} s with {args.workers} processes; details in {OUT / 'midi_roundtrip.md'}")


if __name__ == "__main__":
    main()
