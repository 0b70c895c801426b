"""Adapter around the authors' `linearized-musicxml` (lmx 1.0.0): MusicXML <part> ⇄ LMX tokens.

We subclass the package's Linearizer and Delinearizer and fix, here, the bugs that break round trips on real
scores (each fix names the bug). MusicXML-side clean-ups live in `normalize.py`.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from fractions import Fraction

from lmx.linearization.Delinearizer import Delinearizer, Token, Tree
from lmx.linearization.Linearizer import Linearizer
from lmx.linearization.vocabulary import NOTE_TYPE_TO_QUARTER_MULTIPLE, TIME_MODIFICATION_TOKENS
from lmx.symbolic.part_to_score import part_to_score

from scorebridge.errors import InputError
from scorebridge.notation.complete import complete_part
from scorebridge.notation.normalize import normalize_part
from scorebridge.notation.vocabulary import TOKEN_SET, UnknownTokenError, check_tokens, split_tokens

log = logging.getLogger(__name__)

# Linearizer diagnostics that mean the LMX would not describe the score: they become errors, not warnings.
_FATAL_LINEARIZER_ERRORS = (
    "Duration could not be split up",  # a tuplet-length <forward>/<backup>: its remainder would be dropped
    "Note does not have <type>",  # LMX needs a type token as the root of every note
    "Unsupported accidental type",
    "Unknown stem type",
    "Only staves 1,2,3 are supported",
)


class LinearizationError(InputError):
    """A score that cannot be written as LMX; names the file and the measure (its number attribute)."""

    def __init__(self, path: str | os.PathLike[str] | None, measure: str | None, problem: str):
        self.measure = measure
        super().__init__(path, f"measure {measure}: {problem}" if measure is not None else problem)


class _Unlinearizable(Exception):
    pass


class _StrictLinearizer(Linearizer):
    """Raises on out-of-vocabulary tokens and on the diagnostics listed above; logs the others."""

    def __init__(self) -> None:
        super().__init__(fail_on_unknown_tokens=True)
        self.warnings: list[str] = []

    def _emit(self, token: str) -> None:
        # Bug (lmx 1.0.0): an unknown token is a bare `assert` (vanishes under `python -O`), or is silently
        # dropped with fail_on_unknown_tokens=False. We always raise, naming the token.
        if token not in TOKEN_SET:
            raise _Unlinearizable(f"{token!r} is not an LMX token (position {len(self.output_tokens)})")
        self.output_tokens.append(token)

    def _error(self, *values: object) -> None:
        message = " ".join(str(v) for v in values)
        if message.startswith(_FATAL_LINEARIZER_ERRORS):
            raise _Unlinearizable(message[:300])
        self.warnings.append(f"measure {self._measure_number}: {message[:300]}")

    def process_forward(self, forward: ET.Element) -> None:
        self._emit_skip("forward", forward)
        self._onset += int(forward.findtext("duration") or 0)

    def process_backup(self, backup: ET.Element, measure: ET.Element) -> None:
        self._emit_skip("backup", backup)
        # Like the package: a backup starts a new voice stream, so voice/staff/stem are re-stated after it.
        self._voice = None
        self._staff = None
        self._stem_orientation = None
        self._onset -= int(backup.findtext("duration") or 0)

    def _emit_skip(self, kind: str, element: ET.Element) -> None:
        """Bug (lmx 1.0.0): forward/backup durations are split by halving an *integer* step, which is wrong
        when <divisions> is not a power of two (12, 480...), and a tuplet-length skip (e.g. a triplet 16th)
        cannot be written at all. We split in exact fractions of a quarter, and write a remainder that no plain
        note types sum to with a time modification ("forward half forward half 3in2", as the LMX spec proposes);
        the package's Delinearizer already reads those."""
        if self._divisions is None:
            raise _Unlinearizable(f"<{kind}> before <divisions>")
        duration = Fraction(int(element.findtext("duration") or 0), self._divisions)
        if duration <= 0:
            raise _Unlinearizable(f"<{kind}> with a non-positive duration")
        for note_type, modification in split_skip(duration):
            self._emit(kind)
            self._emit(note_type)
            if modification:
                self._emit(modification)


