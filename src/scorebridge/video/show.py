"""`scorebridge video show DIR PAGE_ID`: one page of a built video dataset as a PNG and a WAV to look at."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scorebridge.errors import InputError
from scorebridge.fileio import atomic_path


@dataclass(frozen=True)
class ShownPage:
    sample_id: str
    image: Path  # the stacked systems, PNG
    audio: Path  # the page's audio, WAV
    start_ms: int
    end_ms: int
    meta: dict[str, Any]


def resolve_page_id(rows: list[dict[str, Any]], page_id: str) -> str:
    """A sample id, or '<video id>/<page index>' (the index in ``meta['video_page']``, as in the id)."""
    ids = {r["id"] for r in rows}
    if page_id in ids:
        return page_id
    video, _, index = page_id.rpartition("/")
    if video and index.isdigit():
        for candidate in (f"video/{video}/system-{int(index):04d}", f"{video}/system-{int(index):04d}"):
            if candidate in ids:
                return candidate
    raise InputError(page_id, "no such page in the dataset (use a sample id or VIDEO_ID/PAGE_INDEX)")


def show_page(dataset: str | os.PathLike[str], page_id: str, out_dir: str | os.PathLike[str]) -> ShownPage:
    """Write ``<out_dir>/<video>-<page>.png`` and ``.wav`` for one page of a built dataset."""
    import soundfile as sf
    from PIL import Image

    from scorebridge.data.dataset import get_sample, load_manifest

    sample = get_sample(dataset, resolve_page_id(load_manifest(dataset), page_id))
    if sample.image is None or sample.audio is None or sample.start_ms is None or sample.end_ms is None:
        raise InputError(page_id, "not a video page (needs an image and audio)")
    stem = sample.id.removeprefix("video/").replace("/", "-")
    image, audio = Path(out_dir) / f"{stem}.png", Path(out_dir) / f"{stem}.wav"
    with atomic_path(image) as tmp:
        Image.fromarray(sample.image, mode="L").save(tmp, format="PNG")
    with atomic_path(audio) as tmp:
        sf.write(tmp, sample.audio, sample.sample_rate, subtype="PCM_16", format="WAV")
    return ShownPage(sample.id, image, audio, sample.start_ms, sample.end_ms, dict(sample.meta))
