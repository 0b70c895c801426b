"""The local web studio (`scorebridge serve`): a FastAPI app with one static page over a bounded job queue.

``create_app(StudioConfig(), model)`` builds the app; ``uploads`` checks files by content, ``jobs`` runs work off
the request threads, ``work`` turns one upload into every chosen target plus the page's views. Names are loaded
lazily so that `scorebridge.studio.cli` (imported by the CLI parser) costs no FastAPI import.
"""

from __future__ import annotations

from typing import Any

__all__ = ["QueueLimits", "StudioConfig", "UploadLimits", "create_app"]
_HOMES = {"StudioConfig": "app", "create_app": "app", "QueueLimits": "jobs", "UploadLimits": "uploads"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'scorebridge.studio' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"scorebridge.studio.{_HOMES[name]}"), name)
