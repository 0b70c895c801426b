"""Names the `data build --source` option accepts: built-in corpora, dataset adapters, or a folder of scores."""

from __future__ import annotations

import os
from pathlib import Path

from scorebridge.data.contract import Source
from scorebridge.errors import InputError, ScorebridgeError

CORPORA = ("kern-piano", "lieder", "lieder-voice", "asap", "music21")
# What each built-in source promises for each sample kind: a sample without it is never written.
FULL = ("image", "lmx", "midi", "audio")
EXPECTED_MODALITIES = {
    "kern-piano": {"system": FULL},
    "lieder": {"system": FULL},
    "lieder-voice": {"system": FULL},
    "music21": {"system": FULL},
    "asap": {"system": FULL, "window": ("midi", "audio")},
    "folder": {"system": FULL},
}


def default_corpora() -> Path:
    """$SCOREBRIDGE_CORPORA, else ../shared/corpora beside the current folder (the project's layout)."""
    env = os.environ.get("SCOREBRIDGE_CORPORA")
    return Path(env) if env else Path.cwd().parent / "shared" / "corpora"


def resolve_source(name: str, corpora: Path | None = None) -> tuple[Source, dict[str, tuple[str, ...]]]:
    """A source and the modalities its samples must carry, from a `--source` value:
    a corpus name, 'ADAPTER:PATH' for a public dataset's local copy, or a folder of scores."""
    corpora = corpora or default_corpora()
    if name in CORPORA:
        folder = {"kern-piano": corpora / "kern", "lieder": corpora / "openscore-lieder",
                  "lieder-voice": corpora / "openscore-lieder",
                  "asap": corpora / "asap", "music21": None}[name]
        if folder is not None and not folder.is_dir():
            raise InputError(folder, f"corpus folder for --source {name} not found (set --corpora or "
                                     "SCOREBRIDGE_CORPORA to the folder holding kern/, openscore-lieder/, asap/)")
        return _corpus(name, corpora), EXPECTED_MODALITIES[name]
    if ":" in name and not Path(name).exists():
        adapter, path = name.split(":", 1)
        from scorebridge.data.adapters import ADAPTERS

        if adapter not in ADAPTERS:
            raise ScorebridgeError(f"unknown dataset adapter {adapter!r} (known: {', '.join(sorted(ADAPTERS))})")
        return ADAPTERS[adapter](Path(path)), {}
    path = Path(name)
    if path.is_dir():
        from scorebridge.data.sources.folder import FolderSource

        return FolderSource(path), EXPECTED_MODALITIES["folder"]
    raise ScorebridgeError(
        f"unknown source {name!r}: use one of {', '.join(CORPORA)}, ADAPTER:PATH, or a folder of scores"
    )


def _corpus(name: str, corpora: Path) -> Source:
    if name == "kern-piano":
        from scorebridge.data.sources.kern import KernPianoSource

        return KernPianoSource(corpora)
    if name == "lieder":
        from scorebridge.data.sources.lieder import LiederSource

        return LiederSource(corpora)
    if name == "lieder-voice":
        from scorebridge.data.sources.lieder import LiederVoiceSource

        return LiederVoiceSource(corpora)
    if name == "asap":
        from scorebridge.data.sources.asap import AsapSource

        return AsapSource(corpora)
    from scorebridge.data.sources.music21_corpus import Music21CorpusSource

    return Music21CorpusSource()
