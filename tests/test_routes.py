"""Routes for a model trained in fewer directions than the shipped one (a pixels + mel lease trains five of nine):
auto takes a cascade through the model's own directions or a library instead, says why, and `--engine model`
is refused in one line; the relay counts a direction as served while any engine can still translate it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from _model_fixtures import AUDIO_RATE, NOTES, write_tiny_run
from scorebridge.errors import InputError
from scorebridge.midi import read_midi, write_midi
from scorebridge.modality import Modality as M
from scorebridge.routes import ENGINES, choose_engine, served_directions
from scorebridge.tokens.layout import LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig
from scorebridge.translate import TranslateRequest, translate_file

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"
NINE = {(M.AUDIO, M.IMAGE), (M.AUDIO, M.MIDI), (M.AUDIO, M.NOTATION), (M.IMAGE, M.AUDIO), (M.IMAGE, M.MIDI),
        (M.IMAGE, M.NOTATION), (M.MIDI, M.AUDIO), (M.NOTATION, M.IMAGE), (M.NOTATION, M.MIDI)}
READ = {(M.IMAGE, M.NOTATION), (M.AUDIO, M.MIDI), (M.IMAGE, M.MIDI), (M.AUDIO, M.NOTATION), (M.NOTATION, M.MIDI)}


def test_auto_routes_around_directions_the_model_lacks() -> None:
    assert choose_engine(M.IMAGE, M.NOTATION, tasks=READ).key == "model"
    assert choose_engine(M.AUDIO, M.MIDI, tasks=READ).key == "model"
    page_aloud = choose_engine(M.IMAGE, M.AUDIO, tasks=READ)
    assert page_aloud.key == "cascade" and "not trained in image -> audio" in page_aloud.reason
    assert choose_engine(M.AUDIO, M.IMAGE, tasks=READ).key == "cascade"
    assert choose_engine(M.MIDI, M.AUDIO, tasks=READ).key == "fluidsynth"
    # the nine-direction model keeps its own engines; no tasks recorded counts as every direction
    assert choose_engine(M.IMAGE, M.AUDIO, tasks=NINE).key == "model"
    assert choose_engine(M.AUDIO, M.IMAGE, tasks=None).key == "model"
    assert choose_engine(M.IMAGE, M.MIDI, "cascade", tasks=NINE).key == "cascade"


def test_engines_the_model_cannot_run_are_refused_in_one_line() -> None:
    with pytest.raises(InputError, match=r"not trained in image -> audio, which --engine model needs "
                                         r"\(engines that can: cascade\)"):
        choose_engine(M.IMAGE, M.AUDIO, "model", tasks=READ, where=Path("page.png"))
    with pytest.raises(InputError, match="not trained in image -> notation, nor in a direction a cascade"):
        choose_engine(M.IMAGE, M.NOTATION, tasks={(M.AUDIO, M.MIDI)})
    with pytest.raises(InputError, match="not trained in image -> notation, which --engine cascade needs"):
        choose_engine(M.IMAGE, M.AUDIO, "cascade", tasks={(M.IMAGE, M.AUDIO)})


def test_served_directions() -> None:
    every = set(ENGINES) - {(M.NOTATION, M.NOTATION)} | {(M.NOTATION, M.NOTATION)}
    assert served_directions(NINE) == served_directions(READ) == every
    transcriber = served_directions({(M.AUDIO, M.MIDI)})
    assert (M.AUDIO, M.IMAGE) in transcriber and (M.AUDIO, M.NOTATION) in transcriber
    assert not {(M.IMAGE, M.NOTATION), (M.IMAGE, M.MIDI), (M.IMAGE, M.AUDIO)} & transcriber


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """A tiny random model folder that records the five directions of a pixels + mel lease."""
    limits = LengthLimits(image=1000, notation=50, midi=1000, audio=1000, image_columns=150)
    vocab = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=16))
    folder = write_tiny_run(tmp_path_factory.mktemp("run"), limits, vocab) / "model"
    config = json.loads((folder / "config.json").read_text())
    config["extra"]["tasks"] = sorted([s.value, t.value] for s, t in READ)
    (folder / "config.json").write_text(json.dumps(config))
    from scorebridge.api import load_model

    return load_model(folder)


def test_a_recording_becomes_a_page_through_the_transcription(reader, tmp_path) -> None:
    from scorebridge.decoding import DecodingOptions

    t = np.arange(int(1.5 * AUDIO_RATE)) / AUDIO_RATE
    clip = tmp_path / "clip.wav"
    sf.write(clip, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), AUDIO_RATE)
    result = translate_file(TranslateRequest(clip, tmp_path / "clip.png"), reader,
                            options=DecodingOptions(max_steps=40), progress=False)
    assert result.engine == ENGINES[M.AUDIO, M.IMAGE]["cascade"]
    assert any("not trained in audio -> image" in n for n in result.notes)
    assert any("transcribe" in n for n in result.notes)  # how reliable the model's own part is
    assert Image.open(tmp_path / "clip.png").mode in ("L", "RGB", "RGBA")


def test_a_page_becomes_midi_through_the_notation(reader, tmp_path, monkeypatch) -> None:
    """The cascade reads the page as notation and lets Verovio play it: a random model's LMX forms no score, so
    the reading is replaced by a known score; what is tested is the route after it."""
    import scorebridge.inference as inference

    page = tmp_path / "page.png"
    from scorebridge.cli import main

    assert main(["translate", str(EXAMPLE), "-o", str(page), "-q"]) == 0
    seen = {}

    class Read:
        problems = ()

        def save(self, path):
            Path(path).write_text(EXAMPLE.read_text())

    def fake_long(model, systems, *, to, **kwargs):
        seen["to"] = to
        return Read()

    monkeypatch.setattr(inference, "translate_long", fake_long)
    result = translate_file(TranslateRequest(page, tmp_path / "page.mid", engine="cascade"), reader, progress=False)
    assert seen["to"] is M.NOTATION and result.engine == "model (image -> notation), then Verovio"
    assert len(read_midi(tmp_path / "page.mid")) > 20
    write_midi(NOTES, tmp_path / "song.mid")  # MIDI -> audio: FluidSynth, as the model lacks it
    result = translate_file(TranslateRequest(tmp_path / "song.mid", tmp_path / "song.wav"), reader, progress=False)
    assert result.engine.startswith("FluidSynth") and sf.info(tmp_path / "song.wav").frames > 0
