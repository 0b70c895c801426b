"""Per-step grammar of a target's layout: which ids the next step may hold, and where that step sits.

Everything here is a pure function of the steps generated so far, ``tokens`` (B, t, n_slots) with the SOS step
first, mirroring ``tokens.layout`` so that decoding produces exactly what training saw:

- LMX, MIDI, audio: slot 0 is the target's block (codebook 0 for audio) or its EOS (``masks.slot_masks``);
  x counts content steps from 0, y = 0.
- image (target layout: ``[SOS] h codes.. SEP h codes.. EOS``, ``tokens.image_grid.join_systems``): after SOS
  or SEP only a height token; inside a system of h rows with c codes so far, codebook-0 codes while a column is
  open (c % h != 0 or c == 0); at a column boundary (c % h == 0, c > 0) another column, SEP or EOS. A system
  ends at ``LengthLimits.image_columns`` columns, and never outgrows the model's position tables (column x <
  max_x, row y < max_y). Code step i of a system sits at x = i // h, y = i % h; markers at 0.
- slots 1..: PAD after a marker in slot 0, else codebook k (image, audio) or PAD (``other_slots``).

Image choices also respect the step budget: a height, a new column or a SEP is allowed only when the system
(or the next one) can still be finished and the EOS step still fits, so a generated image always ends with EOS
on a column boundary and ``tokens.layout.decode_image`` accepts it. Rows that already ended may only hold PAD.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from scorebridge.modality import Modality
from scorebridge.tokens.layout import DEFAULT_LIMITS, LengthLimits
from scorebridge.tokens.vocabulary import Vocabulary

from .masks import slot_masks

# steps a new image system needs at least: SEP, height, one code, and the EOS that must still fit after it
_MIN_SEP_BUDGET = 4


@dataclass(frozen=True)
class ImageState:
    """Where each row of an image target stands after its last step (all (B,) tensors).

    need_height: the last step is SOS or SEP; done: it is EOS or PAD; height: rows of the current system
    (1 before any height token, as ``target_positions``); count: code steps of the current system so far."""

    need_height: Tensor
    done: Tensor
    height: Tensor
    count: Tensor

    @property
    def in_system(self) -> Tensor:
        return ~(self.need_height | self.done)

    @property
    def boundary(self) -> Tensor:
        """Inside a system with whole columns only (at least one): it may end here."""
        return self.in_system & (self.count > 0) & (self.count % self.height == 0)


def _check_tokens(tokens: Tensor) -> Tensor:
    if tokens.dim() != 3 or tokens.shape[1] < 1:
        raise ValueError(f"expected tokens (B, t >= 1, n_slots) starting with the SOS step, got {tuple(tokens.shape)}")
    return tokens[..., 0].long()


def image_state(first: Tensor, vocab: Vocabulary) -> ImageState:
    """State of image targets from their slot-0 ids ``first`` (B, t), SOS first."""
    hs = vocab.heights.start
    is_height = (first >= hs) & (first < vocab.heights.stop)
    content = first >= vocab.specials.stop
    steps = torch.arange(first.shape[1], device=first.device)
    last_h = torch.where(is_height, steps, -1).amax(dim=1)
    known = last_h >= 0
    at = last_h.clamp_min(0)[:, None]
    height = torch.where(known, first.gather(1, at)[:, 0] - hs + 1, 1)
    seen = content.long().cumsum(dim=1)
    count = seen[:, -1] - torch.where(known, seen.gather(1, at)[:, 0], 0)
    last = first[:, -1]
    return ImageState(need_height=(last == vocab.sos(Modality.IMAGE)) | (last == vocab.sep),
                      done=(last == vocab.eos(Modality.IMAGE)) | (last == vocab.pad), height=height, count=count)


def last_positions(tokens: Tensor, target: Modality, vocab: Vocabulary) -> tuple[Tensor, Tensor]:
    """(x, y) (B,) of the last step of ``tokens`` (B, t, n_slots), as ``tokens.layout.target_positions`` sets
    them: what the decoder is fed for that step."""
    first = _check_tokens(tokens)
    content = first[:, -1] >= vocab.specials.stop
    zero = torch.zeros_like(content, dtype=torch.long)
    if Modality(target) is not Modality.IMAGE:
        before = (first[:, :-1] >= vocab.specials.stop).sum(dim=1)
        return torch.where(content, before, zero), zero
    state = image_state(first, vocab)
    i = (state.count - 1).clamp_min(0)
    return torch.where(content, i // state.height, zero), torch.where(content, i % state.height, zero)


def _one_hot(ids: int | range, size: int, device: torch.device) -> Tensor:
    mask = torch.zeros(size, dtype=torch.bool, device=device)
    if isinstance(ids, range):
        mask[ids.start:ids.stop] = True
    else:
        mask[ids] = True
    return mask


class TargetGrammar:
    """The step rules of one target modality for a decoding run of at most ``max_steps`` generated steps
    (the EOS step included, SOS not), for a model with position tables ``max_x`` x ``max_y``.

    ``first_slot(tokens)`` -> (B, V) allowed slot-0 ids of the next step; ``other_slots(first)`` -> (B,
    n_slots - 1, V) allowed ids of slots 1.. given slot 0; ``positions(tokens)`` -> (x, y) of the last step.
    Shaped for ``decoding.search.generate``'s ``rules`` and ``positions`` arguments."""

    def __init__(self, vocab: Vocabulary, target: Modality, *, max_steps: int, max_x: int, max_y: int,
                 limits: LengthLimits = DEFAULT_LIMITS, device: torch.device | str | None = None) -> None:
        self.vocab, self.target = vocab, Modality(target)
        self.max_steps = max_steps
        image = self.target is Modality.IMAGE
        if image and max_steps < 3:
            raise ValueError(f"an image target needs at least 3 steps (height, code, EOS), got max_steps {max_steps}")
        if not image and max_steps > max_x:
            raise ValueError(f"max_steps {max_steps} needs more x positions than the model has ({max_x})")
        self.max_columns = min(limits.image_columns, max_x)
        self.max_height = min(vocab.config.max_image_height, max_y)
        base = slot_masks(vocab, self.target, device)
        self._base = base
        self._pad_only = _one_hot(vocab.pad, vocab.size, base.device).expand(vocab.n_slots - 1, -1)
        size, dev = vocab.size, base.device
        self._pad = _one_hot(vocab.pad, size, dev)
        self._eos = _one_hot(vocab.eos(self.target), size, dev)
        if image:
            self._code0 = _one_hot(vocab.block(Modality.IMAGE, 0), size, dev)
            self._sep = _one_hot(vocab.sep, size, dev)
            self._height_rows = torch.arange(size, device=dev) - vocab.heights.start + 1  # rows of height ids

    # slot 0 ---------------------------------------------------------------------------------------------
    def remaining(self, t: int) -> int:
        """Steps left to generate, the next one included, after a prefix of ``t`` steps (SOS + generated)."""
        return self.max_steps - (t - 1)

    def first_slot(self, tokens: Tensor) -> Tensor:
        """BoolTensor (B, V): the ids slot 0 of the next step may hold."""
        first = _check_tokens(tokens).to(self._base.device)
        if self.target is Modality.IMAGE:
            return self._image_first_slot(first)
        done = (first[:, -1] == self.vocab.eos(self.target)) | (first[:, -1] == self.vocab.pad)
        return torch.where(done[:, None], self._pad, self._base[0])

    def _image_first_slot(self, first: Tensor) -> Tensor:
        state = image_state(first, self.vocab)
        left = self.remaining(first.shape[1])
        # a height h needs h codes and the EOS after it; h = 1 always stays so the set is never empty
        tallest = max(1, min(self.max_height, left - 2))
        heights = (self._height_rows >= 1) & (self._height_rows <= tallest)
        boundary = state.boundary
        open_column = state.in_system & ~boundary
        new_column = boundary & (state.count // state.height < self.max_columns) & (left >= state.height + 1)
        sep = boundary & (left >= _MIN_SEP_BUDGET)
        return ((state.need_height[:, None] & heights) | ((open_column | new_column)[:, None] & self._code0)
                | (boundary[:, None] & self._eos) | (sep[:, None] & self._sep) | (state.done[:, None] & self._pad))

    # slots 1.. ------------------------------------------------------------------------------------------
    def other_slots(self, first: Tensor) -> Tensor:
        """BoolTensor (B, n_slots - 1, V) for slot-0 ids ``first`` (B,): PAD after a marker (EOS, SEP, height,
        PAD), else codebook k's sub-block (image, audio) or PAD (LMX, MIDI)."""
        marker = first.to(self._base.device) < self.vocab.specials.stop
        return torch.where(marker[:, None, None], self._pad_only, self._base[1:])

    # positions ------------------------------------------------------------------------------------------
    def positions(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """(x, y) (B,) of the last step of ``tokens`` (B, t, n_slots)."""
        return last_positions(tokens, self.target, self.vocab)
