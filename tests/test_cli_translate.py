"""`scorebridge translate`: routes chosen from the files, one-line errors before any work, deterministic routes,
and the model routes (pages, recordings, MIDI) end to end with a tiny random model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from _model_fixtures import AUDIO_RATE, NOTES, write_tiny_run
from scorebridge.cli import main
from scorebridge.errors import InputError
from scorebridge.midi import read_midi, write_midi
from scorebridge.modality import Modality
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig
from scorebridge.translate import TranslateRequest, plan

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
FAST = ["--max-steps", "8", "-q"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    assert main(["translate", str(EXAMPLE), "-o", str(root / "page.png"), "-q"]) == 0
    write_midi(NOTES, root / "song.mid")
    (root / "song.txt").write_text("not music")
    t = np.arange(int(1.5 * AUDIO_RATE)) / AUDIO_RATE
    sf.write(root / "clip.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), AUDIO_RATE)
    Image.fromarray(np.full((800, 600), 255, np.uint8)).save(root / "blank.png")
    sf.write(root / "silent.wav", np.zeros(AUDIO_RATE, np.float32), AUDIO_RATE)
    return root


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    # wide enough for a whole system of the example page (about 70 columns of 16 px) and a 10 s audio window
    limits = LengthLimits(image=1000, notation=50, midi=1000, audio=1000, image_columns=150)
    vocab = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=16))
    return str(write_tiny_run(tmp_path_factory.mktemp("run"), limits, vocab) / "model")


def one_error(capsys) -> str:
    """The error line; warnings may come before it (a page without staves is one), nothing else."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and lines[-1].startswith("scorebridge: error:"), lines
    assert all(line.startswith("scorebridge: warning:") for line in lines[:-1]), lines
    return lines[-1]


@pytest.mark.parametrize(("args", "message"), [
    (["song.txt", "out.mid"], "unknown input type .txt"),
    (["song.mid", "out.doc"], "cannot tell the target"),
    (["song.mid", "out.mid"], "both midi"),
    (["page.png", "out.png"], "both image"),
    (["song.mid", "out.wav", "--to", "midi"], "does not match"),
    (["song.mid", "out.wav", "--via", "notation"], "cascade"),
    (["song.mid", "out.wav", "--align", "a.json"], "--align needs"),
    (["missing.png", "out.musicxml"], "no such file"),
])
def test_bad_requests_fail_in_one_line_before_work(files, tmp_path, capsys, args, message):
    _run_bad(files, tmp_path, capsys, args, message)


def test_a_model_route_without_any_weights_names_the_option(files, tmp_path, capsys, monkeypatch):
    from scorebridge import shipped

    monkeypatch.setattr(shipped, "weights_root", lambda: tmp_path / "no-weights-here")
    _run_bad(files, tmp_path, capsys, ["page.png", "out.musicxml"], "--weights")


def test_a_silent_recording_is_an_error(files, tmp_path, weights, capsys):
    _run_bad(files, tmp_path, capsys, ["silent.wav", "out.mid", "--weights", weights], "silent")


def _run_bad(files, tmp_path, capsys, args, message):
    src, out, *rest = args
    argv = ["translate", str(files / src), "-o", str(tmp_path / out), *rest]
    argv = [str(tmp_path / a) if a.endswith(".json") else a for a in argv]
    assert main(argv) == 2
    assert message in one_error(capsys)
    assert not (tmp_path / out).exists()


def test_plan_names_the_engine(files, tmp_path):
    assert plan(TranslateRequest(files / "page.png", tmp_path / "x.wav", via="notation"))[2].startswith("model")
    assert plan(TranslateRequest(files / "song.mid", tmp_path / "x.musicxml"))[:2] == (Modality.MIDI,
                                                                                       Modality.NOTATION)
    with pytest.raises(InputError):
        plan(TranslateRequest(files / "song.mid", tmp_path / "x.mid"))


@pytest.mark.parametrize("out", ["score.mid", "score.wav", "score.lmx", "score.musicxml"])
def test_notation_routes_need_no_model(files, tmp_path, capsys, out):
    assert main(["translate", str(EXAMPLE), "-o", str(tmp_path / out), "-q"]) == 0
    assert "(no model)" in capsys.readouterr().out
    assert (tmp_path / out).stat().st_size > 100


