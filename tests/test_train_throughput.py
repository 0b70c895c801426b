"""Throughput changes of issue 19 that must not change what is learned: the one-slot sub-decoder path, length-
sorted micro-batches under a token budget, samples held in memory."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from scorebridge.model import Translator, model_preset, translation_loss
from scorebridge.model.translator import TranslationBatch


def _batch(vocab: int, seed: int = 0) -> TranslationBatch:
    """Two rows with one-slot targets (LMX-like: slots 1..3 PAD) and one with four-slot targets, padded."""
    g = torch.Generator().manual_seed(seed)
    b, s, t = 3, 7, 9
    tgt = torch.randint(1, vocab, (b, t, 4), generator=g)
    tgt[:2, :, 1:] = 0  # rows 0 and 1: one slot per step
    tgt[0, 6:] = 0  # row 0 shorter: PAD steps
    tgt[2, 8:] = 0
    src_pad = torch.zeros(b, s, dtype=torch.bool)
    src_pad[1, 5:] = True
    return TranslationBatch(
        src_tokens=torch.randint(1, vocab, (b, s, 4), generator=g), src_x=torch.arange(s).expand(b, -1),
        src_y=torch.zeros(b, s, dtype=torch.long), src_pad=src_pad, src_modality=torch.tensor([0, 3, 1]),
        tgt_tokens=tgt, tgt_x=torch.arange(t).expand(b, -1), tgt_y=torch.zeros(b, t, dtype=torch.long),
        tgt_modality=torch.tensor([1, 2, 3]))


def _reference_loss(model: Translator, batch: TranslationBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Every slot of every step through the sub-decoder and head (the model's full forward), PAD ignored."""
    logits = model(batch)
    labels = batch.tgt_tokens[:, 1:]
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=0, reduction="none")
    row_loss = ce.view(labels.shape).sum(dim=(1, 2))
    return row_loss.sum(), row_loss


@pytest.mark.parametrize("chunk_steps", [4096, 5])
def test_one_slot_steps_give_the_full_loss_and_gradients(chunk_steps):
    torch.manual_seed(0)
    model = Translator(model_preset("tiny", 50))
    batch = _batch(50)
    ref_sum, ref_rows = _reference_loss(model, batch)
    ref_grads = torch.autograd.grad(ref_sum, list(model.parameters()), allow_unused=True)
    r = translation_loss(model, batch, chunk_steps=chunk_steps)
    grads = torch.autograd.grad(r.loss_sum, list(model.parameters()), allow_unused=True)
    assert float(r.loss_sum.detach()) == pytest.approx(float(ref_sum.detach()), rel=1e-5)
    assert torch.allclose(r.row_loss, ref_rows.detach(), rtol=1e-5)
    assert int(r.tokens) == int((batch.tgt_tokens[:, 1:] != 0).sum())
    assert r.row_tokens.tolist() == (batch.tgt_tokens[:, 1:] != 0).sum(dim=(1, 2)).tolist()
    for a, b in zip(grads, ref_grads, strict=True):
        assert (a is None) == (b is None) or (a is None and not b.any()) or (b is None and not a.any())
        if a is not None and b is not None:
            assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_the_one_slot_path_skips_the_later_slots_flops():
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = Translator(model_preset("tiny", 5000))
    batch = _batch(5000)
    one_slot = TranslationBatch(**{**batch.__dict__, "tgt_tokens": batch.tgt_tokens.clone()})
    one_slot.tgt_tokens[2, :, 1:] = 0
    counts = []
    for b in (batch, one_slot):
        with FlopCounterMode(display=False) as counter:
            translation_loss(model, b)
        counts.append(counter.get_total_flops())
    # row 2's 8 steps go from 4 head slots to 1 (45 -> 21 slot-heads in all); the 5,000-id head dominates
    assert counts[1] < counts[0] * 0.7
    with FlopCounterMode(display=False) as counter:
        all_slots = translation_loss(model, one_slot, one_slot_steps=False)
    assert counter.get_total_flops() > counts[1] * 1.4
    assert float(all_slots.loss_sum) == pytest.approx(float(translation_loss(model, one_slot).loss_sum), rel=1e-5)


