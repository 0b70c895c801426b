"""The studio's bounded job queue: work runs on a few worker threads, never on a request thread.

At most ``max_queued`` jobs wait; one more is refused (``QueueFull``, HTTP 503) instead of piling up in memory.
Each job owns one folder under the queue's root; a finished job and its folder are deleted ``keep_seconds``
after it ends, and beyond ``max_kept`` finished jobs the oldest go first, so disk and memory stay bounded.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class QueueLimits:
    workers: int = 1
    max_queued: int = 8  # jobs waiting for a worker; one more gets 503
    keep_seconds: float = 3600.0  # a finished job's folder lives this long
    max_kept: int = 200  # finished jobs kept at most (oldest deleted first)

    def __post_init__(self) -> None:
        if self.workers < 1 or self.max_queued < 1 or self.max_kept < 1:
            raise ValueError("workers, max_queued and max_kept must be at least 1")
        if self.keep_seconds <= 0:
            raise ValueError("keep_seconds must be positive")


class QueueFull(Exception):
    """The queue holds ``max_queued`` waiting jobs already."""


@dataclass(eq=False)
class Job:
    """One upload and its work. Mutable state is changed by its worker under ``lock`` and read via ``view``."""

    id: str
    folder: Path
    spec: Any  # what the runner needs (a studio.work.JobSpec)
    state: str = QUEUED
    step: int = 0
    steps: int = 1
    message: str = "waiting for a worker"
    error: str | None = None
    result: Any = None  # the runner's return value once done
    finished_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress(self, step: int, steps: int, message: str) -> None:
        with self.lock:
            self.step, self.steps, self.message = step, steps, message

    def view(self) -> JobView:
        with self.lock:
            return JobView(self.id, self.state, self.step, self.steps, self.message, self.error, self.result)


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


Runner = Callable[[Job], Any]  # does the work, reports with job.progress, returns the result; raises on failure


class JobQueue:
    def __init__(self, root: Path, runner: Runner, limits: QueueLimits = QueueLimits()):
        self.root, self.runner, self.limits = Path(root), runner, limits
        self.root.mkdir(parents=True, exist_ok=True)
        self._waiting: queue.Queue[Job | None] = queue.Queue(maxsize=limits.max_queued)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, name=f"studio-worker-{i}", daemon=True)
                         for i in range(limits.workers)]
        self._threads.append(threading.Thread(target=self._janitor, name="studio-janitor", daemon=True))
        for t in self._threads:
            t.start()

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
            self._jobs[job.id] = job
        try:
            self._waiting.put_nowait(job)
        except queue.Full:
            self.discard(job)
            raise QueueFull(f"{self.limits.max_queued} jobs are waiting already; try again in a moment") from None

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def discard(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def stats(self) -> dict[str, int]:
        with self._lock:
            states = [j.state for j in self._jobs.values()]
        return {"waiting": self._waiting.qsize(), "max_queued": self.limits.max_queued,
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
        """Stop the workers (a running job finishes first) and delete every job folder."""
        self._stop.set()
        for _ in range(self.limits.workers):
            try:
                self._waiting.put_nowait(None)
            except queue.Full:
                break
        for t in self._threads:
            t.join(timeout=5)
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            self.discard(job)

    def _work(self) -> None:
        while not self._stop.is_set():
            job = self._waiting.get()
            if job is None or self._stop.is_set():
                return
            with job.lock:
                job.state, job.message = RUNNING, "starting"
            try:
                result = self.runner(job)
            except Exception as exc:  # a job's failure is its own; the worker lives on
                log.info("job %s failed: %s", job.id, exc, exc_info=not _expected(exc))
                with job.lock:
                    job.state, job.error = FAILED, _message(exc)
                    job.finished_at = time.monotonic()
                continue
            with job.lock:
                job.state, job.result, job.message = DONE, result, "done"
                job.step = job.steps
                job.finished_at = time.monotonic()

    def _janitor(self) -> None:
        interval = min(60.0, self.limits.keep_seconds / 4)
        while not self._stop.wait(interval):
            try:
                self.sweep()
            except OSError as exc:  # a folder removed behind our back must not stop the janitor
                log.warning("studio janitor: %s", exc)


def _expected(exc: Exception) -> bool:
    from scorebridge.errors import ScorebridgeError

    return isinstance(exc, ScorebridgeError | ValueError)


def _message(exc: Exception) -> str:
    from scorebridge.errors import InputError

    if isinstance(exc, InputError):
        return exc.problem  # the server's file path means nothing to the user
    if _expected(exc):
        return str(exc)
    return f"internal error ({type(exc).__name__}); see the server log"
