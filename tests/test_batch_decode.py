"""Batched long-form decoding (issue 16): windows and systems decoded several at a time give, for greedy search,
token for token what decoding them one by one gives, on the tiny random model folder (test_inference_longform)
and on a tiny model that reads pixels and mel frames. Random weights: these tests check equality, never quality."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from _image_codec_fixtures import staff_image
from _model_fixtures import LIMITS, VOCAB, write_tiny_run
from scorebridge.api import ScoreBridgeModel, load_model
from scorebridge.codecs.audio import AUDIO_PRESETS
from scorebridge.decoding import DecodingOptions
from scorebridge.inference.longform import LongformOptions, audio_to_image, midi_to_audio, read_systems, transcribe
from scorebridge.inference.windows import batches
from scorebridge.midi import Note
from scorebridge.modality import Modality
from scorebridge.model import ModelConfig, Translator
from scorebridge.tokens.features import FeatureSpec

RATE = AUDIO_PRESETS["tiny"].sample_rate
ONE = LongformOptions(window_ms=1000, midi_overlap_ms=0, progress=False, batch_size=1)
GREEDY = DecodingOptions(max_steps=30)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> ScoreBridgeModel:
    return load_model(write_tiny_run(tmp_path_factory.mktemp("run")) / "model")


@pytest.fixture(scope="module")
def feature_model() -> ScoreBridgeModel:
    """A tiny random model reading images as pixel patches and audio as mel frames (no codecs)."""
    spec = FeatureSpec(image="pixels", audio="mel")
    torch.manual_seed(3)
    cfg = ModelConfig(vocab_size=VOCAB.size, d_model=32, n_heads=4, enc_layers=1, dec_layers=2, d_ff=64,
                      max_x=256, max_y=32, sub_heads=4, feature_dim=spec.dim)
    return ScoreBridgeModel(Translator(cfg).eval(), VOCAB, LIMITS, inputs=spec)


def noise(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    return (0.3 * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32)


def systems(widths: tuple[int, ...] = (100, 60, 140, 80, 120)) -> list[np.ndarray]:
    """Systems of unequal widths: their sources have unequal lengths, so a batch pads them."""
    return [staff_image(height=40, width=w, seed=s) for s, w in enumerate(widths)]


def same_steps(a, b) -> None:
    assert a.modality == b.modality and np.array_equal(a.tokens, b.tokens)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)


def test_batches_groups_in_order() -> None:
    assert list(batches(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batches([], 2)) == [] and list(batches("ab", 5)) == [["a", "b"]]
    with pytest.raises(ValueError, match="batch size"):
        list(batches([1], 0))
    with pytest.raises(ValueError, match="batch_size"):
        LongformOptions(batch_size=0)


# an EOS bias that makes this random model's rows end at different steps (some at EOS, some at the limit)
@pytest.mark.parametrize(("target", "bias"), [(Modality.MIDI, 0.5), (Modality.NOTATION, 0.2), (Modality.AUDIO, 0.0)])
def test_generate_batched_equals_one_by_one(model: ScoreBridgeModel, target: Modality, bias: float) -> None:
    """Sources of unequal lengths in one batch: every row's steps, end and cross-attention as alone."""
    from scorebridge.inference.sources import image_codes
    from scorebridge.tokens.layout import encode

    codec = model.codecs.get(Modality.IMAGE, model.vocab, model.device)
    sources = [encode(Modality.IMAGE, [image_codes(s, codec, model.vocab, model.limits, "s")], model.vocab,
                      as_target=False, limits=model.limits) for s in systems()]
    assert len({len(s) for s in sources}) > 1
    options = DecodingOptions(max_steps=25, eos_bias=bias)
    batched = model.generate(sources, target, options, attention_layers=(-1,))
    alone = [model.generate([s], target, options, attention_layers=(-1,))[0] for s in sources]
    assert len(batched) == len(sources)
    for b, a in zip(batched, alone, strict=True):
        same_steps(b.steps, a.steps)
        assert b.end == a.end
        np.testing.assert_allclose(b.attention, a.attention, atol=1e-5)
    if target is not Modality.AUDIO:
        assert len({len(a.steps) for a in alone}) > 1  # rows ended at different steps
    assert model.generate([], target, options) == []
    from scorebridge.tokens.layout import encode_lmx

    with pytest.raises(ValueError, match="one modality"):
        model.generate([sources[0], encode_lmx("measure clef:G2".split(), model.vocab)], target, options)


