"""The studio's job root: one temporary folder per running server, locked while it runs, so that a later server
can tell the roots of killed servers (whose lock died with them) from live ones and delete them at start."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PREFIX = "scorebridge-studio-"
LOCK = ".lock"
UNLOCKED_GRACE_SECONDS = 60.0  # a root without a lock file: an older version's, or one being created right now


class JobRoot:
    """A fresh locked folder under ``parent`` (default: the system temp folder); ``close`` deletes it."""

    def __init__(self, parent: Path | None = None):
        self.parent = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        self.swept = sweep_stale_roots(self.parent)
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=self.parent))
        self._lock: IO[bytes] | None = open(self.path / LOCK, "wb")  # noqa: SIM115 - held for the server's life
        _try_lock(self._lock)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def sweep_stale_roots(parent: Path, now: float | None = None) -> int:
    """Delete the job roots under ``parent`` that no running server holds; how many went."""
    now = time.time() if now is None else now
    swept = 0
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return 0
    for root in candidates:
        try:
            if root.is_symlink() or not root.is_dir() or root.stat().st_uid != os.getuid():
                continue
            lock = root / LOCK
            if lock.is_file():
                with open(lock, "rb") as f:
                    if not _try_lock(f):
                        continue  # a live server's
            elif now - root.stat().st_mtime < UNLOCKED_GRACE_SECONDS:
                continue
        except OSError:
            continue
        shutil.rmtree(root, ignore_errors=True)
        swept += not root.exists()
    if swept:
        log.info("studio: deleted %d job folder(s) left by earlier servers in %s", swept, parent)
    return swept


def _try_lock(f: IO[bytes]) -> bool:
    """An exclusive lock on ``f``, which the kernel drops when its process dies; False when another holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no way to tell, so nothing is swept
        return False
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
