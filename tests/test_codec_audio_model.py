"""The audio codec model: frame arithmetic, shapes, determinism, quantizer dropout, DAC state-dict layout,
checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from scorebridge.codecs.audio import (
    AUDIO_PRESETS,
    AudioCodec,
    AudioCodecConfig,
    load_audio_codec,
    prepare_audio,
    save_audio_codec,
)
from scorebridge.errors import InputError

TINY = AUDIO_PRESETS["tiny"]


@pytest.fixture(scope="module")
def tiny() -> AudioCodec:
    torch.manual_seed(0)
    return AudioCodec(TINY).eval()


def test_presets_frame_arithmetic() -> None:
    assert AUDIO_PRESETS["dac44-4"].hop_length == 512
    assert AUDIO_PRESETS["dac44-4"].latent == 1024
    assert AUDIO_PRESETS["small24k"].hop_length == 512
    assert TINY.hop_length == 320
    assert TINY.frames(1) == 1 and TINY.frames(320) == 1 and TINY.frames(321) == 2
    with pytest.raises(ValueError, match="do not undo"):
        AudioCodecConfig(decoder_rates=(8, 8, 4, 4))


@pytest.mark.parametrize("length", [1, 319, 320, 1000])
def test_forward_encode_decode_shapes(tiny: AudioCodec, length: int) -> None:
    wav = torch.randn(2, 1, length) * 0.1
    frames = math.ceil(length / TINY.hop_length)
    out = tiny(wav)
    assert out.recon.shape == (2, 1, length)
    assert out.codes.shape == (2, TINY.n_codebooks, frames) and out.codes.dtype == torch.long
    codes = tiny.encode(wav)
    assert codes.shape == (2, TINY.n_codebooks, frames)
    assert int(codes.min()) >= 0 and int(codes.max()) < TINY.codebook_size
    decoded = tiny.decode(codes)
    assert decoded.shape == tiny.pad(wav).shape == (2, 1, frames * TINY.hop_length)
    assert torch.equal(codes, out.codes)  # eval forward and encode agree


def test_encode_is_deterministic_and_ignores_train_mode(tiny: AudioCodec) -> None:
    wav = torch.randn(3, 1, 2000) * 0.1
    first = tiny.encode(wav)
    assert torch.equal(first, tiny.encode(wav))
    tiny.train()
    try:
        assert torch.equal(first, tiny.encode(wav))  # no quantizer dropout in encode
    finally:
        tiny.eval()


def test_quantizer_dropout_only_in_train_mode() -> None:
    torch.manual_seed(1)
    model = AudioCodec(TINY)
    wav = torch.randn(32, 1, 640) * 0.1
    model.train()
    used = model(wav).n_quantizers
    assert int(used.min()) >= 1 and bool((used < TINY.n_codebooks).any())
    # The latent decoded in training is the sum of exactly the first n_quantizers stages.
    z = model.encoder(model.pad(wav))
    q = model.quantizer(z, dropout=True)
    for b in range(4):
        n = int(q.n_quantizers[b])
        expected = model.quantizer.from_codes(q.codes[b:b + 1, :n])
        torch.testing.assert_close(q.z[b:b + 1], expected, atol=1e-5, rtol=1e-4)
    model.eval()
    assert bool((model(wav).n_quantizers == TINY.n_codebooks).all())
    no_dropout = AudioCodec(AudioCodecConfig(**{**TINY.__dict__, "quantizer_dropout": 0.0})).train()
    assert bool((no_dropout(wav).n_quantizers == TINY.n_codebooks).all())


def test_straight_through_gradients_reach_the_encoder() -> None:
    model = AudioCodec(TINY).train()
    out = model(torch.randn(2, 1, 640) * 0.1)
    (out.recon.pow(2).mean() + out.commitment_loss + out.codebook_loss).backward()
    assert model.encoder.block[0].weight_v.grad is not None
    assert float(model.encoder.block[0].weight_v.grad.abs().sum()) > 0
    assert float(model.quantizer.quantizers[0].codebook.weight.grad.abs().sum()) > 0


def test_codebook_vectors_are_codes_through_out_proj(tiny: AudioCodec) -> None:
    vectors = tiny.codebook_vectors()
    assert vectors.shape == (TINY.n_codebooks, TINY.codebook_size, TINY.latent)
    codes = torch.tensor([[[5], [0], [0], [0]]])
    # Stage 0, code 5, alone: decode its latent and compare with the exported vector.
    z = tiny.quantizer.quantizers[0].out_proj(tiny.quantizer.quantizers[0].lookup(codes[:, 0]))
    torch.testing.assert_close(z[0, :, 0], vectors[0, 5])


def test_decode_rejects_bad_codes(tiny: AudioCodec) -> None:
    with pytest.raises(ValueError):
        tiny.decode(torch.full((1, 4, 3), TINY.codebook_size))
    with pytest.raises(ValueError):
        tiny.decode(torch.zeros(1, 4, 3))  # float codes


# --- DAC compatibility: the key -> shape table written from DAC 1.0's module structure -------------------

def _wn(prefix: str, cin: int, cout: int, k: int, transposed: bool = False) -> dict[str, tuple[int, ...]]:
    # torch.nn.utils.weight_norm(dim=0) on nn.Conv1d / nn.ConvTranspose1d leaves weight_g, weight_v, bias.
    if transposed:
        return {f"{prefix}.weight_g": (cin, 1, 1), f"{prefix}.weight_v": (cin, cout, k), f"{prefix}.bias": (cout,)}
    return {f"{prefix}.weight_g": (cout, 1, 1), f"{prefix}.weight_v": (cout, cin, k), f"{prefix}.bias": (cout,)}


def _snake(prefix: str, c: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.alpha": (1, c, 1)}


def _residual_unit(prefix: str, dim: int) -> dict[str, tuple[int, ...]]:
    return {**_snake(f"{prefix}.block.0", dim), **_wn(f"{prefix}.block.1", dim, dim, 7),
            **_snake(f"{prefix}.block.2", dim), **_wn(f"{prefix}.block.3", dim, dim, 1)}


def dac_state_shapes(cfg: AudioCodecConfig) -> dict[str, tuple[int, ...]]:
    """What `dac.model.DAC(encoder_dim, encoder_rates, latent_dim, decoder_dim, decoder_rates, n_codebooks,
    codebook_size, codebook_dim)` puts in its state dict (DAC 1.0: dac/model/dac.py, dac/nn/quantize.py)."""
    latent = cfg.encoder_dim * 2 ** len(cfg.encoder_rates) if cfg.latent_dim is None else cfg.latent_dim
    table = _wn("encoder.block.0", 1, cfg.encoder_dim, 7)
    d = cfg.encoder_dim
    for i, stride in enumerate(cfg.encoder_rates):
        d *= 2
        p = f"encoder.block.{i + 1}.block"
        for j in range(3):
            table |= _residual_unit(f"{p}.{j}", d // 2)
        table |= _snake(f"{p}.3", d // 2) | _wn(f"{p}.4", d // 2, d, 2 * stride)
    n = len(cfg.encoder_rates)
    table |= _snake(f"encoder.block.{n + 1}", d) | _wn(f"encoder.block.{n + 2}", d, latent, 3)
    for i in range(cfg.n_codebooks):
        p = f"quantizer.quantizers.{i}"
        table |= _wn(f"{p}.in_proj", latent, cfg.codebook_dim, 1) | _wn(f"{p}.out_proj", cfg.codebook_dim, latent, 1)
        table[f"{p}.codebook.weight"] = (cfg.codebook_size, cfg.codebook_dim)
    table |= _wn("decoder.model.0", latent, cfg.decoder_dim, 7)
    out_dim = cfg.decoder_dim
    for i, stride in enumerate(cfg.decoder_rates):
        in_dim, out_dim = cfg.decoder_dim // 2**i, cfg.decoder_dim // 2 ** (i + 1)
        p = f"decoder.model.{i + 1}.block"
        table |= _snake(f"{p}.0", in_dim) | _wn(f"{p}.1", in_dim, out_dim, 2 * stride, transposed=True)
        for j in range(3):
            table |= _residual_unit(f"{p}.{j + 2}", out_dim)
    m = len(cfg.decoder_rates)
    table |= _snake(f"decoder.model.{m + 1}", out_dim) | _wn(f"decoder.model.{m + 2}", out_dim, 1, 7)
    return table


@pytest.mark.parametrize("preset", ["tiny", "dac44-4"])
def test_state_dict_matches_dac_layout(preset: str) -> None:
    cfg = AUDIO_PRESETS[preset]
    with torch.device("meta"):  # shapes only: the 44 kHz model would take seconds to initialise
        model = AudioCodec(cfg)
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert ours == dac_state_shapes(cfg)


def test_a_dac_shaped_state_dict_loads_strictly(tiny: AudioCodec) -> None:
    gen = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=gen) for k, shape in dac_state_shapes(TINY).items()}
    model = AudioCodec(TINY)
    model.load_state_dict(state, strict=True)
    torch.testing.assert_close(model.decoder.model[0].weight_v, state["decoder.model.0.weight_v"])


# --- checkpoints and input preparation ---------------------------------------------------------------------

def test_save_load_round_trip_and_strict_failure(tiny: AudioCodec, tmp_path) -> None:
    folder = save_audio_codec(tiny, tmp_path / "codec")
    loaded = load_audio_codec(folder)
    assert loaded.config == TINY and not loaded.training
    wav = torch.randn(1, 1, 1500) * 0.1
    assert torch.equal(loaded.encode(wav), tiny.encode(wav))
    torch.testing.assert_close(loaded.decode(tiny.encode(wav)), tiny.decode(tiny.encode(wav)))

    other = AudioCodec(AudioCodecConfig(**{**TINY.__dict__, "codebook_size": 32}))
    save_audio_codec(other, tmp_path / "other")
    # Config of one model with the weights of another: a strict error, never a partial load.
    (tmp_path / "codec" / "model.safetensors").replace(tmp_path / "x")
    (tmp_path / "other" / "model.safetensors").replace(tmp_path / "codec" / "model.safetensors")
    with pytest.raises(InputError, match="do not match"):
        load_audio_codec(tmp_path / "codec")
    with pytest.raises(InputError):
        load_audio_codec(tmp_path / "missing")


def test_prepare_audio_mixes_to_mono_and_resamples() -> None:
    sr = 44_100
    t = np.arange(sr) / sr
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1).astype(np.float32)
    wav = prepare_audio(stereo, sr, 16_000)
    assert wav.shape == (1, 1, 16_000) and wav.dtype == torch.float32
    spectrum = np.abs(np.fft.rfft(wav[0, 0].numpy()))
    assert abs(int(spectrum.argmax()) - 440) <= 1  # 1 s of audio: bin k is k Hz
    assert prepare_audio(stereo[:, 0], sr, sr).shape == (1, 1, sr)
    with pytest.raises(InputError):
        prepare_audio(np.array([0.0, np.nan]), sr, sr)
    with pytest.raises(InputError):
        prepare_audio(np.zeros(0), sr, sr)
