"""Pack what a GPU lease needs to build its own training data: the wheels the builder imports that the GPU machine
lacks (unpacked, slimmed, one xz stream), a soundfont, and the train splits of the corpora, densely (xz).

    python scripts/gpu/pack_sources.py --wheels .whl-src --out gpu-src [--sources lieder,kern,asap] \
        [--soundfont /usr/share/sounds/sf2/TimGM6mb.sf2] [--asap-limit 40]

--wheels is a folder of CPython 3.12 manylinux wheels fetched with `pip download --no-deps` (the list and the
command: docs/gpu-data.md). The output folder is carried to the GPU machine (`carry: ["gpu-src"]`; git ignores it
through `.git/info/exclude`: `echo /gpu-src/ >> .git/info/exclude`), where scripts/gpu/build_there.sh unpacks it
and runs `scorebridge data build`. Only train pieces are packed (the split files decide, as the builder does), so
nothing held out reaches a lease. Prints the size of each part; refuses to overwrite an existing --out.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import io
import json
import lzma
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

# Members of the wheels that building data never reads: pretty_midi's 5.6 MB soundfont, music21's corpus data
# (60 MB unpacked; its modules stay), tests.
DROP = ("*.sf2", "music21/corpus/*/*", "*/tests/*", "music21/*/test*.py", "*.dist-info/RECORD")
XZ = {"format": lzma.FORMAT_XZ, "preset": 6}  # -9e was too slow on the shared 2-core VM


def tar_xz(out: Path, members: dict[str, bytes]) -> int:
    """Write ``members`` (archive name -> bytes) as one tar.xz, sorted for a deterministic file; returns its size."""
    tmp = out.with_name(out.name + ".part")
    with lzma.open(tmp, "wb", **XZ) as xz, tarfile.open(fileobj=xz, mode="w") as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(members[name]))
    tmp.replace(out)
    return out.stat().st_size


def site_members(wheels: Path) -> dict[str, bytes]:
    """The wheels unpacked as `pip install --target` lays them out, less DROP."""
    out: dict[str, bytes] = {}
    found = sorted(wheels.glob("*.whl"))
    if not found:
        raise SystemExit(f"pack_sources: {wheels}: no .whl files")
    for wheel in found:
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.endswith("/") or any(fnmatch.fnmatch(name, p) for p in DROP):
                    continue
                out[name] = z.read(name)
    return out


def stored_mxl(path: Path) -> bytes:
    """The same .mxl with its members stored, not deflated: xz then sees the XML itself (3x denser)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), zipfile.ZIP_STORED)
    return buf.getvalue()


def lieder_members(corpora: Path) -> dict[str, bytes]:
    from scorebridge.data.sources.lieder import LiederSource

    root = corpora / "openscore-lieder"
    out = {f"openscore-lieder/{p.relative_to(root)}": p.read_bytes()
           for p in [root / "index.tsv", *sorted((root / "olimpic-splits").iterdir())]}
    for spec in LiederSource(corpora).pieces():
        if spec.split == "train" and not spec.extra:
            out[f"openscore-lieder/scores/{spec.piece}.mxl"] = stored_mxl(Path(spec.path))
    return out


def kern_members(corpora: Path) -> dict[str, bytes]:
    from scorebridge.data.sources.kern import KernPianoSource

    return {f"kern/{spec.piece}.krn": Path(spec.path).read_bytes()
            for spec in KernPianoSource(corpora).pieces() if spec.split == "train"}


def asap_members(corpora: Path, limit: int | None) -> dict[str, bytes]:
    """Train score folders with their performances (at most ``limit`` performances, spread over the folders)."""
    from scorebridge.data.sources.asap import AsapSource

    root = corpora / "asap"
    specs = [s for s in AsapSource(corpora).pieces() if s.split == "train"]
    if limit is not None:
        specs = specs[:: max(1, len(specs) // limit)][:limit]
    out: dict[str, bytes] = {}
    keep: set[tuple[str, str]] = set()
    for spec in specs:
        folder, performer = spec.piece.rsplit("/", 1)
        keep.add((folder, performer))
        paths = [spec.path, *(v for k, v in spec.extra.items() if k != "score_time")]
        for p in map(Path, paths):
            if p.is_file():
                out[f"asap/{p.relative_to(root)}"] = p.read_bytes()
    with (root / "metadata.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if (r["folder"], Path(r["midi_performance"]).stem) in keep]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=reader.fieldnames or [], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    out["asap/metadata.csv"] = text.getvalue().encode()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--wheels", type=Path, help="folder of wheels to unpack into site.tar.xz")
    ap.add_argument("--corpora", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--sources", default="lieder,kern,asap", help="comma-separated: lieder, kern, asap")
    ap.add_argument("--soundfont", type=Path, help=".sf2 file to carry (xz); none by default")
    ap.add_argument("--asap-limit", type=int, default=None, help="at most N train performances")
    a = ap.parse_args()
    if a.out.exists():
        print(f"pack_sources: {a.out}: already exists (remove it or pick another --out)", file=sys.stderr)
        return 1
    sources = [s for s in a.sources.split(",") if s]
    unknown = set(sources) - {"lieder", "kern", "asap"}
    if unknown:
        print(f"pack_sources: unknown source(s) {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    tmp = a.out.with_name(a.out.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sizes: dict[str, int] = {}
    if a.wheels:
        sizes["site.tar.xz"] = tar_xz(tmp / "site.tar.xz", site_members(a.wheels))
    if a.soundfont:
        with lzma.open(tmp / "soundfont.sf2.xz", "wb", **XZ) as f:
            f.write(a.soundfont.read_bytes())
        sizes["soundfont.sf2.xz"] = (tmp / "soundfont.sf2.xz").stat().st_size
    builders = {"lieder": lambda: lieder_members(a.corpora), "kern": lambda: kern_members(a.corpora),
                "asap": lambda: asap_members(a.corpora, a.asap_limit)}
    counts: dict[str, int] = {}
    for name in sources:
        members = builders[name]()
        counts[name] = len(members)
        sizes[f"{name}.tar.xz"] = tar_xz(tmp / f"{name}.tar.xz", members)
    (tmp / "manifest.json").write_text(json.dumps({"bytes": sizes, "files": counts}, indent=1) + "\n")
    tmp.rename(a.out)
    for name, size in sizes.items():
        print(f"{name:20s} {size / 2**20:7.2f} MiB" + (f"  ({counts[name[:-7]]} files)" if name[:-7] in counts
                                                       else ""))
    print(f"{'total':20s} {sum(sizes.values()) / 2**20:7.2f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
