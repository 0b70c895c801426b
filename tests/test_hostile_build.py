"""`data build` under abuse: workers die with their parent, stale synthesis folders are swept, bad options
and truncated scores are refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scorebridge.cli import main
from scorebridge.data import build as build_module
from scorebridge.data.build import build
from scorebridge.fileio import sweep_stale_work_dirs, work_dir

sys.path.insert(0, str(Path(__file__).parent))
import _hostile as H  # noqa: E402
from _fake_source import FakeSource  # noqa: E402


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _running(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_pool_workers_die_with_the_build(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from _fake_source import FakeSource; from scorebridge.data.build import build;"
        "build(FakeSource(n=40, delay_s=0.3, bad=()), sys.argv[2], workers=2)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).parent), str(out)])
    deadline = time.time() + 60
    while time.time() < deadline and len(list((out / "pieces").glob("*.json"))) < 2:
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert workers, "the build started no workers"
    proc.send_signal(signal.SIGKILL)  # only the main process, as a user's kill PID does
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_running(w) for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if _running(w)]
    for w in alive:  # do not leave them building if the test fails
        os.kill(w, signal.SIGKILL)
    assert not alive, "pool workers outlived their build"
    done = len(list((out / "pieces").glob("*.json")))
    time.sleep(1.0)
    assert len(list((out / "pieces").glob("*.json"))) == done  # nobody builds beside a rerun


def test_resume_sweeps_work_folders_of_killed_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr("tempfile.tempdir", None)
    (tmp_path / "tmp").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / "tmp" / f"scorebridge-synth-{int(dead.stdout)}-abc123"
    stale.mkdir()
    (stale / "out.wav").write_bytes(b"\0" * 1000)
    foreign = tmp_path / "tmp" / "scorebridge-cascade-x1y2"  # no pid in the name: never touched
    foreign.mkdir()
    with work_dir("synth") as live:  # this process is alive: its folder stays
        build(FakeSource(n=3, bad=()), tmp_path / "ds", workers=1)
        assert Path(live).is_dir()
    assert not stale.exists() and foreign.is_dir()
    assert sweep_stale_work_dirs(tmp_path / "tmp") == 0


def test_pool_is_started_with_the_parent_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}
    real = build_module.cf.ProcessPoolExecutor

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module.cf, "ProcessPoolExecutor", spy)
    build(FakeSource(n=2, bad=()), tmp_path / "ds", workers=2)
    assert seen["initializer"] is build_module.die_with_parent and seen["initargs"] == (os.getpid(),)


def test_truncated_kern_is_rejected_not_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "scores").mkdir()
    H.kern_truncated(tmp_path / "scores")
    rc = main(["data", "build", "--source", str(tmp_path / "scores"), "--out", str(tmp_path / "ds"), "--workers",
               "1", "-q"])
    assert rc == 0 and "0 samples" in capsys.readouterr().out
    assert "truncated Humdrum file" in (tmp_path / "ds" / "rejected.jsonl").read_text()


def test_unknown_soundfont_is_refused_before_building(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "scores").mkdir()
    H.score_small(tmp_path / "scores")
    rc = main(["data", "build", "--source", str(tmp_path / "scores"), "--out", str(tmp_path / "ds"),
               "--soundfonts", "fluidr3,nosuch"])
    assert rc == 2 and "nosuch: unknown soundfont" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()
