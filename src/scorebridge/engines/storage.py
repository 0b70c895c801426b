"""One storage layer for engine outputs: a local (or shared-filesystem) folder, or an fsspec URL.

Paths inside a store are relative POSIX strings (``"shards/x.tar"``). Every file is *published*: written
under a temporary ``.NAME.part*`` name and moved onto its final name only when complete, so a reader (or a
resumed build) never sees half a file. On a local disk the move is a rename; on an object store (``s3://``,
``gs://``) it is a server-side copy, and an object appears whole or not at all.

A URL needs ``fsspec`` (the ``cluster`` extra) and the filesystem's own package (``s3fs``, ``gcsfs``), which the
user installs where they have the bucket; nothing here downloads anything at import time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scorebridge.errors import OutputError, ScorebridgeError
from scorebridge.fileio import atomic_path, write_text

log = logging.getLogger(__name__)

PART_MARK = ".part"  # temporary names are ".STEM.<random>.part<SUFFIX>", as fileio.atomic_path makes them


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is an fsspec URL (``proto://...``) rather than a plain path."""
    return "://" in str(location)


def open_storage(location: str | os.PathLike[str]) -> Storage:
    """The store for a plain path (local or shared filesystem) or a URL (``file://``, ``s3://``, ``gs://`` ...)."""
    return FsspecStorage(str(location)) if is_url(location) else LocalStorage(Path(location))


class Storage:
    """Files under one root. Subclasses implement the few primitives; everything is relative to the root."""

    url: str

    @property
    def local_root(self) -> Path | None:
        """The root as a local path when the store is a plain folder (locks and pid checks need one)."""
        return None

    def exists(self, rel: str) -> bool:
        raise NotImplementedError

    def names(self, folder: str) -> set[str]:
        """File names directly in ``folder`` (empty when it does not exist)."""
        raise NotImplementedError

    def read_bytes(self, rel: str) -> bytes:
        raise NotImplementedError

    def read_text(self, rel: str) -> str:
        return self.read_bytes(rel).decode("utf-8")

    def makedirs(self, folder: str) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def publish(self, rel: str) -> Iterator[Path]:
        """Yield a local temporary file with ``rel``'s suffix; on success it becomes ``rel`` atomically."""
        raise NotImplementedError
        yield  # pragma: no cover

    @contextlib.contextmanager
    def local_copy(self, rel: str) -> Iterator[Path]:
        """A local path holding ``rel``'s bytes (the file itself where the store is local)."""
        raise NotImplementedError
        yield  # pragma: no cover

    def write_text(self, rel: str, text: str) -> None:
        with self.publish(rel) as tmp:
            tmp.write_text(text, encoding="utf-8")

    def remove(self, rel: str) -> None:
        raise NotImplementedError

    def sweep_parts(self, folder: str) -> int:
        """Remove the temporary files that killed writers left in ``folder``; the number removed.
        Only safe while no writer is running on this store (the caller holds the build's lock or has finished)."""
        stale = [n for n in self.names(folder) if n.startswith(".") and PART_MARK in n]
        for name in stale:
            self.remove(f"{folder}/{name}")
        return len(stale)

    def __str__(self) -> str:
        return self.url


class LocalStorage(Storage):
    """A folder on this machine or on a filesystem that every worker mounts at the same path."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.url = str(self.root)

    @property
    def local_root(self) -> Path:
        return self.root

    def exists(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def names(self, folder: str) -> set[str]:
        try:
            return set(os.listdir(self.root / folder))
        except FileNotFoundError:
            return set()

    def read_bytes(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def makedirs(self, folder: str) -> None:
        (self.root / folder).mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def publish(self, rel: str) -> Iterator[Path]:
        with atomic_path(self.root / rel) as tmp:
            yield tmp

    @contextlib.contextmanager
    def local_copy(self, rel: str) -> Iterator[Path]:
        yield self.root / rel

    def write_text(self, rel: str, text: str) -> None:
        write_text(self.root / rel, text)

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink(missing_ok=True)

    def __getstate__(self) -> dict[str, Any]:
        return {"root": str(self.root)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(Path(state["root"]))


class FsspecStorage(Storage):
    """A URL handled by fsspec. Pickles as its URL, so each worker opens its own filesystem client."""

    def __init__(self, url: str):
        try:
            import fsspec
        except ImportError:
            raise ScorebridgeError(f"{url}: URL outputs need fsspec: pip install 'scorebridge[cluster]'") from None
        try:
            self.fs, path = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:  # e.g. s3:// without s3fs installed
            raise ScorebridgeError(f"{url}: cannot open this URL ({exc})") from None
        self.url = url.rstrip("/")
        self.path = str(path).rstrip("/")

    def _full(self, rel: str) -> str:
        return f"{self.path}/{rel}" if rel else self.path

    def exists(self, rel: str) -> bool:
        return bool(self.fs.exists(self._full(rel)))

    def names(self, folder: str) -> set[str]:
        try:
            entries = self.fs.ls(self._full(folder), detail=False)
        except FileNotFoundError:
            return set()
        return {str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries}

    def read_bytes(self, rel: str) -> bytes:
        return bytes(self.fs.cat_file(self._full(rel)))

    def makedirs(self, folder: str) -> None:
        self.fs.makedirs(self._full(folder), exist_ok=True)  # a no-op on object stores

    @contextlib.contextmanager
    def publish(self, rel: str) -> Iterator[Path]:
        folder, _, name = rel.rpartition("/")
        stem, dot, suffix = name.partition(".")
        with tempfile.TemporaryDirectory(prefix="scorebridge-publish-") as work:
            tmp = Path(work) / name
            yield tmp
            part = (f"{folder}/" if folder else "") + f".{stem}.{uuid.uuid4().hex[:8]}{PART_MARK}{dot}{suffix}"
            try:
                self.fs.put_file(str(tmp), self._full(part))
                self.fs.mv(self._full(part), self._full(rel))
            except OSError as exc:
                with contextlib.suppress(OSError):
                    self.fs.rm_file(self._full(part))
                raise OutputError(f"{self.url}/{rel}", f"cannot be written ({exc})") from None

    @contextlib.contextmanager
    def local_copy(self, rel: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="scorebridge-fetch-") as work:
            tmp = Path(work) / rel.rsplit("/", 1)[-1]
            self.fs.get_file(self._full(rel), str(tmp))
            yield tmp

    def remove(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._full(rel))

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])
