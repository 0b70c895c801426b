"""Unified vocabulary: contiguous disjoint blocks, sizes, specials, conversions, to/from dict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scorebridge.errors import InputError
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.midi.vocab import MidiEventConfig
from scorebridge.modality import Modality
from scorebridge.notation.vocabulary import VOCABULARY
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig

SMALL = VocabularyConfig(midi=MidiEventConfig(max_shift_steps=501, velocity_bins=4), image_codebook_size=64,
                         audio_codebook_size=32, max_image_height=12)


@pytest.fixture(params=[VocabularyConfig(), SMALL], ids=["default", "small"])
def vocab(request) -> Vocabulary:
    return Vocabulary(request.param)


def all_ranges(v: Vocabulary) -> list[range]:
    singles = [range(i, i + 1) for i in (v.pad, v.sep, *(v.sos(m) for m in Modality), *(v.eos(m) for m in Modality))]
    blocks = [v.block(m, k) for m in Modality for k in range(v.n_slots if m in (Modality.IMAGE, Modality.AUDIO)
                                                              else 1)]
    return singles + [v.heights] + blocks


def test_blocks_are_disjoint_contiguous_and_cover_the_vocabulary(vocab):
    ranges = sorted(all_ranges(vocab), key=lambda r: r.start)
    assert ranges[0].start == 0 and ranges[-1].stop == vocab.size
    for a, b in zip(ranges, ranges[1:], strict=False):
        assert a.stop == b.start  # no gap, no overlap
    assert all(len(r) > 0 for r in ranges)


def test_sizes_add_up(vocab):
    cfg = vocab.config
    midi = MidiTokenizer(cfg.midi)
    expected = (2 + 2 * 4 + cfg.max_image_height + len(cfg.lmx_tokens) + midi.vocab_size - 3
                + 4 * cfg.image_codebook_size + 4 * cfg.audio_codebook_size)
    assert vocab.size == expected
    assert len(vocab.block(Modality.NOTATION)) == len(cfg.lmx_tokens)
    assert len(vocab.full_block(Modality.IMAGE)) == 4 * cfg.image_codebook_size
    assert len(vocab.full_block(Modality.AUDIO)) == 4 * cfg.audio_codebook_size


def test_default_size_matches_the_tokenizers():
    v = Vocabulary()
    assert v.size == 10 + 32 + len(VOCABULARY) + (1391 - 3) + 4096 + 4096
    assert v.pad == 0 and v.sep == 1


def test_modality_and_slot_of_ids(vocab):
    for m in Modality:
        for k in range(vocab.n_slots if m in (Modality.IMAGE, Modality.AUDIO) else 1):
            ids = vocab.block(m, k)
            for i in (ids.start, ids.stop - 1):
                assert vocab.modality_of(i) is m and vocab.slot_of(i) == k
    for special in (vocab.pad, vocab.sep, vocab.sos(Modality.MIDI), vocab.eos(Modality.AUDIO), vocab.height(3)):
        assert vocab.modality_of(special) is None and vocab.slot_of(special) is None
    with pytest.raises(ValueError):
        vocab.modality_of(vocab.size)
    with pytest.raises(ValueError):
        vocab.block(Modality.MIDI, 1)


def test_specials_are_distinct_and_heights_invert(vocab):
    ids = [vocab.pad, vocab.sep, *(vocab.sos(m) for m in Modality), *(vocab.eos(m) for m in Modality)]
    ids += [vocab.height(h) for h in range(1, vocab.config.max_image_height + 1)]
    assert len(set(ids)) == len(ids) == len(vocab.specials)
    assert all(vocab.height_of(vocab.height(h)) == h for h in range(1, vocab.config.max_image_height + 1))
    assert vocab.height_of(vocab.sep) is None
    for bad in (0, vocab.config.max_image_height + 1):
        with pytest.raises(ValueError):
            vocab.height(bad)


def test_to_dict_from_dict_round_trip_through_json(vocab):
    data = json.loads(json.dumps(vocab.to_dict()))
    again = Vocabulary.from_dict(data)
    assert again == vocab and again.size == vocab.size and again.config == vocab.config
    assert again.block(Modality.AUDIO, 3) == vocab.block(Modality.AUDIO, 3)


def test_from_dict_rejects_unknown_keys_and_wrong_size():
    data = Vocabulary(SMALL).to_dict()
    with pytest.raises(InputError, match="unknown"):
        Vocabulary.from_dict({**data, "config": {**data["config"], "typo": 1}})
    with pytest.raises(InputError, match="rebuilt"):
        Vocabulary.from_dict({**data, "size": data["size"] + 1})


def test_config_validation():
    with pytest.raises(ValueError):
        VocabularyConfig(image_codebook_size=0)
    with pytest.raises(ValueError):
        VocabularyConfig(lmx_tokens=("a", "a"))


def test_midi_ids_map_pad_and_eos_and_reject_unk(vocab):
    tok = MidiTokenizer(vocab.config.midi)
    src = [tok.pad, tok.tie, tok.vocab.shift(5), tok.vocab.pitch(60), tok.vocab_size - 1, tok.eos]
    ids = vocab.midi_ids(src)
    assert ids[0] == vocab.pad and ids[-1] == vocab.eos(Modality.MIDI)
    assert all(vocab.modality_of(int(i)) is Modality.MIDI for i in ids[1:-1])
    assert vocab.midi_tokens(ids) == src
    with pytest.raises(ValueError, match="position 1"):
        vocab.midi_ids([tok.tie, tok.unk])
    with pytest.raises(ValueError):
        vocab.midi_tokens([vocab.block(Modality.NOTATION).start])


def test_lmx_ids_round_trip_and_unknown_token(vocab):
    tokens = list(vocab.config.lmx_tokens)
    assert vocab.lmx_tokens(vocab.lmx_ids(tokens)) == tokens
    with pytest.raises(ValueError, match="'nonsense' at position 1"):
        vocab.lmx_ids(["measure", "nonsense"])


def test_code_ids_use_one_sub_block_per_codebook(vocab):
    size = vocab.config.image_codebook_size
    codes = np.array([[0, 0, 0, 0], [size - 1] * 4])
    ids = vocab.code_ids(Modality.IMAGE, codes)
    assert [vocab.slot_of(int(i)) for i in ids[0]] == [0, 1, 2, 3]
    assert len(set(ids[0].tolist())) == 4  # the same code in different codebooks: different ids
    assert np.array_equal(vocab.code_values(Modality.IMAGE, ids), codes)
    with pytest.raises(ValueError):
        vocab.code_ids(Modality.IMAGE, np.array([[size, 0, 0, 0]]))
    with pytest.raises(ValueError):  # an audio id is not an image code
        vocab.code_values(Modality.IMAGE, vocab.code_ids(Modality.AUDIO, np.zeros((1, 4), np.int64)))
