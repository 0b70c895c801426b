"""Baking a built dataset into token shards: variant counts, shapes, centre shift = plain encode, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from _fake_source import FakeSource
from scorebridge.codecs.audio import AUDIO_PRESETS, AudioCodec, prepare_audio, save_audio_codec
from scorebridge.codecs.image import IMAGE_PRESETS, ImageCodec, image_to_tensor, save_image_codec
from scorebridge.data.build import build
from scorebridge.data.dataset import iter_samples
from scorebridge.errors import InputError
from scorebridge.shards import iter_baked
from scorebridge.shards.bake import BakeOptions, bake
from scorebridge.tokens.shifts import AUDIO_CENTRE, IMAGE_CENTRE, shift_and_pad_image


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bake")
    build(FakeSource(n=3, bad=()), root / "ds")  # pieces 0 (train), 1 (valid), 2 (test); 3 samples each
    torch.manual_seed(0)
    save_image_codec(ImageCodec(IMAGE_PRESETS["tiny"]), root / "codecs" / "image")
    save_audio_codec(AudioCodec(AUDIO_PRESETS["tiny"]), root / "codecs" / "audio")
    return root / "ds", root / "codecs"


@pytest.fixture(scope="module")
def baked_all(world, tmp_path_factory):
    ds, codecs = world
    out = tmp_path_factory.mktemp("tok") / "tok"
    return bake([ds], codecs, out, BakeOptions(degraded=2)), out


def test_bake_gives_every_shift_and_variant(world, baked_all):
    ds, codecs = world
    report, out = baked_all
    assert report.samples == 9 and report.shards == 3 and report.baked_shards == 3
    baked = {b.id: b for b in iter_baked(out)}
    originals = {s.id: s for s in iter_samples(ds)}
    assert set(baked) == set(originals)
    for sid, b in baked.items():
        s = originals[sid]
        variants = 3 if s.split == "train" else 1  # degraded copies only for training inputs
        h, w = (-(-(s.image.shape[0] + 3) // 16), -(-(s.image.shape[1] + 7) // 16))
        assert b.image.shape == (32, variants, h, w, 4) and b.image.dtype == np.int16
        assert b.audio.shape[:2] == (9, 4)
        assert b.lmx == s.lmx
    tensors = load_file(str(out / "codebooks.safetensors"))
    assert tensors["image"].shape[0] == 4 and tensors["audio"].shape[0] == 4


def test_centre_variant_is_the_plain_encoding(world, baked_all):
    ds, codecs = world
    _, out = baked_all
    from scorebridge.codecs import load_codecs

    c = load_codecs(codecs)
    sample = next(iter_samples(ds, split="test"))
    b = next(x for x in iter_baked(out, split="test") if x.id == sample.id)
    plain = c.image.encode(image_to_tensor(shift_and_pad_image(sample.image)))[0].numpy()
    assert np.array_equal(b.image[IMAGE_CENTRE, 0], plain)
    wav = prepare_audio(sample.audio, sample.sample_rate, c.audio.config.sample_rate)
    assert np.array_equal(b.audio[AUDIO_CENTRE], c.audio.encode(wav)[0].numpy())
    # other shifts do change codes somewhere (the reason for baking them)
    assert any(not np.array_equal(b.image[i], b.image[IMAGE_CENTRE]) for i in range(32))


def test_resume_skips_done_shards_and_refuses_other_settings(world, tmp_path):
    ds, codecs = world
    out = tmp_path / "tok"
    opts = BakeOptions(degraded=0, image_shifts="centre", audio_shifts="centre")
    first = bake([ds], codecs, out, opts, limit=1)
    assert first.baked_shards == 1 and first.samples == 3
    done_before = sorted(p.name for p in (out / "done").rglob("*.json"))
    # a half-written shard from a killed run is left as a temp file and never listed
    again = bake([ds], codecs, out, opts)
    assert again.baked_shards == 2 and again.samples == 9
    assert len(sorted(p.name for p in (out / "done").rglob("*.json"))) == len(done_before) + 2
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert len({r["id"] for r in rows}) == 9 and all(r["image_codes"][:2] == [1, 1] for r in rows)
    with pytest.raises(InputError, match="other settings"):
        bake([ds], codecs, out, BakeOptions(degraded=1))


def test_worker_processes_bake_the_same_tokens(world, tmp_path):
    ds, codecs = world
    opts = BakeOptions(degraded=1, image_shifts="centre", audio_shifts="all")
    one = bake([ds], codecs, tmp_path / "one", opts)
    two = bake([ds], codecs, tmp_path / "two", opts, workers=2)
    assert (one.samples, one.image_encodes) == (two.samples, two.image_encodes)
    a = {s.id: s for s in iter_baked(tmp_path / "one")}
    b = {s.id: s for s in iter_baked(tmp_path / "two")}
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key].image, b[key].image) and np.array_equal(a[key].audio, b[key].audio)


def test_bad_inputs_are_input_errors(world, tmp_path):
    ds, codecs = world
    with pytest.raises(InputError, match="no codec here"):
        bake([ds], tmp_path, tmp_path / "tok")
    with pytest.raises(InputError, match="not a built dataset"):
        bake([tmp_path], codecs, tmp_path / "tok")