def test_lmx_and_midi_inputs_to_musicxml(files, tmp_path):
    assert main(["translate", str(EXAMPLE), "-o", str(tmp_path / "a.lmx"), "-q"]) == 0
    assert main(["translate", str(tmp_path / "a.lmx"), "-o", str(tmp_path / "b.musicxml"), "-q"]) == 0
    assert "<score-partwise" in (tmp_path / "b.musicxml").read_text()
    assert main(["translate", str(files / "song.mid"), "-o", str(tmp_path / "c.musicxml"), "-q"]) == 0
    assert "<note" in (tmp_path / "c.musicxml").read_text()
    assert main(["translate", str(files / "song.mid"), "-o", str(tmp_path / "c.png"), "-q"]) == 0
    assert Image.open(tmp_path / "c.png").size[0] > 100


def test_a_page_without_staves_is_an_error(files, tmp_path, weights, capsys):
    assert main(["translate", str(files / "blank.png"), "-o", str(tmp_path / "x.lmx"), "--weights", weights,
                 *FAST]) == 2
    assert "no staves" in one_error(capsys)


def test_page_to_notation_and_midi_with_a_model(files, tmp_path, weights, capsys):
    assert main(["translate", str(files / "page.png"), "-o", str(tmp_path / "page.lmx"), "--weights", weights,
                 *FAST]) == 0
    out = capsys.readouterr().out
    assert "image -> notation by model" in out and "systems on 1 pages" in out
    assert (tmp_path / "page.lmx").is_file()
    assert main(["translate", str(files / "page.png"), "-o", str(tmp_path / "page.mid"), "--weights", weights,
                 *FAST]) == 0
    assert (tmp_path / "page.mid").is_file()


def test_page_to_audio_with_alignment(files, tmp_path, weights):
    align = tmp_path / "page.json"
    assert main(["translate", str(files / "page.png"), "-o", str(tmp_path / "page.wav"), "--weights", weights,
                 "--align", str(align), *FAST]) == 0
    audio, rate = sf.read(tmp_path / "page.wav")
    assert rate == AUDIO_RATE and len(audio) > 0
    import json

    spans = json.loads(align.read_text())["systems"]
    assert [s["system"] for s in spans] == list(range(len(spans))) and len(spans) >= 2


def test_recordings_and_midi_with_a_model(files, tmp_path, weights):
    assert main(["translate", str(files / "clip.wav"), "-o", str(tmp_path / "clip.mid"), "--weights", weights,
                 *FAST]) == 0
    assert (tmp_path / "clip.mid").is_file()
    assert main(["translate", str(files / "clip.wav"), "-o", str(tmp_path / "clip.musicxml"), "--weights", weights,
                 *FAST]) == 0
    assert "<score-partwise" in (tmp_path / "clip.musicxml").read_text()
    assert main(["translate", str(files / "song.mid"), "-o", str(tmp_path / "song.wav"), "--weights", weights,
                 "--engine", "model", *FAST]) == 0
    assert sf.info(tmp_path / "song.wav").frames > 0
    assert len(read_midi(files / "song.mid")) == len(NOTES)


def test_a_model_too_small_for_a_window_is_a_one_line_error(files, tmp_path, capsys):
    weights = write_tiny_run(tmp_path / "run") / "model"  # audio limit of 60 frames: less than 10 s
    assert main(["translate", str(files / "clip.wav"), "-o", str(tmp_path / "clip.mid"), "--weights",
                 str(weights), *FAST]) == 2
    assert "window" in one_error(capsys)


def test_a_recording_to_a_score_image(files, tmp_path, weights, capsys):
    # the decoding grammar makes every window's output at least one complete system (1.5 s: one window)
    assert main(["translate", str(files / "clip.wav"), "-o", str(tmp_path / "clip.png"), "--weights", weights,
                 "--max-steps", "40", "-q"]) == 0
    assert Image.open(tmp_path / "clip.png").size[1] >= 16
    out = capsys.readouterr().out
    assert "audio -> image by model, window by window (10 s) (" in out and " systems)" in out
