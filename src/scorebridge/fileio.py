"""Outputs that never destroy: written under a temporary name and renamed on success.

- A failure half-way never leaves a partial file or folder under the requested name, nor a temporary one.
- An output is never an input (``check_distinct``), a file output never lands on a folder and a folder output
  never on a file, and nothing is written under /proc, /sys or /dev or onto a device or pipe.
- An existing folder is never emptied: ``atomic_dir`` adds the new files to it and refuses to overwrite the
  ones already there unless ``force``; ``replace_dir`` swaps whole folders that the program owns (checkpoints).
- Outputs get the permissions of an ordinary file or folder under the process's umask (``mkstemp`` and
  ``mkdtemp`` would leave them 0600 / 0700).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from scorebridge.errors import OutputError

_SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))

PathLike = str | os.PathLike[str]


def current_umask() -> int:
    """The process umask, read without changing it where Linux reports it (os.umask alone must set it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _apply_umask(path: Path, folder: bool) -> None:
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


def _resolved(path: PathLike) -> Path:
    return Path(os.path.abspath(path)).resolve()


def check_output_location(target: PathLike, *, folder: bool = False) -> Path:
    """Refuse (OutputError) an output that cannot or must not be written where it is asked for.

    ``folder``: the output is a folder (else a file). Returns the target as a Path.
    """
    target = Path(target)
    real = _resolved(target)
    if any(real == root or root in real.parents for root in _SYSTEM_ROOTS):
        raise OutputError(target, "not a place for output files (a system folder)")
    for ancestor in real.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OutputError(target, f"cannot be written: {ancestor} is a file, not a folder")
            break
    if target.exists() or target.is_symlink():
        mode = os.stat(target).st_mode if target.exists() else 0
        if folder and not stat.S_ISDIR(mode):
            raise OutputError(target, "is a file; a folder output cannot replace it")
        if not folder and stat.S_ISDIR(mode):
            raise OutputError(target, "is a folder; give a file name")
        if not folder and not stat.S_ISREG(mode):
            raise OutputError(target, "is not a regular file (a device, pipe or broken link); not replaced")
    return target


def check_distinct(output: PathLike, inputs: Iterable[PathLike | None]) -> None:
    """Refuse an output that is one of ``inputs`` or lies inside an input folder (OutputError).

    A folder output may hold an input (``-o .``): ``atomic_dir(protect=inputs)`` then never writes over it.
    """
    out = _resolved(output)
    for given in inputs:
        if given is None:
            continue
        source = _resolved(given)
        same = out == source
        if not same and out.exists() and source.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(out, source)
        if same:
            raise OutputError(output, f"is the input {given}; choose another output")
        if source.is_dir() and source in out.parents:
            raise OutputError(output, f"is inside the input folder {given}; choose another output")


def _make_parents(folder: Path) -> list[Path]:
    """mkdir -p ``folder``; returns the folders it created, deepest first (to remove them on failure)."""
    created: list[Path] = []
    probe = folder
    while not probe.exists():
        created.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(folder, f"cannot create the folder ({exc.strerror or exc})") from None
    for made in reversed(created):
        with contextlib.suppress(OSError):
            _apply_umask(made, folder=True)
    return created


def _remove_empty(created: list[Path]) -> None:
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()


@contextlib.contextmanager
def atomic_path(target: PathLike) -> Iterator[Path]:
    """Yield a temporary path with the target's suffix; rename it onto ``target`` on success.

    The suffix is kept because tools such as fluidsynth and rsvg-convert choose formats by it. An existing
    regular file is replaced; a folder, device or pipe is refused (see ``check_output_location``).
    """
    target = check_output_location(target)
    created = _make_parents(target.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}",
                                        dir=target.parent)
    except OSError as exc:
        _remove_empty(created)
        raise OutputError(target, f"cannot be written ({exc.strerror or exc})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    ok = False
    try:
        yield tmp
        _apply_umask(tmp, folder=False)
        os.replace(tmp, target)
        ok = True
    finally:
        if tmp.exists():
            tmp.unlink()
        if not ok:
            _remove_empty(created)


@contextlib.contextmanager
def atomic_dir(target: PathLike, *, force: bool = False, protect: Iterable[PathLike | None] = ()) -> Iterator[Path]:
    """Yield a fresh temporary folder whose files become ``target``'s on success.

    A new ``target`` is the renamed folder. An existing one (``-o .`` included) is never emptied: the new files
    are moved into it one by one, after checking that none of them exists there (unless ``force``; a folder
    and a ``protect``-ed input are never overwritten). On failure nothing changes in ``target``.
    """
    target = check_output_location(target, folder=True)
    protected = {_resolved(p) for p in protect if p is not None}
    existed = target.is_dir()
    created = [] if existed else _make_parents(target.parent)
    where = target if existed else target.parent
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name or 'out'}.", suffix=".part", dir=where))
    except OSError as exc:
        _remove_empty(created)
        raise OutputError(target, f"cannot be written ({exc.strerror or exc})") from None
    ok = False
    try:
        yield tmp
        if existed:
            _merge_into(tmp, target, force, protected)
        else:
            _apply_umask(tmp, folder=True)
            os.rename(tmp, target)
        ok = True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
        if not ok:
            _remove_empty(created)


