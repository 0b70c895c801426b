"""`scorebridge data check`: the alignment checks over every sample of a built dataset."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from scorebridge.data.schema import Sample

MAX_LISTED_FAILURES = 20


@dataclass
class CheckReport:
    checked: int = 0
    failed: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)  # "system/score", "system/performance", "window", ...
    failures: list[tuple[str, str]] = field(default_factory=list)  # (sample id, reasons), the first few


def check_sample(sample: Sample) -> tuple[str, tuple[str, ...]]:
    """(category, reasons) for one sample; no reasons means it passed."""
    from scorebridge.data.checks import check_system_sample

    if sample.kind == "system" and sample.timeline == "score" and sample.timed:
        return "system/score", check_system_sample(sample).reasons
    if sample.kind == "system" and sample.timeline == "performance" and sample.notes is None and sample.lmx is None:
        return "system/image-audio", _image_audio_reasons(sample)
    if sample.kind == "system" and sample.timeline == "performance":
        return "system/performance", _performance_reasons(sample)
    if sample.kind == "window":
        return "window", _window_reasons(sample)
    return "system/untimed", _untimed_reasons(sample)


def _performance_reasons(sample: Sample) -> tuple[str, ...]:
    """Performance notes of a system against the score notes of the same measures (stored when it was built)."""
    from scorebridge.data.performance import check_notes
    from scorebridge.midi import Note

    if sample.notes is None or "score_pitches" not in sample.meta:
        return ("a performance system sample needs notes and meta['score_pitches']",)
    score = [Note(0, 0, int(p)) for p in sample.meta["score_pitches"]]
    result = check_notes(sample.notes, score)
    return () if result.ok else (str(result.reason),)


def _image_audio_reasons(sample: Sample) -> tuple[str, ...]:
    """A page's systems with the page's audio and nothing symbolic (score videos): the stacked systems must fill
    the image exactly and the audio must not be silent."""
    if sample.image is None or sample.audio is None:
        return ("an image-audio sample needs an image and audio",)
    reasons = []
    heights = sample.meta.get("system_heights")
    if not heights:
        reasons.append("meta['system_heights'] is missing")
    elif sum(int(h) for h in heights) != sample.image.shape[0]:
        reasons.append(f"system heights {list(heights)} do not add up to the image's {sample.image.shape[0]} rows")
    if sample.audio.size and float(abs(sample.audio).max()) == 0.0:
        reasons.append("silent audio")
    return tuple(reasons)


def _window_reasons(sample: Sample) -> tuple[str, ...]:
    reasons = []
    if sample.notes is None or sample.audio is None:
        reasons.append("a window needs MIDI and audio")
    elif sample.notes and sample.audio is not None and float(abs(sample.audio).max()) == 0.0:
        reasons.append(f"{len(sample.notes)} notes but silent audio")
    return tuple(reasons)


def _untimed_reasons(sample: Sample) -> tuple[str, ...]:
    from scorebridge.notation import UnknownTokenError, check_tokens

    if sample.image is None or sample.lmx is None:
        return ("an untimed system sample needs an image and LMX",)
    try:
        check_tokens(sample.lmx)
    except UnknownTokenError as exc:
        return (str(exc),)
    return ()


def check_dataset(path: str | os.PathLike[str], limit: int | None = None, progress: bool = False,
                  workers: int = 1) -> CheckReport:
    """Check every sample (or the first ``limit``); with ``workers`` > 1 shards are checked in parallel."""
    from tqdm import tqdm

    from scorebridge.data.dataset import load_manifest

    rows = load_manifest(path)
    if limit is not None:
        rows = rows[:limit]
    shards: dict[str, list[str]] = {}
    for r in rows:
        shards.setdefault(r["shard"], []).append(r["id"])
    report = CheckReport()
    jobs = [(str(path), shard, ids) for shard, ids in shards.items()]
    bar = tqdm(total=len(rows), desc="check", unit="sample", disable=not progress)
    with bar:
        if workers <= 1 or len(jobs) <= 1:
            parts = map(_check_shard, jobs)
            for part in parts:
                _merge(report, part)
                bar.update(part.checked)
        else:
            import multiprocessing

            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for part in pool.imap(_check_shard, jobs):  # in shard order: the listed failures are stable
                    _merge(report, part)
                    bar.update(part.checked)
    return report


def _check_shard(job: tuple[str, str, list[str]]) -> CheckReport:
    import webdataset as wds

    from scorebridge.data.schema import from_record

    root, shard, ids = job
    wanted = set(ids)
    part = CheckReport()
    for record in wds.WebDataset(os.path.join(root, shard), shardshuffle=False, empty_check=False):
        if record["__key__"] not in wanted:
            continue
        sample = from_record(record)
        category, reasons = check_sample(sample)
        part.checked += 1
        part.by_kind[category] += 1
        if reasons:
            part.failed += 1
            if len(part.failures) < MAX_LISTED_FAILURES:
                part.failures.append((sample.id, "; ".join(reasons)))
    if part.checked != len(wanted):
        part.failed += len(wanted) - part.checked
        part.failures.append((shard, f"{len(wanted) - part.checked} samples of the manifest are not in the shard"))
    return part


def _merge(report: CheckReport, part: CheckReport) -> None:
    report.checked += part.checked
    report.failed += part.failed
    report.by_kind.update(part.by_kind)
    report.failures.extend(part.failures[: max(0, MAX_LISTED_FAILURES - len(report.failures))])


def format_check_report(report: CheckReport) -> str:
    lines = [f"checked {report.checked} samples: {report.checked - report.failed} passed, {report.failed} failed"]
    lines += [f"  {n:6d}  {kind}" for kind, n in sorted(report.by_kind.items())]
    lines += [f"FAIL {sid}: {why}" for sid, why in report.failures]
    if report.failed > len(report.failures):
        lines.append(f"... and {report.failed - len(report.failures)} more")
    return "\n".join(lines) + "\n"
