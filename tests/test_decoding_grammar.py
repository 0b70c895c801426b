"""The per-step grammar without a model: real targets pass it at their tightest budget, positions agree with
tokens.layout at every prefix, and random walks through it always decode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scorebridge.decoding.grammar import TargetGrammar, image_state
from scorebridge.decoding.masks import slot_masks
from scorebridge.midi.vocab import MidiEventConfig
from scorebridge.modality import Modality
from scorebridge.tokens.layout import (
    LengthLimits,
    Steps,
    decode,
    encode,
    encode_image,
    strip_sos_eos,
    target_positions,
    with_sos_eos,
)
from scorebridge.tokens.vocabulary import Vocabulary, VocabularyConfig

VOCAB = Vocabulary(VocabularyConfig(midi=MidiEventConfig(max_shift_steps=101), image_codebook_size=48,
                                    audio_codebook_size=40, max_image_height=6))
IMAGE = Modality.IMAGE


def _grammar(target: Modality, max_steps: int, max_x: int = 1000, max_y: int = 32, **limits: int) -> TargetGrammar:
    return TargetGrammar(VOCAB, target, max_steps=max_steps, max_x=max_x, max_y=max_y,
                         limits=LengthLimits(**limits))


def _targets() -> dict[Modality, Steps]:
    rng = np.random.default_rng(0)
    systems = [rng.integers(0, 48, (h, w, 4)) for h, w in ((3, 4), (1, 1), (5, 2))]
    return {
        IMAGE: encode_image(systems, VOCAB, as_target=True),
        Modality.NOTATION: encode(Modality.NOTATION, ["measure", "clef:G2", "key:fifths:1", "measure"], VOCAB),
        Modality.MIDI: encode(Modality.MIDI, VOCAB.midi_tokens(np.asarray(VOCAB.block(Modality.MIDI)[:5])), VOCAB),
        Modality.AUDIO: encode(Modality.AUDIO, rng.integers(0, 40, (4, 6)), VOCAB),
    }


@pytest.mark.parametrize("target", list(Modality))
def test_a_teacher_forced_target_follows_the_grammar_and_its_positions(target):
    steps = with_sos_eos(_targets()[target], target, VOCAB)
    tokens = torch.as_tensor(steps.tokens)[None]
    want_x, want_y = target_positions(steps.tokens[:, 0], target, VOCAB)
    assert np.array_equal(want_x, steps.x) and np.array_equal(want_y, steps.y)
    grammar = _grammar(target, max_steps=len(steps) - 1)  # the tightest budget the target fits in
    for t in range(1, len(steps) + 1):
        x, y = grammar.positions(tokens[:, :t])
        assert (x.item(), y.item()) == (want_x[t - 1], want_y[t - 1]), f"step {t - 1}"
        if t == len(steps):
            break
        step = tokens[0, t]
        assert grammar.first_slot(tokens[:, :t])[0, step[0]], f"slot 0 of step {t} refused"
        assert grammar.other_slots(step[:1])[0, torch.arange(3), step[1:]].all(), f"slots 1.. of step {t} refused"


def _walk(grammar: TargetGrammar, rows: int, seed: int) -> torch.Tensor:
    """Steps chosen uniformly among the grammar's allowed ids until every row ends or the budget is spent."""
    g = torch.Generator().manual_seed(seed)
    seq = torch.zeros(rows, 1, 4, dtype=torch.long)
    seq[:, 0, 0] = VOCAB.sos(grammar.target)
    for _ in range(grammar.max_steps):
        allowed = grammar.first_slot(seq)
        assert allowed.any(dim=-1).all()
        first = torch.multinomial(allowed.float(), 1, generator=g)[:, 0]
        later = grammar.other_slots(first)
        rest = torch.multinomial(later.reshape(-1, VOCAB.size).float(), 1, generator=g).view(rows, 3)
        seq = torch.cat([seq, torch.cat([first[:, None], rest], dim=1)[:, None]], dim=1)
    return seq


@pytest.mark.parametrize("max_steps", [3, 4, 5, 7, 12, 40])
def test_random_walks_through_the_image_grammar_always_decode(max_steps):
    grammar = _grammar(IMAGE, max_steps, max_x=4, max_y=5, image_columns=3)
    seq = _walk(grammar, rows=64, seed=max_steps)
    systems_seen = 0
    for row in seq:
        ids = row[:, 0].numpy()
        assert (ids == VOCAB.eos(IMAGE)).any(), "an image target must end within its budget"
        x, y = target_positions(ids, IMAGE, VOCAB)
        for t in range(1, len(row) + 1):
            gx, gy = grammar.positions(row[None, :t])
            if ids[t - 1] == VOCAB.pad:
                break
            assert (gx.item(), gy.item()) == (x[t - 1], y[t - 1])
        steps = strip_sos_eos(Steps(row.numpy(), x, y, IMAGE), VOCAB)
        grids = decode(steps, VOCAB, as_target=True)
        for grid in grids:
            h, w, _ = grid.shape
            assert 1 <= h <= 5 and 1 <= w <= 3  # max_y and image_columns hold
        systems_seen += len(grids)
        tail = row[len(steps) + 2:]
        assert (tail == VOCAB.pad).all(), "only PAD after the EOS step"
    assert systems_seen > 64 or max_steps < 7  # the walks do reach several systems


