"""`scorebridge video`: make-test, build (resumable), show, and one-line errors."""

from __future__ import annotations

from pathlib import Path

from scorebridge.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"


def test_make_build_show_and_rebuild(tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "ds"
    assert main(["video", "make-test", "--source", str(EXAMPLE), "--out", str(videos), "-q"]) == 0
    assert len(list(videos.glob("*.mp4"))) == 1 and len(list(videos.glob("*.truth.json"))) == 1
    assert main(["video", "build", "--videos", str(videos), "--out", str(out), "-q"]) == 0
    built = capsys.readouterr().out
    assert "from 1 videos (0 rejected, 0 done before)" in built
    assert main(["data", "check", str(out), "-q"]) == 0
    assert main(["video", "build", "--videos", str(videos), "--out", str(out), "-q"]) == 0  # nothing left to do
    assert "1 done before" in capsys.readouterr().out
    piece = next(videos.glob("*.mp4")).stem
    assert main(["video", "show", str(out), f"{piece}/1", "-o", str(tmp_path / "show"), "-q"]) == 0
    assert len(list((tmp_path / "show").glob("*.png"))) == 1 and len(list((tmp_path / "show").glob("*.wav"))) == 1


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["video", "make-test", "--source", str(tmp_path), "--out", str(tmp_path / "v")]) == 2
    assert "holds no score" in capsys.readouterr().err
    assert main(["video", "build", "--ids", str(tmp_path / "ids.txt"), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert "ids.txt" in err and len(err.splitlines()) == 1
