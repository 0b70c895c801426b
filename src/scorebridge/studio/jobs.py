"""The studio's bounded job queue: work runs in worker processes (``workers``), never on a request thread.

At most ``max_queued`` jobs wait; one more is refused (``QueueFull``, HTTP 503) instead of piling up in memory,
and ``full()`` lets a request be refused before its body is read. Each job owns one folder under the queue's
root; a finished job and its folder are deleted ``keep_seconds`` after it ends (beyond ``max_kept`` the oldest
go first), a failed job's folder at once, and a cancelled job's as soon as its worker process is gone.
"""

from __future__ import annotations

import collections
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from scorebridge.studio.workers import JobFailed, WorkerLimits

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class QueueLimits:
    workers: int = 1  # worker processes, each with its own copy of the model
    max_queued: int = 8  # jobs waiting for a worker; one more gets 503
    keep_seconds: float = 3600.0  # a finished job's folder lives this long
    max_kept: int = 200  # finished jobs kept at most (oldest deleted first)
    job_seconds: float = 600.0  # wall clock per job; past it the job's process is killed
    job_memory_mb: int = 768  # resident memory one job may add to its worker (server + one worker < 1.5 GB)

    def __post_init__(self) -> None:
        if self.workers < 1 or self.max_queued < 1 or self.max_kept < 1:
            raise ValueError("workers, max_queued and max_kept must be at least 1")
        if self.keep_seconds <= 0:
            raise ValueError("keep_seconds must be positive")
        WorkerLimits(self.job_seconds, self.job_memory_mb)  # the same checks

    @property
    def worker_limits(self) -> WorkerLimits:
        return WorkerLimits(self.job_seconds, self.job_memory_mb)


class QueueFull(Exception):
    """The queue holds ``max_queued`` waiting jobs already."""


class Worker(Protocol):
    """What runs jobs (a ``ProcessWorker``): ``run`` in one queue thread, ``kill`` from any thread."""

    def start(self) -> None: ...
    def run(self, token: str, spec: Any, out: Path, progress: Callable[[int, int, str], None]) -> Any: ...
    def kill(self, token: str, reason: str) -> bool: ...
    def close(self) -> None: ...


@dataclass(eq=False)
class Job:
    """One upload and its work. Mutable state is changed under ``lock`` and read via ``view``."""

    id: str
    folder: Path
    spec: Any  # what the worker needs (a studio.work.JobSpec)
    state: str = QUEUED
    step: int = 0
    steps: int = 1
    message: str = "waiting for a worker"
    error: str | None = None
    result: Any = None  # the worker's return value once done
    started_at: float | None = None
    finished_at: float | None = None
    cancelled: bool = False
    worker: Any = None  # the worker running it
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress(self, step: int, steps: int, message: str) -> None:
        with self.lock:
            self.step, self.steps, self.message = step, steps, message

    def view(self) -> JobView:
        with self.lock:
            seconds = None
            if self.started_at is not None:
                seconds = (self.finished_at or time.monotonic()) - self.started_at
            return JobView(self.id, self.state, self.step, self.steps, self.message, self.error, self.result, seconds)


@dataclass(frozen=True)
class JobView:
    """A consistent snapshot of a job for the API."""

    id: str
    state: str
    step: int
    steps: int
    message: str
    error: str | None
    result: Any
    seconds: float | None = None  # running time so far, or in all once finished


