"""Optional extras (pyproject's [project.optional-dependencies]): which commands need which, and the one-line error
that names the extra to install when a package of one is missing. The core install is what `translate`,
`render`, `lmx` and `demo` need; nothing here imports an optional package."""

from __future__ import annotations

import argparse
import importlib.util

from scorebridge.errors import ScorebridgeError

# the import names each extra must provide (pyproject.toml lists the distributions and their versions)
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "studio": ("fastapi", "uvicorn", "multipart"),
    "eval": ("webdataset", "yaml", "librosa", "mir_eval", "editdistance"),
    "train": ("webdataset", "yaml", "librosa", "mir_eval", "editdistance", "tensorboard"),
}
# an optional package found missing during a command -> the smallest extra that brings it
MODULE_EXTRA: dict[str, str] = {
    "fastapi": "studio", "starlette": "studio", "uvicorn": "studio", "multipart": "studio",
    "python_multipart": "studio", "tensorboard": "train", "webdataset": "eval", "yaml": "eval", "librosa": "eval",
    "mir_eval": "eval", "editdistance": "eval", "onnxruntime": "bench", "resampy": "bench",
}
# (command, subcommand or None for all of them) -> (the extra, what the user asked for in their words)
COMMAND_EXTRA: dict[tuple[str, str | None], tuple[str, str]] = {
    ("serve", None): ("studio", "the studio (scorebridge serve)"),
    ("eval", None): ("eval", "scorebridge eval"),
    ("train", None): ("train", "scorebridge train"),
    ("data", None): ("train", "scorebridge data"),
    ("video", "build"): ("train", "scorebridge video build"),
    ("video", "show"): ("train", "scorebridge video show"),
    ("codec", "train"): ("train", "scorebridge codec train"),
    ("codec", "bake"): ("train", "scorebridge codec bake"),
}


class MissingExtraError(ScorebridgeError):
    """An optional extra of scorebridge is not installed; the message says which one to install."""

    def __init__(self, what: str, extra: str, missing: str):
        self.extra = extra
        super().__init__(f"{what} needs: pip install 'scorebridge[{extra}]' (missing: {missing})")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or blocked package counts as missing
        return False


def require(extra: str, what: str) -> None:
    """Raise MissingExtraError unless every package of ``extra`` is importable (found, not imported: cheap)."""
    missing = [m for m in EXTRA_MODULES[extra] if not _installed(m)]
    if missing:
        raise MissingExtraError(what, extra, ", ".join(missing))


def require_for_command(args: argparse.Namespace) -> None:
    """Before a command starts work: fail in one line if it needs an extra that is not installed."""
    command = getattr(args, "command", None)
    sub = getattr(args, f"{command}_command", None)
    entry = COMMAND_EXTRA.get((command, sub)) or COMMAND_EXTRA.get((command, None))
    if entry is not None:
        require(*entry)


def from_import_error(exc: ModuleNotFoundError, what: str = "this command") -> ScorebridgeError:
    """A one-line error for a package found missing mid-command: the extra that brings it, or a reinstall."""
    root = (exc.name or "").split(".")[0]
    if root in MODULE_EXTRA:
        return MissingExtraError(what, MODULE_EXTRA[root], root)
    return ScorebridgeError(f"{exc}: a dependency of scorebridge is missing; reinstall it with its dependencies "
                            "(rerun with --debug to see where it was imported)")
