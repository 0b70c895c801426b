"""scorebridge.api: load_model on a tiny model folder (random weights, tiny codecs) and translate between every
pair of modalities. Random weights give random output: these tests check behaviour (types, shapes, files,
errors, determinism), never quality."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from _image_codec_fixtures import staff_image
from _model_fixtures import AUDIO_RATE, LIMITS, LMX, NOTES, VOCAB, extra, tiny_translator, write_tiny_run
from scorebridge.api import (
    AudioTranslation,
    ImageTranslation,
    MidiTranslation,
    NotationTranslation,
    ScoreBridgeModel,
    load_model,
)
from scorebridge.codecs.audio import AUDIO_PRESETS
from scorebridge.decoding import DecodingOptions
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.inference.codecs import CodecLookup
from scorebridge.inference.results import image_grids, notation_result
from scorebridge.midi import Note, read_midi, write_midi
from scorebridge.modality import Modality
from scorebridge.model import save_translator
from scorebridge.tokens.layout import LengthLimits, Steps, encode_lmx
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def model(run_dir: Path) -> ScoreBridgeModel:
    return load_model(run_dir / "model")


def audio_clip(seconds: float = 0.4) -> tuple[np.ndarray, int]:
    t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), AUDIO_RATE


def sources(folder: Path) -> dict[Modality, list]:
    """Each modality as a file and as in-memory data."""
    img = staff_image(height=40, width=100, seed=3)
    Image.fromarray(img).save(folder / "system.png")
    (folder / "frag.lmx").write_text(LMX + "\n")
    write_midi(NOTES, folder / "window.mid")
    audio, sr = audio_clip()
    sf.write(folder / "clip.wav", audio, sr)
    return {Modality.IMAGE: [folder / "system.png", img], Modality.NOTATION: [str(folder / "frag.lmx"), LMX],
            Modality.MIDI: [folder / "window.mid", NOTES], Modality.AUDIO: [folder / "clip.wav", (audio, sr)]}


def greedy(target: Modality) -> DecodingOptions:
    # an image system needs a height step and whole columns of up to 4 rows
    return DecodingOptions(max_steps=12 if target is Modality.IMAGE else 8)


RESULT_TYPES = {Modality.IMAGE: ImageTranslation, Modality.NOTATION: NotationTranslation,
                Modality.MIDI: MidiTranslation, Modality.AUDIO: AudioTranslation}
SUFFIX = {Modality.IMAGE: ".png", Modality.NOTATION: ".lmx", Modality.MIDI: ".mid", Modality.AUDIO: ".wav"}


def check_result(result, target: Modality, out: Path) -> None:
    assert type(result) is RESULT_TYPES[target] and result.modality is target
    assert isinstance(result.steps, Steps) and result.steps.modality is target
    assert len(result.steps) <= greedy(target).max_steps
    assert all(isinstance(p, str) and "\n" not in p for p in result.problems)
    result.save(out)
    assert out.is_file() and not list(out.parent.glob(".*.part*"))  # atomic: no temporary left
    if target is Modality.IMAGE:
        assert result.image.dtype == np.uint8 and result.image.ndim == 2
        assert result.image.shape[0] % 16 == 0 and result.image.shape[1] % 16 == 0
        assert np.array_equal(np.asarray(Image.open(out)), result.image)
    elif target is Modality.AUDIO:
        assert result.audio.dtype == np.float32 and result.audio.ndim == 1 and result.sample_rate == AUDIO_RATE
        assert len(result.audio) == len(result.steps) * AUDIO_PRESETS["tiny"].hop_length
        assert len(sf.read(out)[0]) == len(result.audio)
    elif target is Modality.MIDI:
        assert all(isinstance(n, Note) for n in result.notes)
        if result.notes:
            assert len(read_midi(out)) == len(result.notes)
    else:
        assert all(isinstance(t, str) for t in result.lmx)
        assert out.read_text().split() == list(result.lmx)
        if result.xml is None:
            assert result.problems
            with pytest.raises(ScorebridgeError):
                result.musicxml()
        else:
            assert result.musicxml().startswith("<?xml")


@pytest.mark.parametrize(("src", "target"), list(itertools.permutations(Modality, 2)), ids=str)
def test_translate_every_pair(model: ScoreBridgeModel, tmp_path: Path, src: Modality, target: Modality) -> None:
    path_source, memory_source = sources(tmp_path)[src]
    from_file = model.translate(path_source, to=target, options=greedy(target))
    check_result(from_file, target, tmp_path / f"out{SUFFIX[target]}")
    from_memory = model.translate(memory_source, to=target.value, options=greedy(target))
    assert type(from_memory) is type(from_file)
    if src is not Modality.MIDI:  # a MIDI file rounds times; in-memory notes are exact
        assert from_memory.steps == from_file.steps


def test_saved_and_loaded_model_translates_like_the_one_in_memory(run_dir: Path, tmp_path: Path) -> None:
    translator = tiny_translator()
    in_memory = ScoreBridgeModel(translator, VOCAB, LIMITS, codecs=CodecLookup([run_dir / "codecs"]))
    save_translator(translator, tmp_path / "model", extra=extra())
    loaded = load_model(tmp_path / "model", codecs=run_dir / "codecs")
    assert loaded.vocab == VOCAB and loaded.limits == LIMITS and len(loaded.tasks) == 12
    img = staff_image(height=40, width=100, seed=5)
    for source, target in [(LMX, Modality.MIDI), (NOTES, Modality.AUDIO), (img, Modality.NOTATION),
                           (audio_clip(), Modality.IMAGE)]:
        a = in_memory.translate(source, to=target, options=greedy(target))
        b = loaded.translate(source, to=target, options=greedy(target))
        assert a.steps == b.steps


def test_sampling_is_reproducible(model: ScoreBridgeModel) -> None:
    options = DecodingOptions(method="sample", seed=7, max_steps=8)
    first = model.translate(LMX, to="midi", options=options)
    torch.manual_seed(123)  # the global RNG must not matter
    assert model.translate(LMX, to="midi", options=options).steps == first.steps


# errors ----------------------------------------------------------------------------------------------
def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


def test_load_model_errors_are_one_line_input_errors(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        load_model(tmp_path / "nothing")
    assert "not a checkpoint folder" in one_line(exc)
    with pytest.raises(InputError) as exc:
        load_model(run_dir / "codecs" / "image")  # a checkpoint of another kind
    assert "expected 'translator'" in one_line(exc)
    save_translator(tiny_translator(VOCAB.size + 3), tmp_path / "bigger", extra=extra())
    with pytest.raises(InputError) as exc:
        load_model(tmp_path / "bigger")
    assert f"{VOCAB.size + 3} token ids, its vocabulary {VOCAB.size}" in one_line(exc)
    save_translator(tiny_translator(), tmp_path / "novocab", extra={})
    with pytest.raises(InputError) as exc:
        load_model(tmp_path / "novocab")
    assert "no vocabulary" in one_line(exc)
    with pytest.raises(InputError) as exc:
        load_model(run_dir / "model", codecs=tmp_path / "missing")
    assert "no such codecs folder" in one_line(exc)


def test_a_missing_codec_fails_only_when_needed(tmp_path: Path) -> None:
    save_translator(tiny_translator(), tmp_path / "run" / "model", extra=extra())
    bare = load_model(tmp_path / "run" / "model")
    assert isinstance(bare.translate(LMX, to="midi", options=greedy(Modality.MIDI)), MidiTranslation)
    with pytest.raises(InputError) as exc:
        bare.translate(LMX, to="audio", options=greedy(Modality.AUDIO))
    assert "no audio codec: pass codecs= or put one in" in one_line(exc)
    assert str(tmp_path / "run" / "model" / "codecs" / "audio") in str(exc.value)
    with pytest.raises(InputError, match="no image codec"):
        bare.translate(staff_image(40, 100), to="notation")


def test_a_codec_that_does_not_fit_the_vocabulary_is_refused(run_dir: Path, tmp_path: Path) -> None:
    vocab = Vocabulary(VocabularyConfig(image_codebook_size=1024, audio_codebook_size=64, max_image_height=4))
    translator = tiny_translator(vocab.size)
    save_translator(translator, tmp_path / "model", extra=extra(vocab))
    model = load_model(tmp_path / "model", codecs=run_dir / "codecs")
    with pytest.raises(InputError) as exc:
        model.translate(LMX, to="image")
    assert "4 codebooks of 64 codes, the model's vocabulary expects 4 of 1024" in one_line(exc)


def test_translate_refuses_bad_targets(model: ScoreBridgeModel, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="already notation"):
        model.translate(LMX, to="notation")
    with pytest.raises(ValueError, match="to must be one of image, notation, midi, audio"):
        model.translate(LMX, to="video")
    with pytest.raises(ValueError, match="already midi"):
        model.translate(LMX, to=Modality.MIDI, source_modality="midi")
    (tmp_path / "score.pdf").write_bytes(b"%PDF")
    with pytest.raises(InputError, match="pass source_modality"):
        model.translate(tmp_path / "score.pdf", to="midi")
    with pytest.raises(TypeError):
        model.translate(12.5, to="midi")


@pytest.mark.parametrize("case", ["lmx", "notes", "audio", "wide image", "tall image", "model positions"])
def test_too_long_sources_are_input_errors(model: ScoreBridgeModel, case: str) -> None:
    source, want = {
        "lmx": (" ".join(["C4", "quarter"] * 30), "longer than the limit of 50"),
        "notes": ([Note(0, 500, 60), Note(11_000, 11_500, 62)], "longer than one 10 s window"),
        "audio": (audio_clip(1.5), "longer than the limit of 60"),
        "wide image": (staff_image(40, 400), "more than the limit of 20"),
        "tall image": (staff_image(100, 100), "more than the limit of 4"),
        "model positions": (None, "this model holds x < 1024"),
    }[case]
    if case == "model positions":  # layout limits above the position table of the tiny preset
        model = ScoreBridgeModel(model.translator, VOCAB, LengthLimits(notation=2000))
        source = " ".join(["C4", "quarter"] * 600)
    with pytest.raises(InputError) as exc:
        model.translate(source, to="audio" if case not in ("audio", "model positions") else "midi")
    assert want in one_line(exc)


def test_empty_and_unknown_notation_sources(model: ScoreBridgeModel) -> None:
    with pytest.raises(InputError, match="unknown LMX token 'flute'"):
        model.translate("C4 flute", to="midi")
    with pytest.raises(InputError, match="empty"):
        model.translate([], to="midi", source_modality="notation")


def test_a_task_the_model_was_not_trained_on_is_logged(run_dir: Path, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    save_translator(tiny_translator(), tmp_path / "model", extra={**extra(), "tasks": [["image", "notation"]]})
    model = load_model(tmp_path / "model")
    assert model.tasks == ((Modality.IMAGE, Modality.NOTATION),)
    with caplog.at_level("WARNING", logger="scorebridge.inference.model"):
        model.translate(LMX, to="midi", options=greedy(Modality.MIDI))
    assert "not trained on notation -> midi" in caplog.text


# results ---------------------------------------------------------------------------------------------
def test_notation_result_of_valid_and_invalid_lmx(tmp_path: Path) -> None:
    good = notation_result(encode_lmx(LMX.split(), VOCAB), VOCAB)
    assert good.lmx == tuple(LMX.split()) and not good.problems and "<score-partwise" in good.musicxml()
    assert "<score-partwise" in good.save(tmp_path / "good.musicxml").read_text()
    with pytest.raises(InputError, match="write this result as"):
        good.save(tmp_path / "good.pdf")
    bad = notation_result(encode_lmx(["quarter", "quarter", "C4"], VOCAB), VOCAB)
    assert bad.xml is None and bad.problems
    with pytest.raises(ScorebridgeError, match="does not form a MusicXML score"):
        bad.musicxml()
    empty = notation_result(encode_lmx([], VOCAB), VOCAB)
    assert empty.problems == ("no LMX tokens were generated",)


def test_empty_audio_and_image_results_refuse_to_save(tmp_path: Path) -> None:
    steps = Steps(np.zeros((0, VOCAB.n_slots)), np.zeros(0), np.zeros(0), Modality.AUDIO)
    audio = AudioTranslation(modality=Modality.AUDIO, steps=steps, problems=("no audio frames were generated",),
                             sample_rate=AUDIO_RATE)
    with pytest.raises(ScorebridgeError, match="no audio"):
        audio.save(tmp_path / "a.flac")
    image = ImageTranslation(modality=Modality.IMAGE, steps=Steps(steps.tokens, steps.x, steps.y, Modality.IMAGE),
                             problems=("x",))
    with pytest.raises(ScorebridgeError, match="no complete image system"):
        image.save(tmp_path / "a.png")
    assert not list(tmp_path.iterdir())


def test_image_grids_drop_incomplete_columns_and_headless_systems() -> None:
    def code(k: int) -> list[int]:
        return [VOCAB.block(Modality.IMAGE, s).start + k for s in range(VOCAB.n_slots)]

    def marker(token: int) -> list[int]:
        return [token] + [VOCAB.pad] * (VOCAB.n_slots - 1)

    rows = [marker(VOCAB.height(2)), code(1), code(2), code(3), marker(VOCAB.sep), code(4), marker(VOCAB.sep),
            marker(VOCAB.height(1)), code(5)]
    tokens = np.array(rows)
    grids, problems = image_grids(Steps(tokens, np.zeros(len(rows)), np.zeros(len(rows)), Modality.IMAGE), VOCAB)
    assert [g.shape for g in grids] == [(2, 1, 4), (1, 1, 4)]
    assert grids[0][:, 0, 0].tolist() == [1, 2] and grids[1][0, 0, 0] == 5
    assert len(problems) == 2 and "incomplete" in problems[0] and "height" in problems[1]

