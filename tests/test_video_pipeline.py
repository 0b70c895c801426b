"""The score-video pipeline on synthetic videos with known truth: page boundaries (cuts and crossfades),
cleaning (title card, silent end card), systems against the engraver's boxes, and a dataset built from a folder
of videos (bad videos rejected with reasons, resume after a kill, bake accepts it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from scorebridge.data.dataset import iter_samples, load_manifest, load_rejected
from scorebridge.video import (
    SyntheticVideoOptions,
    VideoOptions,
    analyse_video,
    build_videos,
    make_test_video,
    score_video,
    show_page,
)

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")

VARIANTS = {  # letterboxed 360p/25 fps with 4 one-system pages; pillarboxed 480p/30 fps, crossfade first
    "a": SyntheticVideoOptions(640, 360, 25, page_height=600, intro_ms=2000, outro_ms=2000),
    "b": SyntheticVideoOptions(854, 480, 30, page_width=1300, page_height=900, page_fill=0.95,
                          transitions=("crossfade", "cut"), crossfade_ms=1000, intro_ms=2500, outro_ms=2000, crf=34),
}


@pytest.fixture(scope="module")
def videos(tmp_path_factory, example_score) -> dict[str, tuple[Path, dict]]:
    root = tmp_path_factory.mktemp("videos")
    out = {}
    for name, options in VARIANTS.items():
        path = root / "in" / f"minuet-{name}.mp4"
        out[name] = (path, make_test_video(example_score, path, options))
    return out


@pytest.fixture(scope="module")
def analyses(videos, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("wav")
    return {name: analyse_video(path, scratch / f"{name}.wav") for name, (path, _) in videos.items()}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_page_boundaries_within_half_a_second(videos, analyses, name):
    truth = videos[name][1]
    score = score_video(analyses[name], truth)
    assert len(score.boundary_errors_ms) == len(truth["boundaries"]) >= 4
    assert {b["kind"] for b in truth["boundaries"]} == {"cut", "crossfade"}
    assert score.max_boundary_error_ms <= 500, score.boundary_errors_ms
    assert score.extra_boundaries == 0


@pytest.mark.parametrize("name", list(VARIANTS))
def test_cleaning_drops_title_and_silent_end_card(videos, analyses, name):
    pages = analyses[name].pages
    truth = videos[name][1]
    assert len(pages) == len(truth["screens"])
    assert pages[0].status == "silent intro" and not pages[0].systems  # the title card
    assert pages[-1].status == "silent outro" and not pages[-1].systems
    kept = analyses[name].kept
    assert len(kept) == sum(s["kind"] == "page" for s in truth["screens"])
    for page in kept:
        assert page.sound >= 0.16 and page.end_ms - page.start_ms < 20_000


@pytest.mark.parametrize("name", list(VARIANTS))
def test_systems_match_the_truth(videos, analyses, name):
    score = score_video(analyses[name], videos[name][1])
    assert score.systems_true >= 4
    assert score.precision >= 0.98 and score.recall >= 0.98, score
    assert score.median_staff_height_error_px <= 1.0, score.staff_height_errors_px


def test_page_audio_spans_follow_the_rule(videos, analyses):
    """Each page's audio runs from its section's start to the end of the next transition, padded by 1/3 s; the
    last page gets 2 s more (clipped at the end of the audio)."""
    pages = analyses["a"].pages
    for before, after in zip(pages, pages[1:], strict=False):
        assert before.start_ms <= before.shown_ms[0] - 300 or before.start_ms == 0
        assert after.shown_ms[0] <= before.end_ms <= after.shown_ms[0] + 400 + 334
    assert pages[-1].end_ms == analyses["a"].audio_ms


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


@pytest.fixture(scope="module")
def dataset(videos, tmp_path_factory):
    folder = tmp_path_factory.mktemp("folder")
    for path, _ in videos.values():
        shutil.copy(path, folder / path.name)
    good = videos["a"][0]
    (folder / "corrupt.mp4").write_bytes(os.urandom(5000))
    (folder / "truncated.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    _ffmpeg("-i", str(good), "-an", "-c", "copy", str(folder / "silent-film.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=4", "-f", "lavfi", "-i",
            "sine=frequency=440:duration=4", "-shortest", "-pix_fmt", "yuv420p", str(folder / "no-score.mp4"))
    meta = folder.parent / "meta.csv"
    meta.write_text("id,title,composer,staff_count\nminuet-a,Minuet in G,Petzold,2\n")
    out = folder.parent / "ds"
    report = build_videos(folder, out, metadata=meta, workers=2)
    return folder, out, report


def test_build_gives_a_checked_dataset_and_rejects_bad_videos(videos, dataset):
    folder, out, report = dataset
    assert report.pieces == 6 and report.rejected == 4
    reasons = {r["piece"]: r["reason"] for r in load_rejected(out)}
    assert "no audio track" in reasons["silent-film"]
    assert "no staves" in reasons["no-score"]
    assert "readable" in reasons["corrupt"] or "decoded" in reasons["corrupt"]
    assert "truncated" in reasons and "internal error" not in " ".join(reasons.values())
    rows = load_manifest(out)
    assert {r["piece"] for r in rows} == {"minuet-a", "minuet-b"} and len(rows) == sum(
        s["kind"] == "page" for _, truth in videos.values() for s in truth["screens"])
    for sample in iter_samples(out):
        assert sample.kind == "system" and sample.timeline == "performance" and sample.modalities == ("image",
                                                                                                      "audio")
        assert sum(sample.meta["system_heights"]) == sample.image.shape[0]
        assert sample.meta["image_patches"] <= sample.meta["max_image_patches"] <= 1000
        assert len(sample.audio) == sample.audio_samples_expected and np.abs(sample.audio).max() > 0.01
        assert sample.duration_ms < 20_000
        assert len({r["split"] for r in rows if r["piece"] == sample.piece}) == 1
    from scorebridge.data.check_all import check_sample

    assert {check_sample(s) for s in iter_samples(out)} == {("system/image-audio", ())}  # `data check` passes
    first = next(s for s in iter_samples(out) if s.piece == "minuet-a")
    assert first.meta["video"] == {"id": "minuet-a", "title": "Minuet in G", "composer": "Petzold",
                                   "staff_count": "2"}
    assert first.meta["dropped"] == {"0": "silent intro", "5": "silent outro"}


def test_a_killed_build_resumes(dataset, tmp_path):
    folder, out, _ = dataset
    copy = tmp_path / "ds"
    shutil.copytree(out, copy)
    before = (copy / "manifest.jsonl").read_text()
    # as if killed while building minuet-b: its outcome and shard missing, a half-written shard and the lock left
    (copy / "pieces" / "minuet-b.json").unlink()
    (copy / "shards" / "minuet-b.tar").rename(copy / "shards" / ".minuet-b.x1.part.tar")
    (copy / "build.lock").write_text("999999999")
    report = build_videos(folder, copy, metadata=folder.parent / "meta.csv")
    assert (report.resumed, report.built_now) == (5, 1)
    assert (copy / "manifest.jsonl").read_text() == before
    assert not list((copy / "shards").glob(".*part*")) and not (copy / "build.lock").exists()


def test_show_writes_a_page(dataset, tmp_path):
    _, out, _ = dataset
    shown = show_page(out, "minuet-a/1", tmp_path)
    assert shown.sample_id == "video/minuet-a/system-0001"
    assert shown.image.is_file() and shown.audio.is_file() and shown.end_ms > shown.start_ms


def test_bake_accepts_the_dataset(dataset, tmp_path):
    import torch

    from scorebridge.codecs.audio import AUDIO_PRESETS, AudioCodec, save_audio_codec
    from scorebridge.codecs.image import IMAGE_PRESETS, ImageCodec, save_image_codec
    from scorebridge.shards.bake import BakeOptions, bake

    _, out, _ = dataset
    torch.manual_seed(0)
    save_image_codec(ImageCodec(IMAGE_PRESETS["tiny"]), tmp_path / "codecs" / "image")
    save_audio_codec(AudioCodec(AUDIO_PRESETS["tiny"]), tmp_path / "codecs" / "audio")
    report = bake([out], tmp_path / "codecs", tmp_path / "tok",
                  BakeOptions(degraded=0, image_shifts="centre", audio_shifts="centre"))
    assert report.samples == len(load_manifest(out))
    rows = [json.loads(x) for x in (tmp_path / "tok" / "manifest.jsonl").read_text().splitlines()]
    assert all(r["image_codes"] and r["audio_codes"] for r in rows)


def test_too_long_videos_are_skipped_with_the_reason(videos, tmp_path):
    from scorebridge.errors import InputError

    with pytest.raises(InputError, match="over the limit"):
        analyse_video(videos["a"][0], tmp_path / "x.wav", VideoOptions(max_duration_ms=10_000))
