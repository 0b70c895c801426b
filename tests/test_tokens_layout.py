"""Sequence layout: exact round trips per modality on real tokens, SOS/EOS, positions, length limits."""

from __future__ import annotations

import numpy as np
import pytest

from scorebridge.midi.notes import Note
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.modality import Modality
from scorebridge.notation import score_to_lmx
from scorebridge.tokens.layout import (
    LengthLimits,
    Steps,
    decode,
    decode_audio,
    decode_image,
    decode_lmx,
    decode_midi,
    encode,
    encode_audio,
    encode_image,
    encode_lmx,
    encode_midi,
    strip_sos_eos,
    target_positions,
    with_sos_eos,
)
from scorebridge.tokens.vocabulary import Vocabulary

VOCAB = Vocabulary()
BIG = LengthLimits(image=100_000, notation=100_000, midi=100_000, audio=100_000)


@pytest.fixture(scope="module")
def minuet_lmx(example_score) -> list[str]:
    return score_to_lmx(example_score).tokens


def midi_window() -> list[int]:
    notes = [Note(0, 500, 60, 90), Note(250, 1200, 64, 70, program=40), Note(800, 900, 36, 100, is_drum=True),
             Note(900, 12_000, 67, 50)]  # the last one is tied into the next window
    windows = MidiTokenizer().encode_notes(notes)
    assert len(windows) == 2
    return windows[1]  # starts with a tie section, ends with the tokenizer's EOS


def systems(seed: int = 0, heights: tuple[int, ...] = (5, 3, 7), size: int = 1024) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, size, size=(h, int(rng.integers(1, 9)), 4)) for h in heights]


def assert_single_stream(steps: Steps) -> None:
    assert steps.tokens.dtype == np.int64 and steps.tokens.shape[1] == 4
    assert (steps.tokens[:, 1:] == VOCAB.pad).all()
    assert (steps.y == 0).all()


def test_lmx_round_trip_on_the_minuet(minuet_lmx):
    steps = encode_lmx(minuet_lmx, VOCAB, BIG)
    assert len(steps) == len(minuet_lmx) > 100
    assert_single_stream(steps)
    assert steps.x.tolist() == list(range(len(steps)))
    assert all(VOCAB.modality_of(int(t)) is Modality.NOTATION for t in steps.tokens[:, 0])
    assert decode_lmx(steps, VOCAB) == minuet_lmx


def test_midi_round_trip_maps_the_tokenizer_eos():
    tokens = midi_window()
    steps = encode_midi(tokens, VOCAB)
    assert_single_stream(steps)
    assert steps.tokens[-1, 0] == VOCAB.eos(Modality.MIDI)
    assert steps.x[-1] == 0 and steps.x[:-1].tolist() == list(range(len(steps) - 1))  # EOS at position 0
    assert decode_midi(steps, VOCAB) == tokens
    target = with_sos_eos(steps, Modality.MIDI, VOCAB)
    assert len(target) == len(steps) + 1  # no second EOS
    assert strip_sos_eos(target, VOCAB) == steps
    assert MidiTokenizer().decode_window(decode_midi(strip_sos_eos(target, VOCAB), VOCAB), 1000).problems == ()


