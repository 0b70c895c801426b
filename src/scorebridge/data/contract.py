"""The build contract between the dataset build and every source (built-in corpora and dataset adapters alike):
a source gives a list of pieces, and a pure function that turns one piece into samples.

``build_piece`` must be a pure function of (spec, config): no global state, randomness only from
``piece_rng(spec, config)``, so that a process pool — or a cluster engine such as Ray — can run it anywhere
and a rebuild gives identical samples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from scorebridge.constants import AUDIO_SAMPLE_RATE, STAFF_HEIGHT_PX, WINDOW_MS
from scorebridge.data.schema import SPLITS, Sample


class PieceRejected(Exception):
    """A piece cannot give samples (conversion error, no piano part, misaligned annotation ...).

    The build records the reason in the manifest's rejected list and goes on with the next piece.
    """


@dataclass(frozen=True)
class PieceSpec:
    """One piece of a source: a stable id (unique within the source), its files and its split."""

    source: str
    piece: str
    path: str  # the main file (score); absolute
    split: str
    extra: Mapping[str, str] = field(default_factory=dict)  # other files, e.g. {"performance": ..., "annotations": ...}

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"{self.source}/{self.piece}: split must be one of {SPLITS}, not {self.split!r}")


@dataclass(frozen=True)
class BuildConfig:
    """Everything that shapes the samples; stored in the dataset so a build can be resumed or reproduced."""

    seed: int = 0
    soundfonts: tuple[str, ...] = ("fluidr3", "timgm6mb")  # one is drawn per piece (or per performance)
    sample_rate: int = AUDIO_SAMPLE_RATE
    staff_height: int = STAFF_HEIGHT_PX
    vary_engraving: bool = True  # draw the engraving look (font, spacing, page width) per piece
    page_width_range: tuple[int, int] = (1800, 2500)  # varied look: page width in tenths of mm (narrow: short systems)
    tempo_factor_range: tuple[float, float] = (1.0, 1.0)  # score-time samples: tempo scaled by a draw from this
    max_systems: int = 1  # systems per sample: runs of up to this many consecutive systems
    max_image_patches: int = 1000  # and at most this many 16x16 patches in the (stacked) image
    window_ms: int = WINDOW_MS  # long (performance MIDI, audio) windows
    sustain_pedal: bool = False  # performance MIDI: extend notes by the sustain pedal

    def __post_init__(self) -> None:
        if not self.soundfonts:
            raise ValueError("at least one soundfont is needed")
        lo, hi = self.tempo_factor_range
        if not 0.25 <= lo <= hi <= 4.0:
            raise ValueError(f"tempo_factor_range {self.tempo_factor_range} must satisfy 0.25 <= lo <= hi <= 4")
        if not 100 <= self.page_width_range[0] <= self.page_width_range[1] <= 100_000:
            raise ValueError(f"page_width_range {self.page_width_range} must satisfy 100 <= lo <= hi <= 100000")
        if self.max_systems < 1 or self.max_image_patches < 1 or self.window_ms < 1000:
            raise ValueError("max_systems, max_image_patches must be >= 1 and window_ms >= 1000")


def piece_rng(spec: PieceSpec, config: BuildConfig, purpose: str = "") -> np.random.Generator:
    """A generator seeded by (config.seed, source, piece, purpose): the same draws in any process, any order."""
    digest = hashlib.sha256(f"{config.seed}\0{spec.source}\0{spec.piece}\0{purpose}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def sample_id(spec: PieceSpec, kind: str, index: int) -> str:
    """The sample key '<source>/<piece>/<kind>-<index>'. WebDataset splits a file name into key and extension
    at the first dot of its last path component, so dots (and spaces) in names become '_'; '/' is allowed."""
    piece = "/".join(part.replace(".", "_").replace(" ", "_") for part in spec.piece.split("/"))
    return f"{spec.source.replace('.', '_')}/{piece}/{kind}-{index:04d}"


class Source(Protocol):
    """A corpus or dataset the build can read."""

    name: str

    def pieces(self) -> list[PieceSpec]:
        """Every piece, in a fixed order, with its split."""
        ...

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        """All samples of one piece; raises PieceRejected with a one-line reason."""
        ...
