"""`scorebridge data build/stats/show/check` end to end on a folder of scores."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import soundfile as sf
from PIL import Image

from scorebridge.cli import main


def test_data_build_stats_show_check(tmp_path: Path, capsys, example_score: Path) -> None:
    scores = tmp_path / "my-scores"
    scores.mkdir()
    shutil.copy(example_score, scores / "minuet.musicxml")
    (scores / "broken.musicxml").write_text("<score-partwise><part-list/></score-partwise>")
    out = tmp_path / "ds"
    argv = ["data", "build", "--source", str(scores), "--out", str(out), "--soundfonts", "timgm6mb",
            "--workers", "2", "--quiet"]
    assert main(argv) == 0
    summary = capsys.readouterr().out
    assert "2 pieces" in summary and "1 rejected" in summary
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert [r["piece"] for r in rejected] == ["broken"] and "no <part>" in rejected[0]["reason"]
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert rows and all(r["modalities"] == ["image", "lmx", "midi", "audio"] for r in rows)
    covered = [m for r in rows for m in range(r["measure_start"], r["measure_end"])]
    assert covered == sorted(set(covered)) and set(covered) <= set(range(16))

    assert main(argv) == 0  # a second run resumes: nothing left to build
    assert "0 built now, 2 resumed" in capsys.readouterr().out

    assert main(["data", "stats", str(out)]) == 0
    stats = capsys.readouterr().out
    split = rows[0]["split"]
    line = next(x for x in stats.splitlines() if x.startswith(f"| {split} |"))
    assert f"| {split} | 1 | {len(rows)} | {len(rows)} | 0 |" in line

    assert main(["data", "show", str(out), rows[0]["id"], "-o", str(tmp_path / "show")]) == 0
    show = tmp_path / "show"
    assert Image.open(show / "image.png").size[1] == rows[0]["image_hw"][0]
    assert sf.info(show / "audio.wav").frames == rows[0]["audio_samples"]
    assert (show / "notation.lmx").read_text().split()[0] == "measure"

    capsys.readouterr()
    assert main(["data", "check", str(out), "--quiet"]) == 0
    assert f"checked {len(rows)} samples: {len(rows)} passed, 0 failed" in capsys.readouterr().out


def test_data_commands_reject_bad_folders(tmp_path: Path, capsys) -> None:
    assert main(["data", "stats", str(tmp_path)]) == 2
    assert "not a scorebridge dataset" in capsys.readouterr().err
    assert main(["data", "build", "--source", "nonsense", "--out", str(tmp_path / "x")]) == 2
    assert "unknown source" in capsys.readouterr().err
    assert main(["data", "build", "--source", "maestro:" + str(tmp_path / "nope"), "--out", str(tmp_path / "y")]) == 2
    assert "maestro" in capsys.readouterr().err.lower()
    assert main(["data", "show", str(tmp_path), "x/y/system-0000", "-o", str(tmp_path / "z")]) == 2
