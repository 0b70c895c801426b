"""Rules that end a decoded row before the step limit, and why each row ended.

An undertrained translator decoded greedily rarely emits EOS: it repeats a token or a short cycle until the
step limit (the first shipped model wrote ``rest eighth`` 490 times for every system). Three rules end such rows
without touching rows that end by themselves, and each row records why it ended (``END_REASONS``):

- ``eos``: the model chose the target's EOS (``DecodingOptions.eos_bias`` can make that likelier).
- ``loop``: the last ``repeats * p`` slot-0 ids are one cycle of period ``p`` (1..``max_period``) repeated
  ``repeats`` times (``ends_in_loop``). Only for LMX and MIDI targets: image and audio codes repeat
  legitimately (blank columns, silence). The row keeps every step it generated, the repeats included, so
  scores count them as the errors they are.
- ``source_length``: the row reached its length bound from the source (``SOURCE_BOUNDS``): target steps <=
  ``per_unit * units + offset`` with the source's ``units`` in x positions (``source_units``).
- ``max_steps``: it reached ``DecodingOptions.max_steps`` or the target's length limit.

The thresholds are measured on the data engine's samples by ``bench/measure_decoding_bounds.py``; the figures
are in the comments beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from scorebridge.modality import Modality
from scorebridge.tokens.layout import Steps
from scorebridge.tokens.vocabulary import Vocabulary

END_REASONS = ("eos", "loop", "source_length", "max_steps")
# targets whose repeats are never legitimate past the measured threshold (loop detection applies to them)
LOOP_TARGETS = frozenset({Modality.NOTATION, Modality.MIDI})
# Measured by bench/measure_decoding_bounds.py (longest exact cycle of each period, all splits): in the LMX of
# 2,810 systems (Lieder: 90 scores, and Erlkoenig D.328 and Gretchen D.118, whose accompaniments repeat one
# figure for pages; kern: 30 Beethoven sonata movements; the scores of 26 ASAP performances) no cycle of
# period 1..8 runs past 10.5 copies (period 2: `backup maxima` in a broken kern system; `B4 16th` 6 times in
# Lieder), and none of period 3..8 past 5.25; in the MIDI tokens of 3,022 systems and 10 s performance
# windows none runs past 2 copies (times are absolute within a window). 16 copies leave 1.5x over the worst
# and still end the shipped model's `rest eighth` loop after 32 tokens instead of at the 999-step limit.
DEFAULT_LOOP_REPEATS = 16
DEFAULT_LOOP_MAX_PERIOD = 8


def end_counts(ends: Iterable[str | None]) -> dict[str, int]:
    """How many decodings ended for each reason (every one of END_REASONS listed, in order; None skipped)."""
    counts = dict.fromkeys(END_REASONS, 0)
    for end in ends:
        if end is not None:
            counts[end] += 1
    return counts


# ---------------------------------------------------------------- loops
def ends_in_loop(first: Tensor, repeats: int, max_period: int) -> Tensor:
    """BoolTensor (B,): whether the ids ``first`` (B, t) end with ``repeats`` copies of one cycle of period
    1..``max_period``, i.e. ``first[:, -k] == first[:, -k - p]`` for k = 1 .. (repeats - 1) * p."""
    if repeats < 2 or max_period < 1:
        raise ValueError(f"need repeats >= 2 and max_period >= 1, got {repeats}, {max_period}")
    b, t = first.shape
    found = torch.zeros(b, dtype=torch.bool, device=first.device)
    for p in range(1, max_period + 1):
        span = repeats * p
        if span > t:
            break
        tail = first[:, t - span:]
        found |= (tail[:, p:] == tail[:, :-p]).all(dim=1)
    return found


def longest_cycles(ids: np.ndarray, max_period: int) -> np.ndarray:
    """(max_period,) int: for each period p, the longest stretch of ``ids`` (T,) with period p (each id equal to
    the one p before it), in ids; p itself when nothing repeats (one copy), len(ids) for shorter sequences."""
    ids = np.asarray(ids)
    out = np.zeros(max_period, np.int64)
    for p in range(1, max_period + 1):
        if len(ids) <= p:
            out[p - 1] = len(ids)
            continue
        same = np.r_[False, ids[p:] == ids[:-p], False]
        edges = np.flatnonzero(np.diff(same.astype(np.int8)))
        runs = edges[1::2] - edges[::2]
        out[p - 1] = (runs.max() if len(runs) else 0) + p
    return out


# ---------------------------------------------------------------- length from the source
@dataclass(frozen=True)
class LengthBound:
    """At most ``per_unit * units + offset`` generated target steps (EOS step included) for a source of
    ``units`` x positions."""

    per_unit: float
    offset: int

    def steps(self, units: float) -> int:
        return int(np.ceil(self.per_unit * units + self.offset))


# (a, b) of the lowest line a * units + b above every train sample (the least mean bound, a linear programme),
# measured by bench/measure_decoding_bounds.py on 2,855 train samples: Lieder (90 scores + 2 songs), kern
# (30 Beethoven sonata movements), ASAP (14 performances; their 10 s windows hold up to 1,480 MIDI tokens).
# Units: image columns of 16 px, audio frames of the slowest codec preset (small24k, 46.875 frames/s, so a
# faster codec's frames, and the 50 mel frames/s of a model reading features, give a looser bound), LMX and
# MIDI tokens. Only notation and MIDI targets: an image
# must end on a column boundary (the grammar's own budget), and an audio target's frames depend on its codec.
# LMX density varies tenfold between systems of one width (median 7.5, up to 26.9 tokens per column), so the
# bounds are loose: they end the long tail of short sources, while loops are ended by the loop rule.
MEASURED_ENVELOPES: dict[tuple[Modality, Modality], tuple[float, float]] = {
    (Modality.IMAGE, Modality.NOTATION): (26.8974, 0.0),
    (Modality.IMAGE, Modality.MIDI): (16.9706, 0.0),
    (Modality.AUDIO, Modality.MIDI): (3.0396, 54.41),
    (Modality.AUDIO, Modality.NOTATION): (0.0, 1049.0),  # audio length says little of the score's density
    (Modality.MIDI, Modality.NOTATION): (1.7736, 175.83),
    (Modality.NOTATION, Modality.MIDI): (0.8896, 153.54),
}
# the shipped bound widens the envelope by this factor (a and b), so that denser unseen music fits too. With
# 1.25 one valid kern system (901 LMX tokens on 25 columns, 36 per column) would have been cut; with 1.5 every
# valid and test sample of the same builds fits (522, the ASAP test windows included) except one broken
# kern system whose 2,363 LMX tokens (a run of `backup maxima`) exceed every length limit anyway
BOUND_MARGIN = 1.5
SOURCE_BOUNDS: dict[tuple[Modality, Modality], LengthBound] = {
    task: LengthBound(a * BOUND_MARGIN, int(np.ceil(b * BOUND_MARGIN))) for task, (a, b) in MEASURED_ENVELOPES.items()}


@dataclass(frozen=True, eq=False)
class SourceLength:
    """The sources of a decoding batch: their ``modality`` and ``units`` (B,), each one's length in x positions
    (``source_units``)."""

    modality: Modality
    units: Tensor

    @classmethod
    def of(cls, modality: Modality, tokens: Tensor, y: Tensor, pad: Tensor, vocab: Vocabulary) -> SourceLength:
        return cls(Modality(modality), source_units(tokens, y, pad, vocab))


def _content(first: Tensor | np.ndarray, vocab: Vocabulary) -> Tensor | np.ndarray:
    """Steps holding the source itself: a token id, or PAD where the source enters as features (pixel patches,
    mel frames: ``tokens.features``); not a marker (SEP or another special id)."""
    return (first >= vocab.specials.stop) | (first == vocab.pad)


def source_units(tokens: Tensor, y: Tensor, pad: Tensor, vocab: Vocabulary) -> Tensor:
    """LongTensor (B,): each source's length in x positions: steps at y = 0 that are neither padding nor a
    marker. That is the columns of an image source (summed over its systems), the frames of an audio source
    (codec frames, or mel frames for a model that reads features) and the tokens of an LMX or MIDI source.
    ``tokens`` (B, S, n_slots), ``y`` and ``pad`` (B, S)."""
    return (_content(tokens[..., 0], vocab) & (y == 0) & ~pad).sum(dim=1)


def source_units_of(steps: Steps, vocab: Vocabulary) -> int:
    """``source_units`` of one source sequence (source layout, no batch)."""
    first = np.asarray(steps.tokens)[:, 0]
    return int((_content(first, vocab) & (np.asarray(steps.y) == 0)).sum())


def row_step_limits(source: Modality, target: Modality, units: Tensor | Sequence[int],
                    max_steps: int) -> Tensor | None:
    """LongTensor (B,) of each row's step bound (at most ``max_steps``) for sources of ``units`` x positions,
    or None when the direction has no bound."""
    bound = SOURCE_BOUNDS.get((Modality(source), Modality(target)))
    if bound is None:
        return None
    units = torch.as_tensor(units, dtype=torch.float64)
    limits = torch.ceil(units * bound.per_unit + bound.offset).long()
    return limits.clamp(1, max_steps)
