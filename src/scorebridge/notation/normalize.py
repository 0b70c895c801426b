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
    for measure in part.iterfind("measure"):
        merge_adjacent_skips(measure)
        drop_non_tie_tieds(measure)
    return part


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