def _merge_into(tmp: Path, target: Path, force: bool, protected: set[Path]) -> None:
    names = sorted(os.listdir(tmp))
    for name in names:  # every check before the first move: a refusal leaves the folder as it was
        dest = target / name
        if not (dest.exists() or dest.is_symlink()):
            continue
        if _resolved(dest) in protected:
            raise OutputError(dest, "is an input of this command; it is not overwritten")
        if dest.is_dir() or (tmp / name).is_dir():
            raise OutputError(dest, "already exists (a folder); choose another output folder")
        if not force:
            raise OutputError(dest, "already exists; use --force to overwrite, or choose another output folder")
        if not dest.is_file():
            raise OutputError(dest, "is not a regular file; not replaced")
    for name in names:
        os.replace(tmp / name, target / name)


@contextlib.contextmanager
def replace_dir(target: PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder that replaces ``target`` whole on success (an old folder is removed).

    Only for folders the program owns and rewrites as one unit (a checkpoint and its training state);
    user-named outputs go through ``atomic_dir``.
    """
    target = check_output_location(target, folder=True)
    created = _make_parents(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    ok = False
    try:
        yield tmp
        _apply_umask(tmp, folder=True)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.rename(target, old / "x")
            os.rename(tmp, target)
            shutil.rmtree(old)
        else:
            os.rename(tmp, target)
        ok = True
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
        if not ok:
            _remove_empty(created)


WORK_PREFIX = "scorebridge-"


def work_dir(kind: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary work folder named ``scorebridge-KIND-PID-*``: the process id lets a later run sweep what a
    killed one left (``sweep_stale_work_dirs``; a killed build could leave hundreds of MB of synthesis WAVs)."""
    return tempfile.TemporaryDirectory(prefix=f"{WORK_PREFIX}{kind}-{os.getpid()}-")


def sweep_stale_work_dirs(root: PathLike | None = None) -> int:
    """Remove the ``work_dir`` folders (in ``root``, default the temp folder) of processes that no longer run,
    owned by this user. Returns how many were removed."""
    folder = Path(root or tempfile.gettempdir())
    removed = 0
    for entry in folder.glob(f"{WORK_PREFIX}*-*-*"):
        parts = entry.name[len(WORK_PREFIX):].split("-")
        pid = int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None
        try:
            mine = entry.is_dir() and not entry.is_symlink() and entry.stat().st_uid == os.getuid()
        except OSError:
            continue
        if pid is None or not mine or process_alive(pid):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += 1
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process of this id exists (True for ids that are not real pids: leave their files alone)."""
    if pid <= 0:
        return True  # not a pid we wrote: leave it alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_bytes(target: PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: PathLike, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
