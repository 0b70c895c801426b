"""Training straight from the data engine's datasets, with image and audio sources read as signal.

A recipe whose ``[inputs]`` read images as ``pixels`` or audio as ``mel`` (``tokens.features``) needs no codec
and no bake for the directions whose target is a token stream (image -> LMX, image -> MIDI, audio -> MIDI,
audio -> LMX): such a dataset folder (``scorebridge data build``'s ``manifest.jsonl`` and tar shards, no
``bake.json``) can be listed in the recipe's ``data`` beside baked folders. Its rows are ``BakedRow``s with
``raw=True`` whose ``image_codes`` / ``audio_codes`` give the shape of the *feature* grid (patch rows and
columns, mel frames), so the pools and length checks work unchanged.

Per example (training, ``rng`` given): the image is placed at a random one of the bake's 32 sub-patch offsets and
degraded with the reference augmentations (``data.augment``), as a baked source would be; the audio is moved by
a random one of the bake's offsets. Evaluation (``rng=None``) takes the centre placement, the clean image and
the unmoved audio — exactly what inference computes from a user's file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from scorebridge.constants import AUDIO_SAMPLE_RATE, IMAGE_PATCH_PX
from scorebridge.data.augment import degrade
from scorebridge.data.schema import Sample, from_record
from scorebridge.errors import InputError
from scorebridge.midi.tokenizer import MidiTokenizer
from scorebridge.modality import Modality, Task
from scorebridge.shards import BakedRow
from scorebridge.tokens.features import FeatureSpec, anchor_staff, image_patches, log_mel
from scorebridge.tokens.layout import LengthLimits, encode, encode_features, with_sos_eos
from scorebridge.tokens.shifts import (
    AUDIO_SHIFTS,
    IMAGE_SHIFTS,
    pick_shift,
    shift_and_pad_image,
    shift_audio,
    shifted_image_size,
)
from scorebridge.tokens.vocabulary import Vocabulary

from .examples import Example, SkipExample, midi_window_ticks

MODALITY_KEYS = {"image": Modality.IMAGE, "lmx": Modality.NOTATION, "midi": Modality.MIDI, "audio": Modality.AUDIO}
MEMBERS = {Modality.IMAGE: "png", Modality.NOTATION: "lmx", Modality.MIDI: "notes.json", Modality.AUDIO: "flac"}


def is_raw_dataset(folder: str | Path) -> bool:
    """A built dataset (manifest.jsonl) that is not a bake (no bake.json)."""
    folder = Path(folder)
    return (folder / "manifest.jsonl").is_file() and not (folder / "bake.json").is_file()


def raw_rows(folder: str | Path, spec: FeatureSpec, split: str | None = None) -> list[BakedRow]:
    """The rows of a built dataset as the trainer sees them: modalities the recipe can read from it (images
    only as pixels, audio only as mel — codes would need a bake), feature-grid shapes in the code fields."""
    folder = Path(folder)
    file = folder / "manifest.jsonl"
    if not file.is_file():
        raise InputError(folder, "not a built dataset (no manifest.jsonl); run `scorebridge data build`")
    name = folder.resolve().name
    rows = []
    for line in file.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        if split is not None and r["split"] != split:
            continue
        rows.append(raw_row(folder, name, r, spec))
    return rows


def raw_row(folder: Path, dataset: str, r: dict[str, Any], spec: FeatureSpec) -> BakedRow:
    held = {MODALITY_KEYS[m] for m in r.get("modalities", ())}
    image = None
    if Modality.IMAGE in held and spec.image == "pixels" and r.get("image_hw"):
        height, width = r["image_hw"]
        # anchoring the staff pads the top by at most staff_top + a patch: count the rows it may add
        h, w = shifted_image_size(height + (spec.staff_top + IMAGE_PATCH_PX - 1 if spec.staff_top else 0), width)
        image = (1, 1, h // IMAGE_PATCH_PX, w // IMAGE_PATCH_PX, 1)
    audio = None
    if Modality.AUDIO in held and spec.audio == "mel" and r.get("audio_samples"):
        samples = math.ceil(r["audio_samples"] * spec.mel_rate / r["sample_rate"])
        audio = (1, 1, spec.mel_frames(samples))
    lmx = r.get("lmx_tokens") if Modality.NOTATION in held else None
    notes = r.get("notes") if Modality.MIDI in held and r.get("start_ms") is not None else None
    return BakedRow(folder, r["id"], dataset, r["split"], r["kind"], r["shard"], image, audio, lmx, notes, raw=True)


def source_features(sample: Sample, modality: Modality, spec: FeatureSpec, rng: np.random.Generator | None,
                    degrade_image: bool = True) -> Any:
    """What ``tokens.layout.encode_features`` takes: [patch grid] of the (placed, degraded) image, or mel frames
    of the (moved) audio."""
    if modality is Modality.IMAGE:
        if sample.image is None:
            raise SkipExample(f"{sample.id} has no image")
        dx, dy = IMAGE_SHIFTS[pick_shift(rng, len(IMAGE_SHIFTS), train=rng is not None)]  # centre: (0, 0)
        img = shift_and_pad_image(anchor_staff(sample.image, spec.staff_top), dx, dy)
        if rng is not None and degrade_image:
            img = degrade(img, rng)
        return [image_patches(img)]
    if sample.audio is None:
        raise SkipExample(f"{sample.id} has no audio")
    audio = sample.audio
    if rng is not None:
        # the bake's offsets are in samples at AUDIO_SAMPLE_RATE; scale them to this sample's rate
        offset = AUDIO_SHIFTS[pick_shift(rng, len(AUDIO_SHIFTS), train=True)] * sample.sample_rate // AUDIO_SAMPLE_RATE
        audio = shift_audio(audio, offset)
    return log_mel(audio, sample.sample_rate, spec)


def target_data(sample: Sample, modality: Modality, tokenizer: MidiTokenizer) -> Any:
    """LMX tokens or MIDI window ids of a sample, as ``tokens.layout.encode`` takes them."""
    if modality is Modality.NOTATION:
        if not sample.lmx:
            raise SkipExample(f"{sample.id} has no LMX")
        return list(sample.lmx)
    if modality is Modality.MIDI:
        if sample.notes is None or sample.start_ms is None or sample.end_ms is None:
            raise SkipExample(f"{sample.id} has no timed notes")
        ticks = midi_window_ticks(sample.id, sample.start_ms, sample.end_ms, tokenizer)
        return tokenizer.encode_window(list(sample.notes), 0, ticks)
    raise SkipExample(f"{modality} targets need codec tokens: bake the dataset (`scorebridge codec bake`)")


def make_raw_example(record: dict[str, Any], dataset: str, task: Task, vocab: Vocabulary, limits: LengthLimits,
                     tokenizer: MidiTokenizer, spec: FeatureSpec, rng: np.random.Generator | None = None,
                     degrade: bool = True) -> Example:
    """The (source, target) pair of one dataset record for ``task``; raises SkipExample when it cannot be made.
    ``degrade=False``: a source image is placed at random but never degraded."""
    # decode only the files the task reads (a system's FLAC costs more to decode than its PNG and LMX together)
    wanted = {"__key__", "json"} | {MEMBERS[m] for m in (task.source, task.target)}
    sample = from_record({k: v for k, v in record.items() if k in wanted})
    if not spec.uses_features(task.source) and task.source not in (Modality.NOTATION, Modality.MIDI):
        raise SkipExample(f"{task.source} sources of a built dataset need features or a bake")
    try:
        if spec.uses_features(task.source):
            source = encode_features(task.source, source_features(sample, task.source, spec, rng, degrade), vocab, spec,
                                     limits)
        else:
            source = encode(task.source, target_data(sample, task.source, tokenizer), vocab, limits=limits)
        target = with_sos_eos(encode(task.target, target_data(sample, task.target, tokenizer), vocab,
                                     as_target=True, limits=limits), task.target, vocab, limits)
    except SkipExample:
        raise
    except ValueError as exc:  # over a length limit, a token outside the vocabulary, ...
        raise SkipExample(f"{sample.id} for {task}: {exc}") from None
    return Example(sample.id, dataset, task, source, target)
