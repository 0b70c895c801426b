"""The Ray engine on a local instance (2 CPUs): the same datasets and token shards as the local pool, a killed
worker rerun without duplicates, URL outputs through the storage layer, and a one-line error without Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from _fake_source import FakeSource
from scorebridge.cli import main
from scorebridge.data.build import build
from scorebridge.data.contract import BuildConfig
from scorebridge.data.sources.kern import KernPianoSource
from scorebridge.engines import Engine, open_storage

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"
CORPORA = Path(os.environ.get("SCOREBRIDGE_CORPORA") or TESTS.parent.parent / "shared" / "corpora")
KERN_PIECES = ("chopin-preludes/prelude28-20", "chopin-preludes/prelude28-07", "chopin-preludes/prelude28-09")
CONFIG = BuildConfig(seed=3)
RAY = Engine("ray", max_retries=2)

pytestmark = pytest.mark.ray


class SmallKern(KernPianoSource):
    """Three short Chopin preludes of the kern corpus (two train, one valid)."""

    def pieces(self):
        return [s for s in super().pieces() if s.piece in KERN_PIECES]


class KillOnceSource(FakeSource):
    """A FakeSource whose worker process dies (SIGKILL) the first time it builds piece 1, half-way through."""

    def __init__(self, marker: Path, **kwargs):
        super().__init__(**kwargs)
        self.marker = str(marker)

    def build_piece(self, spec, config):
        samples = super().build_piece(spec, config)
        if spec.piece.endswith("piece1"):
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return samples  # the rerun
            os.kill(os.getpid(), signal.SIGKILL)
        return samples


def _worker_env() -> dict[str, str]:
    """Ray workers import this module (its sources) and scorebridge, as the pytest process does."""
    path = os.pathsep.join([str(TESTS), str(SRC), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {"PYTHONPATH": path}


def _members(shard: Path) -> dict[str, bytes]:
    with tarfile.open(shard) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _same_output(a: Path, b: Path, manifest: str = "manifest.jsonl", shards: str = "shards") -> None:
    """The same manifest and, shard by shard, the same members with the same bytes (tar mtimes aside)."""
    assert (a / manifest).read_text() == (b / manifest).read_text()
    names = sorted(p.relative_to(a / shards) for p in (a / shards).rglob("*.tar"))
    assert names == sorted(p.relative_to(b / shards) for p in (b / shards).rglob("*.tar"))
    assert names, "no shards"
    for name in names:
        assert _members(a / shards / name) == _members(b / shards / name), name


def _no_leftovers(folder: Path) -> None:
    assert not [p for p in folder.rglob(".*") if ".part" in p.name]


def test_missing_ray_is_one_clear_line(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "scores").mkdir()
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    code = main(["data", "build", "--source", str(tmp_path / "scores"), "--out", str(tmp_path / "ds"),
                 "--runner", "ray", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "needs Ray" in err and "scorebridge[cluster]" in err


def test_address_needs_the_ray_engine(tmp_path, capsys) -> None:
    code = main(["data", "build", "--source", str(tmp_path), "--out", str(tmp_path / "ds"),
                 "--address", "auto", "-q"])
    assert code == 2 and "--runner ray" in capsys.readouterr().err


def test_bake_refuses_urls_rather_than_making_a_local_s3_folder(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["codec", "bake", "--data", str(tmp_path), "--codecs", str(tmp_path), "--out", "s3://bucket/tok",
                 "-q"])
    assert code == 2 and "not URLs" in capsys.readouterr().err
    assert not (tmp_path / "s3:").exists()


def test_memory_url_storage_publishes_whole_files() -> None:
    store = open_storage("memory://scorebridge-test/ds")
    with pytest.raises(RuntimeError), store.publish("shards/a.tar") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed while writing")
    assert not store.exists("shards/a.tar") and not store.names("shards")
    with store.publish("shards/a.tar") as tmp:
        tmp.write_bytes(b"whole")
    store.write_text("pieces/a.json", "{}\n")
    assert store.read_bytes("shards/a.tar") == b"whole" and store.names("pieces") == {"a.json"}
    store.fs.pipe_file(store._full("shards/.a.1234.part.tar"), b"left by a killed writer")
    assert store.sweep_parts("shards") == 1 and store.names("shards") == {"a.tar"}


def test_cli_starts_a_local_instance_and_builds_like_the_local_pool(tmp_path) -> None:
    """`--runner ray` from the command line: a local Ray instance of its own, the same dataset as the pool."""
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA}")
    scores = tmp_path / "scores"
    scores.mkdir()
    (scores / "p20.krn").write_bytes((CORPORA / "kern" / f"{KERN_PIECES[0]}.krn").read_bytes())
    env = {**os.environ, **_worker_env()}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run([sys.executable, "-m", "scorebridge", "data", "build", "--source", str(scores),
                           "--out", str(tmp_path / "ray"), "--runner", "ray", "-q"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 built now" in done.stdout
    from scorebridge.data.sources.folder import FolderSource

    build(FolderSource(scores), tmp_path / "local", BuildConfig())
    _same_output(tmp_path / "local", tmp_path / "ray")


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False,
             runtime_env={"env_vars": _worker_env()})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def kern_builds(ray_local, tmp_path_factory):
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA}")
    root = tmp_path_factory.mktemp("kern")
    source = SmallKern(CORPORA)
    local = build(source, root / "local", CONFIG, workers=2)
    on_ray = build(source, root / "ray", CONFIG, engine=RAY)
    return root, local, on_ray


def test_kern_build_on_ray_equals_the_local_pool(kern_builds) -> None:
    root, local, on_ray = kern_builds
    assert (on_ray.pieces, on_ray.built_now, on_ray.samples) == (3, 3, local.samples) and local.samples > 3
    _same_output(root / "local", root / "ray")
    assert (root / "local" / "rejected.jsonl").read_text() == (root / "ray" / "rejected.jsonl").read_text()
    _no_leftovers(root / "ray")
    again = build(SmallKern(CORPORA), root / "ray", CONFIG, engine=RAY)  # resumable as before
    assert (again.built_now, again.resumed) == (0, 3)


def test_kern_bake_on_ray_actors_equals_the_local_bake(kern_builds, tmp_path) -> None:
    # imported here: Ray workers import this module for its sources, and need no torch for those
    import torch

    from scorebridge.codecs.audio import AUDIO_PRESETS, AudioCodec, save_audio_codec
    from scorebridge.codecs.image import IMAGE_PRESETS, ImageCodec, save_image_codec
    from scorebridge.shards.bake import BakeOptions, bake

    root, _, _ = kern_builds
    torch.manual_seed(0)
    save_image_codec(ImageCodec(IMAGE_PRESETS["tiny"]), tmp_path / "codecs" / "image")
    save_audio_codec(AudioCodec(AUDIO_PRESETS["tiny"]), tmp_path / "codecs" / "audio")
    options = BakeOptions(degraded=1, image_shifts="centre", audio_shifts="centre")
    local = bake([root / "local"], tmp_path / "codecs", tmp_path / "tok-local", options)
    on_ray = bake([root / "local"], tmp_path / "codecs", tmp_path / "tok-ray", options, engine=RAY)
    assert (on_ray.shards, on_ray.baked_shards, on_ray.samples) == (local.shards, 3, local.samples)
    assert on_ray.image_encodes == local.image_encodes
    _same_output(tmp_path / "tok-local", tmp_path / "tok-ray")
    assert (tmp_path / "tok-local" / "bake.json").read_text() == (tmp_path / "tok-ray" / "bake.json").read_text()


def test_killed_worker_is_rerun_without_duplicates_into_a_url(ray_local, tmp_path) -> None:
    marker = tmp_path / "killed-once"
    local = build(FakeSource(n=6), tmp_path / "local")
    report = build(KillOnceSource(marker, n=6), f"file://{tmp_path / 'ray'}", engine=RAY)
    assert marker.exists(), "the worker was never killed"
    assert (report.pieces, report.built_now, report.rejected) == (6, 6, local.rejected)
    _same_output(tmp_path / "local", tmp_path / "ray")
    ids = [json.loads(line)["id"] for line in (tmp_path / "ray" / "manifest.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == report.samples
    _no_leftovers(tmp_path / "ray")


def _setup_marker(folder: str) -> Path:
    return Path(folder)


def _write_or_die(folder: Path, store, item: int) -> int:
    """An actor's job: publish one file; the first attempt at item 2 dies half-way."""
    with store.publish(f"out/{item}.txt") as tmp:
        tmp.write_text(f"item {item}\n")
        if item == 2:
            try:
                os.close(os.open(folder / "killed-once", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                os.kill(os.getpid(), signal.SIGKILL)
            except FileExistsError:
                pass
    return item


def test_killed_actor_is_restarted_and_its_job_rerun(ray_local, tmp_path) -> None:
    from scorebridge.engines.ray_engine import imap_actors

    store = open_storage(tmp_path)
    got = list(imap_actors(_setup_marker, (str(tmp_path),), _write_or_die, (store,), range(5), engine=RAY,
                           actors=2))
    assert sorted(got) == [0, 1, 2, 3, 4] and (tmp_path / "killed-once").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == \
        [f"{i}.txt" for i in range(5)]
    assert (tmp_path / "out" / "2.txt").read_text() == "item 2\n"