@pytest.mark.parametrize("target", [Modality.NOTATION, Modality.MIDI, Modality.AUDIO])
def test_random_walks_of_single_row_targets_stay_in_their_ranges(target):
    grammar = _grammar(target, 30)
    seq = _walk(grammar, rows=16, seed=1)
    masks = slot_masks(VOCAB, target)
    ended = torch.zeros(16, dtype=torch.bool)
    for t in range(1, seq.shape[1]):
        step = seq[:, t]
        live = ~ended
        assert masks[0][step[live, 0]].all()
        allowed_rest = _rest_after(target, step[live, 0])
        assert allowed_rest.gather(-1, step[live, 1:, None]).all()
        assert (step[ended] == VOCAB.pad).all()
        ended |= step[:, 0] == VOCAB.eos(target)


def _rest_after(target: Modality, first: torch.Tensor) -> torch.Tensor:
    """Allowed ids (B, n_slots - 1, V) of slots 1.. after slot-0 ids ``first``: only PAD after a marker (a
    special id), else the target's own slot masks."""
    base = slot_masks(VOCAB, target)[1:]
    pad_only = torch.zeros_like(base)
    pad_only[:, VOCAB.pad] = True
    return torch.where((first < VOCAB.specials.stop)[:, None, None], pad_only, base)


def _prefix(*ids: int) -> torch.Tensor:
    tokens = torch.zeros(1, len(ids) + 1, 4, dtype=torch.long)
    tokens[0, 0, 0] = VOCAB.sos(IMAGE)
    tokens[0, 1:, 0] = torch.tensor(ids)
    return tokens


def _allowed(grammar: TargetGrammar, *ids: int) -> set[int]:
    return set(torch.nonzero(grammar.first_slot(_prefix(*ids))[0])[:, 0].tolist())


def test_image_rules_step_by_step():
    g = _grammar(IMAGE, 50, max_x=2, max_y=4)  # two columns: x < max_x
    code = VOCAB.block(IMAGE, 0).start
    heights = {VOCAB.height(h) for h in range(1, 5)}  # max_y = 4 caps the vocabulary's 6
    codes = set(VOCAB.block(IMAGE, 0))
    eos, sep = VOCAB.eos(IMAGE), VOCAB.sep
    h2 = VOCAB.height(2)
    assert _allowed(g) == heights
    assert _allowed(g, h2) == codes
    assert _allowed(g, h2, code) == codes
    assert _allowed(g, h2, code, code) == codes | {eos, sep}
    assert _allowed(g, h2, code, code, code) == codes
    assert _allowed(g, h2, *[code] * 4) == {eos, sep}  # max_x = 2 columns reached
    assert _allowed(g, h2, code, code, sep) == heights
    assert _allowed(g, h2, code, code, eos) == {VOCAB.pad}
    state = image_state(_prefix(h2, code, code, sep, VOCAB.height(3), code)[..., 0], VOCAB)
    assert (state.height.item(), state.count.item(), state.need_height.item()) == (3, 1, False)


def test_image_rules_keep_room_for_the_end():
    code = VOCAB.block(IMAGE, 0).start
    h1, h2 = VOCAB.height(1), VOCAB.height(2)
    eos, sep = VOCAB.eos(IMAGE), VOCAB.sep
    codes = set(VOCAB.block(IMAGE, 0))
    assert _allowed(_grammar(IMAGE, 4)) == {VOCAB.height(1), VOCAB.height(2)}  # h codes + EOS after the height
    assert _allowed(_grammar(IMAGE, 3), h1, code) == {eos}  # one step left: only the end
    assert _allowed(_grammar(IMAGE, 4), h1, code) == codes | {eos}  # a column of 1 + EOS fits, a SEP does not
    assert _allowed(_grammar(IMAGE, 5), h1, code) == codes | {eos}
    assert _allowed(_grammar(IMAGE, 6), h1, code) == codes | {eos, sep}  # SEP, height, code, EOS
    assert _allowed(_grammar(IMAGE, 5), h2, code, code) == {eos}  # a second column of 2 + EOS needs 3
    with pytest.raises(ValueError, match="at least 3"):
        _grammar(IMAGE, 2)
    with pytest.raises(ValueError, match="x positions"):
        _grammar(Modality.NOTATION, 20, max_x=10)


def test_other_slots_are_pad_after_markers_and_codebooks_otherwise():
    for target in Modality:
        g = _grammar(target, 10)
        first = torch.tensor([VOCAB.eos(target), VOCAB.block(target, 0).start, VOCAB.sep, VOCAB.height(2)])
        assert torch.equal(g.other_slots(first), _rest_after(target, first))
