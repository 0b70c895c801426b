"""Adapters for public datasets read from local copies the user names: each is a ``Source`` of our schema.

``ADAPTERS`` maps a name to a factory taking the dataset folder, so the CLI can offer
``--source maestro:/data/maestro-v3.0.0``; ``adapter_source("name:path")`` does that parsing. The
``asap-maestro`` adapter takes ``ASAP_DIR`` or ``ASAP_DIR,MAESTRO_DIR``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scorebridge.data.adapters.asap_maestro import AsapMaestroSource
from scorebridge.data.adapters.bpsd import BpsdSource
from scorebridge.data.adapters.grandstaff import GrandStaffSource
from scorebridge.data.adapters.maestro import MaestroSource
from scorebridge.data.adapters.musicnet import MusicNetSource
from scorebridge.data.adapters.olimpic import OlimpicSource
from scorebridge.data.adapters.primus import PrimusSource
from scorebridge.data.adapters.slakh import SlakhSource
from scorebridge.data.contract import Source
from scorebridge.errors import InputError


def _asap_maestro(path: str | Path) -> AsapMaestroSource:
    asap, _, maestro = str(path).partition(",")
    return AsapMaestroSource(asap, maestro or None)


ADAPTERS: dict[str, Callable[[str | Path], Source]] = {
    "grandstaff": lambda p: GrandStaffSource(p),
    "grandstaff-lmx": lambda p: GrandStaffSource(p, name="grandstaff-lmx"),
    "camera-grandstaff": lambda p: GrandStaffSource(p, name="camera-grandstaff", distorted=True),
    "olimpic-synthetic": lambda p: OlimpicSource(p, name="olimpic-synthetic"),
    "olimpic-scanned": lambda p: OlimpicSource(p, name="olimpic-scanned"),
    "primus": lambda p: PrimusSource(p),
    "camera-primus": lambda p: PrimusSource(p, name="camera-primus", distorted=True),
    "maestro": lambda p: MaestroSource(p),
    "musicnet": lambda p: MusicNetSource(p),
    "slakh": lambda p: SlakhSource(p),
    "bpsd": lambda p: BpsdSource(p),
    "asap-maestro": _asap_maestro,
}


def adapter_source(spec: str) -> Source:
    """``"name:path"`` -> the adapter's Source; an InputError names the known adapters."""
    name, sep, path = spec.partition(":")
    if not sep or name not in ADAPTERS or not path:
        raise InputError(None, f"expected NAME:PATH with NAME one of {', '.join(sorted(ADAPTERS))}, got {spec!r}")
    return ADAPTERS[name](path)


__all__ = ["ADAPTERS", "AsapMaestroSource", "BpsdSource", "GrandStaffSource", "MaestroSource", "MusicNetSource",
           "OlimpicSource", "PrimusSource", "SlakhSource", "adapter_source"]
