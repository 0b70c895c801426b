"""Notation benchmark: LMX round trip over all OpenScore Lieder piano parts, token throughput, pitch agreement.

Run: .venv/bin/python bench/bench_notation.py [--limit N] [--workers 2]
Prints markdown tables; writes bench/out/lmx_roundtrip_failures.md listing every failure with its cause.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "src"))

from scorebridge.errors import InputError  # noqa: E402
from scorebridge.notation import (  # noqa: E402
    NoPianoPartError,
    delinearize,
    linearize_part,
    lmx_to_musicxml,
    load_musicxml,
    select_part,
)
from scorebridge.notation.compare import compare_pitches, part_to_musicxml  # noqa: E402


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # identical | differ | error
    detail: str
    part_note: str
    tokens: int
    linearize_s: float
    delinearize_s: float


def first_difference(a: list[str], b: list[str]) -> str:
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    lo = max(0, i - 8)
    return (
        f"position {i} (of {len(a)} vs {len(b)}): original `{' '.join(a[lo : i + 6])}` / "
        f"round trip `{' '.join(b[lo : i + 6])}`"
    )


def round_trip(path: Path) -> Outcome:
    note = ""
    try:
        tree = load_musicxml(path)
        try:
            part = select_part(tree, None, path)
        except NoPianoPartError:
            part, note = select_part(tree, 1, path), "no piano part: part 1 used"
        t0 = time.perf_counter()
        tokens = linearize_part(part, path)
        t1 = time.perf_counter()
        back = delinearize(tokens)
        t2 = time.perf_counter()
        again = linearize_part(back, f"{path} (round trip)")
    except InputError as exc:
        return Outcome(path.name, "error", str(exc), note, 0, 0.0, 0.0)
    except Exception as exc:  # a crash is a bug, but the benchmark must report it and go on
        return Outcome(path.name, "error", f"CRASH {type(exc).__name__}: {exc}", note, 0, 0.0, 0.0)
    if again == tokens:
        return Outcome(path.name, "identical", "", note, len(tokens), t1 - t0, t2 - t1)
    return Outcome(path.name, "differ", first_difference(tokens, again), note, len(tokens), t1 - t0, t2 - t1)


def pitch_check(path: Path) -> tuple[str, int, int, str]:
    """(name, equal measures, measures, note) comparing music21 MIDI pitches of original vs LMX → MusicXML."""
    warnings.filterwarnings("ignore")  # music21 warns about wedges/pedals it skips; irrelevant to pitches
    try:
        part = select_part(load_musicxml(path), None, path)
        tokens = linearize_part(part, path)
        result = compare_pitches(part_to_musicxml(part), lmx_to_musicxml(tokens))
    except InputError as exc:
        return path.name, 0, 0, f"skipped: {exc}"
    note = (
        "" if result.first_mismatch is None else f"first mismatch at measure position {result.first_mismatch}"
    )
    return path.name, result.equal_measures, result.measures, note


def pitch_report(workers: int) -> None:
    lieder = sorted((CORPORA / "openscore-lieder" / "scores").glob("*.mxl"))[::30]
    kern = sorted((CORPORA / "kern").glob("*/*.krn"))[::25]
    print("\n### Pitch agreement: MIDI pitches per measure, original vs LMX → MusicXML (music21)\n")
    print("| corpus | pieces | skipped | measures | equal | % |\n|---|---:|---:|---:|---:|---:|")
    details = []
    with Pool(workers) as pool:
        for label, files in (("OpenScore Lieder (every 30th)", lieder), ("kern (every 25th)", kern)):
            rows = pool.map(pitch_check, files, chunksize=1)
            equal, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
            skipped = sum(1 for r in rows if r[3].startswith("skipped"))
            print(
                f"| {label} | {len(rows)} | {skipped} | {total} | {equal} | {100 * equal / max(total, 1):.2f} |"
            )
            details += [f"- `{r[0]}`: {r[1]}/{r[2]} {r[3]}" for r in rows if r[3]]
    (OUT / "lmx_pitch_agreement.md").write_text("\n".join(["# Pitch agreement notes", "", *details]) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-pitch", action="store_true")
    args = parser.parse_args()

    files = sorted((CORPORA / "openscore-lieder" / "scores").glob("*.mxl"))[: args.limit]
    outcomes: list[Outcome] = []
    start = time.perf_counter()
    with Pool(args.workers) as pool:
        for i, outcome in enumerate(pool.imap(round_trip, files, chunksize=4), start=1):
            outcomes.append(outcome)
            if i % 100 == 0 or i == len(files):
                print(
                    f"  {i}/{len(files)} scores, {time.perf_counter() - start:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    wall = time.perf_counter() - start

    counts = Counter(o.status for o in outcomes)
    n = len(outcomes)
    print(
        f"\n### LMX round trip, OpenScore Lieder piano parts ({n} scores, {args.workers} workers, {wall:.0f} s)\n"
    )
    print("| result | scores | % |\n|---|---:|---:|")
    for status in ("identical", "differ", "error"):
        print(f"| {status} | {counts[status]} | {100 * counts[status] / max(n, 1):.2f} |")
    fallback = sum(1 for o in outcomes if o.part_note)
    print(f"\n{fallback} scores have no piano part; their part 1 was round-tripped instead.")

    ok = [o for o in outcomes if o.tokens]
    tokens = sum(o.tokens for o in ok)
    lin_s = sum(o.linearize_s for o in ok)
    delin_s = sum(o.delinearize_s for o in ok)
    print("\n### LMX throughput (single process, per worker)\n")
    print("| direction | tokens | seconds | tokens/s |\n|---|---:|---:|---:|")
    print(f"| linearize (MusicXML part → LMX) | {tokens} | {lin_s:.1f} | {tokens / max(lin_s, 1e-9):,.0f} |")
    print(
        f"| delinearize (LMX → MusicXML part) | {tokens} | {delin_s:.1f} | {tokens / max(delin_s, 1e-9):,.0f} |"
    )

    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["# LMX round-trip failures (OpenScore Lieder)", ""]
    lines += [
        f"- identical {counts['identical']}, differ {counts['differ']}, error {counts['error']} of {n}",
        "",
    ]
    for o in outcomes:
        if o.status != "identical":
            lines.append(
                f"- `{o.name}` **{o.status}**{' (' + o.part_note + ')' if o.part_note else ''}: {o.detail}"
            )
    (OUT / "lmx_roundtrip_failures.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nFailures listed in {OUT / 'lmx_roundtrip_failures.md'}")

    if not args.skip_pitch:
        pitch_report(args.workers)


if __name__ == "__main__":
    main()
