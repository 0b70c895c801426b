"""Studio jobs run in worker processes: one model load per process, a memory cap and a time limit per job.

A ``ProcessWorker`` owns one child interpreter (``python -m scorebridge.studio.workers``) in its own session,
so that one signal to its process group also reaches the helpers it starts (FluidSynth). The child loads the
model once (``ModelSource``) and the libraries every route uses, caps its address space (``RLIMIT_AS``: the
loaded size plus the job budget plus slack) and the size of any file it writes, then runs one job at a time,
with its temporary files in a folder of the job root. The parent thread that drives it watches the clock and
the resident memory of the child and its helpers; past either limit, or on ``kill`` (a cancelled job), the
whole group is killed, its temporary files deleted, and the job fails with a one-line reason; a fresh child
takes the next job. The child leaves by itself when the server dies. Messages leaving it carry no server paths.
"""
from __future__ import annotations

import errno
import importlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, is_dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from scorebridge.errors import ScorebridgeError

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
JobFunction = Callable[[Any, Path, Any, Any, Progress], Any]  # (spec, out, model, options, progress) -> result
POLL_SECONDS = 0.1
AS_SLACK = 512 * 1024 * 1024  # address space for thread stacks and malloc arenas, which cost little memory
MiB = 1024 * 1024
MAX_FILE_BYTES = 2 * 1024 * MiB  # any one file a job writes (RLIMIT_FSIZE): a 4 bpm score's WAV cannot fill the disk


@dataclass(frozen=True)
class ModelSource:
    """Where each worker loads the model from: ``weights`` a model folder, None the shipped weights."""

    weights: str | None = None
    device: str = "cpu"
    codecs: str | None = None


@dataclass(frozen=True)
class WorkerLimits:
    job_seconds: float = 600.0  # wall clock per job
    job_memory_mb: int = 768  # resident memory a job may add to a loaded worker (helpers it starts included)
    start_seconds: float = 300.0  # starting a worker and loading its model

    def __post_init__(self) -> None:
        if self.job_seconds <= 0 or self.start_seconds <= 0:
            raise ValueError("the job time limit (--job-seconds) must be positive")
        if self.job_memory_mb < 16:
            raise ValueError("the job memory limit (--job-memory-mb) must be at least 16 MB")


class JobFailed(Exception):
    """A job that did not finish; the message is for the user (one line, no server paths)."""


class WorkerStartError(ScorebridgeError):
    """A worker process could not start (its model did not load)."""


