"""Training data: random access to baked shards, examples per task, pools, batches."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from _baked_fixtures import write_baked
from scorebridge.errors import InputError
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.modality import Modality, Task
from scorebridge.shards import ShardReader, iter_baked
from scorebridge.tokens.layout import LengthLimits, decode, strip_sos_eos
from scorebridge.train.assemble import vocabulary_for
from scorebridge.train.batches import ExampleSource, StepBatches, build_pools, collate
from scorebridge.train.curriculum import TaskEntry
from scorebridge.train.examples import SkipExample, make_example
from scorebridge.train.rows import read_bake_info, read_rows

LIMITS = LengthLimits(image=200, notation=200, midi=200, audio=200, image_columns=50)


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    return write_baked(tmp_path_factory.mktemp("baked") / "toy")


@pytest.fixture(scope="module")
def vocab(baked):
    return vocabulary_for(read_bake_info([baked]))


def test_reader_returns_the_same_samples_as_a_pass_through_the_shards(baked):
    rows = read_rows([baked])
    reader = ShardReader()
    by_id = {s.id: s for s in iter_baked(baked)}
    for row in reversed(rows):  # any order
        got = reader.read(row)
        want = by_id[row.id]
        assert got.lmx == want.lmx and got.notes_json == want.notes_json and got.meta == want.meta
        assert np.array_equal(got.image, want.image) and np.array_equal(got.audio, want.audio)
    reader.close()
    assert {r.split for r in read_rows([baked], "valid")} == {"valid"}


def test_vocabulary_follows_the_bake_codecs(baked, vocab):
    assert len(vocab.block(Modality.IMAGE, 0)) == 16 and len(vocab.block(Modality.AUDIO, 3)) == 16
    assert vocab.n_slots == 4


def test_two_bakes_with_other_codecs_are_refused(tmp_path, baked):
    other = write_baked(tmp_path / "other")
    text = (other / "bake.json").read_text().replace("0000beef", "12345678")
    (other / "bake.json").write_text(text)
    with pytest.raises(InputError, match="other codecs"):
        read_bake_info([baked, other])
    with pytest.raises(InputError, match="bake.json"):
        read_bake_info([tmp_path])


ALL = [(s, t) for s in Modality for t in Modality if s is not t]


@pytest.mark.parametrize(("source", "target"), ALL)
def test_examples_of_every_task_round_trip_to_the_sample(baked, vocab, source, target):
    row = read_rows([baked], "train")[1]
    sample = ShardReader().read(row)
    tokenizer = MidiTokenizer(vocab.config.midi)
    e = make_example(sample, row.dataset, Task(source, target), vocab, LIMITS, tokenizer)
    assert e.source.modality is source and e.target.modality is target
    assert e.target.tokens[0, 0] == vocab.sos(target) and e.target.tokens[-1, 0] == vocab.eos(target)
    value = decode(strip_sos_eos(e.target, vocab), vocab, as_target=True)
    if target is Modality.NOTATION:
        assert tuple(value) == sample.lmx
    elif target is Modality.IMAGE:  # centre placement, clean variant
        assert np.array_equal(value[0], sample.image[1, 0])  # [0, 0] is listed second
    elif target is Modality.AUDIO:
        assert np.array_equal(value, sample.audio[1])
    else:
        notes = tokenizer.stitch([tokenizer.decode_window(value, 0)])
        assert [(n.onset, n.pitch) for n in notes] == [(0, 61), (500, 65)]


def test_training_draws_shifts_and_degraded_variants_only_for_sources(baked, vocab):
    row = read_rows([baked], "train")[0]
    sample = ShardReader().read(row)
    tokenizer = MidiTokenizer(vocab.config.midi)
    sources, targets = set(), set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        e = make_example(sample, row.dataset, Task(Modality.IMAGE, Modality.NOTATION), vocab,
                         LIMITS, tokenizer, rng)
        sources.add(e.source.tokens.tobytes())
        t = make_example(sample, row.dataset, Task(Modality.NOTATION, Modality.IMAGE), vocab, LIMITS, tokenizer,
                         np.random.default_rng(seed))
        targets.add(decode(strip_sos_eos(t.target, vocab), vocab, as_target=True)[0].tobytes())
    assert len(sources) == 4  # 2 shifts x 2 variants
    clean = {sample.image[s, 0].astype(np.int64).tobytes() for s in range(2)}
    assert targets == clean  # both shifts, never the degraded variant


def test_too_long_samples_are_skipped(baked, vocab):
    row = read_rows([baked], "train")[0]
    sample = ShardReader().read(row)
    short = LengthLimits(image=200, notation=5, midi=200, audio=200, image_columns=50)
    with pytest.raises(SkipExample, match="limit"):
        make_example(sample, row.dataset, Task(Modality.IMAGE, Modality.NOTATION), vocab, short,
                     MidiTokenizer(vocab.config.midi))
    rows = read_rows([baked], "train")
    pools = build_pools([TaskEntry("*", "image", "notation")], rows, short)
    assert pools == []  # the manifest's token counts exclude them before drawing


def test_pools_hold_the_eligible_rows_per_dataset(baked):
    rows = read_rows([baked], "train")
    pools = build_pools([TaskEntry("*", "audio", "midi", 2.0, 5, 9), TaskEntry("nope", "image", "audio")], rows,
                        LIMITS)
    assert [p.name for p in pools] == ["toy:audio->midi"]
    assert pools[0].items == tuple(range(len(rows))) and (pools[0].start, pools[0].end) == (5, 9)


def test_collate_pads_and_marks_padding(baked, vocab):
    rows = read_rows([baked], "train")
    source = ExampleSource(rows, build_pools([TaskEntry("*", "audio", "notation")], rows, LIMITS), vocab, LIMITS)
    examples = [source.example(0, i, None) for i in range(3)]
    batch = collate(examples)
    lengths = [len(e.source) for e in examples]
    assert batch.src_tokens.shape == (3, max(lengths), 4)
    for i, n in enumerate(lengths):
        assert not batch.src_pad[i, :n].any() and batch.src_pad[i, n:].all()
        assert (batch.src_tokens[i, n:] == 0).all()
        m = len(examples[i].target)
        assert torch.equal(batch.tgt_tokens[i, :m], torch.from_numpy(examples[i].target.tokens))
        assert (batch.tgt_tokens[i, m:] == 0).all()
    assert batch.src_modality.tolist() == [3, 3, 3] and batch.tgt_modality.tolist() == [1, 1, 1]


def _rows(step_data):
    """Each example of a step as (pool, trimmed target tokens), across micro-batches."""
    out = []
    for micro in step_data.micro:
        for i, pool in enumerate(micro.pools.tolist()):
            tgt = micro.batch.tgt_tokens[i]
            out.append((pool, tgt[(tgt != 0).any(dim=1)].tolist()))
    return out


def test_step_batches_are_a_function_of_the_step_and_split_across_ranks(baked, vocab):
    rows = read_rows([baked], "train")
    entries = [TaskEntry("*", "image", "notation"), TaskEntry("*", "audio", "midi"), TaskEntry("*", "midi", "audio")]
    source = ExampleSource(rows, build_pools(entries, rows, LIMITS), vocab, LIMITS)
    one = StepBatches(source, 0, 4, 1, 0, 1, 0, 10)
    resumed = StepBatches(source, 0, 4, 2, 0, 1, 3, 10)  # starts at step 3, in 2 micro-batches
    assert len(one) == 10 and len(resumed) == 7
    a = one[5]
    assert a.step == resumed[2].step == 5 and len(resumed[2].micro) == 2
    assert _rows(a) == _rows(resumed[2])
    ranks = [StepBatches(source, 0, 4, 1, r, 2, 0, 10)[5] for r in range(2)]
    assert _rows(ranks[0]) + _rows(ranks[1]) == _rows(a)
    assert a.micro[0].tokens == sum(r.micro[0].tokens for r in ranks)
    assert _rows(one[6]) != _rows(a)
    assert _rows(StepBatches(source, 1, 4, 1, 0, 1, 0, 10)[5]) != _rows(a)  # another seed


def test_new_models_start_image_and_audio_rows_from_the_codebooks(baked, vocab):
    from scorebridge.train.assemble import new_model
    from scorebridge.train.curriculum import TaskEntry as Entry
    from scorebridge.train.recipe import TrainConfig

    config = TrainConfig("t", (str(baked),), (Entry("*", "image", "notation"),), 1, 1, model="tiny", limits=LIMITS)
    info = read_bake_info([baked])
    with_codebooks = new_model(config, vocab, info)
    plain = new_model(dataclasses.replace(config, init_codebooks=False), vocab, info)
    image, lmx = vocab.full_block(Modality.IMAGE), vocab.block(Modality.NOTATION)
    rows = slice(image.start, image.stop)
    assert not torch.equal(with_codebooks.tok_emb.weight[rows], plain.tok_emb.weight[rows])
    assert torch.equal(with_codebooks.tok_emb.weight[lmx.start:lmx.stop], plain.tok_emb.weight[lmx.start:lmx.stop])
    # codebook k's rows keep the codec's geometry: same pairwise order of distances as the codec vectors
    from safetensors.torch import load_file

    vectors = load_file(str(info.codebooks))["image"][0]
    emb = with_codebooks.tok_emb.weight[image.start:image.start + 16]
    assert torch.corrcoef(torch.stack([torch.pdist(vectors), torch.pdist(emb[:, :8])]))[0, 1] > 0.99
