"""Drop data files that training never reads from carried wheels (pretty_midi's 6 MB bundled soundfont), so
that more of the 64 MiB that travel to a lent GPU is left for tokens. Rewrites each wheel in place (atomically),
with its RECORD listing only what it still holds, so pip installs it as before.

    python scripts/gpu/slim_wheels.py .whl            # default: drop *.sf2
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import tempfile
import zipfile
from pathlib import Path

DROP = ("*.sf2",)


def slim(wheel: Path, patterns: tuple[str, ...] = DROP) -> int:
    """Bytes saved in ``wheel`` (0 when nothing matched; the file is then left as it was)."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        dropped = {n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)}
        if not dropped:
            return 0
        before = wheel.stat().st_size
        fd, tmp = tempfile.mkstemp(suffix=".whl", dir=wheel.parent)
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
                for name in names:
                    if name in dropped:
                        continue
                    data = z.read(name)
                    if name.endswith(".dist-info/RECORD"):
                        lines = data.decode().splitlines()
                        data = ("\n".join(line for line in lines if line.split(",")[0] not in dropped) + "\n").encode()
                    out.writestr(z.getinfo(name), data)
            os.replace(tmp, wheel)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return before - wheel.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--drop", action="append", default=None, help="glob of members to drop (default *.sf2)")
    a = ap.parse_args()
    patterns = tuple(a.drop) if a.drop else DROP
    for wheel in sorted(a.folder.glob("*.whl")):
        saved = slim(wheel, patterns)
        if saved:
            print(f"{wheel.name}: {saved:,} bytes less")
    return 0


if __name__ == "__main__":
    sys.exit(main())
