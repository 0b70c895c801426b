"""The command line end to end: outputs of each command, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import mido
import pytest
import soundfile as sf
from PIL import Image

from scorebridge.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["lmx", "render", "demo"])
def test_every_command_has_help(command: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "scorebridge", command, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "usage: scorebridge " + command in proc.stdout


def test_demo_writes_every_modality(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    code, stdout, _ = run_cli(capsys, "demo", "-o", str(out), "--quiet", "--no-model")
    assert code == 0
    for kind in ("systems", "pages", "lmx", "midi", "audio", "musicxml"):
        assert any(line.startswith(kind) for line in stdout.splitlines()), kind
    meta = json.loads((out / "systems" / "systems.json").read_text())
    assert len(meta["systems"]) >= 2
    covered = [m for s in meta["systems"] for m in range(s["measure_start"], s["measure_end"])]
    assert covered == list(range(16))  # the example's 16 measures, in order, each in one system
    for s in meta["systems"]:
        img = Image.open(out / "systems" / s["image"])
        assert img.mode == "L" and img.size == (s["width"], s["height"])
        assert (out / "systems" / s["lmx"]).read_text().startswith("measure ")
    notes = [m for t in mido.MidiFile(out / "score.mid").tracks for m in t if m.type == "note_on" and m.velocity]
    assert len(notes) == 98
    info = sf.info(out / "score.wav")
    assert info.channels == 1 and info.samplerate == 44_100 and 26 < info.duration < 30
    assert sorted(p.name for p in (out / "pages").iterdir()) == ["page-001.png", "page-001.svg"]
    tokens = (out / "score.lmx").read_text().split()
    assert tokens.count("measure") == 16
    assert "<score-partwise" in (out / "score-from-lmx.musicxml").read_text()


def test_lmx_prints_and_converts_back(tmp_path: Path, capsys, example_score: Path) -> None:
    code, stdout, _ = run_cli(capsys, "lmx", str(example_score))
    assert code == 0 and stdout.split()[0] == "measure"
    lmx = tmp_path / "x.lmx"
    lmx.write_text(stdout)
    code, _, _ = run_cli(capsys, "lmx", "--to-musicxml", str(lmx), "-o", str(tmp_path / "x.musicxml"))
    assert code == 0
    code, again, _ = run_cli(capsys, "lmx", str(tmp_path / "x.musicxml"))
    assert code == 0 and again == stdout


def test_render_midi_to_audio_with_other_soundfont(tmp_path: Path, capsys, example_score: Path) -> None:
    mid = tmp_path / "a.mid"
    assert run_cli(capsys, "render", str(example_score), "--to", "midi", "-o", str(mid))[0] == 0
    wav = tmp_path / "a.wav"
    code, stdout, _ = run_cli(capsys, "render", str(mid), "--to", "audio", "--soundfont", "timgm6mb",
                              "--sample-rate", "22050", "-o", str(wav))
    assert code == 0 and "timgm6mb" in stdout
    assert sf.info(wav).samplerate == 22_050


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, list[str]]]:
    text = tmp / "notes.musicxml"
    text.write_text("this is not music\n")
    corrupt = tmp / "broken.mxl"
    corrupt.write_bytes(b"PK\x03\x04 this zip was cut short")
    nopart = tmp / "nopart.musicxml"
    nopart.write_text('<?xml version="1.0"?><score-partwise version="3.1"><part-list/></score-partwise>')
    silent = tmp / "silent.mid"
    f = mido.MidiFile()
    f.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=10)]))
    f.save(silent)
    kern = tmp / "bad.krn"
    kern.write_text("**kern\t**kern\n4c\n*-\n")  # a data line with one field for two spines
    zipped = tmp / "empty.mxl"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("readme.txt", "no score here")
    return {
        "missing": (tmp / "nope.musicxml", ["render", "--to", "midi"]),
        "not music": (text, ["render", "--to", "systems"]),
        "not music (lmx)": (text, ["lmx"]),
        "corrupt mxl": (corrupt, ["lmx"]),
        "mxl without score": (zipped, ["render", "--to", "pages"]),
        "no part": (nopart, ["lmx"]),
        "midi without notes": (silent, ["render", "--to", "audio"]),
        "kern syntax": (kern, ["lmx"]),
        "kern syntax (render)": (kern, ["render", "--to", "systems"]),  # Verovio alone aborts the process
    }


@pytest.mark.parametrize("case", [
    "missing", "not music", "not music (lmx)", "corrupt mxl", "mxl without score", "no part",
    "midi without notes", "kern syntax", "kern syntax (render)",
])
def test_bad_input_is_one_line_exit_2_no_output(tmp_path: Path, capsys, case: str) -> None:
    path, args = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out" / ("result.wav" if "audio" in args else "result")
    argv = [args[0], str(path), *args[1:]]
    if args[0] == "render":
        argv += ["-o", str(out)]
    code, stdout, stderr = run_cli(capsys, *argv)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scorebridge: error: "), stderr
    assert path.name in lines[0]
    assert stdout == ""
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))


def test_unknown_soundfont_is_an_input_error(tmp_path: Path, capsys, example_score: Path) -> None:
    code, _, stderr = run_cli(capsys, "render", str(example_score), "--to", "audio", "--soundfont", "organ",
                              "-o", str(tmp_path / "x.wav"))
    assert code == 2 and "unknown soundfont" in stderr and not (tmp_path / "x.wav").exists()


def test_no_traceback_without_debug_and_traceback_with_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.musicxml"
    bad.write_text("<score-partwise><oops")
    cmd = [sys.executable, "-m", "scorebridge", "lmx", str(bad)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and str(bad) in proc.stderr
    proc = subprocess.run([*cmd, "--debug"], capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr
