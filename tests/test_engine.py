"""`--engine` on `scorebridge translate` and ``translate_file``: auto picks the deterministic engine while the
model is unmeasured or below usable and says so; model routes print how reliable the model is, once, on stderr;
the notes are on the API's results; warnings come in a musician's words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from _model_fixtures import NOTES, write_tiny_run
from scorebridge.cli import main
from scorebridge.errors import InputError
from scorebridge.midi import write_midi
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig
from scorebridge.translate import TranslateRequest, translate_file

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
FAST = ["--max-steps", "8", "-q"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    write_midi(NOTES, root / "song.mid")
    assert main(["translate", str(EXAMPLE), "-o", str(root / "page.png"), "-q"]) == 0
    return root


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    limits = LengthLimits(image=1000, notation=50, midi=1000, audio=1000, image_columns=150)
    vocab = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=16))
    return write_tiny_run(tmp_path_factory.mktemp("run"), limits, vocab) / "model"


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("scorebridge: note:")]


def test_auto_plays_midi_with_fluidsynth_and_says_why(files, tmp_path, capsys):
    # weights that do not exist: auto must not even load a model for this route
    assert main(["translate", str(files / "song.mid"), "-o", str(tmp_path / "a.wav"), "--weights",
                 str(tmp_path / "none"), "-q"]) == 0
    captured = capsys.readouterr()
    assert "midi -> audio by FluidSynth (no model)" in captured.out
    assert notes(captured.err) == ["scorebridge: note: midi -> audio by FluidSynth rather than the model, which has "
                                   "no measured figure for it (--engine model uses the model)"]
    assert sf.info(tmp_path / "a.wav").frames > 0


def test_engine_model_forces_the_translator_and_prints_its_note_once(files, tmp_path, weights, capsys):
    assert main(["translate", str(files / "song.mid"), "-o", str(tmp_path / "m.wav"), "--weights", str(weights),
                 "--engine", "model", "--threads", "1", *FAST]) == 0
    captured = capsys.readouterr()
    assert "midi -> audio by model" in captured.out
    assert notes(captured.err) == ["scorebridge: note: this model has not been measured on how well it can "
                                   "synthesize MIDI (no held-out figure comes with its weights): listen to the "
                                   "result before using it"]


def test_a_model_route_prints_the_figure_that_travels_with_the_weights(files, tmp_path, weights, capsys):
    folder = tmp_path / "measured"
    folder.mkdir()
    for part in weights.iterdir():
        (folder / part.name).symlink_to(part)
    (tmp_path / "codecs").symlink_to(weights.parent / "codecs")
    (folder / "quality.json").write_text(json.dumps({"figures": [
        {"direction": "image->notation", "metric": "SER %", "value": 87.5, "held_out": "5 test systems"}]}))
    assert main(["translate", str(files / "page.png"), "-o", str(tmp_path / "p.lmx"), "--weights", str(folder),
                 *FAST]) == 0
    err = capsys.readouterr().err
    assert notes(err) == ["scorebridge: note: this model cannot read scores reliably yet (held-out symbol error "
                          "88 %, usable below 30 %): check the result against the page"]
    assert "target rows" not in err and "step limit" not in err  # the decoder's words stay out of the CLI
    cut = [line for line in err.splitlines() if "was cut off at its length limit" in line]
    assert len(cut) == 1, err  # one line for every system of the page


def test_results_carry_the_notes_for_the_studio(files, tmp_path, weights):
    from scorebridge.api import load_model

    model = load_model(weights)
    result = translate_file(TranslateRequest(files / "page.png", tmp_path / "p.lmx"), model,
                            options=_fast(), progress=False)
    assert result.engine == "model" and len(result.notes) == 1
    assert result.notes[0].startswith("this model has not been measured on how well it can read scores")
    played = translate_file(TranslateRequest(files / "song.mid", tmp_path / "s.wav"), model, progress=False)
    assert played.engine == "FluidSynth (no model)" and "rather than the model" in played.notes[0]
    engraved = translate_file(TranslateRequest(EXAMPLE, tmp_path / "e.mid"), progress=False)
    assert engraved.notes == ()  # deterministic, nothing to doubt


def _fast():
    from scorebridge.decoding import DecodingOptions

    return DecodingOptions(max_steps=8)


def test_an_engine_that_cannot_do_the_direction_is_a_one_line_error(files, tmp_path, capsys):
    assert main(["translate", str(files / "page.png"), "-o", str(tmp_path / "x.musicxml"), "--engine", "verovio",
                 "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--engine verovio cannot translate image to notation" in err
    with pytest.raises(InputError, match="--engine fluidsynth cannot"):
        translate_file(TranslateRequest(EXAMPLE, tmp_path / "x.png", engine="fluidsynth"))


def test_verovio_and_fluidsynth_by_name(files, tmp_path, capsys):
    assert main(["translate", str(EXAMPLE), "-o", str(tmp_path / "e.png"), "--engine", "verovio", "-q"]) == 0
    assert main(["translate", str(files / "song.mid"), "-o", str(tmp_path / "f.wav"), "--engine", "fluidsynth",
                 "-q"]) == 0
    out = capsys.readouterr().out
    assert "notation -> image by Verovio" in out and "midi -> audio by FluidSynth" in out


def test_threads_must_be_positive(files, tmp_path):
    with pytest.raises(SystemExit):
        main(["translate", str(files / "song.mid"), "-o", str(tmp_path / "t.wav"), "--threads", "0"])