class JobQueue:
    """``workers`` are started (and their models loaded) before the constructor returns."""

    def __init__(self, root: Path, workers: list[Worker], limits: QueueLimits = QueueLimits()):
        self.root, self.limits = Path(root), limits
        self.root.mkdir(parents=True, exist_ok=True)
        self._workers = workers
        self._waiting: collections.deque[Job] = collections.deque()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._stop = threading.Event()
        _start_all(workers)
        self._threads = [threading.Thread(target=self._work, args=(w,), name=f"studio-queue-{i}", daemon=True)
                         for i, w in enumerate(workers)]
        self._threads.append(threading.Thread(target=self._janitor, name="studio-janitor", daemon=True))
        for t in self._threads:
            t.start()

    def full(self) -> bool:
        with self._lock:
            return len(self._waiting) >= self.limits.max_queued

    def new_job(self, spec: Any = None) -> Job:
        """A job with a fresh folder (not yet queued: fill the folder, then ``submit``)."""
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        folder.mkdir()
        return Job(job_id, folder, spec)

    def submit(self, job: Job) -> None:
        """Queue ``job``; QueueFull (and its folder deleted) when ``max_queued`` jobs wait already."""
        self.sweep()
        with self._lock:
            if len(self._waiting) >= self.limits.max_queued:
                full = True
            else:
                full = False
                self._jobs[job.id] = job
                self._waiting.append(job)
                self._ready.notify()
        if full:
            shutil.rmtree(job.folder, ignore_errors=True)
            raise QueueFull(f"{self.limits.max_queued} jobs are waiting already; try again in a moment")

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def discard(self, job: Job) -> None:
        """Forget ``job`` and delete its folder; a queued one leaves the queue, a running one is killed first."""
        with self._lock:
            self._jobs.pop(job.id, None)
            if job in self._waiting:
                self._waiting.remove(job)
        with job.lock:
            job.cancelled = True
            worker = job.worker if job.state == RUNNING else None
        if worker is not None and worker.kill(job.id, "the job was cancelled"):
            return  # its queue thread deletes the folder once the process is gone
        shutil.rmtree(job.folder, ignore_errors=True)

    def stats(self) -> dict[str, int]:
        with self._lock:
            states = [j.state for j in self._jobs.values()]
            waiting = len(self._waiting)
        return {"waiting": waiting, "max_queued": self.limits.max_queued,
                "running": states.count(RUNNING), "kept": states.count(DONE) + states.count(FAILED),
                "workers": self.limits.workers}

    def sweep(self, now: float | None = None) -> int:
        """Delete finished jobs older than ``keep_seconds`` and the oldest beyond ``max_kept``; how many went."""
        now = time.monotonic() if now is None else now
        with self._lock:
            finished = sorted((j for j in self._jobs.values() if j.finished_at is not None),
                              key=lambda j: j.finished_at)
        excess = max(0, len(finished) - self.limits.max_kept)
        expired = [j for i, j in enumerate(finished) if i < excess or now - j.finished_at >= self.limits.keep_seconds]
        for job in expired:
            self.discard(job)
        return len(expired)

    def close(self) -> None:
        """Stop the workers (running jobs are killed) and delete every job folder."""
        self._stop.set()
        with self._lock:
            jobs = list(self._jobs.values())
            self._ready.notify_all()
        for job in jobs:
            self.discard(job)
        for worker in self._workers:
            worker.close()
        for t in self._threads:
            t.join(timeout=10)

    def _next(self) -> Job | None:
        with self._lock:
            while not self._waiting and not self._stop.is_set():
                self._ready.wait()
            if self._stop.is_set():
                return None
            job = self._waiting.popleft()
            with job.lock:
                job.state, job.message, job.started_at = RUNNING, "starting", time.monotonic()
            return job

    def _work(self, worker: Worker) -> None:
        while (job := self._next()) is not None:
            with job.lock:
                if job.cancelled:
                    continue
                job.worker = worker
            try:
                result = worker.run(job.id, job.spec, job.folder / "out", job.progress)
            except JobFailed as exc:
                self._finish(job, FAILED, error=str(exc))
            except Exception as exc:  # a bug on this side: the job fails, the queue lives on
                log.exception("studio job %s", job.id)
                self._finish(job, FAILED, error=f"internal error ({type(exc).__name__}); see the server log")
            else:
                self._finish(job, DONE, result=result)
            self._restart(worker)

    def _finish(self, job: Job, state: str, result: Any = None, error: str | None = None) -> None:
        with job.lock:
            job.worker = None
            job.state, job.result, job.error = state, result, error
            job.message = "done" if state == DONE else "failed"
            if state == DONE:
                job.step = job.steps
            job.finished_at = time.monotonic()
            cancelled = job.cancelled
        if cancelled or state == FAILED:  # nothing of a failed job is served
            shutil.rmtree(job.folder, ignore_errors=True)
        if state == FAILED and not cancelled:
            log.info("studio job %s failed: %s", job.id, error)

    def _restart(self, worker: Worker) -> None:
        """Have a worker whose process was stopped (killed, recycled) ready before the next job comes; a no-op
        for a live one."""
        if self._stop.is_set():
            return
        try:
            worker.start()
        except Exception as exc:  # the next job tries again and fails with the reason
            log.warning("studio worker did not restart: %s", exc)

    def _janitor(self) -> None:
        interval = min(60.0, self.limits.keep_seconds / 4)
        while not self._stop.wait(interval):
            try:
                self.sweep()
            except OSError as exc:  # a folder removed behind our back must not stop the janitor
                log.warning("studio janitor: %s", exc)


def _start_all(workers: list[Worker]) -> None:
    """Start every worker at once (each loads the model); the first failure is raised after all tried."""
    errors: list[BaseException] = []

    def start(worker: Worker) -> None:
        try:
            worker.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for worker in workers:
            worker.close()
        raise errors[0]