class ProcessWorker:
    """One worker process, driven by one thread of the job queue (``run`` is not reentrant; ``kill`` is
    safe from any thread)."""

    def __init__(self, function: JobFunction, model: ModelSource | None = None, options: Any = None,
                 limits: WorkerLimits = WorkerLimits(), name: str = "studio-worker", tmp: Path | None = None,
                 warm: tuple[str, ...] = ()):
        """``tmp``: the child's TMPDIR (its helpers' temporary files), emptied whenever the child is stopped;
        ``warm``: modules the child imports before it is ready, so that neither a job's time nor its memory
        budget pays for them."""
        self.function, self.model, self.options, self.limits, self.name = function, model, options, limits, name
        self.tmp, self.warm = tmp, warm
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Any = None
        self._baseline_kib = 0
        self._token: str | None = None
        self._killed: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the child and wait until its model is loaded; WorkerStartError when it cannot."""
        if self._process is not None and self._process.poll() is None:
            return
        # the child imports this very scorebridge, whatever the server's sys.path was made of
        package_root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        if self.tmp is not None:
            self.tmp.mkdir(parents=True, exist_ok=True)
            env["TMPDIR"] = str(self.tmp)
        ours, theirs = socket.socketpair()
        # a fresh interpreter (not multiprocessing's spawn, which re-imports the caller's main script), in its
        # own session so that one signal to its group also reaches the helpers it starts
        process = subprocess.Popen([sys.executable, "-m", "scorebridge.studio.workers", str(theirs.fileno())],
                                   pass_fds=(theirs.fileno(),), start_new_session=True, stdin=subprocess.DEVNULL,
                                   env=env)
        theirs.close()
        parent = Connection(ours.detach())
        with self._lock:
            self._process, self._conn = process, parent
        try:
            parent.send(list(sys.path))
            parent.send((self.function, self.model, self.options, self.limits.job_memory_mb, self.warm))
            if not parent.poll(self.limits.start_seconds):
                raise WorkerStartError(f"the studio worker did not start within {self.limits.start_seconds:.0f} s")
            message = parent.recv()
        except (EOFError, OSError):
            message = ("failed", f"the studio worker stopped while starting (exit code {process.poll()})")
        except WorkerStartError:
            self._stop("start timed out")
            raise
        if message[0] != "ready":
            self._stop("start failed")
            raise WorkerStartError(message[1])
        self._baseline_kib = message[2]
        log.info("%s ready (pid %d, %d MiB resident)", self.name, process.pid, self._baseline_kib // 1024)

    def close(self) -> None:
        """Ask an idle child to leave, kill a busy or stuck one."""
        with self._lock:
            conn, process, busy = self._conn, self._process, self._token is not None
        if process is None:
            return
        if not busy:
            try:
                conn.send(None)
                process.wait(2)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
        self._stop("closing")

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # -- one job ------------------------------------------------------------------------------------------
    def run(self, token: str, spec: Any, out: Path, progress: Progress) -> Any:
        """Run one job in the child; its result, or JobFailed with a reason for the user."""
        try:
            self.start()
        except WorkerStartError as exc:
            raise JobFailed(str(exc)) from None
        with self._lock:
            self._token, self._killed = token, None
        try:
            return self._drive(spec, out, progress)
        finally:
            with self._lock:
                self._token = None

    def kill(self, token: str, reason: str) -> bool:
        """Kill the job ``token`` if it is the one running (a cancelled job); False when it is not."""
        with self._lock:  # held while killing: the next job must not be the one that dies
            if self._token != token:
                return False
            self._killed = reason
            if self._process is not None:
                _kill(self._process)
        return True

    def _drive(self, spec: Any, out: Path, progress: Progress) -> Any:
        limits, conn, process = self.limits, self._conn, self._process
        cap_kib = self._baseline_kib + limits.job_memory_mb * 1024
        try:
            conn.send((spec, out))
        except (OSError, ValueError):
            self._stop("send failed")
            raise JobFailed("the worker process was not available; try again") from None
        deadline = time.monotonic() + limits.job_seconds
        peak = 0
        while True:
            if self._killed is None:
                used = tree_rss_kib(process.pid)
                peak = max(peak, used)
                if time.monotonic() >= deadline:
                    self._fail_with(f"the job ran past its time limit ({limits.job_seconds:.0f} s) and was stopped")
                elif used > cap_kib:
                    self._fail_with(f"the job needed more than its memory limit ({limits.job_memory_mb} MB) "
                                    f"and was stopped")
                    log.info("%s: job at %d MiB resident, limit %d MiB", self.name, used // 1024, cap_kib // 1024)
            try:
                if not conn.poll(POLL_SECONDS):
                    continue
                message = conn.recv()
            except (EOFError, OSError):
                reason = self._killed or self._death_reason(process)
                self._stop("job ended")
                raise JobFailed(reason) from None
            kind = message[0]
            if kind == "progress":
                progress(*message[1:])
                continue
            log.debug("%s: job %s, peak %d MiB resident", self.name, kind, peak // 1024)
            grown = tree_rss_kib(process.pid) - self._baseline_kib
            if (kind == "error" and message[2]) or grown > limits.job_memory_mb * 1024 // 2:
                # out of memory, or grown with what jobs left behind (caches, fragmentation): a fresh child, so
                # that the next job gets its whole budget
                self._stop(f"recycled after {grown // 1024} MiB of growth")
            if kind == "done":
                return message[1]
            if message[3]:
                log.info("%s: job failed:\n%s", self.name, message[3])
            raise JobFailed(message[1])

    def _fail_with(self, reason: str) -> None:
        with self._lock:
            self._killed = reason
        self._kill_group()

    def _death_reason(self, process: Any) -> str:
        try:
            code = process.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0 and -code in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT):
            return (f"the worker process was stopped by signal {-code} (the job probably needed more than its "
                    f"memory limit of {self.limits.job_memory_mb} MB)")
        return f"the worker process stopped unexpectedly (exit code {code})"

    def _kill_group(self) -> None:
        process = self._process
        if process is not None:
            _kill(process)

    def _stop(self, why: str) -> None:
        with self._lock:
            process, conn = self._process, self._conn
            self._process = self._conn = None
        if process is None:
            return
        log.debug("%s: stopping pid %s (%s)", self.name, process.pid, why)
        _kill(process)  # the group too: helpers may outlive the child
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            log.warning("%s: pid %s did not stop", self.name, process.pid)
        if conn is not None:
            conn.close()
        if self.tmp is not None:  # what a killed job's helpers left (a half-written synthesis WAV)
            shutil.rmtree(self.tmp, ignore_errors=True)


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the child leads its own group
    except (ProcessLookupError, PermissionError):
        if process.poll() is None:
            process.kill()


# -- memory measurement (Linux /proc; elsewhere 0: only RLIMIT_AS bounds a job) ----------------------------
def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                kids += [int(k) for k in f.read().split()]
    except (OSError, ValueError):
        pass
    return kids


def tree_rss_kib(pid: int) -> int:
    """Resident KiB of ``pid`` and its descendants."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += rss_kib(p)
        todo += _children(p)
    return total


