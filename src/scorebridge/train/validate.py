"""Periodic validation on small fixed subsets of the valid split (u-must.md §5: token loss and accuracy per
task, SER of OMR, onset F1 of transcription).

Every dataset-task of the recipe gets ``valid_examples`` teacher-forced examples, evenly spread over its
valid samples, at the centre shift and the clean image (deterministic, so curves are comparable across
validations). Tasks whose target is notation or MIDI also decode ``valid_decode`` of them greedily: SER of the
LMX (edit distance over reference length, summed over the subset), onset F1 of the MIDI (mir_eval, 50 ms,
averaged over examples; both sides decoded by the same tokenizer) and count why each decoding stopped
(``end_eos``, ``end_loop``, ``end_source_length``, ``end_max_steps``; ``decoding.stopping``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from scorebridge.data.splits import spread
from scorebridge.decoding import DecodingOptions, SourceLength, end_counts, generate_target
from scorebridge.eval.codec_metrics import onset_f1
from scorebridge.eval.ser import corpus_ser
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.modality import Modality
from scorebridge.model import Translator, translation_loss
from scorebridge.tokens.layout import decode, strip_sos_eos
from scorebridge.tokens.vocabulary import Vocabulary

from .batches import ExampleSource, build_pools, collate
from .examples import Example, SkipExample
from .recipe import TrainConfig
from .rows import read_rows

log = logging.getLogger(__name__)

BATCH = 8
VALIDATION_DECODING = DecodingOptions()  # greedy with the default stop rules; recorded beside every validation


def _examples(source: ExampleSource, pool: int, n: int) -> list[Example]:
    out = []
    for row in spread(source.pools[pool].items, n):
        try:
            out.append(source.example(pool, row, None))
        except SkipExample as exc:
            log.debug("validation skips %s", exc)
    return out


@torch.no_grad()
def teacher_forced(model: Translator, examples: Sequence[Example], device: torch.device) -> dict[str, float]:
    loss = correct = tokens = 0.0
    for i in range(0, len(examples), BATCH):
        r = translation_loss(model, collate(examples[i:i + BATCH]).to(device))
        loss += float(r.loss_sum)
        correct += float(r.row_correct.sum())
        tokens += float(r.tokens)
    return {"loss": loss / max(tokens, 1.0), "accuracy": correct / max(tokens, 1.0), "examples": float(len(examples))}


@torch.no_grad()
def decoded(model: Translator, examples: Sequence[Example], vocab: Vocabulary, limits: Any,
            device: torch.device, ends: list[str] | None = None) -> list[tuple[Any, Any]]:
    """(reference, hypothesis) values of each example: LMX token lists or MIDI token lists. Why each decoding
    stopped is appended to ``ends`` when given."""
    pairs = []
    for i in range(0, len(examples), BATCH):
        part = examples[i:i + BATCH]
        batch = collate(part).to(device)
        target = part[0].task.target
        memory = model.encode(batch.src_tokens, batch.src_x, batch.src_y, batch.src_modality, batch.tgt_modality,
                              batch.src_pad, batch.src_features)
        source = SourceLength.of(part[0].task.source, batch.src_tokens, batch.src_y, batch.src_pad, vocab)
        hyps = generate_target(model, memory, batch.src_pad, target, vocab, VALIDATION_DECODING, limits,
                               source=source)
        for e, hyp in zip(part, hyps, strict=True):
            pairs.append((decode(strip_sos_eos(e.target, vocab), vocab, as_target=True),
                          decode(hyp.steps, vocab, as_target=True)))
            if ends is not None:
                ends.append(hyp.end)
    return pairs


def midi_onset_f1(pairs: Sequence[tuple[Sequence[int], Sequence[int]]], tokenizer: MidiTokenizer) -> float:
    scores = []
    for ref, hyp in pairs:
        notes = [tokenizer.stitch([tokenizer.decode_window(tokens, 0)]) for tokens in (ref, hyp)]
        scores.append(onset_f1(notes[0], notes[1]).f1)
    return float(np.mean(scores)) if scores else float("nan")


def validate(model: Translator, config: TrainConfig, vocab: Vocabulary, device: torch.device,
             split: str = "valid") -> dict[str, dict]:
    """Metrics per dataset-task of a split (tasks without samples in it are left out)."""
    rows = read_rows(config.data, split, config.inputs)
    pools = build_pools(config.tasks, rows, config.limits)
    source = ExampleSource(rows, pools, vocab, config.limits, config.inputs)
    was_training = model.training
    model.eval()
    results: dict[str, dict] = {}
    try:
        for p, pool in enumerate(pools):
            examples = _examples(source, p, config.valid_examples)
            if not examples:
                continue
            result = teacher_forced(model, examples, device)
            target = pool.task.target
            if config.valid_decode and target in (Modality.NOTATION, Modality.MIDI):
                ends: list[str] = []
                pairs = decoded(model, examples[:config.valid_decode], vocab, config.limits, device, ends)
                if target is Modality.NOTATION:
                    result["ser"] = corpus_ser(pairs)
                else:
                    result["onset_f1"] = midi_onset_f1(pairs, source.tokenizer)
                # how many decodings ended by EOS, as loops, at the source bound, at the step limit
                result.update({f"end_{k}": float(n) for k, n in end_counts(ends).items()})
            results[pool.name] = result
            log.info("valid %s: %s", pool.name, {k: round(v, 4) for k, v in result.items()})
    finally:
        model.train(was_training)
        source.reader.close()
    return results