@pytest.mark.parametrize("as_target", [False, True], ids=["source", "target"])
def test_image_round_trip_of_systems_of_different_heights(as_target):
    grids = systems()
    steps = encode_image(grids, VOCAB, as_target=as_target)
    first = steps.tokens[:, 0]
    n_sep = int((first == VOCAB.sep).sum())
    n_height = int(sum(VOCAB.height_of(int(t)) is not None for t in first))
    assert n_sep == 2
    if as_target:
        assert n_height == 3 and len(steps) == 2 + 3 + sum(g.shape[0] * g.shape[1] for g in grids)
        assert [VOCAB.height_of(int(t)) for t in first if VOCAB.height_of(int(t))] == [5, 3, 7]
        assert (steps.tokens != VOCAB.pad).all(axis=1).sum() == len(steps) - 5  # no padding cells
    else:
        assert n_height == 0 and len(steps) == 2 + sum(7 * g.shape[1] for g in grids)
        assert (steps.tokens == VOCAB.pad).all(axis=1).sum() == (7 - 5) * grids[0].shape[1] + 4 * grids[1].shape[1]
    code = (first != VOCAB.sep) & np.array([VOCAB.height_of(int(t)) is None for t in first]) & (first != VOCAB.pad)
    for k in range(4):  # slot k holds codebook k's ids
        assert all(VOCAB.slot_of(int(t)) == k and VOCAB.modality_of(int(t)) is Modality.IMAGE
                   for t in steps.tokens[code, k])
    assert (steps.tokens[~code & (first != VOCAB.pad), 1:] == VOCAB.pad).all()  # markers: PAD after slot 0
    back = decode_image(steps, VOCAB, as_target=as_target)
    assert len(back) == 3 and all(np.array_equal(a, b) for a, b in zip(back, grids, strict=True))


def test_image_positions_are_column_and_row():
    g = systems(heights=(3,))[0]
    steps = encode_image([g], VOCAB, as_target=True)
    assert steps.x.tolist() == [0] + [c for c in range(g.shape[1]) for _ in range(3)]
    assert steps.y.tolist() == [0] + [0, 1, 2] * g.shape[1]
    assert VOCAB.code_values(Modality.IMAGE, steps.tokens[1:2])[0].tolist() == g[0, 0].tolist()
    assert VOCAB.code_values(Modality.IMAGE, steps.tokens[2:3])[0].tolist() == g[1, 0].tolist()


def test_audio_round_trip():
    codes = np.random.default_rng(1).integers(0, 1024, size=(4, 300))
    steps = encode_audio(codes, VOCAB)
    assert steps.tokens.shape == (300, 4) and steps.x.tolist() == list(range(300)) and (steps.y == 0).all()
    assert [VOCAB.slot_of(int(t)) for t in steps.tokens[7]] == [0, 1, 2, 3]
    assert np.array_equal(decode_audio(steps, VOCAB), codes)


def test_sos_eos_round_trip_for_every_target(minuet_lmx):
    rng = np.random.default_rng(2)
    examples = {Modality.NOTATION: minuet_lmx[:200], Modality.MIDI: midi_window(),
                Modality.IMAGE: systems(3, (4, 6)), Modality.AUDIO: rng.integers(0, 1024, size=(4, 50))}
    for m, data in examples.items():
        steps = encode(m, data, VOCAB, as_target=True)
        target = with_sos_eos(steps, m, VOCAB)
        assert target.tokens[0].tolist() == [VOCAB.sos(m), 0, 0, 0]
        assert target.tokens[-1].tolist() == [VOCAB.eos(m), 0, 0, 0]
        assert target.x[[0, -1]].tolist() == [0, 0] and target.y[[0, -1]].tolist() == [0, 0]
        assert strip_sos_eos(target, VOCAB) == steps
        # a generated sequence: garbage after the EOS is cut, a missing EOS keeps everything
        extra = Steps(np.vstack([target.tokens, target.tokens[1:3]]), np.r_[target.x, target.x[1:3]],
                      np.r_[target.y, target.y[1:3]], m)
        assert strip_sos_eos(extra, VOCAB) == steps
        no_eos = Steps(target.tokens[:-1], target.x[:-1], target.y[:-1], m)
        stripped = strip_sos_eos(no_eos, VOCAB)
        assert len(stripped) == len(steps) - (m is Modality.MIDI)
        decoded = decode(strip_sos_eos(target, VOCAB), VOCAB, as_target=True)
        if m is Modality.IMAGE:
            assert all(np.array_equal(a, b) for a, b in zip(decoded, data, strict=True))
        else:
            assert np.array_equal(np.asarray(decoded), np.asarray(data))
        # positions follow from the slot-0 ids alone (what a decoder feeds back)
        x, y = target_positions(target.tokens[:, 0], m, VOCAB)
        assert np.array_equal(x, target.x) and np.array_equal(y, target.y)
        with pytest.raises(ValueError):
            with_sos_eos(steps, Modality.AUDIO if m is not Modality.AUDIO else Modality.MIDI, VOCAB)


