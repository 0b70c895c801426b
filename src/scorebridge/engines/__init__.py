"""Where the data engine runs and where it writes: the local process pool or a Ray cluster, and one storage layer.

``Engine`` names the engine of a run (``data build``, ``codec bake``, ``video build``). The local pool lives
beside each command, as it always did; ``engines.ray_engine`` runs the same pure per-piece / per-shard functions
as Ray tasks (or, for baking, on Ray actors that load the codecs once). Ray is an optional extra (``[cluster]``).
The command line's ``--runner``/``--address`` live in ``cli/common.py``; ``engines.storage`` writes to a folder or an
fsspec URL. Import the names below from ``scorebridge.engines``; the Ray module only where Ray is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass

from scorebridge.engines.storage import FsspecStorage, LocalStorage, Storage, is_url, open_storage

ENGINE_NAMES = ("local", "ray")

__all__ = ["ENGINE_NAMES", "Engine", "FsspecStorage", "LocalStorage", "Storage", "is_url", "open_storage"]


@dataclass(frozen=True)
class Engine:
    """``name``: "local" (a process pool on this machine) or "ray". ``address``: a Ray cluster to join
    ("auto", "HOST:6379", "ray://HOST:10001"); None starts a local Ray instance with ``num_cpus`` CPUs (default:
    this machine's). ``max_retries``: how often Ray reruns a task whose worker died."""

    name: str = "local"
    address: str | None = None
    num_cpus: int | None = None
    max_retries: int = 3

    def __post_init__(self) -> None:
        if self.name not in ENGINE_NAMES:
            raise ValueError(f"engine must be one of {', '.join(ENGINE_NAMES)}, not {self.name!r}")
        if self.name == "local" and self.address is not None:
            raise ValueError("--address joins a Ray cluster: use it with --runner ray")
        if self.num_cpus is not None and self.num_cpus < 1:
            raise ValueError(f"num_cpus must be >= 1, not {self.num_cpus}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, not {self.max_retries}")

    @property
    def is_ray(self) -> bool:
        return self.name == "ray"
