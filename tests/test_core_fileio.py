from pathlib import Path

import pytest

from scorebridge.errors import InputError
from scorebridge.fileio import atomic_dir, atomic_path, write_text
from scorebridge.modality import Modality, Task


def test_atomic_path_renames_on_success(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.wav"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".wav" and tmp.parent == target.parent
        tmp.write_bytes(b"abc")
        assert not target.exists()
    assert target.read_bytes() == b"abc"
    assert list(target.parent.iterdir()) == [target]


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.mid"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.lmx"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"


def test_atomic_dir_replaces_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "systems"
    target.mkdir()
    (target / "stale.png").write_bytes(b"x")
    with atomic_dir(target) as tmp:
        (tmp / "a.png").write_bytes(b"a")
    assert sorted(p.name for p in target.iterdir()) == ["a.png"]
    with pytest.raises(ValueError), atomic_dir(target) as tmp:
        (tmp / "b.png").write_bytes(b"b")
        raise ValueError
    assert sorted(p.name for p in target.iterdir()) == ["a.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["systems"]


def test_input_error_names_file_and_problem() -> None:
    err = InputError("song.mxl", "not a zip archive")
    assert str(err) == "song.mxl: not a zip archive"
    assert "\n" not in str(err)


def test_task_rejects_identity_and_prints() -> None:
    assert str(Task(Modality.IMAGE, Modality.NOTATION)) == "image->notation"
    with pytest.raises(ValueError):
        Task(Modality.MIDI, Modality.MIDI)
