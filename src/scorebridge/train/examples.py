"""Training examples: one baked sample and one task -> (source steps, target steps) in the translator's layout.

Which tasks a sample can serve follows from the modalities it holds (``row_modalities``). Training draws one
image placement, one degraded variant (only when the image is the *source*: a generated image is always the
clean one) and one audio offset per example from the example's generator; evaluation takes the centre placement,
the clean image and the centre offset (``rng=None``).

A baked image is one code grid even when the sample stacks several systems; the translator sees it as one
system (its rows are within the height limit, or the example is skipped as too long).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from scorebridge.constants import MIDI_TICK_MS
from scorebridge.midi import Note
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.modality import Modality, Task
from scorebridge.shards import BakedRow, BakedSample
from scorebridge.tokens.layout import LengthLimits, Steps, encode, with_sos_eos
from scorebridge.tokens.shifts import AUDIO_CENTRE, IMAGE_CENTRE, pick_shift
from scorebridge.tokens.vocabulary import Vocabulary


@dataclass(frozen=True)
class Example:
    """One training pair: ``source`` as encoded (no SOS/EOS), ``target`` with SOS and EOS."""

    sample_id: str
    dataset: str
    task: Task
    source: Steps
    target: Steps


class SkipExample(ValueError):
    """The sample cannot serve the task as drawn (too long for the limits, no notes in a window, ...)."""


def row_modalities(row: BakedRow) -> frozenset[Modality]:
    """The modalities a baked sample holds (images and audio only as codes; MIDI needs a timed sample)."""
    held = set()
    if row.image_codes is not None:
        held.add(Modality.IMAGE)
    if row.lmx_tokens:
        held.add(Modality.NOTATION)
    if row.notes is not None:
        held.add(Modality.MIDI)
    if row.audio_codes is not None:
        held.add(Modality.AUDIO)
    return frozenset(held)


def fits_limits(row: BakedRow, task: Task, limits: LengthLimits) -> bool:
    """A cheap check from the manifest alone (MIDI token counts are only known after tokenizing)."""
    for modality, target in ((task.source, False), (task.target, True)):
        extra = 2 if target else 0  # SOS and EOS
        if modality is Modality.IMAGE and row.image_codes is not None:
            h, w = row.image_codes[2], row.image_codes[3]
            if h * w + 1 + extra > limits.image or w > limits.image_columns:
                return False
        elif modality is Modality.AUDIO and row.audio_codes is not None:
            if row.audio_codes[2] + extra > limits.audio:
                return False
        elif modality is Modality.NOTATION and row.lmx_tokens is not None:
            if row.lmx_tokens + extra > limits.notation:
                return False
    return True


def notes_of(sample: BakedSample) -> list[Note]:
    if sample.notes_json is None:
        raise SkipExample(f"{sample.id} has no notes")
    return [Note(*row) for row in json.loads(sample.notes_json)]


def midi_window_ticks(sample_id: str, start_ms: int | None, end_ms: int | None, tokenizer: MidiTokenizer) -> int:
    """Ticks of a sample's time span, as one tokenizer window; SkipExample when untimed or too long."""
    if start_ms is None or end_ms is None:
        raise SkipExample(f"{sample_id} is untimed")
    ticks = -(-(end_ms - start_ms) // MIDI_TICK_MS)
    if ticks > tokenizer.config.max_window_ticks:
        raise SkipExample(f"{sample_id} spans {ticks} ticks, more than one MIDI window")
    return ticks


def midi_window_tokens(sample: BakedSample, tokenizer: MidiTokenizer) -> list[int]:
    """The sample's notes as one tokenizer window over its whole time span."""
    row = sample.meta["sample"]
    ticks = midi_window_ticks(sample.id, row.get("start_ms"), row.get("end_ms"), tokenizer)
    return tokenizer.encode_window(notes_of(sample), 0, ticks)


def centre_index(sample: BakedSample, kind: str, shifts: int) -> int:
    """Index of the unshifted placement among a sample's baked shifts (listed in its meta by the bake)."""
    listed = sample.meta.get(f"{kind}_shifts")
    zero = [0, 0] if kind == "image" else 0
    if listed and zero in listed:
        return listed.index(zero)
    return min(IMAGE_CENTRE if kind == "image" else AUDIO_CENTRE, shifts - 1)


def modality_data(sample: BakedSample, modality: Modality, *, as_source: bool, rng: np.random.Generator | None,
                  tokenizer: MidiTokenizer) -> object:
    """What ``tokens.layout.encode`` takes for one modality of a sample, at a drawn (or the centre) shift."""
    if modality is Modality.IMAGE:
        if sample.image is None:
            raise SkipExample(f"{sample.id} has no image codes")
        shifts, variants = sample.image.shape[:2]
        s = pick_shift(rng, shifts, train=rng is not None, centre=centre_index(sample, "image", shifts))
        v = int(rng.integers(variants)) if rng is not None and as_source else 0
        return [sample.image[s, v].astype(np.int64)]
    if modality is Modality.AUDIO:
        if sample.audio is None:
            raise SkipExample(f"{sample.id} has no audio codes")
        shifts = sample.audio.shape[0]
        s = pick_shift(rng, shifts, train=rng is not None, centre=centre_index(sample, "audio", shifts))
        return sample.audio[s].astype(np.int64)
    if modality is Modality.NOTATION:
        if not sample.lmx:
            raise SkipExample(f"{sample.id} has no LMX")
        return list(sample.lmx)
    return midi_window_tokens(sample, tokenizer)


def make_example(sample: BakedSample, dataset: str, task: Task, vocab: Vocabulary, limits: LengthLimits,
                 tokenizer: MidiTokenizer, rng: np.random.Generator | None = None, degrade: bool = True) -> Example:
    """The (source, target) pair of ``sample`` for ``task``; raises SkipExample when it cannot be made.
    ``degrade=False``: a source image is always the clean variant (the recipe's ``degrade_sources``)."""
    try:
        src_data = modality_data(sample, task.source, as_source=degrade, rng=rng, tokenizer=tokenizer)
        tgt_data = modality_data(sample, task.target, as_source=False, rng=rng, tokenizer=tokenizer)
        source = encode(task.source, src_data, vocab, as_target=False, limits=limits)
        target = with_sos_eos(encode(task.target, tgt_data, vocab, as_target=True, limits=limits), task.target,
                              vocab, limits)
    except SkipExample:
        raise
    except ValueError as exc:  # over a length limit, a token outside the vocabulary, ...
        raise SkipExample(f"{sample.id} for {task}: {exc}") from None
    return Example(sample.id, dataset, task, source, target)
