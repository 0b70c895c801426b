"""`scorebridge translate IN... -o OUTDIR --to FORMAT`: files, folders and patterns; a bad file is one line and
the batch goes on; a rerun skips finished outputs (--force translates again); one summary line; exit 1 when
any file failed. Deterministic routes only (MIDI -> notation by the quantizer, notation -> MIDI by Verovio)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from _model_fixtures import NOTES
from scorebridge.cli import main
from scorebridge.cli.translate import expand_inputs
from scorebridge.midi import Note, write_midi

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    write_midi(NOTES, root / "one.mid")
    write_midi([Note(0, 400, 62, 80), Note(400, 800, 65, 80)], root / "sub" / "two.mid")
    (root / "bad.mid").write_bytes(b"MThd this is not a MIDI file")
    (root / "readme.txt").write_text("not music: left alone inside a folder")
    return root


def summary(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_a_folder_with_a_bad_file_continues_summarizes_and_fails(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["translate", str(folder), "-o", str(out), "--to", "musicxml", "-q"]) == 1
    captured = capsys.readouterr()
    assert summary(captured.out) == "2 translated, 0 skipped, 1 failed"
    failures = [line for line in captured.err.splitlines() if line.startswith("scorebridge: failed:")]
    assert len(failures) == 1 and "bad.mid" in failures[0], captured.err
    assert "Traceback" not in captured.err
    assert "<note" in (out / "one.musicxml").read_text()
    assert (out / "sub" / "two.musicxml").is_file()  # subfolders mirrored
    assert not (out / "bad.musicxml").exists() and not (out / "readme.musicxml").exists()

    before = (out / "one.musicxml").stat().st_mtime_ns
    assert main(["translate", str(folder), "-o", str(out), "--to", "musicxml", "-q"]) == 1
    assert summary(capsys.readouterr().out) == "0 translated, 2 skipped, 1 failed"
    assert (out / "one.musicxml").stat().st_mtime_ns == before  # skipped, not rewritten

    (folder / "bad.mid").unlink()
    assert main(["translate", str(folder), "-o", str(out), "--to", "notation", "--force", "-q"]) == 0
    assert summary(capsys.readouterr().out) == "2 translated, 0 skipped, 0 failed"


def test_files_and_patterns_into_one_folder(folder, tmp_path, capsys):
    score = tmp_path / "minuet.musicxml"
    shutil.copyfile(EXAMPLE, score)
    out = tmp_path / "mixed"
    assert main(["translate", str(score), str(folder / "*.mid"), str(tmp_path / "nothing-*.mid"), "-o", str(out),
                 "--to", "mid", "-q"]) == 1
    captured = capsys.readouterr()
    # minuet: Verovio's MIDI; one.mid and bad.mid: already MIDI (refused, one line each); the empty pattern: a line
    assert summary(captured.out) == "1 translated, 0 skipped, 3 failed"
    assert (out / "minuet.mid").stat().st_size > 100
    err = captured.err
    assert "nothing-*.mid: matches no file" in err and "input and output are both midi" in err


def test_two_inputs_with_one_output_name_are_not_overwritten(tmp_path, capsys):
    write_midi(NOTES, tmp_path / "a.mid")
    (tmp_path / "x").mkdir()
    write_midi(NOTES, tmp_path / "x" / "a.mid")
    assert main(["translate", str(tmp_path / "a.mid"), str(tmp_path / "x" / "a.mid"), "-o", str(tmp_path / "o"),
                 "--to", "musicxml", "-q"]) == 1
    captured = capsys.readouterr()
    assert summary(captured.out) == "1 translated, 0 skipped, 1 failed" and "rename one of them" in captured.err


def test_a_batch_needs_a_target_and_says_so_in_one_line(folder, tmp_path, capsys):
    assert main(["translate", str(folder), "-o", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--to FORMAT" in err
    assert main(["translate", str(folder), "-o", str(tmp_path / "o"), "--to", "docx", "-q"]) == 2
    assert "--to docx: expected one of" in capsys.readouterr().err
    assert main(["translate", str(folder), "-o", str(tmp_path / "o.musicxml"), "--to", "musicxml", "-q"]) == 2
    assert "names a file" in capsys.readouterr().err and not (tmp_path / "o.musicxml").exists()


def test_expand_inputs_keeps_relative_names(folder):
    found, errors = expand_inputs([str(folder), str(folder / "missing.mid")])
    assert [rel.as_posix() for _, rel in found] == ["bad", "one", "sub/two"]
    assert errors == [f"{folder / 'missing.mid'}: no such file"]


def test_one_file_keeps_its_single_file_form(tmp_path, capsys):
    write_midi(NOTES, tmp_path / "s.mid")
    assert main(["translate", str(tmp_path / "s.mid"), "-o", str(tmp_path / "s.musicxml"), "-q"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 's.musicxml'}: midi -> notation by the MIDI quantizer") and "translated" \
        not in out


def test_an_output_folder_inside_the_input_folder_is_not_read_back(folder, capsys):
    (folder / "bad.mid").unlink()
    assert main(["translate", str(folder), "-o", str(folder / "xml"), "--to", "musicxml", "-q"]) == 0
    assert main(["translate", str(folder), "-o", str(folder / "xml"), "--to", "musicxml", "-q"]) == 0
    assert summary(capsys.readouterr().out) == "0 translated, 2 skipped, 0 failed"


def test_a_file_that_trips_a_bug_does_not_stop_the_batch(folder, tmp_path, capsys, monkeypatch):
    import scorebridge.translate as translate

    real = translate.translate_file

    def flaky(request, *args, **kwargs):
        if request.input.name == "one.mid":
            raise RuntimeError("boom")
        return real(request, *args, **kwargs)

    monkeypatch.setattr(translate, "translate_file", flaky)
    (folder / "bad.mid").unlink()
    assert main(["translate", str(folder), "-o", str(tmp_path / "o"), "--to", "musicxml", "-q"]) == 1
    captured = capsys.readouterr()
    assert summary(captured.out) == "1 translated, 0 skipped, 1 failed"
    assert "one.mid: internal error: RuntimeError: boom (rerun with --debug" in captured.err
