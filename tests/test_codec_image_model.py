"""Image codec model: config checks, shapes, deterministic encoding, preprocessing, strict checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from _image_codec_fixtures import staff_image
from scorebridge.codecs.image import (
    IMAGE_PRESETS,
    ImageCodec,
    ImageCodecConfig,
    codes_to_image,
    image_codec_losses,
    image_to_codes,
    image_to_tensor,
    load_image_codec,
    pad_to_patches,
    save_image_codec,
    tensor_to_image,
)
from scorebridge.errors import InputError


def tiny(seed: int = 0) -> ImageCodec:
    torch.manual_seed(seed)
    return ImageCodec(IMAGE_PRESETS["tiny"])


def batch(n: int = 2, h: int = 32, w: int = 48) -> torch.Tensor:
    return torch.cat([image_to_tensor(staff_image(h, w, seed=i)) for i in range(n)])


def test_presets_and_downsampling_check():
    paper = IMAGE_PRESETS["paper"]
    assert (paper.channels, paper.ch_mult, paper.num_res_blocks, paper.latent_dim) == (128, (1, 1, 2, 2, 4), 2, 256)
    for name in ("paper", "small"):
        assert (IMAGE_PRESETS[name].num_quantizers, IMAGE_PRESETS[name].codebook_size) == (4, 1024)
    assert all(c.patch_px == 16 for c in IMAGE_PRESETS.values())
    with pytest.raises(ValueError, match="downsamplings"):
        ImageCodecConfig(ch_mult=(1, 2, 2, 4))


def test_forward_shapes():
    model = tiny()
    out = model(batch(2, 32, 48))
    assert out.recon.shape == (2, 1, 32, 48)
    assert out.codes.shape == (2, 2, 3, 4) and out.codes.dtype == torch.int64
    assert out.commit_loss.ndim == 0 and out.commit_loss.item() >= 0
    losses = image_codec_losses(out.recon, batch(2, 32, 48), out.commit_loss, model.config)
    assert losses.total.item() > 0 and set(losses.as_floats()) == {"total", "mse", "ink_l1", "edge", "commit"}
    assert model.codebook_vectors().shape == (4, 64, 16)


def test_encode_is_deterministic_and_leaves_codebooks_alone():
    model = tiny()
    model.train()
    for _ in range(3):  # move the codebooks by EMA so that they are not at their initial values
        model(batch(4, 32, 32))
    before = model.codebook_vectors()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = batch(3, 48, 64)
    a, b = model.encode(x), model.encode(x)
    assert torch.equal(a, b)
    assert a.shape == (3, 3, 4, 4)
    assert int(a.min()) >= 0 and int(a.max()) < 64
    assert torch.equal(before, model.codebook_vectors())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert model.training  # the caller's mode is restored


def test_decode_of_encode_has_input_shape():
    model = tiny().eval()
    x = batch(2, 64, 80)
    y = model.decode(model.encode(x))
    assert y.shape == x.shape and y.dtype == torch.float32


@pytest.mark.parametrize("shape", [(1, 1, 30, 32), (1, 1, 32, 40), (1, 2, 32, 32), (1, 32, 32)])
def test_bad_shapes_raise(shape):
    model = tiny()
    with pytest.raises(ValueError):
        model.encode(torch.zeros(shape))
    with pytest.raises(ValueError):
        model(torch.zeros(shape))


def test_decode_rejects_bad_codes():
    model = tiny()
    with pytest.raises(ValueError, match="shape"):
        model.decode(torch.zeros(1, 2, 2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="lie in"):
        model.decode(torch.full((1, 2, 2, 4), 64, dtype=torch.long))


def test_preprocessing_helpers():
    img = staff_image(37, 70)
    padded = pad_to_patches(img)
    assert padded.shape == (48, 80)
    assert (padded[37:] == 255).all() and (padded[:, 70:] == 255).all()
    assert np.array_equal(padded[:37, :70], img)
    assert pad_to_patches(padded).shape == (48, 80)
    assert pad_to_patches(img, fill=0)[40, 75] == 0
    t = image_to_tensor(padded)
    assert t.shape == (1, 1, 48, 80) and t.max().item() == 1.0 and t.min().item() >= -1.0
    assert np.array_equal(tensor_to_image(t), padded)
    assert tensor_to_image(torch.full((4, 4), 3.0)).max() == 255
    with pytest.raises(ValueError):
        image_to_tensor(img.astype(np.float32))


def test_save_load_round_trip(tmp_path):
    model = tiny(seed=3)
    model.train()
    model(batch(4, 32, 32))  # non-initial codebooks
    model.eval()
    save_image_codec(model, tmp_path / "ckpt")
    loaded = load_image_codec(tmp_path / "ckpt")
    assert loaded.config == model.config and not loaded.training
    x = batch(2, 32, 64)
    codes = model.encode(x)
    assert torch.equal(codes, loaded.encode(x))
    assert torch.equal(model.decode(codes), loaded.decode(codes))
    assert torch.equal(model.codebook_vectors(), loaded.codebook_vectors())


def test_load_rejects_mismatched_config_and_kind(tmp_path):
    save_image_codec(tiny(), tmp_path / "ckpt")
    cfg_file = tmp_path / "ckpt" / "config.json"
    meta = json.loads(cfg_file.read_text())
    meta["config"]["latent_dim"] = 32
    cfg_file.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="do not match"):
        load_image_codec(tmp_path / "ckpt")
    meta["config"]["latent_dim"] = 16
    meta["kind"] = "audio-codec"
    cfg_file.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="expected 'image-codec'"):
        load_image_codec(tmp_path / "ckpt")
    with pytest.raises(InputError):
        load_image_codec(tmp_path / "missing")


def test_image_helpers_pad_encode_decode_crop():
    model = tiny().eval()
    img = staff_image(37, 70)
    codes = image_to_codes(model, img)
    assert codes.shape == (3, 5, 4) and codes.dtype == np.int64
    assert np.array_equal(codes, model.encode(image_to_tensor(pad_to_patches(img)))[0].numpy())
    assert codes_to_image(model, codes).shape == (48, 80)
    out = codes_to_image(model, codes, size=img.shape)
    assert out.shape == img.shape and out.dtype == np.uint8


def test_ink_weighting_counts_light_grey_staff_lines():
    from scorebridge.codecs.image.losses import ink_weighted_l1

    img = np.full((32, 32), 255, np.uint8)
    img[10] = 175  # a 1-px staff line as an 18-px staff renders it
    target, white = image_to_tensor(img), torch.ones(1, 1, 32, 32)
    plain = (white - target).abs().mean().item()
    config = IMAGE_PRESETS["tiny"]
    assert ink_weighted_l1(white, target, config.ink_boost, config.ink_threshold).item() > 5 * plain
    assert ink_weighted_l1(white, target, config.ink_boost, 0.0).item() == pytest.approx(plain)
