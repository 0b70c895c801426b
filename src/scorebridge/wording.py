"""Warnings and result problems in a musician's words: ``plain(message)`` rewrites the engine's internal messages
(decoding rows, step limits, stitching, LMX tokens) into what they mean for the score or recording; a message it
does not know is returned as it is. Used by the CLI's log formatter and for the problems it prints; the studio can
call it too. The library keeps its precise messages (``--debug`` shows them unchanged)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_WHAT = {"notation": "notation", "midi": "MIDI", "audio": "audio", "image": "score image"}


def _count(text: str) -> int:
    return len([x for x in text.split(",") if x.strip()])


def _passages(n: int) -> str:
    return "1 passage" if n == 1 else f"{n} passages"


RULES: list[Rule] = [
    (re.compile(r"(\w+) target rows \[([^\]]*)\] stopped at the (\d+)-step limit before their end token"),
     lambda m: f"the model did not finish {_passages(_count(m[2]))} of {_WHAT.get(m[1], m[1])} and was cut off "
               f"at its length limit ({m[3]} symbols): the end of {'it' if _count(m[2]) == 1 else 'them'} may be "
               "missing or wrong"),
    (re.compile(r"(\w+) target rows ended as loops: (.*), at their bound from the source: (.*)"),
     lambda m: f"the model kept repeating itself in the {_WHAT.get(m[1], m[1])}; the repetitions were cut"),
    (re.compile(r"stitch: repaired (\d+) irregularities in (\d+) windows"),
     lambda m: f"joining the {m[2]} sections of the recording, {m[1]} notes at the joins were tidied "
               "(overlapping or unfinished notes)"),
    (re.compile(r"stitch: window at tick (\d+) overlaps the previous one.*"),
     lambda m: "two sections of the recording overlap; notes at the join may be doubled"),
    (re.compile(r"'([^']*)' is not an LMX token \(position (\d+)\)"),
     lambda m: f"the model wrote '{m[1]}', which is not a musical symbol (symbol {m[2]})"),
    (re.compile(r"the page's LMX does not form MusicXML \(\w+: (.*)\)$"),
     lambda m: f"the notes read from the page do not form a valid score: {plain(m[1])}"),
    (re.compile(r"cannot turn the LMX into MusicXML \(\w+: (.*)\)$"),
     lambda m: f"the notes read do not form a valid score: {plain(m[1])}"),
    (re.compile(r"no LMX tokens were generated"), lambda m: "the model wrote no notes"),
    (re.compile(r"no complete image system was generated"), lambda m: "the model drew no complete staff system"),
    (re.compile(r"no audio frames were generated"), lambda m: "the model produced no sound"),
    (re.compile(r"window (\d+): (\d+) frames generated, (\d+) expected"),
     lambda m: f"section {int(m[1]) + 1}: the model's audio came out shorter than the music"),
    (re.compile(r"systems (\d+) and (\d+) do not fit one window; system (\d+) read alone"),
     lambda m: f"systems {int(m[1]) + 1} and {int(m[2]) + 1} were too long to read together; "
               f"system {int(m[3]) + 1} was read on its own"),
    (re.compile(r"(\d+) notes starting after the end of the recording dropped"),
     lambda m: f"{m[1]} notes the model placed after the end of the recording were left out"),
    (re.compile(r"this model was not trained on (\w+) -> (\w+); expect poor output"),
     lambda m: f"this model was never trained to turn {_WHAT.get(m[1], m[1])} into {_WHAT.get(m[2], m[2])}; "
               "expect a poor result"),
    (re.compile(r"(.*): no staves found$"), lambda m: f"{m[1]}: no staves found on this page; it was skipped"),
    (re.compile(r"window (\d+): (.*)"), lambda m: f"section {int(m[1]) + 1}: {plain(m[2])}"),
    (re.compile(r"system (\d+) does not start with a height token"),
     lambda m: f"drawn system {m[1]} came out malformed"),
]


def plain(message: str) -> str:
    """``message`` in a musician's words (the first rule that matches it whole), or unchanged."""
    for pattern, words in RULES:
        match = pattern.fullmatch(message.strip())
        if match:
            return words(match)
    return message


class PlainFormatter(logging.Formatter):
    """Log lines as ``scorebridge: warning: <plain words>`` (the logger's name only at DEBUG level)."""

    def __init__(self, debug: bool = False) -> None:
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if self.debug:
            return f"{record.levelname} {record.name}: {message}" + (
                f"\n{self.formatException(record.exc_info)}" if record.exc_info else "")
        return f"scorebridge: {record.levelname.lower()}: {plain(message)}"


class OncePerRun(logging.Filter):
    """Lets each distinct message through once (a warning of every system of a page is one warning to the
    reader). Put on a handler: ``logging_redirect_tqdm`` swaps the CLI's handler for its own, so the CLI adds it
    to that one too."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.levelno} {record.getMessage()}"
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


class PlainHandler(logging.StreamHandler):
    """The CLI's log handler: ``PlainFormatter`` lines on the *current* ``sys.stderr`` (tests swap it)."""

    def __init__(self, debug: bool = False) -> None:
        super().__init__()
        self.setFormatter(PlainFormatter(debug))

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - a file object
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001 - StreamHandler.__init__ assigns it
        pass
