"""The four modalities and translation tasks: the one place their names are spelled."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Modality(enum.StrEnum):
    IMAGE = "image"
    NOTATION = "notation"
    MIDI = "midi"
    AUDIO = "audio"


@dataclass(frozen=True)
class Task:
    source: Modality
    target: Modality

    def __post_init__(self) -> None:
        if self.source == self.target:
            raise ValueError(f"a task translates between two modalities, got {self.source} -> {self.target}")

    def __str__(self) -> str:
        return f"{self.source}->{self.target}"