# -- the child ------------------------------------------------------------------------------------------------
def _child_main(fd: int) -> None:
    conn = Connection(fd)
    sys.path[:] = conn.recv()  # the server's, so that its job function unpickles here
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle; it closes the workers
    try:
        function, model, options, memory_mb, warm = conn.recv()
        for module in warm:
            importlib.import_module(module)
        loaded = None
        if model is not None:
            from scorebridge.translate import load_translation_model

            loaded = load_translation_model(model.weights, model.device, model.codecs)
    except Exception as exc:
        why = str(exc) if isinstance(exc, ScorebridgeError) else f"{type(exc).__name__}: {exc}"
        conn.send(("failed", f"the studio worker did not start: {' '.join(why.split())}"))  # for the operator
        return
    _cap_address_space(memory_mb * MiB)
    conn.send(("ready", os.getpid(), rss_kib(os.getpid())))

    def progress(step: int, steps: int, message: str) -> None:
        conn.send(("progress", step, steps, message))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        spec, out = task
        try:
            result = function(spec, out, loaded, options, progress)
        except MemoryError:
            conn.send(("error", f"the job needed more than its memory limit ({memory_mb} MB)", True, ""))
            return
        except Exception as exc:
            expected = isinstance(exc, ScorebridgeError | ValueError)
            conn.send(("error", user_message(exc, Path(out).parent), False,
                       "" if expected else traceback.format_exc()))
            continue
        conn.send(("done", scrub_result(result, Path(out).parent)))


def _cap_address_space(budget: int) -> None:
    try:
        import resource

        size = _vm_size()
        if size:
            limit = size + budget + AS_SLACK
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    except (ImportError, ValueError, OSError) as exc:  # not Linux, or a lower hard limit already
        log.warning("studio worker: no address-space cap (%s)", exc)


def _vm_size() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _die_with_parent() -> None:
    """Leave when the server is gone, even killed by SIGKILL (it can no longer kill this group)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


# -- messages for the user --------------------------------------------------------------------------------
_ABS_PATH = re.compile(r"(?<![\w.:/])(?:/[^\s'\"/:,;()<>]+)+/?")
_WIN_PATH = re.compile(r"\b[A-Za-z]:\\(?:[^\s'\"\\:,;()<>]+\\)*[^\s'\"\\:,;()<>]*")


def scrub(text: str, folder: Path | None = None) -> str:
    """``text`` without server paths: the job folder's files by their own names, any other absolute path by
    its last component; one line."""
    if folder is not None:
        text = text.replace(f"{folder}/", "").replace(str(folder), "the job folder")
    text = _ABS_PATH.sub(lambda m: Path(m.group(0)).name or "/", text)
    text = _WIN_PATH.sub(lambda m: re.split(r"[\\]", m.group(0).rstrip("\\"))[-1], text)
    return " ".join(text.split())


def user_message(exc: BaseException, folder: Path | None = None) -> str:
    """One line for the user about ``exc``; the server's paths and internals stay in its log."""
    from scorebridge.errors import InputError

    if isinstance(exc, InputError):
        text = exc.problem
    elif isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        text = f"the job wrote a file larger than {MAX_FILE_BYTES // MiB} MB"
    elif isinstance(exc, ScorebridgeError | ValueError):
        text = str(exc)
    else:
        text = f"internal error ({type(exc).__name__}); see the server log"
    return scrub(text, folder)[:500] or type(exc).__name__


def scrub_result(result: Any, folder: Path) -> Any:
    """A job result whose ``problems`` (and ``warnings``) carry no server paths."""
    if is_dataclass(result) and not isinstance(result, type):
        texts = {k: tuple(scrub(p, folder) for p in getattr(result, k)) for k in ("problems", "warnings")
                 if hasattr(result, k)}
        return replace(result, **texts) if texts else result
    return result


if __name__ == "__main__":
    from scorebridge.studio.workers import _child_main as main  # the importable copy, not this __main__ one

    main(int(sys.argv[1]))