_SHORTEST_TYPE = min(NOTE_TYPE_TO_QUARTER_MULTIPLE.values())
_TYPES_LONGEST_FIRST = sorted(NOTE_TYPE_TO_QUARTER_MULTIPLE.items(), key=lambda item: -item[1])


def _greedy_types(duration: Fraction) -> tuple[list[str], Fraction]:
    types = []
    for note_type, quarters in _TYPES_LONGEST_FIRST:
        while quarters <= duration:
            types.append(note_type)
            duration -= quarters
    return types, duration


def split_skip(duration: Fraction) -> list[tuple[str, str | None]]:
    """Note types (each with an optional time modification) summing exactly to ``duration`` quarters.

    Plain types when they sum exactly; otherwise plain types until the rest is one tuplet-modified type, as the
    LMX spec proposes ("forward half forward half 3in2" for a half plus a triplet half)."""
    plain, residue = _greedy_types(duration)
    if residue == 0:
        return [(t, None) for t in plain]
    parts: list[tuple[str, str | None]] = []
    rest = duration
    while rest > 0:
        for modification in TIME_MODIFICATION_TOKENS:  # the package's order: common tuplets (3in2) first
            types, left = _greedy_types(rest * _ratio(modification))
            if left == 0 and len(types) == 1:
                return parts + [(types[0], modification)]
        fitting = next((t for t, q in _TYPES_LONGEST_FIRST if q <= rest), None)
        if fitting is None:
            break
        parts.append((fitting, None))
        rest -= NOTE_TYPE_TO_QUARTER_MULTIPLE[fitting]
    for modification in TIME_MODIFICATION_TOKENS:
        types, left = _greedy_types(duration * _ratio(modification))
        if left == 0:
            return [(t, modification) for t in types]
    if residue < _SHORTEST_TYPE:
        # MuseScore caps <divisions> and rounds tuplet durations, leaving skips of a division or two that no
        # notation shows (shorter than a 1024th); the package rounds note durations the same way.
        log.debug("dropping a %s-quarter forward/backup remainder (rounding residue)", residue)
        return [(t, None) for t in plain]
    raise _Unlinearizable(f"a forward/backup of {duration} quarters matches no note type or tuplet in LMX")


def _ratio(modification: str) -> Fraction:
    actual, normal = (int(x) for x in modification.split("in"))
    return Fraction(actual, normal)


def linearize_part(part: ET.Element, path: str | os.PathLike[str] | None = None) -> list[str]:
    """LMX tokens of one MusicXML <part> (not modified). Raises LinearizationError naming file and measure."""
    linearizer = _StrictLinearizer()
    try:
        linearizer.process_part(normalize_part(part))
    except (
        _Unlinearizable,
        AssertionError,
        AttributeError,
        KeyError,
        ValueError,
        TypeError,
        ZeroDivisionError,
    ) as exc:
        problem = str(exc) or f"{type(exc).__name__} in the linearizer"
        raise LinearizationError(path, linearizer._measure_number, problem) from exc
    for warning in linearizer.warnings:
        log.debug("%s: %s", path, warning)
    return linearizer.output_tokens


