"""Where the model runs: the device (``auto`` = CUDA when there is one, else the CPU) and torch's thread count,
both set here and nowhere else. torch is imported only when a model is about to run, so that score routes and
``--help`` stay fast."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MAX_DEFAULT_THREADS = 4  # past ~4 threads the small translator's matrices gain little per added core


def physical_cores() -> int:
    """Cores this process may use, counting hyper-threads of one core once (Linux topology; else logical)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
    siblings = set()
    for cpu in cpus:
        path = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            siblings.add(path.read_text().strip())
        except OSError:
            siblings.add(str(cpu))
    return max(1, len(siblings))


def default_threads(workers: int = 1) -> int:
    """One thread per physical core, less one core left for everything else (a busy core stalls every
    thread of a torch operation: on the busy 2-core VM a page's OMR took 1,097 s with 2 threads against 209 s
    with 1, docs/cli.md), at most ``MAX_DEFAULT_THREADS``, shared among ``workers`` processes; at least 1."""
    cores = physical_cores()
    usable = cores - 1 if cores > 1 else 1
    return max(1, min(MAX_DEFAULT_THREADS, usable) // max(1, workers))


def threads_for_workers(threads: int | None, workers: int = 1) -> int:
    """``threads`` per process (``None``: ``default_threads(workers)``), exported as ``OMP_NUM_THREADS`` so that
    worker processes started from here (the studio's) use it too; returns the number."""
    n = default_threads(workers) if threads is None else threads
    if n < 1:
        raise ValueError(f"threads must be at least 1, not {n}")
    os.environ["OMP_NUM_THREADS"] = str(n)
    return n


def set_threads(threads: int | None, workers: int = 1) -> int:
    """Set torch's intra-op threads in this process (and its workers', ``threads_for_workers``); returns them."""
    n = threads_for_workers(threads, workers)
    import torch

    torch.set_num_threads(n)
    log.info("torch uses %d thread(s)", n)
    return n


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; any other name as given."""
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
