"""MusicXML clean-up applied to a copy of a <part> before linearization.

Each function fixes one way real (MuseScore-exported) MusicXML trips the package's Linearizer or makes its output
ambiguous, without changing the music. The bug each one works around is named in its docstring.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from fractions import Fraction


def normalize_part(part: ET.Element) -> ET.Element:
    """Return a normalised deep copy of ``part``; the input is left untouched."""
    part = copy.deepcopy(part)
    divisions, measure_length = 1, None
    for measure in part.iterfind("measure"):
        divisions, measure_length = _attributes(measure, divisions, measure_length)
        add_missing_types(measure, divisions, measure_length)
        drop_unit_tuplets(measure)
        merge_adjacent_skips(measure)
        drop_non_tie_tieds(measure)
    return part


# Quarter-note multiples of the MusicXML note types the LMX vocabulary has, longest first.
_TYPE_QUARTERS = (("long", Fraction(16)), ("breve", Fraction(8)), ("whole", Fraction(4)), ("half", Fraction(2)),
                  ("quarter", Fraction(1)), ("eighth", Fraction(1, 2)), ("16th", Fraction(1, 4)),
                  ("32nd", Fraction(1, 8)), ("64th", Fraction(1, 16)), ("128th", Fraction(1, 32)),
                  ("256th", Fraction(1, 64)), ("512th", Fraction(1, 128)), ("1024th", Fraction(1, 256)))
# Where <type> and <dot> go among a <note>'s children (MusicXML's order): after these.
_BEFORE_TYPE = ("grace", "cue", "chord", "pitch", "unpitched", "rest", "duration", "tie", "instrument", "footnote",
                "level", "voice")


def _attributes(measure: ET.Element, divisions: int, length: Fraction | None) -> tuple[int, Fraction | None]:
    """Divisions and the full measure length (quarters) in force after this measure's first <attributes>."""
    for attributes in measure.iterfind("attributes"):
        if attributes.findtext("divisions"):
            divisions = int(float(attributes.findtext("divisions") or 1))
        time = attributes.find("time")
        if time is not None and time.findtext("beats") and time.findtext("beat-type"):
            try:
                beats = sum(Fraction(b) for b in (time.findtext("beats") or "").split("+"))
                length = beats * 4 / Fraction(time.findtext("beat-type") or "4")
            except (ValueError, ZeroDivisionError):
                length = None
    return divisions, length


def note_type_for(quarters: Fraction) -> tuple[str, int] | None:
    """The (type, dots) whose written length is ``quarters``, or None when no type with up to 3 dots fits."""
    for name, base in _TYPE_QUARTERS:
        for dots in range(4):
            if base * (2 - Fraction(1, 2**dots)) == quarters:
                return name, dots
    return None


def _rest_to_forward(measure: ET.Element, rest: ET.Element) -> None:
    forward = ET.Element("forward")
    for tag in ("duration", "voice", "staff"):
        element = rest.find(tag)
        if element is not None:
            forward.append(copy.deepcopy(element))
    index = list(measure).index(rest)
    measure.remove(rest)
    measure.insert(index, forward)


def drop_unit_tuplets(measure: ET.Element) -> None:
    """Remove <time-modification> of ratio 1 (e.g. 8 in the time of 8) and the <tuplet> marks of those notes.

    Such a "tuplet" does not change any duration, and LMX has no token for it (``8in8``): some exporters write one
    for a bracketed group of plain notes (ASAP's Beethoven op. 53/i, measure 283).
    """
    for note in measure.iterfind("note"):
        modification = note.find("time-modification")
        if modification is None or modification.findtext("actual-notes") != modification.findtext("normal-notes"):
            continue
        note.remove(modification)
        for notations in note.iterfind("notations"):
            for tuplet in notations.findall("tuplet"):
                notations.remove(tuplet)


