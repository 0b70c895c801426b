"""Ray as the data engine: pure per-item functions as Ray tasks, or on actors that keep a loaded state.

The callers' functions are the ones the local pool runs; each publishes its own outputs (see ``storage``), so a
task that Ray reruns after its worker died rewrites the same files with the same bytes, and the driver counts
each item once (one result per submitted item). Results come back as they finish; the callers' manifests are
assembled in their own fixed order, so the outputs do not depend on the order of completion.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from scorebridge.engines import Engine
from scorebridge.errors import ScorebridgeError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "pip install 'scorebridge[cluster]'"


def require_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ScorebridgeError(f"--runner ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


@contextlib.contextmanager
def ray_session(engine: Engine) -> Iterator[Any]:
    """Join ``engine.address`` or start a local instance (this machine's CPUs unless ``num_cpus``); shut down
    what this call started. A session already open in this process (tests, notebooks) is used as it is."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "configure_logging": False}
    if engine.address:
        kwargs["address"] = engine.address
    else:
        kwargs["num_cpus"] = engine.num_cpus or os.cpu_count() or 1
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = engine.address or "a local instance"
        raise ScorebridgeError(f"cannot start Ray ({where}): {str(exc).splitlines()[0]}") from None
    try:
        log.info("Ray resources: %s", ray.cluster_resources())
        yield ray
    finally:
        ray.shutdown()


def cluster_count(resource: str) -> int:
    """Whole units of ``resource`` ("CPU", "GPU") in the joined cluster."""
    ray = require_ray()
    return int(ray.cluster_resources().get(resource, 0))


def imap_tasks(fn: Callable[..., R], shared: Sequence[Any], items: Iterable[T], *, engine: Engine,
               describe: Callable[[T], str] = str, num_cpus: float = 1, num_gpus: float = 0) -> Iterator[R]:
    """``fn(*shared, item)`` for every item as a Ray task; results as they finish. ``shared`` is stored in the
    object store once (a source with its piece list is not re-sent per task)."""
    ray = require_ray()
    remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=engine.max_retries,
                        retry_exceptions=False)(fn)
    refs = [ray.put(value) for value in shared]
    width = 2 * max(1, cluster_count("GPU" if num_gpus else "CPU"))
    yield from _drain(ray, lambda item: remote.remote(*refs, item), items, width, describe, engine)


class _StatefulWorker:
    """A Ray actor body: ``setup(*args)`` once (codecs loaded once per worker), then ``fn(state, *shared, item)``
    per call. Plain class: ``imap_actors`` wraps it with ``ray.remote`` so importing this module needs no Ray."""

    def __init__(self, setup: Callable[..., Any], setup_args: tuple[Any, ...]):
        self.state = setup(*setup_args)

    def run(self, fn: Callable[..., Any], shared: tuple[Any, ...], item: Any) -> Any:
        return fn(self.state, *shared, item)


def imap_actors(setup: Callable[..., Any], setup_args: tuple[Any, ...], fn: Callable[..., R],
                shared: Sequence[Any], items: Iterable[T], *, engine: Engine, actors: int,
                describe: Callable[[T], str] = str, num_cpus: float = 1, num_gpus: float = 0) -> Iterator[R]:
    """``fn(state, *shared, item)`` on ``actors`` Ray actors, each holding ``state = setup(*setup_args)``.
    An actor whose process dies is restarted (setup runs again) and its task rerun, ``engine.max_retries`` times."""
    ray = require_ray()
    if actors < 1:
        raise ScorebridgeError("the Ray cluster offers no worker for this job (no CPU, or no GPU for --device cuda)")
    cls = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=engine.max_retries,
                     max_task_retries=engine.max_retries)(_StatefulWorker)
    pool = [cls.remote(setup, setup_args) for _ in range(actors)]
    shared_ref = ray.put(tuple(shared))
    idle = list(pool)
    busy: dict[Any, Any] = {}  # result ref -> its actor

    def submit(item: T) -> Any:
        actor = idle.pop()
        ref = actor.run.remote(fn, shared_ref, item)
        busy[ref] = actor
        return ref

    def release(ref: Any) -> None:
        idle.append(busy.pop(ref))

    try:
        yield from _drain(ray, submit, items, actors, describe, engine, release)
    finally:
        for actor in pool:
            ray.kill(actor)


def _drain(ray: Any, submit: Callable[[T], Any], items: Iterable[T], width: int, describe: Callable[[T], str],
           engine: Engine, release: Callable[[Any], None] | None = None) -> Iterator[Any]:
    """Keep at most ``width`` items in flight (a 12,000-piece build does not queue 12,000 tasks at once)."""
    pending: dict[Any, T] = {}
    source = iter(items)
    try:
        for item in source:
            pending[submit(item)] = item
            if len(pending) >= width:
                break
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            ref = ready[0]
            item = pending.pop(ref)
            if release is not None:
                release(ref)
            yield _result(ray, ref, item, describe, engine)
            nxt = next(source, None)
            if nxt is not None:
                pending[submit(nxt)] = nxt
    finally:
        for ref in pending:  # an error or a closed generator: stop what is still queued
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)


def _result(ray: Any, ref: Any, item: Any, describe: Callable[[Any], str], engine: Engine) -> Any:
    from ray import exceptions as rx

    try:
        return ray.get(ref)
    except rx.RayTaskError as exc:  # the function raised: re-raise what it raised (one line for bad input)
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise
    except (rx.WorkerCrashedError, rx.ActorDiedError, rx.NodeDiedError, rx.OutOfMemoryError) as exc:
        raise ScorebridgeError(
            f"{describe(item)}: its Ray worker died {engine.max_retries + 1} times "
            f"({type(exc).__name__}); what finished is kept: rerun the same command to resume") from None
