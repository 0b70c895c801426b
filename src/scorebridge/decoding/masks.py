"""Which ids each output slot may produce for a target modality.

Slot 0 of a target step is the target's block (its codebook-0 sub-block for image and audio), its EOS, and
for images SEP and the height tokens; never PAD and never SOS. Slots 1.. are codebook k's sub-block for image
and audio targets and PAD only for single-stream targets (LMX, MIDI). After a marker in slot 0 (EOS, SEP, a
height token) the other slots are PAD (``grammar.TargetGrammar.other_slots``), matching ``tokens.layout``.
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
