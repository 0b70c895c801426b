"""The dataset build: every piece of a source through a process pool into per-piece WebDataset shards.

Layout of a dataset folder::

    config.json            source name + BuildConfig; a resumed build must use the same
    shards/<piece>.tar     one WebDataset shard per piece (written atomically)
    pieces/<piece>.json    the piece's outcome: ok (with its manifest rows) or rejected (with the reason)
    manifest.jsonl         one row per sample, assembled from pieces/ at the end
    rejected.jsonl         one row per rejected piece, with its reason

A piece is done exactly when its ``pieces/*.json`` exists; it is written after the shard, and both are
renamed into place, so a build killed at any moment resumes without duplicates or half-written shards.
Workers run ``Source.build_piece`` (pure) and write their own shard, so large arrays never cross processes.

The workers are a local process pool or Ray tasks (``engine``); the folder may be a URL (``engines.storage``:
``s3://``, ``gs://``), every file published whole. Ray reruns a piece whose worker died; the rerun writes the
same bytes under the same names, so nothing is duplicated.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec, Source
from scorebridge.data.schema import READABLE_SCHEMAS, SCHEMA_VERSION, Sample, to_record
from scorebridge.engines import Engine, Storage, open_storage
from scorebridge.errors import ScorebridgeError
from scorebridge.fileio import process_alive, sweep_stale_work_dirs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PieceOutcome:
    piece: str
    split: str
    status: str  # "ok" | "rejected"
    reason: str | None
    samples: int
    seconds: float


@dataclass(frozen=True)
class BuildReport:
    out: Path | str  # a path, or the URL the build was written to
    source: str
    pieces: int
    built_now: int
    resumed: int  # pieces already done by an earlier run
    rejected: int
    samples: int
    seconds: float


def piece_key(spec: PieceSpec) -> str:
    """File-name-safe, unique key of a piece within its source."""
    return spec.piece.replace("/", ".").replace(" ", "_")


def build(
    source: Source,
    out: str | os.PathLike[str],
    config: BuildConfig | None = None,
    workers: int = 1,
    limit: int | None = None,
    progress: bool = False,
    expected_modalities: Mapping[str, Sequence[str]] | None = None,
    engine: Engine | None = None,
) -> BuildReport:
    """Build (or resume building) the dataset of ``source`` in ``out`` (a folder or an fsspec URL).

    ``expected_modalities`` maps a sample kind to the modalities each sample of that kind must carry; a piece
    that yields a sample without them is rejected whole, so no sample is written with a modality missing.
    ``engine`` picks the workers: the local pool of ``workers`` processes (default) or Ray (``Engine("ray")``).
    """
    store = open_storage(out)
    engine = engine or Engine()
    config = config or BuildConfig()
    started = time.perf_counter()
    _check_or_write_config(store, source.name, config)
    specs = source.pieces()
    if limit is not None:
        specs = specs[:limit]
    keys = [piece_key(s) for s in specs]
    if len(set(keys)) != len(keys):
        raise ScorebridgeError(f"source {source.name} lists duplicate pieces")
    done = store.names("pieces")
    todo = [s for s in specs if f"{piece_key(s)}.json" not in done]
    resumed = len(specs) - len(todo)
    if resumed:
        log.info("resuming: %d of %d pieces already built", resumed, len(specs))
    store.makedirs("shards")
    store.makedirs("pieces")
    from tqdm import tqdm

    bar = tqdm(total=len(specs), initial=resumed, desc=f"build {source.name}", unit="piece", disable=not progress)
    with _build_lock(store), bar:
        built = _run_all(source, todo, config, store, workers, lambda o: bar.update(1), expected_modalities, engine)
    manifest, rejected = write_manifest(store, specs)
    return BuildReport(store.local_root or store.url, source.name, len(specs), built, resumed, len(rejected),
                       len(manifest), time.perf_counter() - started)


def _run_all(source: Source, todo: list[PieceSpec], config: BuildConfig, store: Storage, workers: int,
             progress: Callable[[PieceOutcome], None],
             expected_modalities: Mapping[str, Sequence[str]] | None, engine: Engine) -> int:
    expected = {k: tuple(v) for k, v in (expected_modalities or {}).items()}
    built = 0
    if engine.is_ray:
        from scorebridge.engines.ray_engine import imap_tasks, ray_session

        if store.local_root is not None:  # a Ray worker does not start in this process's working directory
            store = open_storage(store.local_root.absolute())
        with ray_session(engine):
            for outcome in imap_tasks(_piece_task, (source, config, store, expected), todo, engine=engine,
                                      describe=lambda s: f"piece {s.source}/{s.piece}"):
                built += 1
                progress(outcome)
        # a worker killed while writing left its temporary file; every task has finished, so none is in use
        swept = store.sweep_parts("shards") + store.sweep_parts("pieces")
        if swept:
            log.info("removed %d temporary files of killed workers (their pieces were rerun)", swept)
    elif workers <= 1:
        for spec in todo:
            outcome = run_piece(source, spec, config, store, expected)
            built += 1
            progress(outcome)
    else:
        # fork keeps start-up cheap (no re-import per worker); build_piece holds no global state.
        ctx = multiprocessing.get_context("fork")
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=die_with_parent,
                                    initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(run_piece, source, spec, config, store, expected) for spec in todo]
            for future in cf.as_completed(futures):
                outcome = future.result()
                built += 1
                progress(outcome)
    return built


@contextlib.contextmanager
def _build_lock(store: Storage) -> Iterator[None]:
    """One build per folder at a time; then sweep temporary files that a killed build left behind.

    A URL has no pid to check (the writers may be on other machines): there the user runs one build per URL."""
    out = store.local_root
    if out is None:
        log.warning("%s: no build lock on a URL; do not run two builds into it at once", store.url)
        store.sweep_parts("shards")
        store.sweep_parts("pieces")
        yield
        return
    lock = out / "build.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        pid = lock.read_text().strip() or "0"
        if pid.isdigit() and int(pid) > 0 and process_alive(int(pid)):
            raise ScorebridgeError(f"{out}: another build (pid {pid}) is running in this folder") from None
        lock.unlink(missing_ok=True)  # stale: its build was killed
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    try:
        for folder in (out / "shards", out / "pieces"):
            for stale in folder.glob(".*.part*"):
                stale.unlink()
        swept = sweep_stale_work_dirs()  # synthesis WAVs of killed builds (any folder's)
        if swept:
            log.info("removed %d work folders left by killed runs", swept)
        yield
    finally:
        lock.unlink(missing_ok=True)


def die_with_parent(parent: int) -> None:
    """Pool-worker initializer: the worker ends when the build that started it dies, however it dies (killing
    only the main process used to leave the workers building beside the rerun). Linux signals it at once
    (PR_SET_PDEATHSIG); elsewhere, and as a fallback, a thread checks the parent every second."""
    import ctypes
    import signal
    import threading

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _piece_task(source: Source, config: BuildConfig, store: Storage, expected: Mapping[str, tuple[str, ...]],
                spec: PieceSpec) -> PieceOutcome:
    """``run_piece`` with the per-piece argument last, as ``engines.ray_engine.imap_tasks`` calls it."""
    return run_piece(source, spec, config, store, expected)


def run_piece(source: Source, spec: PieceSpec, config: BuildConfig, out: str | os.PathLike[str] | Storage,
              expected: Mapping[str, tuple[str, ...]]) -> PieceOutcome:
    """Build one piece and write its shard and outcome; never raises for a bad piece."""
    started = time.perf_counter()
    store = out if isinstance(out, Storage) else open_storage(out)
    key = piece_key(spec)
    try:
        samples = source.build_piece(spec, config)
        if not samples:
            raise PieceRejected("no samples (nothing to align)")
        _check_samples(samples, spec, expected)
        rows = _write_shard(store, f"shards/{key}.tar", samples)
        status, reason = "ok", None
    except PieceRejected as exc:
        rows, status, reason = [], "rejected", str(exc)
    except ScorebridgeError as exc:  # InputError and friends: the piece's files are bad
        rows, status, reason = [], "rejected", str(exc)
    except Exception as exc:  # a bug on one piece must not stop the build: record it loudly
        log.exception("piece %s/%s failed", spec.source, spec.piece)
        rows, status, reason = [], "rejected", f"internal error: {type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    outcome = PieceOutcome(spec.piece, spec.split, status, reason, len(rows), round(seconds, 3))
    record = {**dataclasses.asdict(outcome), "source": spec.source, "shard": f"shards/{key}.tar" if rows else None,
              "rows": rows}
    store.write_text(f"pieces/{key}.json", json.dumps(record) + "\n")
    return outcome


def _check_samples(samples: list[Sample], spec: PieceSpec, expected: Mapping[str, tuple[str, ...]]) -> None:
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        raise PieceRejected("duplicate sample ids")
    for s in samples:
        if s.split != spec.split or s.source != spec.source:
            raise PieceRejected(f"sample {s.id} has split/source {s.split}/{s.source}, the piece {spec.split}")
        missing = [m for m in expected.get(s.kind, ()) if m not in s.modalities]
        if missing:
            raise PieceRejected(f"sample {s.id} lacks {', '.join(missing)}")


def _write_shard(store: Storage, rel: str, samples: list[Sample]) -> list[dict[str, Any]]:
    import webdataset as wds

    with store.publish(rel) as tmp:
        with wds.TarWriter(str(tmp)) as sink:
            for s in samples:
                sink.write(to_record(s))
    return [{**s.row(), "shard": rel} for s in samples]


def write_manifest(out: str | os.PathLike[str] | Storage, specs: Sequence[PieceSpec]) -> tuple[list[dict], list[dict]]:
    """Assemble manifest.jsonl and rejected.jsonl from the per-piece outcomes, in the source's piece order."""
    store = out if isinstance(out, Storage) else open_storage(out)
    manifest: list[dict] = []
    rejected: list[dict] = []
    done = store.names("pieces")
    for spec in specs:
        name = f"{piece_key(spec)}.json"
        if name not in done:
            continue
        record = json.loads(store.read_text(f"pieces/{name}"))
        if record["status"] == "ok":
            manifest.extend(record["rows"])
        else:
            rejected.append({k: record[k] for k in ("source", "piece", "split", "reason")})
    store.write_text("manifest.jsonl", "".join(json.dumps(r) + "\n" for r in manifest))
    store.write_text("rejected.jsonl", "".join(json.dumps(r) + "\n" for r in rejected))
    return manifest, rejected


def _check_or_write_config(store: Storage, source: str, config: BuildConfig) -> None:
    wanted = {"source": source, "schema": SCHEMA_VERSION, "config": _jsonable(dataclasses.asdict(config))}
    if store.exists("config.json"):
        have = json.loads(store.read_text("config.json"))
        if have.get("schema") in READABLE_SCHEMAS:  # each record names its own version: old and new pieces mix
            have["schema"] = SCHEMA_VERSION
        defaults = _jsonable(dataclasses.asdict(BuildConfig()))  # settings added later: a build made before has them
        have["config"] = {**{k: v for k, v in defaults.items() if k not in wanted["config"] or
                             wanted["config"][k] == v}, **have.get("config", {})}
        if have != wanted:
            raise ScorebridgeError(
                f"{store}: holds a build of {have.get('source')} with other settings; use a new --out folder "
                "(or the same settings to resume)"
            )
        return
    store.makedirs("")
    store.write_text("config.json", json.dumps(wanted, indent=1, sort_keys=True) + "\n")


def _jsonable(value: Any) -> Any:
    """Tuples become lists, as they do after a JSON round trip, so a stored config compares equal."""
    return json.loads(json.dumps(value))
