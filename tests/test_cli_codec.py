"""`scorebridge codec`: train (tiny), encode/decode files, bake, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from _fake_source import FakeSource
from scorebridge.cli import main
from scorebridge.data.build import build


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clicodec")
    build(FakeSource(n=3, bad=()), root / "ds")
    for kind in ("image", "audio"):
        rc = main(["codec", "train", kind, "--data", str(root / "ds"), "--preset", "tiny", "--steps", "2",
                   "--batch-size", "2", "--out", str(root / "codecs" / kind), "-q"])
        assert rc == 0
    return root


def test_image_encode_decode_keeps_size(trained, tmp_path, capsys):
    img = np.full((40, 70), 255, np.uint8)
    img[10:30:4, :] = 0  # staff lines
    Image.fromarray(img).save(tmp_path / "in.png")
    assert main(["codec", "encode", "image", str(tmp_path / "in.png"), "--codec", str(trained / "codecs" / "image"),
                 "-o", str(tmp_path / "c.npz")]) == 0
    codes = np.load(tmp_path / "c.npz")["codes"]
    assert codes.shape == (3, 5, 4)  # ceil(40/16) x ceil(70/16) patches, 4 codebooks
    assert main(["codec", "decode", "image", str(tmp_path / "c.npz"), "--codec", str(trained / "codecs" / "image"),
                 "-o", str(tmp_path / "out.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "out.png")).shape == (40, 70)
    assert "image codes 3x5x4" in capsys.readouterr().out


def test_audio_encode_decode_keeps_length(trained, tmp_path):
    sr = 22_050
    t = np.arange(int(0.7 * sr)) / sr
    sf.write(tmp_path / "in.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr)
    codec = str(trained / "codecs" / "audio")
    assert main(["codec", "encode", "audio", str(tmp_path / "in.wav"), "--codec", codec,
                 "-o", str(tmp_path / "c.npz")]) == 0
    z = np.load(tmp_path / "c.npz")
    cfg = json.loads((trained / "codecs" / "audio" / "codec" / "config.json").read_text())["config"]
    assert z["codes"].shape[0] == 4 and abs(int(z["num_samples"]) - len(t) * cfg["sample_rate"] / sr) <= 1
    assert main(["codec", "decode", "audio", str(tmp_path / "c.npz"), "--codec", codec,
                 "-o", str(tmp_path / "out.wav")]) == 0
    out, out_sr = sf.read(tmp_path / "out.wav")
    assert out_sr == cfg["sample_rate"] and len(out) == int(z["num_samples"])


def test_bake_from_the_command_line(trained, tmp_path):
    assert main(["codec", "bake", "--data", str(trained / "ds"), "--codecs", str(trained / "codecs"),
                 "--out", str(tmp_path / "tok"), "--image-shifts", "centre", "--audio-shifts", "centre",
                 "--degraded", "1", "-q"]) == 0
    rows = [json.loads(x) for x in (tmp_path / "tok" / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 9
    assert {tuple(r["image_codes"][:2]) for r in rows} == {(1, 2), (1, 1)}  # train: clean + 1 degraded


def test_bad_inputs_give_one_line_errors(trained, tmp_path, capsys):
    (tmp_path / "junk.png").write_text("not an image")
    rc = main(["codec", "encode", "image", str(tmp_path / "junk.png"), "--codec", str(trained / "codecs" / "image"),
               "-o", str(tmp_path / "c.npz")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "junk.png: not a readable image" in err and "\n" not in err
    assert not (tmp_path / "c.npz").exists()
    Image.new("L", (64, 36), 255).save(tmp_path / "white.png")  # the input is read first, then the codec
    rc = main(["codec", "encode", "image", str(tmp_path / "white.png"), "--codec", str(tmp_path),
               "-o", str(tmp_path / "c.npz")])
    assert rc == 2 and "not a codec checkpoint" in capsys.readouterr().err
    np.savez(tmp_path / "a.npz", codes=np.zeros((4, 3), np.int16), kind=np.array("audio"))
    rc = main(["codec", "decode", "image", str(tmp_path / "a.npz"), "--codec", str(trained / "codecs" / "image"),
               "-o", str(tmp_path / "x.png")])
    assert rc == 2 and "holds audio codes, not image codes" in capsys.readouterr().err
