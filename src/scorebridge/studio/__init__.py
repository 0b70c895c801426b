"""The local web studio (`scorebridge serve`): a FastAPI app with one static page over a bounded job queue.

``create_app(StudioConfig(), ModelSource(weights))`` builds the app; ``guard`` checks Host, origin and body size
before any route, ``uploads`` checks files by content, ``jobs`` queues work for ``workers`` (processes with a time
limit and a memory cap), ``work`` turns one upload into every chosen target plus the page's views. Names are loaded
lazily so that importing the package costs no FastAPI import. The `serve` command itself is `scorebridge.cli.serve`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ModelSource", "QueueLimits", "StudioConfig", "UploadLimits", "create_app"]
_HOMES = {"StudioConfig": "app", "create_app": "app", "QueueLimits": "jobs", "UploadLimits": "uploads",
          "ModelSource": "workers"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'scorebridge.studio' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"scorebridge.studio.{_HOMES[name]}"), name)
