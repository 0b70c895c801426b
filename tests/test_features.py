"""Sources read as signal: pixel patches and log-mel frames, their layout, the model's projection, training from a
built dataset with them (a tiny model overfits OMR and transcription) and translation of files with such a model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _baked_fixtures import write_recipe
from _raw_fixtures import RATE, write_raw
from scorebridge import load_model
from scorebridge.errors import InputError
from scorebridge.modality import Modality, Task
from scorebridge.model import ModelConfig, TranslationBatch, Translator
from scorebridge.shards import ShardReader
from scorebridge.tokens.features import FeatureSpec, image_patches, log_mel
from scorebridge.tokens.layout import encode, encode_features
from scorebridge.tokens.shifts import shifted_image_size
from scorebridge.tokens.vocabulary import Vocabulary
from scorebridge.train import read_recipe, train
from scorebridge.train.batches import collate
from scorebridge.train.examples import Example
from scorebridge.train.raw import make_raw_example, raw_rows
from scorebridge.train.rows import read_bake_info
from scorebridge.train.validate import validate

SPEC = FeatureSpec(image="pixels", audio="mel")


@pytest.fixture(scope="module")
def vocab():
    return Vocabulary()


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    return write_raw(tmp_path_factory.mktemp("raw") / "toyraw")


def test_patches_cut_the_image_row_major_with_paper_padding():
    img = np.full((20, 35), 255, np.uint8)
    img[0, 0] = 0
    img[17, 33] = 51
    p = image_patches(img)
    assert p.shape == (2, 3, 256) and p.dtype == np.float32
    assert p[0, 0, 0] == 1.0 and p[0, 0, 1:].sum() == 0  # ink = 1 - gray / 255
    assert p[1, 2, 1 * 16 + 1] == pytest.approx(0.8)  # row 17 -> patch row 1, pixel row 1; col 33 -> col 2, px 1
    assert p.sum() == pytest.approx(1.8)  # the padding is paper


def test_feature_steps_sit_where_codes_would(vocab):
    grids = [np.zeros((3, 4, 4), np.int64), np.zeros((2, 5, 4), np.int64)]
    codes = encode(Modality.IMAGE, grids, vocab)
    patches = [np.random.default_rng(0).random((3, 4, 256), np.float32), np.ones((2, 5, 256), np.float32)]
    steps = encode_features(Modality.IMAGE, patches, vocab, SPEC)
    assert np.array_equal(steps.x, codes.x) and np.array_equal(steps.y, codes.y)
    assert np.array_equal(steps.tokens[:, 0] == vocab.sep, codes.tokens[:, 0] == vocab.sep)
    assert (steps.tokens[steps.tokens[:, 0] != vocab.sep] == vocab.pad).all()
    assert steps.features.shape == (len(codes), SPEC.dim)
    assert np.array_equal(steps.features[:3, :256], patches[0][:, 0])  # first column, top to bottom
    assert (steps.features[:, 256:] == 0).all()  # the audio share stays empty
    sep = int(np.flatnonzero(steps.tokens[:, 0] == vocab.sep)[0])
    assert (steps.features[sep] == 0).all()
    padding = steps.features[sep + 1:][steps.y[sep + 1:] == 2]  # the shorter system's padding row
    assert len(padding) == 5 and (padding == 0).all()


def test_log_mel_frames_and_pitch():
    t = np.arange(RATE) / RATE
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    mel = log_mel(tone, RATE, SPEC)
    assert mel.shape == (SPEC.mel_frames(RATE), 229) == (51, 229)
    loud = mel[25].argmax()
    low = log_mel(np.sin(2 * np.pi * 250 * t).astype(np.float32), RATE, SPEC)[25].argmax()
    assert low < loud  # a lower tone peaks in a lower band
    silent = log_mel(np.zeros(RATE, np.float32), RATE, SPEC)
    assert silent.max() < mel.max() - 1
    resampled = log_mel(np.sin(2 * np.pi * 1000 * np.arange(44_100) / 44_100), 44_100, SPEC)
    assert resampled.shape == mel.shape and resampled[25].argmax() == loud


def test_spec_rejects_bad_values():
    with pytest.raises(ValueError, match="inputs.image"):
        FeatureSpec(image="patches")
    with pytest.raises(ValueError, match="whole number of ms"):
        FeatureSpec(mel_hop=321)
    assert FeatureSpec().dim == 0 and SPEC.dim == 256 + 229 and SPEC.frame_ms == 20


def test_model_projects_features_and_refuses_them_without_a_projection(vocab):
    cfg = ModelConfig(vocab_size=vocab.size, d_model=32, n_heads=4, enc_layers=1, dec_layers=1, d_ff=64,
                      max_x=256, max_y=32, sub_heads=4, feature_dim=SPEC.dim)
    model = Translator(cfg).eval()
    tokens = torch.zeros(1, 5, 4, dtype=torch.long)
    pos = torch.zeros(1, 5, dtype=torch.long)
    feats = torch.randn(1, 5, SPEC.dim)
    a = model.embed_steps(tokens, pos, pos, torch.tensor([0]), feats)
    b = model.embed_steps(tokens, pos, pos, torch.tensor([0]), feats * 2)
    assert not torch.allclose(a, b)
    plain = Translator(ModelConfig(vocab_size=vocab.size, d_model=32, n_heads=4, enc_layers=1, dec_layers=1,
                                   d_ff=64, max_x=256, max_y=32, sub_heads=4))
    assert plain.feat_proj is None
    with pytest.raises(ValueError, match="tokens only"):
        plain.embed_steps(tokens, pos, pos, torch.tensor([0]), feats)


def test_built_dataset_rows_and_examples(raw, vocab):
    rows = raw_rows(raw, SPEC, "train")
    assert len(rows) == 4 and all(r.raw for r in rows)
    h, w = shifted_image_size(40, 96)
    assert rows[0].image_codes == (1, 1, h // 16, w // 16, 1) and rows[0].audio_codes == (1, 1, 51)
    assert raw_rows(raw, FeatureSpec(), "train")[0].image_codes is None  # codes need a bake
    assert read_bake_info([raw]).codec_digest == ""  # a built dataset brings no codec
    reader = ShardReader()
    from scorebridge.midi.tokenizer import MidiTokenizer
    from scorebridge.tokens.layout import LengthLimits

    tok, limits = MidiTokenizer(vocab.config.midi), LengthLimits()
    omr = make_raw_example(reader.record(rows[0]), "toyraw", Task(Modality.IMAGE, Modality.NOTATION), vocab,
                           limits, tok, SPEC)
    assert omr.source.features.shape == (h // 16 * w // 16, SPEC.dim)
    assert len(omr.target) == 2 + 12 and omr.target.tokens[0, 0] == vocab.sos(Modality.NOTATION)
    drawn = make_raw_example(reader.record(rows[0]), "toyraw", Task(Modality.IMAGE, Modality.NOTATION), vocab,
                             limits, tok, SPEC, np.random.default_rng(3))
    assert drawn.source.features.shape == omr.source.features.shape  # placed and degraded, same grid
    assert not np.array_equal(drawn.source.features, omr.source.features)
    amt = make_raw_example(reader.record(rows[1]), "toyraw", Task(Modality.AUDIO, Modality.MIDI), vocab, limits,
                           tok, SPEC)
    assert amt.source.features.shape == (51, SPEC.dim) and (amt.source.features[:, :256] == 0).all()
    batch = collate([omr, amt])
    n = len(omr.source)
    assert n < 51 and isinstance(batch, TranslationBatch) and batch.src_features.shape == (2, 51, SPEC.dim)
    assert torch.equal(batch.src_features[0, n:], torch.zeros(51 - n, SPEC.dim))  # padding
    assert collate([Example("x", "d", amt.task, encode(Modality.NOTATION, ["measure"], vocab), amt.target)
                    ]).src_features is None


def _overfit(tmp_path, raw, task, steps):
    recipe = write_recipe(tmp_path / "r.toml", raw, steps=steps, batch=8, checkpoint_every=steps, lr=3e-3, warmup=10,
                          tasks=[task], extra=('valid_examples = 4\nvalid_decode = 4\ndegrade_sources = false\n'
                                               '[inputs]\nimage = "pixels"\naudio = "mel"'))
    config = read_recipe(recipe)
    model = load_model(train(config, tmp_path / "run", progress=False).checkpoint)
    assert model.inputs == SPEC and model.translator.config.feature_dim == SPEC.dim
    return model, validate(model.translator, config, model.vocab, torch.device("cpu"), split="train")


def test_tiny_model_overfits_omr_from_pixels(tmp_path, raw):
    model, results = _overfit(tmp_path, raw, ("image", "notation"), 250)
    assert results["toyraw:image->notation"]["ser"] < 0.1, results
    # translating a file needs no codec: the patches are cut from the image itself; decoding ends with EOS
    from PIL import Image

    from _baked_fixtures import LMX_SNIPPETS
    from _raw_fixtures import _image

    for i, truth in enumerate(LMX_SNIPPETS):
        Image.fromarray(_image(i)).save(tmp_path / f"system{i}.png")
        out = model.translate(tmp_path / f"system{i}.png", to="notation")
        assert (" ".join(out.lmx), out.end) == (truth, "eos")


def test_tiny_model_overfits_transcription_from_mel(tmp_path, raw):
    model, results = _overfit(tmp_path, raw, ("audio", "midi"), 150)
    assert results["toyraw:audio->midi"]["onset_f1"] > 0.9, results
    from _raw_fixtures import _audio
    from scorebridge.midi import Note

    notes = [Note(0, 400, 63, 80), Note(500, 900, 66, 80)]
    midi = model.translate((_audio(notes, 1000), RATE), to="midi")
    assert [n.pitch for n in midi.notes] == [63, 66]
    with pytest.raises(InputError, match="longer than one window"):
        model.translate((np.zeros(RATE * 5, np.float32), RATE), to="midi")


def _staff(first: int, height: int = 60, width: int = 80) -> np.ndarray:
    img = np.full((height, width), 255, np.uint8)
    for k in range(5):
        img[first + round(4.5 * k)] = 0  # five lines crossing the crop
    img[max(first - 6, 0):first, 30:34] = 0  # a note above the staff: ink that is not a line
    return img


def _first_line(img: np.ndarray) -> int:
    return int(np.argmax((img < 128).mean(axis=1) > 0.9))


def test_anchor_staff_moves_the_first_line_to_the_same_height_and_cuts_nothing():
    from scorebridge.tokens.features import anchor_staff

    for first, expected in ((10, 24), (24, 24), (0, 24), (30, 40), (41, 56)):
        img = _staff(first)
        out = anchor_staff(img, 24)
        assert _first_line(out) == expected, (first, expected)
        assert np.array_equal(out[out.shape[0] - img.shape[0]:], img)  # padding on top only
    blank = np.full((40, 50), 255, np.uint8)
    assert anchor_staff(blank, 24) is blank and anchor_staff(_staff(10), 0).shape == (60, 80)
    with pytest.raises(ValueError):
        FeatureSpec(image="pixels", staff_top=-1)


def test_patch_stem_sees_inked_patches_only_and_keeps_zero_steps_zero():
    import dataclasses

    from scorebridge.model import model_preset

    config = dataclasses.replace(model_preset("tiny", vocab_size=300), feature_dim=SPEC.dim, patch_stem=4)
    model = Translator(config)
    features = torch.zeros(2, 6, SPEC.dim)
    features[0, 2, :256] = torch.rand(256)
    features[1, 4, 256:] = torch.rand(SPEC.dim - 256)  # a mel frame: not a patch
    out = model.patch_stem(features)
    assert out.shape == (2, 6, config.d_model)
    assert out[0, 2].abs().sum() > 0 and out[0, [0, 1, 3, 4, 5]].abs().sum() == 0 and out[1].abs().sum() == 0
    shifted = torch.zeros_like(features)
    shifted[0, 2, :256] = features[0, 2, :256].view(16, 16).roll(1, dims=1).flatten()
    assert not torch.allclose(model.patch_stem(shifted)[0, 2], out[0, 2])  # it reads where the ink is
    with pytest.raises(ValueError, match="pixel features"):
        Translator(dataclasses.replace(config, feature_dim=100))
