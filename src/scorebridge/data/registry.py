"""The one registry of sources the build reads, and the one parser of a `data build --source` value.

Built-in corpora (read under the corpora folder) and public-dataset adapters (read from the local copy the user
names) are entries of one table, ``SOURCES``. A ``--source`` value is

- a corpus name: ``kern-piano``, ``lieder``, ``lieder-voice``, ``asap``, ``music21``;
- ``NAME:PATH``: the source NAME read from PATH (``maestro:/data/maestro-v3.0.0``; ``asap-maestro`` takes
  ``ASAP_DIR`` or ``ASAP_DIR,MAESTRO_DIR``);
- a folder of scores (every MusicXML / kern / ABC / MEI file under it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scorebridge.data.adapters import (
    AsapMaestroSource,
    BpsdSource,
    GrandStaffSource,
    MaestroSource,
    MusicNetSource,
    OlimpicSource,
    PrimusSource,
    SlakhSource,
)
from scorebridge.data.contract import Source
from scorebridge.data.sources import (
    AsapSource,
    FolderSource,
    KernPianoSource,
    LiederSource,
    LiederVoiceSource,
    Music21CorpusSource,
)
from scorebridge.errors import InputError

FULL = ("image", "lmx", "midi", "audio")


@dataclass(frozen=True)
class SourceEntry:
    """One source the build can read.

    ``open`` takes the folder to read: PATH of ``NAME:PATH``, or for a built-in corpus the corpora folder.
    ``corpus`` is the corpus's folder under the corpora folder ('' for one that needs none); None marks a dataset
    adapter, which needs a PATH. ``expected``: per sample kind, the modalities every sample must carry (a
    sample without them is never written); adapters promise none beyond their own layout.
    """

    name: str
    open: Callable[[Path], Source]
    corpus: str | None = None
    expected: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def _asap_maestro(path: Path) -> Source:
    asap, _, maestro = str(path).partition(",")
    return AsapMaestroSource(asap, maestro or None)


_ENTRIES = (
    SourceEntry("kern-piano", KernPianoSource, "kern", {"system": FULL}),
    SourceEntry("lieder", LiederSource, "openscore-lieder", {"system": FULL}),
    SourceEntry("lieder-voice", LiederVoiceSource, "openscore-lieder", {"system": FULL}),
    SourceEntry("asap", AsapSource, "asap", {"system": FULL, "window": ("midi", "audio")}),
    SourceEntry("music21", lambda _: Music21CorpusSource(), ""),
    SourceEntry("grandstaff", lambda p: GrandStaffSource(p)),
    SourceEntry("grandstaff-lmx", lambda p: GrandStaffSource(p, name="grandstaff-lmx")),
    SourceEntry("camera-grandstaff", lambda p: GrandStaffSource(p, name="camera-grandstaff", distorted=True)),
    SourceEntry("olimpic-synthetic", lambda p: OlimpicSource(p, name="olimpic-synthetic")),
    SourceEntry("olimpic-scanned", lambda p: OlimpicSource(p, name="olimpic-scanned")),
    SourceEntry("primus", lambda p: PrimusSource(p)),
    SourceEntry("camera-primus", lambda p: PrimusSource(p, name="camera-primus", distorted=True)),
    SourceEntry("maestro", lambda p: MaestroSource(p)),
    SourceEntry("musicnet", lambda p: MusicNetSource(p)),
    SourceEntry("slakh", lambda p: SlakhSource(p)),
    SourceEntry("bpsd", lambda p: BpsdSource(p)),
    SourceEntry("asap-maestro", _asap_maestro),
)
SOURCES: dict[str, SourceEntry] = {e.name: e for e in _ENTRIES}
CORPORA = tuple(name for name, e in SOURCES.items() if e.corpus is not None)
DATASETS = tuple(name for name, e in SOURCES.items() if e.corpus is None)
FOLDER_EXPECTED: Mapping[str, tuple[str, ...]] = {"system": FULL}  # a folder of scores gives full systems


def default_corpora() -> Path:
    """$SCOREBRIDGE_CORPORA, else ../shared/corpora beside the current folder (the project's layout)."""
    env = os.environ.get("SCOREBRIDGE_CORPORA")
    return Path(env) if env else Path.cwd().parent / "shared" / "corpora"


def parse_source(value: str) -> tuple[str, Path | None]:
    """``NAME`` -> (NAME, None); ``NAME:PATH`` -> (NAME, PATH). An existing path is never split, so a folder
    whose name holds a colon still reads as a folder; anything else is ('', the path)."""
    name, sep, path = value.partition(":")
    if name in SOURCES and not sep:
        return name, None
    if sep and not Path(value).exists():
        return name, Path(path) if path else None
    return "", Path(value)


def open_source(value: str, corpora: Path | None = None) -> Source:
    """The source a ``--source`` value names (see the module docstring); errors name what was expected."""
    return resolve_source(value, corpora)[0]


def resolve_source(value: str, corpora: Path | None = None) -> tuple[Source, Mapping[str, tuple[str, ...]]]:
    """The source a ``--source`` value names and the modalities its samples must carry, per sample kind."""
    name, path = parse_source(value)
    if not name:
        if path is not None and path.is_dir():
            return FolderSource(path), FOLDER_EXPECTED
        raise InputError(None, f"unknown source {value!r}: use one of {', '.join(CORPORA)}, NAME:PATH with NAME one "
                               f"of {', '.join(DATASETS)}, or a folder of scores")
    entry = SOURCES.get(name)
    if entry is None:
        raise InputError(None, f"unknown source {name!r} in NAME:PATH (known: {', '.join(sorted(SOURCES))})")
    if entry.corpus is None:
        if path is None or not str(path):
            raise InputError(None, f"{name} reads a local copy of the dataset: use NAME:PATH, e.g. {name}:/data/{name}")
        return entry.open(path), entry.expected
    if path is not None:
        raise InputError(None, f"{name} is a built-in corpus read under --corpora, not {name}:PATH")
    corpora = corpora or default_corpora()
    folder = corpora / entry.corpus
    if entry.corpus and not folder.is_dir():
        raise InputError(folder, f"corpus folder for --source {name} not found (set --corpora or "
                                 "SCOREBRIDGE_CORPORA to the folder holding kern/, openscore-lieder/, asap/)")
    return entry.open(corpora), entry.expected