class _StrictDelinearizer(Delinearizer):
    """Delinearizer with strict lexing and fixed tuplet/beam reconstruction."""

    def lex(self, text: str) -> list[Token]:
        # Bug (lmx 1.0.0): unknown tokens are reported and skipped, so a corrupt sequence silently becomes a
        # different score. We raise instead (position is 0-based, as in UnknownTokenError).
        tokens = []
        for i, terminal in enumerate(text.split()):
            if terminal not in TOKEN_SET:
                raise UnknownTokenError(terminal, i)
            tokens.append(Token(terminal, i + 1))
        return tokens

    def _error(self, token: Token, *values: object) -> None:
        log.debug(
            "delinearizer: token %r at %d: %s", token.terminal, token.position, " ".join(map(str, values))
        )

    def process_forward_backup(self, element: ET.Element, tree: Tree) -> None:
        super().process_forward_backup(element, tree)
        if element.tag == "backup":
            # Bug (lmx 1.0.0): the Linearizer forgets voice, staff and stem after a backup (and re-emits them),
            # but the Delinearizer carried them over, giving e.g. a stemless breve the previous voice's stem.
            self._voice = None
            self._staff = None
            self._stem_orientation = None

    def process_note(self, tree: Tree) -> ET.Element:
        tuplet_tokens = [t.terminal for t in tree.suffixes if t.terminal in ("tuplet:start", "tuplet:stop")]
        beam_tokens = [t for t in tree.suffixes if t.terminal.startswith("beam:")]
        is_rest = any(t.terminal == "rest" for t in tree.prefixes)
        note = super().process_note(tree)
        _restore_tuplets(note, tuplet_tokens)
        if is_rest and beam_tokens:
            self._add_rest_beams(note, beam_tokens, any(t.terminal == "grace" for t in tree.prefixes))
        return note

    def _add_rest_beams(self, note: ET.Element, beam_tokens: list[Token], is_grace: bool) -> None:
        """Bug (lmx 1.0.0): the Delinearizer drops beams on rests, which MuseScore writes for rests inside a
        beamed group (and the Linearizer keeps). The beam count then also goes wrong for the following notes."""
        holder = ET.Element("note")
        if is_grace:
            self._open_beam_count_grace = self.emit_beams(holder, beam_tokens, self._open_beam_count_grace)
        else:
            self._open_beam_count = self.emit_beams(holder, beam_tokens, self._open_beam_count)
        position = next((i for i, child in enumerate(note) if child.tag == "notations"), len(note))
        note[position:position] = list(holder)

    def emit_beams(self, note_element: ET.Element, beam_tokens: list[Token], open_beam_count: int) -> int:
        """Bug (lmx 1.0.0): a note that ends one beam level and begins another (MuseScore writes e.g. beam 1
        end + beams 2-3 begin) was read as "begins minus ends" and the end and begins were lost. We keep each
        begin/end in token order after the continuing levels."""
        kinds = [t.terminal for t in beam_tokens]
        begins, ends = kinds.count("beam:begin"), kinds.count("beam:end")
        if not (begins and ends):
            return super().emit_beams(note_element, beam_tokens, open_beam_count)
        continuing = max(open_beam_count - ends, 0)
        number = 0
        for number in range(1, continuing + 1):
            ET.SubElement(note_element, "beam", {"number": str(number)}).text = "continue"
        for kind in kinds:
            number += 1
            text = kind.split(":")[1].replace("-", " ")
            ET.SubElement(note_element, "beam", {"number": str(number)}).text = text
        return continuing + begins


def _restore_tuplets(note: ET.Element, tuplet_tokens: list[str]) -> None:
    """Bug (lmx 1.0.0): the Delinearizer keeps at most one tuplet:start and one tuplet:stop per note, always
    writes stop before start. Nested tuplets (two starts on one note) and a one-note tuplet (start then stop)
    were lost or reordered. We rebuild the <tuplet> elements in token order."""
    notations = note.find("notations")
    if notations is None or not tuplet_tokens:
        return
    old = notations.findall("tuplet")
    position = list(notations).index(old[0]) if old else 0
    for element in old:
        notations.remove(element)
    new = [ET.Element("tuplet", {"type": token.split(":")[1]}) for token in tuplet_tokens]
    notations[position:position] = new


def delinearize(tokens: Sequence[str] | str) -> ET.Element:
    """A MusicXML <part> element (with <alter> restored by PitchAlternator) from LMX tokens."""
    token_list = check_tokens(split_tokens(tokens))
    delinearizer = _StrictDelinearizer()
    return delinearizer.process_text(" ".join(token_list))


def lmx_to_musicxml(tokens: Sequence[str] | str, part_name: str = "Piano", *, infer_time: bool = False) -> str:
    """A complete score-partwise MusicXML document (text) from LMX tokens; music21 and Verovio read it.

    Measures are numbered 1..N and the first states the key, time and clefs found later in the part
    (``notation.complete``); ``infer_time``: a part without any time signature gets the one its measures imply
    (for pages read by OMR; off for exact LMX round trips)."""
    part = complete_part(delinearize(tokens), infer_time=infer_time)
    tree = part_to_score(part, part_id="P1", part_name=part_name)
    ET.indent(tree, space="  ")
    body = ET.tostring(tree.getroot(), encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
