"""The build driver: shards and manifest, rejections, determinism, resuming after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scorebridge.data.build import build
from scorebridge.data.contract import BuildConfig
from scorebridge.data.dataset import dataset_stats, export_sample, get_sample, iter_samples, load_manifest
from scorebridge.data.schema import from_record, to_record
from scorebridge.errors import ScorebridgeError

sys.path.insert(0, str(Path(__file__).parent))
from _fake_source import FakeSource  # noqa: E402

EXPECTED = {"system": ("image", "lmx", "midi", "audio")}


def test_record_round_trip_is_exact_for_symbols_and_24bit_for_audio() -> None:
    source, config = FakeSource(), BuildConfig()
    sample = source.build_piece(source.pieces()[0], config)[1]
    back = from_record(to_record(sample))
    assert back == sample  # id, times, lmx, notes, ...
    assert np.array_equal(back.image, sample.image)
    assert np.abs(back.audio - sample.audio).max() < 2**-22
    assert back.meta == {"k": 1}


def test_build_writes_shards_manifest_and_rejections(tmp_path: Path) -> None:
    report = build(FakeSource(), tmp_path / "ds", workers=2, expected_modalities=EXPECTED)
    assert (report.pieces, report.built_now, report.resumed, report.rejected) == (6, 6, 0, 3)
    rows = load_manifest(tmp_path / "ds")
    assert len(rows) == report.samples == 9 and len({r["id"] for r in rows}) == 9
    rejected = [json.loads(line) for line in (tmp_path / "ds" / "rejected.jsonl").read_text().splitlines()]
    reasons = {r["piece"]: r["reason"] for r in rejected}
    assert reasons["composer/piece2"] == "no piano part"
    assert reasons["composer/piece3"].startswith("internal error: ValueError")
    assert "lacks audio" in reasons["composer/piece4"]
    samples = list(iter_samples(tmp_path / "ds"))
    assert [s.id for s in samples] == [r["id"] for r in rows]
    assert all(set(s.modalities) == {"image", "lmx", "midi", "audio"} for s in samples)
    assert {s.split for s in iter_samples(tmp_path / "ds", split="valid")} == {"valid"}
    stats = dataset_stats(tmp_path / "ds")
    assert stats.rejected == 3 and sum(s.samples for s in stats.splits.values()) == 9
    assert stats.splits["train"].pieces == 1 and stats.splits["train"].systems == 3


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    build(FakeSource(bad=()), tmp_path / "a", workers=2)
    build(FakeSource(bad=()), tmp_path / "b", workers=1)
    build(FakeSource(bad=()), tmp_path / "c", BuildConfig(seed=1))
    shard = "shards/composer.piece0.tar"
    a, b, c = ((tmp_path / d / shard).read_bytes() for d in "abc")
    sa = get_sample(tmp_path / "a", "fake/composer/piece0/system-0000")
    sc = get_sample(tmp_path / "c", "fake/composer/piece0/system-0000")
    assert np.array_equal(sa.image, get_sample(tmp_path / "b", sa.id).image)
    assert not np.array_equal(sa.image, sc.image)
    assert a != c and len(a) == len(b)


def test_resume_builds_only_missing_pieces_and_refuses_other_settings(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build(FakeSource(), out)
    before = (out / "manifest.jsonl").read_text()
    (out / "pieces" / "composer.piece1.json").unlink()
    report = build(FakeSource(), out)
    assert (report.built_now, report.resumed) == (1, 5)
    assert (out / "manifest.jsonl").read_text() == before
    with pytest.raises(ScorebridgeError, match="other settings"):
        build(FakeSource(), out, BuildConfig(seed=7))


def test_killed_build_resumes_without_duplicates_or_corrupt_shards(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from _fake_source import FakeSource; from scorebridge.data.build import build;"
        "build(FakeSource(n=12, delay_s=0.25, bad=()), sys.argv[2], workers=2)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).parent), str(out)],
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list((out / "pieces").glob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, mid-build
    proc.wait()
    done_before = len(list((out / "pieces").glob("*.json")))
    assert 3 <= done_before < 12
    report = build(FakeSource(n=12, delay_s=0.0, bad=()), out, workers=2)
    assert report.resumed == done_before and report.built_now == 12 - done_before
    rows = load_manifest(out)
    assert len(rows) == 36 and len({r["id"] for r in rows}) == 36
    assert len(list(iter_samples(out))) == 36  # every shard reads back whole
    assert not list(out.glob("*/.*.part*")) and not (out / "build.lock").exists()


def test_export_sample_writes_every_modality(tmp_path: Path) -> None:
    build(FakeSource(bad=()), tmp_path / "ds")
    sample = get_sample(tmp_path / "ds", "fake/composer/piece1/system-0002")
    paths = export_sample(sample, tmp_path / "show")
    assert sorted(p.name for p in paths) == sorted(
        ["sample.json", "image.png", "notation.lmx", "notation.musicxml", "notes.mid", "audio.wav"])
    assert all(p.stat().st_size > 0 for p in paths)


def test_parallel_check_equals_serial_check_and_notices_missing_samples(tmp_path: Path) -> None:
    from scorebridge.data.check_all import check_dataset

    out = tmp_path / "ds"
    build(FakeSource(n=6, bad=()), out)
    serial, parallel = check_dataset(out, workers=1), check_dataset(out, workers=2)
    assert serial.checked == parallel.checked == 18
    assert (serial.failed, serial.by_kind, serial.failures) == (parallel.failed, parallel.by_kind, parallel.failures)
    # a manifest row whose sample is not in its shard is a failure, not silently skipped
    manifest = out / "manifest.jsonl"
    rows = manifest.read_text().splitlines()
    extra = json.loads(rows[0]) | {"id": "fake/composer/piece0/system-0099"}
    manifest.write_text("\n".join(rows + [json.dumps(extra)]) + "\n")
    report = check_dataset(out, workers=2)
    assert report.checked == 18 and report.failed == serial.failed + 1
    assert any("not in the shard" in why for _, why in report.failures)


def test_a_build_made_before_a_setting_existed_resumes_when_the_setting_keeps_its_default(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build(FakeSource(), out)
    stored = json.loads((out / "config.json").read_text())
    del stored["config"]["page_width_range"]  # as a build written before the setting was added
    (out / "config.json").write_text(json.dumps(stored))
    assert build(FakeSource(), out).resumed == 6
    with pytest.raises(ScorebridgeError, match="other settings"):
        build(FakeSource(), out, BuildConfig(page_width_range=(650, 850)))
    with pytest.raises(ValueError, match="page_width_range"):
        BuildConfig(page_width_range=(900, 800))


def test_a_build_begun_under_schema_1_resumes(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build(FakeSource(), out)
    stored = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**stored, "schema": 1}))  # before tied_in became a field
    assert build(FakeSource(), out).resumed == 6
    (out / "config.json").write_text(json.dumps({**stored, "schema": 99}))
    with pytest.raises(ScorebridgeError, match="other settings"):
        build(FakeSource(), out)
