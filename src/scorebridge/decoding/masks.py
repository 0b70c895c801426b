"""Which ids each output slot may produce for a target modality, and masking logits to them.

Slot 0 of a target step is the target's block (its codebook-0 sub-block for image and audio), its EOS, and
for images SEP and the height tokens; never PAD and never SOS. Slots 1.. are codebook k's sub-block for image
and audio targets and PAD only for single-stream targets (LMX, MIDI). After a marker in slot 0 (EOS, SEP, a
height token) the other slots are PAD (``step_masks``), matching ``tokens.layout``.
"""

from __future__ import annotations

import torch

from scorebridge.modality import Modality
from scorebridge.tokens.vocabulary import RVQ_MODALITIES, Vocabulary


def slot_masks(vocab: Vocabulary, target: Modality, device: torch.device | str | None = None) -> torch.Tensor:
    """BoolTensor (n_slots, vocab.size): True where output slot k may produce an id for ``target``."""
    target = Modality(target)
    mask = torch.zeros(vocab.n_slots, vocab.size, dtype=torch.bool, device=device)
    first = vocab.block(target, 0)
    mask[0, first.start:first.stop] = True
    mask[0, vocab.eos(target)] = True
    if target is Modality.IMAGE:
        mask[0, vocab.sep] = True
        mask[0, vocab.heights.start:vocab.heights.stop] = True
    for k in range(1, vocab.n_slots):
        if target in RVQ_MODALITIES:
            ids = vocab.block(target, k)
            mask[k, ids.start:ids.stop] = True
        else:
            mask[k, vocab.pad] = True
    return mask


def step_masks(vocab: Vocabulary, target: Modality, first: torch.Tensor) -> torch.Tensor:
    """BoolTensor (..., n_slots, vocab.size) given the ids ``first`` (...) chosen for slot 0: slots 1.. may
    only be PAD after a marker (a special id: EOS, SEP, height), else as ``slot_masks``. For a sub-decoder
    that picks slot 0 first and the other slots conditioned on it."""
    base = slot_masks(vocab, target, first.device)
    marker = first < vocab.specials.stop
    pad_only = torch.zeros_like(base)
    pad_only[0] = base[0]
    pad_only[1:, vocab.pad] = True
    return torch.where(marker[..., None, None], pad_only, base)


def apply_mask(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Logits (..., n_slots, V) with -inf where ``mask`` (broadcastable, e.g. (n_slots, V)) is False."""
    if mask.shape[-2:] != logits.shape[-2:]:
        raise ValueError(f"mask {tuple(mask.shape)} does not match logits {tuple(logits.shape)}")
    return logits.masked_fill(~mask, float("-inf"))


def is_end(tokens: torch.Tensor, vocab: Vocabulary, target: Modality) -> torch.Tensor:
    """BoolTensor (...): whether each step (..., n_slots) ends the sequence (its slot 0 is the target's EOS)."""
    return tokens[..., 0] == vocab.eos(Modality(target))
