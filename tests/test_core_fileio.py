import os
import stat
from pathlib import Path

import pytest

from scorebridge.errors import InputError, OutputError
from scorebridge.fileio import atomic_dir, atomic_path, check_distinct, replace_dir, write_text
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


def test_atomic_dir_adds_to_an_existing_folder_and_never_empties_it(tmp_path: Path) -> None:
    target = tmp_path / "systems"
    target.mkdir()
    (target / "mine.txt").write_bytes(b"keep")
    with atomic_dir(target) as tmp:
        (tmp / "a.png").write_bytes(b"a")
    assert sorted(p.name for p in target.iterdir()) == ["a.png", "mine.txt"]
    with pytest.raises(ValueError), atomic_dir(target) as tmp:
        (tmp / "b.png").write_bytes(b"b")
        raise ValueError
    assert sorted(p.name for p in target.iterdir()) == ["a.png", "mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["systems"]


def test_atomic_dir_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "pages"
    target.mkdir()
    (target / "page-001.png").write_bytes(b"old")
    with pytest.raises(OutputError, match="--force"), atomic_dir(target) as tmp:
        (tmp / "page-001.png").write_bytes(b"new")
        (tmp / "page-002.png").write_bytes(b"new")
    assert sorted(p.name for p in target.iterdir()) == ["page-001.png"]  # nothing moved, nothing left
    with atomic_dir(target, force=True) as tmp:
        (tmp / "page-001.png").write_bytes(b"new")
    assert (target / "page-001.png").read_bytes() == b"new"


def test_atomic_dir_never_overwrites_a_protected_input(tmp_path: Path) -> None:
    (tmp_path / "score.musicxml").write_text("<score/>")
    with pytest.raises(OutputError, match="input"), atomic_dir(tmp_path, force=True,
                                                               protect=[tmp_path / "score.musicxml"]) as tmp:
        (tmp / "score.musicxml").write_text("x")
    assert (tmp_path / "score.musicxml").read_text() == "<score/>"


def test_atomic_dir_into_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("k")
    with atomic_dir(".") as tmp:
        (tmp / "page-001.png").write_bytes(b"p")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt", "page-001.png"]


def test_folder_and_file_outputs_do_not_replace_each_other(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("f")
    (tmp_path / "folder").mkdir()
    with pytest.raises(OutputError, match="is a file"), atomic_dir(tmp_path / "file.txt"):
        pass
    with pytest.raises(OutputError, match="is a folder"), atomic_path(tmp_path / "folder"):
        pass
    with pytest.raises(OutputError, match="is a file, not a folder"), atomic_path(tmp_path / "file.txt" / "x.mid"):
        pass
    assert (tmp_path / "file.txt").read_text() == "f"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "folder"]


def test_outputs_under_system_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="system folder"):
        write_text("/proc/self/x.lmx", "x")
    with pytest.raises(OutputError, match="system folder"):
        write_text("/dev/null", "x")


def test_failed_output_removes_the_folders_it_created(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "a" / "b" / "out.mid"):
        raise RuntimeError
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "c" / "d"):
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_outputs_respect_the_umask(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        write_text(tmp_path / "x" / "out.lmx", "x")
        with atomic_dir(tmp_path / "pages") as tmp:
            (tmp / "p.png").write_bytes(b"p")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x" / "out.lmx").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "x").stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((tmp_path / "pages").stat().st_mode) == 0o777 & ~mask


def test_replace_dir_swaps_a_program_owned_folder(tmp_path: Path) -> None:
    target = tmp_path / "ckpt"
    with replace_dir(target) as tmp:
        (tmp / "old.bin").write_bytes(b"o")
    with replace_dir(target) as tmp:
        (tmp / "new.bin").write_bytes(b"n")
    assert sorted(p.name for p in target.iterdir()) == ["new.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_check_distinct_refuses_an_output_that_is_an_input(tmp_path: Path) -> None:
    score = tmp_path / "x.musicxml"
    score.write_text("s")
    with pytest.raises(OutputError, match="is the input"):
        check_distinct(tmp_path / "." / "x.musicxml", [score])
    (tmp_path / "link.musicxml").symlink_to(score)
    with pytest.raises(OutputError, match="is the input"):
        check_distinct(tmp_path / "link.musicxml", [score])
    with pytest.raises(OutputError, match="inside the input folder"):
        check_distinct(tmp_path / "out" / "a.png", [tmp_path])
    check_distinct(tmp_path / "y.musicxml", [score, None])


def test_input_error_names_file_and_problem() -> None:
    err = InputError("song.mxl", "not a zip archive")
    assert str(err) == "song.mxl: not a zip archive"
    assert "\n" not in str(err)


def test_task_rejects_identity_and_prints() -> None:
    assert str(Task(Modality.IMAGE, Modality.NOTATION)) == "image->notation"
    with pytest.raises(ValueError):
        Task(Modality.MIDI, Modality.MIDI)