@pytest.mark.parametrize("size", [2, 3, 8])
def test_transcribe_batched_equals_sequential(model: ScoreBridgeModel, size: int) -> None:
    audio = noise(4.5)  # 5 windows, the last one half as long
    one = transcribe(model, audio, RATE, options=GREEDY, longform=ONE)
    many = transcribe(model, audio, RATE, options=GREEDY, longform=dataclasses.replace(ONE, batch_size=size))
    assert one.windows == many.windows == 5
    assert many.notes == one.notes and many.problems == one.problems


def test_audio_to_image_batched_equals_sequential(model: ScoreBridgeModel) -> None:
    audio = noise(2.5, seed=2)  # 3 windows, the last one half as long
    options = DecodingOptions(max_steps=12)
    one = audio_to_image(model, audio, RATE, options=options, longform=ONE)
    many = audio_to_image(model, audio, RATE, options=options, longform=dataclasses.replace(ONE, batch_size=3))
    assert one.windows == many.windows == 3
    assert len(many.systems) == len(one.systems) and many.problems == one.problems
    np.testing.assert_array_equal(many.image, one.image)


def test_read_systems_batched_equals_sequential(model: ScoreBridgeModel) -> None:
    for target in ("notation", "midi"):
        one = read_systems(model, systems(), target, options=GREEDY, longform=ONE)
        many = read_systems(model, systems(), target, options=GREEDY,
                            longform=dataclasses.replace(ONE, batch_size=4))
        for a, b in zip(one.systems, many.systems, strict=True):
            same_steps(a.steps, b.steps)
            assert a.end == b.end and a.problems == b.problems
        assert (many.lmx, many.xml, many.notes, many.measures) == (one.lmx, one.xml, one.notes, one.measures)


def test_midi_to_audio_without_overlap_batched_equals_sequential(model: ScoreBridgeModel) -> None:
    notes = [Note(0, 900, 60, 80), Note(700, 1500, 64, 90), Note(1900, 2500, 67, 70)]
    options = DecodingOptions(max_steps=40)
    one = midi_to_audio(model, notes, options=options, longform=ONE)
    many = midi_to_audio(model, notes, options=options, longform=dataclasses.replace(ONE, batch_size=3))
    assert one.windows == many.windows == 3
    np.testing.assert_array_equal(many.audio, one.audio)
    assert many.problems == one.problems


def test_feature_model_batched_equals_sequential(feature_model: ScoreBridgeModel) -> None:
    """Pixel patches and mel frames are padded with zeros and masked like token sources."""
    batched = dataclasses.replace(ONE, batch_size=4)
    audio = noise(3.5, feature_model.inputs.mel_rate, seed=1)
    one = transcribe(feature_model, audio, feature_model.inputs.mel_rate, options=GREEDY, longform=ONE)
    many = transcribe(feature_model, audio, feature_model.inputs.mel_rate, options=GREEDY, longform=batched)
    assert many.notes == one.notes and many.problems == one.problems and many.windows == 4
    page_one = read_systems(feature_model, systems(), "notation", options=GREEDY, longform=ONE)
    page_many = read_systems(feature_model, systems(), "notation", options=GREEDY, longform=batched)
    for a, b in zip(page_one.systems, page_many.systems, strict=True):
        same_steps(a.steps, b.steps)


def test_report_is_called_per_window_as_batches_finish(model: ScoreBridgeModel) -> None:
    calls: list[tuple[int, int]] = []
    longform = dataclasses.replace(ONE, batch_size=2, report=lambda done, total: calls.append((done, total)))
    transcribe(model, noise(4.5), RATE, options=DecodingOptions(max_steps=5), longform=longform)
    assert calls == [(k, 5) for k in range(1, 6)]
    calls.clear()
    read_systems(model, systems()[:3], options=DecodingOptions(max_steps=5), longform=longform)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    overlapped = dataclasses.replace(longform, midi_overlap_ms=200)  # one by one: each window waits for the last
    midi_to_audio(model, [Note(0, 2500, 60, 80)], options=DecodingOptions(max_steps=5), longform=overlapped)
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_translate_batch_matches_translate(model: ScoreBridgeModel) -> None:
    pages = systems()[:3]
    batched = model.translate_batch(pages, to="notation", source_modality="image", options=GREEDY)
    for page, b in zip(pages, batched, strict=True):
        a = model.translate(page, to="notation", source_modality="image", options=GREEDY)
        assert type(a) is type(b) and a.lmx == b.lmx and a.end == b.end
    assert model.translate_batch([], to="midi") == []
    with pytest.raises(ValueError, match="already"):
        model.translate_batch(pages, to="image", source_modality="image")
