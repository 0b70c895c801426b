"""Adapters for public datasets read from local copies the user names, each a ``data.contract.Source`` of our
schema: image + notation systems (GrandStaff, OLiMPiC, PrIMuS and their camera versions; ``image_lmx``) and
performance windows (MAESTRO, MusicNet, Slakh2100, BPSD, ASAP with MAESTRO audio). ``data.registry`` names them
for ``--source NAME:PATH``; ``common`` holds what they share."""

from __future__ import annotations

from scorebridge.data.adapters.asap_maestro import AsapMaestroSource
from scorebridge.data.adapters.bpsd import BpsdSource
from scorebridge.data.adapters.grandstaff import GrandStaffSource
from scorebridge.data.adapters.maestro import MaestroSource
from scorebridge.data.adapters.musicnet import MusicNetSource
from scorebridge.data.adapters.olimpic import OlimpicSource
from scorebridge.data.adapters.primus import PrimusSource
from scorebridge.data.adapters.slakh import SlakhSource

__all__ = ["AsapMaestroSource", "BpsdSource", "GrandStaffSource", "MaestroSource", "MusicNetSource", "OlimpicSource",
           "PrimusSource", "SlakhSource"]
