"""Write the piece-level splits of kern-piano and ASAP into src/scorebridge/data/splits/ (run once; committed).

Usage: .venv/bin/python scripts/make_splits.py [CORPORA_DIR]
Splits are drawn per work (scorebridge.data.splits.kern_work_key / asap_work_key) with a fixed seed, so the
same sonata lands in the same split in both corpora.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scorebridge.data.splits import asap_work_key, hash_split, kern_work_key

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "scorebridge" / "data" / "splits"


def main() -> None:
    corpora = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpora"
    rows = []
    for path in sorted((corpora / "kern").glob("*/*.krn")):
        piece = f"{path.parent.name}/{path.stem}"
        work = kern_work_key(path.parent.name, path)
        rows.append((piece, hash_split(work), work))
    write(OUT / "kern-piano.tsv", rows)
    rows = []
    for path in sorted((corpora / "asap").glob("**/xml_score.mxl")):
        folder = path.parent.relative_to(corpora / "asap").as_posix()
        work = asap_work_key(folder)
        rows.append((folder, hash_split(work), work))
    write(OUT / "asap.tsv", rows)


def write(path: Path, rows: list[tuple[str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("piece\tsplit\twork\n" + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    counts = {s: sum(1 for r in rows if r[1] == s) for s in ("train", "valid", "test")}
    print(f"{path.name}: {len(rows)} pieces, {len({r[2] for r in rows})} works, {counts}")


if __name__ == "__main__":
    main()
