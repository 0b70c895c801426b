"""`scorebridge demo`'s model part (every direction on the bundled held-out inputs) and the shipped weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from _model_fixtures import write_tiny_run
from scorebridge import demo
from scorebridge.decoding import DecodingOptions
from scorebridge.midi import read_midi
from scorebridge.shipped import shipped_card, shipped_model_dir, weights_root
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig


def test_first_measures_cuts_at_a_measure_token() -> None:
    tokens = "measure a b measure c measure d e measure f".split()
    assert demo.first_measures(tokens, 2) == "measure a b measure c".split()
    assert demo.first_measures(tokens, 9) == tokens


def test_the_bundled_inputs_are_described() -> None:
    about = json.loads((demo.examples_dir() / "held-out.json").read_text())
    for step in demo.STEPS:
        assert (demo.examples_dir() / step.source).is_file() and step.source in about


def test_model_demo_writes_every_direction(tmp_path: Path) -> None:
    limits = LengthLimits(image=1000, notation=50, midi=1000, audio=1000, image_columns=150)
    vocab = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=16))
    weights = write_tiny_run(tmp_path / "run", limits, vocab) / "model"
    lmx = tmp_path / "score.lmx"
    lmx.write_text("measure key:fifths:0 time beats:3 beat-type:4 clef:G2 G4 voice:1 quarter measure A4 half\n")
    written = demo.run_model_demo(tmp_path / "out", lmx_file=lmx, weights=str(weights), progress=False,
                                  options=DecodingOptions(max_steps=8))
    kinds = [w.kind for w in written]
    assert kinds == [demo.STEPS[0].kind, "musicxml"] + [s.kind for s in demo.STEPS[1:]] + ["LMX -> image"]
    out = tmp_path / "out"
    assert (out / "page.lmx").read_text().strip()  # a random model's LMX need not form MusicXML
    assert isinstance(read_midi(out / "recording.mid"), list)
    assert sf.info(out / "page.wav").frames > 0 and sf.info(out / "excerpt.wav").frames > 0
    assert Image.open(out / "recording.png").mode == "L"
    assert np.asarray(Image.open(out / "score-from-lmx.png")).ndim == 2


def test_a_model_of_fewer_directions_runs_the_demo_through_routes(tmp_path: Path, monkeypatch) -> None:
    """A model trained in five directions (a pixels + mel lease): the demo runs the model where it was trained,
    auto elsewhere (cascades, FluidSynth), leaves out LMX -> image, and a step that fails (a cascade whose LMX
    forms no score) is reported, not fatal."""
    import scorebridge.translate as translate
    from scorebridge.errors import InputError

    limits = LengthLimits(image=1000, notation=50, midi=1000, audio=1000, image_columns=150)
    vocab = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=16))
    weights = write_tiny_run(tmp_path / "run", limits, vocab) / "model"
    config = json.loads((weights / "config.json").read_text())
    config["extra"]["tasks"] = [["image", "notation"], ["audio", "midi"], ["image", "midi"], ["audio", "notation"],
                                ["notation", "midi"]]
    (weights / "config.json").write_text(json.dumps(config))
    real = translate.translate_file
    engines = {}

    def recording(request, model, **kwargs):
        engines[request.output.name] = request.engine
        if request.output.name == "page.wav":
            raise InputError(request.input, "the recognised LMX forms no score")
        return real(request, model, **kwargs)

    monkeypatch.setattr(translate, "translate_file", recording)
    lmx = tmp_path / "score.lmx"
    lmx.write_text("measure key:fifths:0 time beats:3 beat-type:4 clef:G2 G4 voice:1 quarter\n")
    written = demo.run_model_demo(tmp_path / "out", lmx_file=lmx, weights=str(weights), progress=False,
                                  options=DecodingOptions(max_steps=8))
    assert engines == {"page.lmx": "model", "recording.mid": "model", "page.wav": "auto", "excerpt.wav": "auto",
                       "recording.png": "auto"}
    details = {w.kind: w.detail for w in written}
    assert "not made (the recognised LMX forms no score)" in details["image -> audio"]
    assert "FluidSynth" in details["MIDI -> audio"] and "MIDI quantizer and Verovio" in details["audio -> image"]
    assert "LMX -> image" not in details


shipped = pytest.mark.skipif(not (weights_root() / "model" / "config.json").is_file(),
                             reason="no weights in this checkout")


@shipped
def test_the_shipped_weights_fit_the_budget_and_load() -> None:
    total = sum(f.stat().st_size for f in weights_root().rglob("*") if f.is_file())
    assert total <= 60_000_000
    from scorebridge.api import load_model

    model = load_model()  # no path: the shipped weights
    assert model.translator.config.d_model > 0 and model.tasks
    assert shipped_model_dir().name == "model"


@shipped
def test_the_card_holds_a_table() -> None:
    card = shipped_card()
    assert card["table"][0].startswith("|") and "steps" in card
    assert "Shipped weights" in demo.card_table()


@shipped
def test_the_model_card_holds_the_shipped_table() -> None:
    card_md = (Path(__file__).resolve().parents[1] / "MODEL_CARD.md").read_text()
    for line in shipped_card()["table"]:
        assert line in card_md, line