def add_missing_types(measure: ET.Element, divisions: int, measure_length: Fraction | None) -> None:
    """Give notes and rests without <type> the type their duration implies.

    Bug (lmx 1.0.0): the Linearizer raises "Note does not have <type>" although MusicXML makes <type> optional.
    Finale and other exporters (e.g. most ASAP scores) write whole-measure rests as a bare ``<rest/>`` with the
    measure's duration: that is a measure rest, so it gets ``measure="yes"`` (LMX ``rest:measure``). Other notes get
    the type (and dots) of their duration, scaled back through <time-modification> for tuplets; a duration that no
    type fits is left alone, and the Linearizer reports it with the measure number.
    """
    for note in list(measure.iterfind("note")):  # a list: invisible rests may be replaced on the way
        if note.find("type") is not None or note.find("grace") is not None or not note.findtext("duration"):
            continue
        duration = Fraction(int(float(note.findtext("duration") or 0)), divisions)
        rest = note.find("rest")
        if rest is not None and rest.get("measure") == "yes":
            continue
        if rest is not None and measure_length is not None and duration == measure_length:
            rest.set("measure", "yes")
            continue
        modification = note.find("time-modification")
        if modification is not None and modification.findtext("actual-notes") and modification.findtext("normal-notes"):
            duration *= Fraction(int(modification.findtext("actual-notes") or 1),
                                 int(modification.findtext("normal-notes") or 1))
        fit = note_type_for(duration)
        if fit is None and rest is not None and note.get("print-object") == "no" and note.find("chord") is None:
            _rest_to_forward(measure, note)  # an invisible rest of no single length only moves time
            continue
        if fit is None:
            continue
        name, dots = fit
        children = list(note)
        at = max((i + 1 for i, c in enumerate(children) if c.tag in _BEFORE_TYPE), default=0)
        new = [ET.Element("type")] + [ET.Element("dot") for _ in range(dots)]
        new[0].text = name
        for offset, element in enumerate(new):
            note.insert(at + offset, element)


def merge_adjacent_skips(measure: ET.Element) -> None:
    """Merge runs of adjacent <forward> (or <backup>) elements into one element with the summed duration.

    Bug (lmx 1.0.0): the Delinearizer merges adjacent forward/backup token groups into one element, while the
    Linearizer writes each element separately and splits each duration greedily into note types. So
    ``<forward>q</forward><forward>e</forward><forward>q</forward>`` gives "forward quarter forward eighth forward
    quarter", which comes back as one forward of 5 eighths = "forward half forward eighth". A run of forwards
    means the same as one forward of the total, so we linearize that canonical form; it round-trips exactly.
    Elements between them that do not move time (<direction>, <print>...) are kept after the merged element.
    """
    children = list(measure)
    kept: list[ET.Element] = []
    moved: list[ET.Element] = []  # time-neutral elements found inside a run, re-appended after it
    run: ET.Element | None = None
    for child in children:
        if (
            child.tag in ("forward", "backup")
            and run is not None
            and run.tag == child.tag
            and _duration(child)
        ):
            total = _duration(run) + _duration(child)
            run.find("duration").text = str(total)  # type: ignore[union-attr]
            continue
        if child.tag in ("note", "forward", "backup", "attributes"):
            kept.extend(moved)
            moved = []
            run = child if child.tag in ("forward", "backup") and _duration(child) else None
            kept.append(child)
        elif run is not None:
            moved.append(child)
        else:
            kept.append(child)
    kept.extend(moved)
    measure[:] = kept


def _duration(element: ET.Element) -> int:
    text = element.findtext("duration")
    try:
        return int(Fraction((text or "0").strip()))
    except ValueError:
        return 0


def drop_non_tie_tieds(measure: ET.Element) -> None:
    """Remove <tied type="let-ring"> and <tied type="continue"> (and <tie> of those types).

    Bug (lmx 1.0.0): the Linearizer asserts that every <tied> is start or stop and crashes on MuseScore's
    "let ring" (laissez vibrer) ties; LMX has no token for them, so they cannot be carried and are dropped.
    """
    for note in measure.iterfind("note"):
        for holder, tag in ((note.find("notations"), "tied"), (note, "tie")):
            if holder is None:
                continue
            for element in holder.findall(tag):
                if element.get("type") not in ("start", "stop"):
                    holder.remove(element)