# ---- micro-batches under a token budget ------------------------------------------------------------------------
def test_micro_batch_plans_keep_padding_within_the_budget():
    from scorebridge.train.batches import plan_micro_batches

    assert plan_micro_batches([(5, 5)] * 6, 3) == [[0, 1], [2, 3], [4, 5]]  # no budget: drawn order, equal parts
    lengths = [(100, 90), (10, 12), (400, 300), (12, 9), (95, 100), (11, 11)]
    parts = plan_micro_batches(lengths, 1, 400)
    assert sorted(i for p in parts for i in p) == list(range(6))
    for part in parts:
        padded = len(part) * (max(lengths[i][0] for i in part) + max(lengths[i][1] for i in part))
        assert padded <= 400 or len(part) == 1  # the 700-step example is a part of its own
    assert parts[0] == [3, 1, 5]  # the short ones together, sorted by total length (ties by index)
    assert plan_micro_batches(lengths, 1, 400) == parts  # a pure function
    with pytest.raises(ValueError):
        plan_micro_batches([(1, 1)] * 5, 2)


def test_a_token_budget_gives_the_same_loss_curve(tmp_path):
    """Cutting a step into length-sorted micro-batches changes the padding, not the gradient."""
    from _baked_fixtures import write_baked, write_recipe
    from scorebridge.train import read_recipe, train
    from scorebridge.train.run_folder import read_metrics

    baked = write_baked(tmp_path / "toy", n_train=6, shifts=(1, 1))
    recipe = write_recipe(tmp_path / "r.toml", baked, steps=3, batch=6, checkpoint_every=3)
    train(read_recipe(recipe), tmp_path / "plain", progress=False)
    train(read_recipe(recipe, batch_tokens=60, preload=True), tmp_path / "budget", progress=False)
    plain = [r["loss"] for r in read_metrics(tmp_path / "plain")]
    budget = [r["loss"] for r in read_metrics(tmp_path / "budget")]
    assert budget == pytest.approx(plain, rel=1e-4)


def test_preloaded_samples_are_the_read_ones(tmp_path):
    from _baked_fixtures import write_baked
    from scorebridge.shards import ShardReader
    from scorebridge.train.rows import read_rows

    baked = write_baked(tmp_path / "toy", n_train=5)
    rows = read_rows([baked])
    plain, held = ShardReader(), ShardReader()
    assert held.preload(rows[:4]) == 4
    for row in rows:  # the fifth is read from its shard as before
        a, b = plain.read(row), held.read(row)
        assert a.id == b.id and a.lmx == b.lmx and a.notes_json == b.notes_json
        assert (a.image == b.image).all() and (a.audio == b.audio).all()
    (baked / rows[0].shard).unlink()
    assert held.read(rows[0]).id == rows[0].id  # held in memory: the file is no longer read
    plain.close()
    held.close()


def test_a_run_starts_from_trained_weights_of_the_same_vocabulary(tmp_path):
    from safetensors.torch import load_file

    from _baked_fixtures import write_baked, write_recipe
    from scorebridge.errors import InputError
    from scorebridge.train import read_recipe, train
    from scorebridge.train.run_folder import latest_checkpoint

    baked = write_baked(tmp_path / "toy", n_train=4, shifts=(1, 1))
    recipe = write_recipe(tmp_path / "r.toml", baked, steps=2, checkpoint_every=2)
    first = train(read_recipe(recipe), tmp_path / "a", progress=False).checkpoint
    config = read_recipe(recipe, init=str(first), steps=1, checkpoint_every=1, optim=read_recipe(recipe).optim)
    second = train(config, tmp_path / "b", progress=False)
    assert second.loss < read_metrics_first_loss(tmp_path / "a")
    before, after = load_file(str(first / "model.safetensors")), load_file(str(second.checkpoint / "model.safetensors"))
    assert all(before[k].shape == after[k].shape for k in before)
    other = write_baked(tmp_path / "other", n_train=4, shifts=(1, 1))
    import json

    info = json.loads((other / "bake.json").read_text())
    (other / "bake.json").write_text(json.dumps({**info, "codec_digest": "feedf00d"}))
    with pytest.raises(InputError, match="codecs 0000beef"):
        train(read_recipe(recipe, init=str(first), data=(str(other),)), tmp_path / "c", progress=False)
    assert latest_checkpoint(tmp_path / "b").name == "step-00000001"


def read_metrics_first_loss(out):
    from scorebridge.train.run_folder import read_metrics

    return read_metrics(out)[0]["loss"]
