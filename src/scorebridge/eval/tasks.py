"""``evaluate(task, data_dirs, model)``: the evaluation suite behind ``scorebridge eval TASK`` (issue 6 §2).

Tasks (u-must.md §6 for how the reference measures each):

- ``omr``: system image -> LMX; corpus SER, SER without tuplet tokens, edits by kind (``eval.omr_errors``).
- ``transcription``: audio -> MIDI over each piece's consecutive windows (``kind == 'window'`` samples, grouped
  by piece, ordered by start), joined per piece (``eval.pieces``); onset F1 and onset+offset F1 per piece,
  averaged over pieces.
- ``image-audio``, ``midi-audio``: system image or MIDI -> audio, transcribed by a judge (``basic-pitch``);
  onset F1 against the sample's notes directly and after DTW (``eval.alignment``); mel distance to the
  sample's audio for ``midi-audio``. No judge, no score: an error says so.
- ``audio-image``, ``lmx-image``: audio or LMX -> image, read back by the same model's OMR; SER against the LMX.

Every task's scores count why each decoding stopped (``ends``: ``eos``, ``loop``, ``source_length``,
``max_steps``; ``decoding.stopping``) and the report's notes say it in a line, e.g. "decoding: ended with EOS
3/20; cut as loop 12/20; at the source-length bound 0/20; at the step limit 5/20".

Samples come from built datasets (``scorebridge data build``): chosen from the manifests first (split, kind,
modalities; ``limit`` spread evenly over them), then only their shards are read, in order, so a small limit on
a large dataset reads little and memory holds one piece or sample at a time. The ``limit`` counts samples, or
pieces for ``transcription``.

Example (what ``scorebridge eval omr --data DIR --weights PATH --limit 100 -o REPORT.json`` runs)::

    report = evaluate("omr", [DIR], PATH, limit=100)
    report.save("REPORT.json")
    print(report.summary())
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from scorebridge.checkpoint import config_to_dict, read_checkpoint_meta
from scorebridge.data.dataset import load_manifest
from scorebridge.data.schema import Sample, from_record
from scorebridge.data.splits import spread
from scorebridge.decoding import DecodingOptions
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.eval import runs
from scorebridge.eval.report import DataInfo, EvalReport, ModelInfo, SkippedSample, package_versions
from scorebridge.inference import ScoreBridgeModel, load_model
from scorebridge.midi.notes import Note
from scorebridge.modality import Modality
from scorebridge.model.translator import CHECKPOINT_KIND

log = logging.getLogger(__name__)

DEFAULT_OPTIONS = DecodingOptions()
JUDGES = ("basic-pitch",)
# how the reference decodes (u-must.md §6): greedy OMR; transcription windows by top-p 0.9 at temperature 0.1
REFERENCE_OPTIONS: dict[str, DecodingOptions] = {
    "omr": DecodingOptions(),
    "transcription": DecodingOptions(method="top_p", top_p=0.9, temperature=0.1),
}


@dataclass(frozen=True)
class TaskSpec:
    """What a task translates, which samples it takes (kind, manifest modalities) and whether it needs a judge."""

    source: Modality
    target: Modality
    kind: str
    needs: tuple[str, ...]
    judge: bool = False
    readback: bool = False  # the generated image is read back by the model's OMR


TASKS: dict[str, TaskSpec] = {
    "omr": TaskSpec(Modality.IMAGE, Modality.NOTATION, "system", ("image", "lmx")),
    "transcription": TaskSpec(Modality.AUDIO, Modality.MIDI, "window", ("audio", "midi")),
    "image-audio": TaskSpec(Modality.IMAGE, Modality.AUDIO, "system", ("image", "midi"), judge=True),
    "midi-audio": TaskSpec(Modality.MIDI, Modality.AUDIO, "system", ("midi", "audio"), judge=True),
    "audio-image": TaskSpec(Modality.AUDIO, Modality.IMAGE, "system", ("audio", "lmx"), readback=True),
    "lmx-image": TaskSpec(Modality.NOTATION, Modality.IMAGE, "system", ("lmx",), readback=True),
}


# ---------------------------------------------------------------- judges
@dataclass(frozen=True)
class NamedJudge:
    """A transcriber with the name (and version) the report records."""

    name: str
    transcriber: Any

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> list[Note]:
        return self.transcriber.transcribe(audio, sample_rate)


def load_judge(name: str) -> runs.Judge:
    """The judge transcriber called ``name`` (one of ``JUDGES``); MissingToolError when it is not installed."""
    if name == "basic-pitch":
        from scorebridge.eval.transcribers import BasicPitchTranscriber

        transcriber = BasicPitchTranscriber()
        return NamedJudge(f"basic-pitch {metadata.version('basic-pitch')} (ONNX)", transcriber)
    raise ValueError(f"unknown judge {name!r}; known: {', '.join(JUDGES)}")


def _judge_for(task: str, spec: TaskSpec, judge: str | runs.Judge | None) -> runs.Judge | None:
    if not spec.judge:
        if judge is not None:
            log.info("task %s uses no judge; %s ignored", task, judge if isinstance(judge, str) else judge.name)
        return None
    if judge is None:
        raise ScorebridgeError(f"task {task} scores generated audio through a judge transcriber: pass one "
                               f"({', '.join(JUDGES)}; installed by `make bench`)")
    return load_judge(judge) if isinstance(judge, str) else judge


# ---------------------------------------------------------------- samples
@dataclass(frozen=True)
class Selection:
    """Manifest rows chosen for a task, each with its dataset folder, and the per-folder counts."""

    rows: tuple[tuple[Path, dict[str, Any]], ...]
    data: tuple[DataInfo, ...]


def _usable(row: dict[str, Any], spec: TaskSpec, split: str) -> bool:
    return row["split"] == split and row["kind"] == spec.kind and set(spec.needs) <= set(row.get("modalities", ()))


def piece_key(row: dict[str, Any]) -> str:
    return f"{row['source']}/{row['piece']}"


def select_rows(task: str, data_dirs: Sequence[str | os.PathLike[str]], split: str,
                limit: int | None) -> Selection:
    """The manifest rows the task evaluates: usable rows of every folder, ``limit`` of them (or of the pieces,
    for transcription) spread evenly over all folders together."""
    spec = TASKS[task]
    usable = [(Path(d), row) for d in data_dirs for row in load_manifest(d) if _usable(row, spec, split)]
    if not usable:
        raise InputError(", ".join(str(d) for d in data_dirs),
                         f"no {split} samples of kind {spec.kind!r} with {' and '.join(spec.needs)} for task {task}")
    if spec.kind == "window":  # units are pieces: keep every window of the chosen pieces
        units = list(dict.fromkeys((root, piece_key(row)) for root, row in usable))
        chosen_units = set(spread(units, limit))
        chosen = [(root, row) for root, row in usable if (root, piece_key(row)) in chosen_units]
    else:
        chosen = spread(usable, limit)
    available, selected = Counter(root for root, _ in usable), Counter(root for root, _ in chosen)
    data = tuple(DataInfo(str(Path(d)), available[Path(d)], selected[Path(d)]) for d in data_dirs)
    return Selection(tuple(chosen), data)


def stream_samples(rows: Sequence[tuple[Path, dict[str, Any]]], missing: list[SkippedSample]) -> Iterator[Sample]:
    """The samples of ``rows``, shard by shard (only the shards that hold them, each read once); rows that their
    shard lacks are appended to ``missing``."""
    import webdataset as wds

    by_shard: dict[tuple[Path, str], set[str]] = defaultdict(set)
    for root, row in rows:
        by_shard[(root, row["shard"])].add(row["id"])
    for (root, shard), wanted in by_shard.items():
        found = set()
        for record in wds.WebDataset(str(root / shard), shardshuffle=False, empty_check=False):
            if record["__key__"] in wanted:  # decode only what is asked for
                found.add(record["__key__"])
                yield from_record(record)
        missing += [SkippedSample(i, f"listed in {root}'s manifest but not in {shard}") for i in sorted(wanted - found)]


def stream_pieces(rows: Sequence[tuple[Path, dict[str, Any]]], missing: list[SkippedSample]
                  ) -> Iterator[tuple[str, list[Sample]]]:
    """Each piece's window samples once all of them are read; a piece that lost a window to a missing record
    is skipped (listed in ``missing``)."""
    expected = Counter((root, piece_key(row)) for root, row in rows)
    root_of = {row["id"]: root for root, row in rows}
    pending: dict[tuple[Path, str], list[Sample]] = defaultdict(list)
    for sample in stream_samples(rows, missing):
        key = (root_of[sample.id], f"{sample.source}/{sample.piece}")
        pending[key].append(sample)
        if len(pending[key]) == expected[key]:
            yield key[1], pending.pop(key)
    for key, got in pending.items():
        missing.append(SkippedSample(key[1], f"{expected[key] - len(got)} of its windows are missing"))


# ---------------------------------------------------------------- the model
def _load(model: str | os.PathLike[str] | ScoreBridgeModel, device: str) -> tuple[ScoreBridgeModel, ModelInfo]:

    if isinstance(model, ScoreBridgeModel):
        loaded, path, step = model, None, None
    else:
        loaded, path = load_model(model, device), Path(model)
        extra = read_checkpoint_meta(path, CHECKPOINT_KIND).get("extra", {})
        step = extra.get("step") if isinstance(extra, dict) and isinstance(extra.get("step"), int) else None
    info = ModelInfo(None if path is None else str(path), step, config_to_dict(loaded.translator.config),
                     tuple(f"{s}->{t}" for s, t in loaded.tasks))
    return loaded, info


def _check_codecs(model: ScoreBridgeModel, spec: TaskSpec) -> None:
    """Load the codecs the task needs before any sample, so a missing one fails at once instead of skipping
    every sample."""
    for modality in {spec.source, spec.target} | ({Modality.IMAGE} if spec.readback else set()):
        if modality in (Modality.IMAGE, Modality.AUDIO) and not (modality is spec.source
                                                                and model.inputs.uses_features(modality)):
            model.codecs.get(modality, model.vocab, model.device)


def _progress(items: Any, total: int, enabled: bool, desc: str, unit: str) -> Any:
    from tqdm import tqdm

    return tqdm(items, total=total, disable=not enabled, desc=desc, unit=unit)


# ---------------------------------------------------------------- evaluate
def evaluate(task: str, data_dirs: Sequence[str | os.PathLike[str]], model: str | os.PathLike[str] | ScoreBridgeModel,
             *, split: str = "test", limit: int | None = None, options: DecodingOptions = DEFAULT_OPTIONS,
             judge: str | runs.Judge | None = None, progress: bool = True, device: str = "cpu") -> EvalReport:
    """Run ``task`` (a key of ``TASKS``) on the ``split`` samples of the built datasets ``data_dirs``.

    ``model``: a model folder (loaded on ``device``) or a loaded ``ScoreBridgeModel``. ``limit``: at most this
    many samples (pieces for transcription), spread evenly. ``options``: decoding of the task's translation
    (the reference: greedy for OMR); readback OMR of generated images is greedy with the same ``max_steps``
    and stop rules. The report's notes count why each decoding ended (EOS, loop, source-length bound, step
    limit); the scores are of the outputs as produced, cut rows included.
    ``judge``: a name in ``JUDGES`` or an object with ``name`` and ``transcribe(audio, sample_rate)``; needed
    by image-audio and midi-audio. InputError for data without usable samples or a bad model folder,
    ScorebridgeError for a judge task without a judge, ValueError for an unknown task."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, not {limit}")
    spec = TASKS[task]
    started = time.perf_counter()
    the_judge = _judge_for(task, spec, judge)
    selection = select_rows(task, data_dirs, split, limit)
    loaded, model_info = _load(model, device)
    _check_codecs(loaded, spec)
    notes: list[str] = []
    if loaded.tasks and (spec.source, spec.target) not in loaded.tasks:
        notes.append(f"the model was not trained on {spec.source}->{spec.target}")
    missing: list[SkippedSample] = []
    readback = DecodingOptions(max_steps=options.max_steps, eos_bias=options.eos_bias,
                               loop_repeats=options.loop_repeats, loop_max_period=options.loop_max_period,
                               source_bound=options.source_bound)
    if spec.kind == "window":
        n_units = len({(root, piece_key(row)) for root, row in selection.rows})
        units = _progress(stream_pieces(selection.rows, missing), n_units, progress, task, "piece")
        outcome = runs.run_transcription(loaded, units, options)
    else:
        samples = _progress(stream_samples(selection.rows, missing), len(selection.rows), progress, task, "sample")
        if task == "omr":
            outcome = runs.run_omr(loaded, samples, options)
        elif spec.readback:
            outcome = runs.run_readback(loaded, samples, spec.source, options, readback)
        else:
            assert the_judge is not None
            outcome = runs.run_audio_generation(loaded, samples, spec.source, options, the_judge)
    skipped = tuple(outcome.skipped + missing)
    if skipped:
        log.warning("%s: %d skipped (see the report's 'skipped')", task, len(skipped))
    if not outcome.evaluated:
        notes.append("nothing could be evaluated: every selected unit was skipped (see 'skipped')")
    decoding = {"options": config_to_dict(options), **({"readback": config_to_dict(readback)} if spec.readback else {})}
    extra_versions = ("basic-pitch", "onnxruntime") if the_judge is not None else ()
    return EvalReport(
        task=task, scores=outcome.scores, model=model_info, data=selection.data, split=split,
        samples=outcome.evaluated, skipped=skipped, decoding=decoding,
        judge=the_judge.name if the_judge is not None else None, versions=package_versions(extra_versions),
        limit=limit, seconds=round(time.perf_counter() - started, 3), notes=tuple(notes + outcome.notes))


__all__ = ["JUDGES", "REFERENCE_OPTIONS", "TASKS", "EvalReport", "NamedJudge", "TaskSpec", "evaluate", "load_judge"]
