"""scripts/gpu/travel.sh: tracked files kept off a device call's copy and put back, never touched on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t"}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True, text=True).stdout


def _travel(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "scripts/gpu/travel.sh", *args], cwd=repo, env=ENV, capture_output=True,
                          text=True)


def _copied(repo: Path) -> set[str]:
    """What the device tool copies: tracked and untracked-not-ignored files."""
    return set(_git(repo, "ls-files", "-co", "--exclude-standard").split())


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    for name, data in (("src/scorebridge/weights/model/model.safetensors", b"w" * 4096),
                       ("src/scorebridge/weights/codecs/image/model.safetensors", b"c" * 2048),
                       ("src/scorebridge/code.py", b"x = 1\n"), (".gitignore", b"/gpu/\n")):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    (repo / "scripts" / "gpu").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "gpu" / "travel.sh", repo / "scripts" / "gpu" / "travel.sh")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "init")
    return repo


def test_light_keeps_the_weights_here_and_off_the_copy_and_restore_undoes_it(repo):
    before = _copied(repo)
    done = _travel(repo, "light")
    assert done.returncode == 0, done.stderr
    copied = _copied(repo)
    assert not any(name.startswith("src/scorebridge/weights/") for name in copied)
    assert "src/scorebridge/code.py" in copied
    assert (repo / "src/scorebridge/weights/model/model.safetensors").read_bytes() == b"w" * 4096
    assert "MiB would travel" in done.stdout
    again = _travel(repo, "light")
    assert again.returncode == 1 and "already light" in again.stderr
    done = _travel(repo, "restore")
    assert done.returncode == 0, done.stderr
    assert _copied(repo) == before and _git(repo, "status", "--porcelain") == ""


def test_light_takes_the_paths_it_is_given(repo):
    assert _travel(repo, "light", "src/scorebridge/weights/codecs/").returncode == 0
    copied = _copied(repo)
    assert "src/scorebridge/weights/model/model.safetensors" in copied
    assert not any(name.startswith("src/scorebridge/weights/codecs/") for name in copied)
    assert _travel(repo, "restore").returncode == 0 and _git(repo, "status", "--porcelain") == ""
    bad = _travel(repo, "light", "no/such/folder")
    assert bad.returncode == 1 and "holds no tracked files" in bad.stderr
    assert _travel(repo, "restore").stdout.startswith("travel.sh: nothing to restore")


def test_size_counts_what_is_carried_and_refuses_a_link(repo, tmp_path):
    (repo / "gpu").mkdir()
    (repo / "gpu" / "pack.sbbuilt").write_bytes(b"p" * 1048576)
    done = _travel(repo, "size", "gpu")
    assert done.returncode == 0, done.stderr
    assert "carried 1.00; the limit is 64" in done.stdout
    shutil.rmtree(repo / "gpu")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / "gpu").symlink_to(elsewhere)  # travels as a link: the pack would stay behind
    done = _travel(repo, "size", "gpu")
    assert done.returncode == 1 and "symbolic link" in done.stderr
    assert _travel(repo, "size", "nothing").returncode == 1
    (repo / "big").mkdir()
    with open(repo / "big" / "blob", "wb") as f:
        f.truncate(65 * 1048576)  # sparse: 65 MiB by size
    done = _travel(repo, "size", "big")
    assert done.returncode == 1 and "over the limit" in done.stderr
