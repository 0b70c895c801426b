"""scripts/gpu/pack_sources.py: wheels unpacked and slimmed into one xz, .mxl re-stored, refusal to overwrite."""

from __future__ import annotations

import importlib.util
import io
import lzma
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu" / "pack_sources.py"
spec = importlib.util.spec_from_file_location("pack_sources", SCRIPT)
pack = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pack)


def fake_wheel(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("pkg/__init__.py", "X = 1\n")
        z.writestr("pkg/data/big.sf2", b"\0" * 1000)
        z.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\n")
        z.writestr("pkg-1.0.dist-info/RECORD", "pkg/__init__.py,,\n")
    return path


def test_site_is_the_wheels_unpacked_without_dropped_members(tmp_path):
    fake_wheel(tmp_path / "pkg-1.0-py3-none-any.whl")
    out = tmp_path / "site.tar.xz"
    size = pack.tar_xz(out, pack.site_members(tmp_path))
    assert size == out.stat().st_size
    with lzma.open(out) as xz, tarfile.open(fileobj=xz) as tar:
        names = sorted(tar.getnames())
        assert tar.extractfile("pkg/__init__.py").read() == b"X = 1\n"
    assert names == ["pkg-1.0.dist-info/METADATA", "pkg/__init__.py"]


def test_mxl_is_restored_with_stored_members(tmp_path):
    src = tmp_path / "a.mxl"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", "<container/>")
        z.writestr("score.xml", "<score-partwise/>" * 50)
    with zipfile.ZipFile(io.BytesIO(pack.stored_mxl(src))) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
        assert z.read("score.xml") == b"<score-partwise/>" * 50


def test_an_existing_output_is_not_overwritten(tmp_path):
    (tmp_path / "out").mkdir()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "out"), "--sources", ""],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "already exists" in proc.stderr