def test_strip_rejects_another_modalitys_sos():
    steps = with_sos_eos(encode_lmx(["measure"], VOCAB), Modality.NOTATION, VOCAB)
    tokens = steps.tokens.copy()
    tokens[0, 0] = VOCAB.sos(Modality.MIDI)
    with pytest.raises(ValueError, match="another modality"):
        strip_sos_eos(Steps(tokens, steps.x, steps.y, Modality.NOTATION), VOCAB)


def test_length_limits():
    limits = LengthLimits(image=40, notation=10, midi=10, audio=20, image_columns=6)
    assert len(encode_lmx(["measure"] * 10, VOCAB, limits)) == 10
    with pytest.raises(ValueError, match="limit of 10"):
        encode_lmx(["measure"] * 11, VOCAB, limits)
    with pytest.raises(ValueError, match="with SOS/EOS"):  # a target counts its SOS and EOS
        with_sos_eos(encode_lmx(["measure"] * 9, VOCAB, limits), Modality.NOTATION, VOCAB, limits)
    assert len(with_sos_eos(encode_lmx(["measure"] * 8, VOCAB, limits), Modality.NOTATION, VOCAB, limits)) == 10
    with pytest.raises(ValueError, match="limit"):
        encode_midi([3] * 11, VOCAB, limits)
    with pytest.raises(ValueError, match="limit"):
        encode_audio(np.zeros((4, 21), np.int64), VOCAB, limits)
    with pytest.raises(ValueError, match="limit"):  # 2 systems of 4 x 5 + SEP = 41 steps
        encode_image([np.zeros((4, 5, 4), np.int64)] * 2, VOCAB, as_target=False, limits=limits)
    with pytest.raises(ValueError, match="columns"):
        encode_image([np.zeros((2, 7, 4), np.int64)], VOCAB, as_target=True, limits=limits)
    with pytest.raises(ValueError, match="rows"):  # no height token for it
        encode_image([np.zeros((33, 1, 4), np.int64)], VOCAB, as_target=True)
    with pytest.raises(ValueError):
        LengthLimits(image=0)
    assert limits.max_x(Modality.IMAGE) == 6 and limits.max_x(Modality.AUDIO) == 20


def test_decode_rejects_wrong_ids_and_shapes(minuet_lmx):
    lmx = encode_lmx(minuet_lmx[:5], VOCAB)
    with pytest.raises(ValueError):
        decode_midi(lmx, VOCAB)  # wrong modality
    with pytest.raises(ValueError):
        decode_lmx(Steps(lmx.tokens, lmx.x, lmx.y, Modality.MIDI), VOCAB)
    tokens = lmx.tokens.copy()
    tokens[2, 1] = VOCAB.block(Modality.IMAGE, 1).start  # single-stream steps hold PAD in slots 1..3
    with pytest.raises(ValueError, match="PAD in slots"):
        decode_lmx(Steps(tokens, lmx.x, lmx.y, Modality.NOTATION), VOCAB)
    audio = encode_audio(np.zeros((4, 3), np.int64), VOCAB)
    tokens = audio.tokens.copy()
    tokens[1, 2] = VOCAB.block(Modality.AUDIO, 1).start  # codebook 1's id in slot 2
    with pytest.raises(ValueError):
        decode_audio(Steps(tokens, audio.x, audio.y, Modality.AUDIO), VOCAB)
    target = encode_image(systems(heights=(2,)), VOCAB, as_target=True)
    with pytest.raises(ValueError):  # a target image is not a padded source
        decode_image(target, VOCAB, as_target=False)
    with pytest.raises(ValueError):
        encode_audio(np.zeros((3, 5), np.int64), VOCAB)
    with pytest.raises(ValueError):
        Steps(np.zeros((3, 4)), np.zeros(2), np.zeros(3), Modality.AUDIO)
