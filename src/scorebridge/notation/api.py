"""The notation entry points the CLI calls: score → LMX, LMX → MusicXML, .lmx files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scorebridge.errors import InputError
from scorebridge.notation.codec import linearize_part
from scorebridge.notation.formats import load_musicxml, select_part
from scorebridge.notation.vocabulary import UnknownTokenError, check_tokens


@dataclass(frozen=True)
class LmxResult:
    """LMX of one part of a score."""

    tokens: list[str]
    part_id: str
    measure_count: int
    source: Path

    @property
    def text(self) -> str:
        """The tokens as one line of LMX text, as `scorebridge lmx` prints it and .lmx files hold it."""
        return " ".join(self.tokens)


def score_to_lmx(path: str | os.PathLike[str], part: int | None = None) -> LmxResult:
    """LMX of the piano part (or the 1-based ``part``) of any supported score file."""
    path = Path(path)
    tree = load_musicxml(path)
    element = select_part(tree, part, path)
    tokens = linearize_part(element, path)
    return LmxResult(tokens, element.get("id", ""), len(element.findall("measure")), path)


def read_lmx_file(path: str | os.PathLike[str]) -> list[str]:
    """Tokens of a .lmx text file: an optional header ending with a '---' line, '#' comments ignored.

    Several systems separated by '---' lines are concatenated. Raises InputError on unknown tokens.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a UTF-8 text file ({exc})") from exc
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    if any(line.strip() == "---" for line in lines):
        # The header (e.g. "version: 1.0", "flavor: core") runs until the first '---'.
        lines = lines[[line.strip() for line in lines].index("---") + 1 :]
    tokens = [token for line in lines if line.strip() != "---" for token in line.split()]
    try:
        return check_tokens(tokens)
    except UnknownTokenError as exc:
        raise InputError(path, f"unknown LMX token {exc.token!r} at position {exc.position}") from exc
