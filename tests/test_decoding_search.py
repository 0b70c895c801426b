"""Search over the translator: KV cache equals recomputation, masks hold, seeded sampling, EOS handling."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from _translator_fixtures import VOCAB, random_batch, tiny_model
from scorebridge.decoding import DecodingOptions, generate
from scorebridge.model import Translator, model_preset, translation_loss

SOS, EOS = 1, 2
SOS_STEP = torch.tensor([SOS, 0, 0, 0])


def _encoded(model, batch):
    memory = model.encode(batch.src_tokens, batch.src_x, batch.src_y, batch.src_modality, batch.tgt_modality,
                          batch.src_pad)
    return memory, batch.src_pad, batch.tgt_modality


def _no_eos_masks(vocab: int = VOCAB) -> torch.Tensor:
    masks = torch.ones(4, vocab, dtype=torch.bool)
    masks[:, 0] = False
    masks[0, EOS] = False
    return masks


def test_kv_cache_equals_full_recomputation_greedy_50_steps():
    model, batch = tiny_model(), random_batch()
    memory, pad, modality = _encoded(model, batch)
    masks = _no_eos_masks()
    with_cache = generate(model, memory, pad, modality, SOS_STEP, EOS, masks, DecodingOptions(max_steps=50)).tokens
    without = generate(model, memory, pad, modality, SOS_STEP, EOS, masks,
                       DecodingOptions(max_steps=50, use_cache=False)).tokens
    assert with_cache.shape == (3, 50, 4)
    assert torch.equal(with_cache, without)
    assert len(torch.unique(with_cache)) > 3  # not a degenerate constant output


def test_incremental_decoder_states_match_full_pass():
    model, batch = tiny_model(), random_batch(t=12)
    memory, pad, modality = _encoded(model, batch)
    args = (batch.tgt_tokens, batch.tgt_x, batch.tgt_y)
    full = model.decode(memory, pad, *args, modality).hidden
    cache = model.new_cache()
    parts = [model.decode(memory, pad, *(a[:, :5] for a in args), modality, cache).hidden]  # a prefix chunk, then steps
    for i in range(5, 12):
        parts.append(model.decode(memory, pad, *(a[:, i : i + 1] for a in args), modality, cache).hidden)
    assert cache.length == 12
    torch.testing.assert_close(torch.cat(parts, dim=1), full, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("method", ["greedy", "top_p", "sample"])
def test_masks_never_let_a_disallowed_id_out(method):
    model, batch = tiny_model(), random_batch()
    memory, pad, modality = _encoded(model, batch)
    g = torch.Generator().manual_seed(3)
    masks = torch.rand(4, VOCAB, generator=g) < 0.3
    masks[:, 0] = False
    masks[0, EOS] = False
    masks[1:, 0] = True  # slots 1-3 may be PAD, as for single-stream targets
    opts = DecodingOptions(method=method, temperature=2.0, top_p=0.95, max_steps=30, seed=4)
    out = generate(model, memory, pad, modality, SOS_STEP, EOS, masks, opts).tokens
    for k in range(4):
        assert masks[k][out[..., k]].all(), f"slot {k} emitted a masked id"
    single_stream = torch.zeros(4, VOCAB, dtype=torch.bool)
    single_stream[0, 3:] = True
    single_stream[1:, 0] = True
    out = generate(model, memory, pad, modality, SOS_STEP, EOS, single_stream, opts).tokens
    assert (out[..., 1:] == 0).all() and (out[..., 0] >= 3).all()


def test_seeded_sampling_is_repeatable_and_leaves_global_rng_alone():
    model, batch = tiny_model(), random_batch()
    memory, pad, modality = _encoded(model, batch)
    masks = _no_eos_masks()
    state = torch.random.get_rng_state()
    runs = [generate(model, memory, pad, modality, SOS_STEP, EOS, masks,
                     DecodingOptions(method="sample", seed=seed, max_steps=20, temperature=3.0)).tokens
            for seed in (7, 7, 8)]
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


def test_stops_at_eos_and_pads_finished_sequences():
    model, batch = tiny_model(), random_batch()
    memory, pad, modality = _encoded(model, batch)
    masks = _no_eos_masks().expand(3, 4, VOCAB).clone()
    masks[0, 0] = False
    masks[0, 0, EOS] = True  # sample 0 can only end; the others never can
    model.train()
    out = generate(model, memory, pad, modality, SOS_STEP, EOS, masks, DecodingOptions(max_steps=6)).tokens
    assert model.training  # the caller's mode is restored
    assert out.shape == (3, 6, 4)
    assert out[0, 0, 0] == EOS and (out[0, 1:] == 0).all()
    assert (out[1:, :, 0] != EOS).all() and (out[1:, :, 0] != 0).all()
    masks[:] = masks[0]
    out = generate(model, memory, pad, modality, SOS_STEP, EOS, masks, DecodingOptions(max_steps=6)).tokens
    assert out.shape == (3, 1, 4) and (out[:, 0, 0] == EOS).all()


def test_options_are_validated():
    for bad in ({"method": "beam"}, {"temperature": 0.0}, {"top_p": 0.0}, {"top_p": 1.5}, {"seed": -1},
                {"max_steps": 0}):
        with pytest.raises(ValueError):
            DecodingOptions(**bad)
    model, batch = tiny_model(), random_batch()
    memory, pad, modality = _encoded(model, batch)
    with pytest.raises(ValueError, match="at least one allowed"):
        generate(model, memory, pad, modality, SOS_STEP, EOS, torch.zeros(4, VOCAB, dtype=torch.bool),
                 DecodingOptions())
    with pytest.raises(ValueError, match="x positions"):
        generate(model, memory, pad, modality, SOS_STEP, EOS, _no_eos_masks(), DecodingOptions(max_steps=5000))


def test_overfit_model_decodes_its_targets_greedily():
    torch.manual_seed(0)
    vocab = 24
    model = Translator(dataclasses.replace(model_preset("tiny", vocab), dropout=0.0))
    batch = random_batch(b=4, s=6, t=7, vocab=vocab, seed=9)
    tgt = batch.tgt_tokens.clamp_min(3)  # ids 3.. are content; then SOS first, EOS last, PAD after
    tgt[:, 0] = SOS_STEP
    tgt[:, -1] = torch.tensor([EOS, 0, 0, 0])
    tgt[0, 4:] = 0
    tgt[0, 4, 0] = EOS
    batch = dataclasses.replace(batch, tgt_tokens=tgt)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    for _ in range(400):
        result = translation_loss(model, batch)
        opt.zero_grad()
        result.loss.backward()
        opt.step()
        if result.accuracy.item() == 1.0:
            break
    model.eval()
    memory, pad, modality = _encoded(model, batch)
    masks = torch.ones(4, vocab, dtype=torch.bool)
    masks[0, 0] = False
    for use_cache in (True, False):
        out = generate(model, memory, pad, modality, SOS_STEP, EOS, masks,
                       DecodingOptions(max_steps=20, use_cache=use_cache)).tokens
        assert torch.equal(out, tgt[:, 1:])


def test_default_positions_match_the_training_layout():
    from scorebridge.decoding.search import step_positions
    from scorebridge.modality import Modality
    from scorebridge.tokens.layout import target_positions
    from scorebridge.tokens.vocabulary import Vocabulary

    vocab = Vocabulary()
    lmx = vocab.lmx_ids(["measure", "clef:G2", "key:fifths:1", "measure"])
    ids = [vocab.sos(Modality.NOTATION), *lmx]
    want_x, _ = target_positions(ids, Modality.NOTATION, vocab)
    for t in range(1, len(ids) + 1):
        x, y = step_positions(torch.zeros(2, t, 4, dtype=torch.long))
        assert x.tolist() == [int(want_x[t - 1])] * 2 and y.tolist() == [0, 0]
