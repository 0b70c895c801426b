"""The four modalities and translation tasks: the one place their names are spelled."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Modality(enum.StrEnum):
    IMAGE = "image"
    NOTATION = "notation"
    MIDI = "midi"
    AUDIO = "audio"

    @property
    def index(self) -> int:
        """The modality's position (0..3): its embedding row in the model and its SOS offset in the vocabulary."""
        return _ORDER.index(self)


_ORDER: tuple[Modality, ...] = tuple(Modality)


@dataclass(frozen=True)
class Task:
    source: Modality
    target: Modality

    def __post_init__(self) -> None:
        if self.source == self.target:
            raise ValueError(f"a task translates between two modalities, got {self.source} -> {self.target}")

    def __str__(self) -> str:
        return f"{self.source}->{self.target}"
