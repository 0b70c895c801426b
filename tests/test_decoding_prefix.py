"""Forced target prefixes and cross-attention rows in decoding/search: the prefix comes out verbatim, the KV
cache equals recomputation with a prefix (tokens and attention), positions follow tokens.layout, the prefix
conditions what follows, and prefixes the grammar forbids are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _translator_fixtures import tiny_model
from scorebridge.decoding import DecodingOptions, generate, generate_target
from scorebridge.modality import Modality
from scorebridge.tokens.layout import Steps, encode_audio, encode_image, target_positions
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig

VOCAB = Vocabulary(VocabularyConfig(image_codebook_size=64, audio_codebook_size=64, max_image_height=4))
AUDIO, IMAGE = Modality.AUDIO, Modality.IMAGE


@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=4, vocab=VOCAB.size)


def _memory(model, target: Modality, b: int = 2, s: int = 7):
    g = torch.Generator().manual_seed(2)
    src = torch.zeros(b, s, 4, dtype=torch.long)
    block = VOCAB.block(Modality.NOTATION)
    src[..., 0] = torch.randint(block.start, block.stop, (b, s), generator=g)
    src_pad = torch.zeros(b, s, dtype=torch.bool)
    src_pad[1, 5:] = True
    zeros = torch.zeros(b, s, dtype=torch.long)
    memory = model.encode(src, torch.arange(s).expand(b, s), zeros,
                          torch.full((b,), list(Modality).index(Modality.NOTATION)),
                          torch.full((b,), list(Modality).index(target)), src_pad)
    return memory, src_pad


def _audio_prefix(frames: int, seed: int = 0) -> Steps:
    rng = np.random.default_rng(seed)
    return encode_audio(rng.integers(0, 64, (4, frames)), VOCAB)


def test_audio_prefix_verbatim_and_positions(model) -> None:
    memory, src_pad = _memory(model, AUDIO)
    prefix = _audio_prefix(5)
    rows = generate_target(model, memory, src_pad, AUDIO, VOCAB, DecodingOptions(max_steps=12), prefix=prefix)
    for steps in (row.steps for row in rows):
        assert len(steps) >= 5
        assert np.array_equal(steps.tokens[:5], prefix.tokens)
        x, y = target_positions(steps.tokens[:, 0], AUDIO, VOCAB)
        assert np.array_equal(steps.x, x) and np.array_equal(steps.y, y)
        assert np.array_equal(steps.x[:5], prefix.x)


@pytest.mark.parametrize("target", [AUDIO, IMAGE])
def test_cache_equals_recomputation_with_prefix(model, target: Modality) -> None:
    memory, src_pad = _memory(model, target)
    if target is AUDIO:
        prefix = _audio_prefix(4, seed=1)
    else:  # one whole 2-row column and half of the next one
        grid = np.random.default_rng(3).integers(0, 64, (2, 3, 4))
        full = encode_image([grid], VOCAB, as_target=True)
        prefix = Steps(full.tokens[:4], full.x[:4], full.y[:4], IMAGE)
    outs = []
    for use_cache in (True, False):
        options = DecodingOptions(method="top_p", seed=7, max_steps=14, use_cache=use_cache)
        outs.append(generate_target(model, memory, src_pad, target, VOCAB, options, prefix=prefix,
                                    attention_layers=(-1, 0)))
    for cached, recomputed in zip(*outs, strict=True):
        assert cached.steps == recomputed.steps
        assert np.array_equal(cached.steps.tokens[: len(prefix)], prefix.tokens)
        assert cached.attention.shape == (len(cached.steps), memory.shape[1])
        np.testing.assert_allclose(cached.attention, recomputed.attention, atol=1e-5)
        np.testing.assert_allclose(cached.attention.sum(axis=1), 1.0, atol=1e-5)


def test_attention_rows_ignore_padding(model) -> None:
    memory, src_pad = _memory(model, AUDIO)
    rows = generate_target(model, memory, src_pad, AUDIO, VOCAB, DecodingOptions(max_steps=6),
                           attention_layers=(-2,))
    assert rows[1].attention[:, 5:].max() == 0.0  # row 1's source is padded from step 5
    assert rows[0].attention[:, 5:].max() > 0.0


def test_prefix_conditions_the_continuation(model) -> None:
    memory, src_pad = _memory(model, AUDIO)
    options = DecodingOptions(max_steps=10)
    a = generate_target(model, memory, src_pad, AUDIO, VOCAB, options, prefix=_audio_prefix(3, seed=1))
    b = generate_target(model, memory, src_pad, AUDIO, VOCAB, options, prefix=_audio_prefix(3, seed=2))
    plain = generate_target(model, memory, src_pad, AUDIO, VOCAB, options)
    assert not np.array_equal(a[0].steps.tokens[3:], b[0].steps.tokens[3:])
    assert not np.array_equal(plain[0].steps.tokens[:3], a[0].steps.tokens[:3])


def test_low_level_generate_with_batched_prefix(model) -> None:
    memory, src_pad = _memory(model, Modality.NOTATION)
    block = VOCAB.block(Modality.NOTATION)
    masks = torch.zeros(4, VOCAB.size, dtype=torch.bool)
    masks[0, block.start:block.stop] = True
    masks[0, VOCAB.eos(Modality.NOTATION)] = True
    masks[1:, 0] = True
    sos = torch.tensor([VOCAB.sos(Modality.NOTATION), 0, 0, 0])
    prefix = torch.zeros(2, 3, 4, dtype=torch.long)
    prefix[..., 0] = torch.tensor([[block.start, block.start + 1, block.start + 2], [block.start + 5] * 3])
    options = DecodingOptions(max_steps=8)
    out = generate(model, memory, src_pad, 1, sos, VOCAB.eos(Modality.NOTATION), masks, options, prefix=prefix).tokens
    assert torch.equal(out[:, :3], prefix)
    gen = generate(model, memory, src_pad, 1, sos, VOCAB.eos(Modality.NOTATION), masks, options,
                                  prefix=prefix, attention_layers=(1,))
    assert torch.equal(gen.tokens, out)
    assert set(gen.cross_attention) == {1} and gen.cross_attention[1].shape == (2, out.shape[1], memory.shape[1])


def test_bad_prefixes_are_refused(model) -> None:
    memory, src_pad = _memory(model, AUDIO)
    options = DecodingOptions(max_steps=8)
    with pytest.raises(ValueError, match="leaves no room"):
        generate_target(model, memory, src_pad, AUDIO, VOCAB, options, prefix=_audio_prefix(8))
    with pytest.raises(ValueError, match="prefix cannot start"):
        generate_target(model, memory, src_pad, IMAGE, VOCAB, options, prefix=_audio_prefix(2))
    grid = np.random.default_rng(3).integers(0, 64, (2, 3, 4))
    full = encode_image([grid], VOCAB, as_target=True)
    no_height = Steps(full.tokens[1:3], full.x[1:3], full.y[1:3], IMAGE)  # codes before any height token
    with pytest.raises(ValueError, match="do not allow"):
        generate_target(model, memory, src_pad, IMAGE, VOCAB, DecodingOptions(max_steps=12), prefix=no_height)
    eos = Steps(np.array([[VOCAB.eos(AUDIO), 0, 0, 0]]), np.zeros(1), np.zeros(1), AUDIO)
    with pytest.raises(ValueError, match="end token"):
        generate_target(model, memory, src_pad, AUDIO, VOCAB, options, prefix=eos)
