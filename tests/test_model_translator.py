"""Translator network: shapes, PAD embedding, causality, chunked loss, codebook init, checkpoints, overfitting."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F

from _translator_fixtures import VOCAB, random_batch, tiny_model
from scorebridge.errors import InputError
from scorebridge.model import (
    MODEL_PRESETS,
    ModelConfig,
    Translator,
    init_codebook_embeddings,
    load_translator,
    model_preset,
    save_translator,
    translation_loss,
)


def test_forward_shapes_and_memory():
    model, batch = tiny_model(), random_batch()
    logits = model(batch)
    assert logits.shape == (3, 6, 4, VOCAB)
    memory = model.encode(batch.src_tokens, batch.src_x, batch.src_y, batch.src_modality, batch.tgt_modality,
                          batch.src_pad)
    assert memory.shape == (3, 9, 64) and torch.isfinite(memory).all()


def test_pad_embedding_is_zero_and_stays_zero():
    model = tiny_model()
    assert torch.count_nonzero(model.tok_emb.weight[0]) == 0
    assert torch.count_nonzero(model.sub.emb.weight[0]) == 0
    model.train()
    translation_loss(model, random_batch()).loss.backward()
    assert torch.count_nonzero(model.tok_emb.weight.grad[0]) == 0
    assert torch.count_nonzero(model.tok_emb.weight.grad[1:]) > 0


def test_target_modality_changes_the_encoding():
    model, batch = tiny_model(), random_batch()
    args = (batch.src_tokens, batch.src_x, batch.src_y, batch.src_modality)
    a = model.encode(*args, torch.tensor([1, 1, 1]), batch.src_pad)
    b = model.encode(*args, torch.tensor([2, 2, 2]), batch.src_pad)
    assert not torch.allclose(a, b)


def test_source_padding_is_ignored():
    model, batch = tiny_model(), random_batch()
    changed = batch.src_tokens.clone()
    changed[1, -3:] = 7  # only the padded steps of sample 1
    before = model(batch)[1]
    after = model(dataclasses.replace(batch, src_tokens=changed))[1]
    torch.testing.assert_close(before, after)


def test_decoder_is_causal():
    model, batch = tiny_model(), random_batch(t=8)
    j = 5
    changed = batch.tgt_tokens.clone()
    changed[:, j] = (changed[:, j] % (VOCAB - 1)) + 1
    before, after = model(batch), model(dataclasses.replace(batch, tgt_tokens=changed))
    # logits index i predicts target step i + 1; step j is the decoder input of index j and the
    # teacher-forced codes of index j - 1 (slots 1..3 only)
    torch.testing.assert_close(before[:, : j - 1], after[:, : j - 1])
    torch.testing.assert_close(before[:, j - 1, 0], after[:, j - 1, 0])
    assert not torch.allclose(before[:, j - 1, 1:], after[:, j - 1, 1:])
    assert not torch.allclose(before[:, j:], after[:, j:])


def test_chunked_loss_equals_full_cross_entropy_with_same_gradients():
    batch = random_batch()
    model_a, model_b = tiny_model(), tiny_model()
    logits = model_a(batch)
    labels = batch.tgt_tokens[:, 1:]
    expected = F.cross_entropy(logits.reshape(-1, VOCAB), labels.reshape(-1), ignore_index=0)
    full = translation_loss(model_a, batch, chunk_steps=10_000)
    chunked = translation_loss(model_b, batch, chunk_steps=4)
    assert int(full.tokens) == int((labels != 0).sum()) == int(chunked.tokens)
    torch.testing.assert_close(full.loss, expected)
    torch.testing.assert_close(chunked.loss, expected)
    torch.testing.assert_close(chunked.accuracy, full.accuracy)
    full.loss.backward()
    chunked.loss.backward()
    for (name, pa), pb in zip(model_a.named_parameters(), model_b.parameters(), strict=True):
        torch.testing.assert_close(pa.grad, pb.grad, msg=name, atol=1e-6, rtol=1e-4)


def test_out_of_range_positions_are_rejected():
    model, batch = tiny_model(), random_batch()
    bad = batch.src_x.clone()
    bad[0, 0] = model.config.max_x  # would silently read the next modality's table
    with pytest.raises(ValueError, match="x positions"):
        model(dataclasses.replace(batch, src_x=bad))


def test_cross_attention_weights_of_chosen_layers():
    model, batch = tiny_model(), random_batch()
    memory = model.encode(batch.src_tokens, batch.src_x, batch.src_y, batch.src_modality, batch.tgt_modality,
                          batch.src_pad)
    args = (memory, batch.src_pad, batch.tgt_tokens, batch.tgt_x, batch.tgt_y, batch.tgt_modality)
    out = model.decode(*args, attention_layers=[-1])
    assert set(out.cross_attention) == {1}
    w = out.cross_attention[1]
    assert w.shape == (3, 7, 9)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 7))
    assert torch.all(w[1, :, -3:] == 0)  # padded source steps get no weight
    torch.testing.assert_close(out.hidden, model.decode(*args).hidden)
    with pytest.raises(ValueError, match="outside"):
        model.decode(*args, attention_layers=[2])


def test_presets_and_config_validation():
    assert set(MODEL_PRESETS) >= {"tiny", "small", "paper"}
    paper = model_preset("paper", 4500)
    assert (paper.d_model, paper.n_heads, paper.enc_layers, paper.dec_layers, paper.d_ff) == (1024, 16, 12, 12, 4096)
    with pytest.raises(ValueError, match="vocab_size is not set"):
        Translator(MODEL_PRESETS["tiny"])
    with pytest.raises(ValueError, match="divide"):
        ModelConfig(vocab_size=10, d_model=60, n_heads=8)
    with pytest.raises(ValueError, match="unknown model preset"):
        model_preset("huge", 10)


def test_codebook_init_writes_standardised_rows():
    model = tiny_model(vocab=60)
    vectors = torch.randn(2, 8, 16)
    vectors[1] *= 3.0  # codebook 1 spreads three times wider than codebook 0
    std_before = model.tok_emb.weight.std().item()
    pad_before = model.tok_emb.weight[0].clone()
    other_before = model.tok_emb.weight[30:].clone()
    init_codebook_embeddings(model, block_start=5, vectors=vectors, stride=10)
    table = model.tok_emb.weight
    block0, block1 = table[5:13], table[15:23]
    torch.testing.assert_close(block0[:, :16], block0[:, 16:32])  # tiled 16 -> 64
    assert block0.std().item() == pytest.approx(std_before, rel=0.15)
    assert block1.std().item() / block0.std().item() == pytest.approx(3.0, rel=0.2)
    assert torch.equal(table[0], pad_before) and torch.equal(table[30:], other_before)
    torch.testing.assert_close(model.sub.emb.weight[5:13] / model.sub.emb.weight.std(), block0 / table.std(),
                               rtol=0.2, atol=0.2)
    with pytest.raises(ValueError, match="do not fit"):
        init_codebook_embeddings(model, block_start=50, vectors=vectors, stride=10)


def test_save_load_round_trip_and_strict_failure(tmp_path):
    model, batch = tiny_model(), random_batch()
    save_translator(model, tmp_path / "ckpt", extra={"vocabulary": {"size": VOCAB}})
    loaded = load_translator(tmp_path / "ckpt")
    assert loaded.extra == {"vocabulary": {"size": VOCAB}}
    assert loaded.model.config == model.config and not loaded.model.training
    torch.testing.assert_close(loaded.model(batch), model(batch))

    meta_file = tmp_path / "ckpt" / "config.json"
    meta = json.loads(meta_file.read_text())
    meta["config"]["d_ff"] = 128
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="weights do not match"):
        load_translator(tmp_path / "ckpt")
    meta["config"]["d_ff"] = 256
    meta["config"]["widht"] = 3
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="unknown ModelConfig keys: widht"):
        load_translator(tmp_path / "ckpt")
    with pytest.raises(InputError, match="not a checkpoint"):
        load_translator(tmp_path / "nothing")


def test_tiny_model_overfits_four_pairs():
    torch.manual_seed(0)
    model = Translator(dataclasses.replace(model_preset("tiny", 32), dropout=0.0))
    batch = random_batch(b=4, s=8, t=6, vocab=32, seed=5)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    for _ in range(600):
        result = translation_loss(model, batch)
        if result.accuracy.item() == 1.0:  # stop before a step that could move off the fit
            break
        opt.zero_grad()
        result.loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        final = translation_loss(model, batch)
    assert final.accuracy.item() >= 0.99, final
