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

from scorebridge.data.schema import SCHEMA_VERSION, Sample, to_record
from scorebridge.data.sources.base import BuildConfig, PieceRejected, PieceSpec, Source
from scorebridge.errors import ScorebridgeError
from scorebridge.fileio import atomic_path, process_alive, sweep_stale_work_dirs, write_text

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
    out: Path
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
) -> BuildReport:
    """Build (or resume building) the dataset of ``source`` in ``out``.

    ``expected_modalities`` maps a sample kind to the modalities each sample of that kind must carry; a piece
    that yields a sample without them is rejected whole, so no sample is written with a modality missing.
    """
    out = Path(out)
    config = config or BuildConfig()
    started = time.perf_counter()
    _check_or_write_config(out, source.name, config)
    specs = source.pieces()
    if limit is not None:
        specs = specs[:limit]
    keys = [piece_key(s) for s in specs]
    if len(set(keys)) != len(keys):
        raise ScorebridgeError(f"source {source.name} lists duplicate pieces")
    todo = [s for s in specs if not (out / "pieces" / f"{piece_key(s)}.json").exists()]
    resumed = len(specs) - len(todo)
    if resumed:
        log.info("resuming: %d of %d pieces already built", resumed, len(specs))
    (out / "shards").mkdir(parents=True, exist_ok=True)
    (out / "pieces").mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm

    bar = tqdm(total=len(specs), initial=resumed, desc=f"build {source.name}", unit="piece", disable=not progress)
    with _build_lock(out), bar:
        built = _run_all(source, todo, config, out, workers, lambda o: bar.update(1), expected_modalities)
    manifest, rejected = write_manifest(out, specs)
    return BuildReport(out, source.name, len(specs), built, resumed, len(rejected), len(manifest),
                       time.perf_counter() - started)


def _run_all(source: Source, todo: list[PieceSpec], config: BuildConfig, out: Path, workers: int,
             progress: Callable[[PieceOutcome], None],
             expected_modalities: Mapping[str, Sequence[str]] | None) -> int:
    expected = {k: tuple(v) for k, v in (expected_modalities or {}).items()}
    built = 0
    if workers <= 1:
        for spec in todo:
            outcome = run_piece(source, spec, config, str(out), expected)
            built += 1
            progress(outcome)
    else:
        # fork keeps start-up cheap (no re-import per worker); build_piece holds no global state.
        ctx = multiprocessing.get_context("fork")
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=die_with_parent,
                                    initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(run_piece, source, spec, config, str(out), expected) for spec in todo]
            for future in cf.as_completed(futures):
                outcome = future.result()
                built += 1
                progress(outcome)
    return built


@contextlib.contextmanager
def _build_lock(out: Path) -> Iterator[None]:
    """One build per folder at a time; then sweep temporary files that a killed build left behind."""
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


def run_piece(source: Source, spec: PieceSpec, config: BuildConfig, out: str,
              expected: Mapping[str, tuple[str, ...]]) -> PieceOutcome:
    """Build one piece and write its shard and outcome; never raises for a bad piece."""
    started = time.perf_counter()
    key = piece_key(spec)
    try:
        samples = source.build_piece(spec, config)
        if not samples:
            raise PieceRejected("no samples (nothing to align)")
        _check_samples(samples, spec, expected)
        rows = _write_shard(Path(out) / "shards" / f"{key}.tar", samples)
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
    write_text(Path(out) / "pieces" / f"{key}.json", json.dumps(record) + "\n")
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


def _write_shard(path: Path, samples: list[Sample]) -> list[dict[str, Any]]:
    import webdataset as wds

    with atomic_path(path) as tmp:
        with wds.TarWriter(str(tmp)) as sink:
            for s in samples:
                sink.write(to_record(s))
    return [{**s.row(), "shard": f"shards/{path.name}"} for s in samples]


def write_manifest(out: Path, specs: Sequence[PieceSpec]) -> tuple[list[dict], list[dict]]:
    """Assemble manifest.jsonl and rejected.jsonl from the per-piece outcomes, in the source's piece order."""
    manifest: list[dict] = []
    rejected: list[dict] = []
    for spec in specs:
        path = out / "pieces" / f"{piece_key(spec)}.json"
        if not path.exists():
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["status"] == "ok":
            manifest.extend(record["rows"])
        else:
            rejected.append({k: record[k] for k in ("source", "piece", "split", "reason")})
    write_text(out / "manifest.jsonl", "".join(json.dumps(r) + "\n" for r in manifest))
    write_text(out / "rejected.jsonl", "".join(json.dumps(r) + "\n" for r in rejected))
    return manifest, rejected


def _check_or_write_config(out: Path, source: str, config: BuildConfig) -> None:
    wanted = {"source": source, "schema": SCHEMA_VERSION, "config": _jsonable(dataclasses.asdict(config))}
    path = out / "config.json"
    if path.exists():
        have = json.loads(path.read_text(encoding="utf-8"))
        defaults = _jsonable(dataclasses.asdict(BuildConfig()))  # settings added later: a build made before has them
        have["config"] = {**{k: v for k, v in defaults.items() if k not in wanted["config"] or
                             wanted["config"][k] == v}, **have.get("config", {})}
        if have != wanted:
            raise ScorebridgeError(
                f"{out}: holds a build of {have.get('source')} with other settings; use a new --out folder "
                "(or the same settings to resume)"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(wanted, indent=1, sort_keys=True) + "\n")


def _jsonable(value: Any) -> Any:
    """Tuples become lists, as they do after a JSON round trip, so a stored config compares equal."""
    return json.loads(json.dumps(value))
