"""LMX of a range of measures (and chosen staves) that stands alone, like one system of a page.

A slice carries the attributes in force at its start that an engraver prints again at the start of every system
(clef per staff and key, with divisions and staves; the time signature only on request). Selecting staves
keeps their notes, renumbers them from 1 and replaces the other staves' notes by <forward> so that the time
positions stay right.
"""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from fractions import Fraction

from scorebridge.notation.codec import linearize_part

_HEAD_ORDER = (
    "footnote",
    "level",
    "divisions",
    "key",
    "time",
    "staves",
    "part-symbol",
    "instruments",
    "clef",
)


def attributes_in_force(part: ET.Element, index: int) -> dict[str, ET.Element]:
    """Attributes in force at the start of measure ``index`` (0-based position): keys 'divisions', 'key',
    'time', 'staves' and 'clef:N' for each staff N; values are the (uncopied) elements."""
    state: dict[str, ET.Element] = {}
    for measure in part.findall("measure")[:index]:
        for attributes in measure.iterfind("attributes"):
            for element in attributes:
                if element.tag == "clef":
                    state[f"clef:{element.get('number', '1')}"] = element
                elif element.tag in ("divisions", "key", "time", "staves"):
                    state[element.tag] = element
    return state


# What an engraver prints again at the start of every system, and so what a system's LMX carries: clefs and the
# key signature (plus the bookkeeping divisions/staves) but not the time signature, which is printed only where it
# changes. The same choice as the LMX authors' split_part_to_systems, which made the OLiMPiC system LMX.
SYSTEM_ATTRIBUTES = ("divisions", "key", "staves", "clef")


def slice_part(part: ET.Element, start: int, end: int, staves: Sequence[int] | None = None,
               carry: Sequence[str] = SYSTEM_ATTRIBUTES) -> ET.Element:
    """A new <part> with measures [start, end) (0-based positions) that carries the ``carry`` attributes in force
    at its start (names as in SYSTEM_ATTRIBUTES; add "time" for a slice that must state its meter)."""
    measures = part.findall("measure")
    if not 0 <= start < end <= len(measures):
        raise ValueError(f"measure range [{start}, {end}) is not within the part's {len(measures)} measures")
    sliced = ET.Element("part", dict(part.attrib))
    sliced.extend(copy.deepcopy(m) for m in measures[start:end])
    state = attributes_in_force(part, start)
    _carry_attributes(sliced[0], {k: v for k, v in state.items() if k.split(":")[0] in carry})
    if staves is not None:
        _select_staves(sliced, list(staves))
    return sliced


def lmx_for_measures(
    part: ET.Element,
    start: int,
    end: int,
    staves: Sequence[int] | None = None,
    path: str | os.PathLike[str] | None = None,
    carry: Sequence[str] = SYSTEM_ATTRIBUTES,
) -> list[str]:
    """LMX tokens of measures [start, end) (0-based positions of <measure> in ``part``), optionally only the given
    1-based ``staves`` (renumbered from 1 in the given order, e.g. [2] gives the bass staff as a single staff)."""
    return linearize_part(slice_part(part, start, end, staves, carry), path)


def _carry_attributes(first: ET.Element, state: dict[str, ET.Element]) -> None:
    head = next((child for child in first if child.tag == "attributes"), None)
    before_content = next(
        (i for i, child in enumerate(first) if child.tag in ("note", "forward", "backup")), len(first)
    )
    if head is None or list(first).index(head) > before_content:
        head = ET.Element("attributes")
        first.insert(0, head)
    present = {("clef:" + e.get("number", "1")) if e.tag == "clef" else e.tag for e in head}
    for name, element in state.items():
        if name not in present:
            head.append(copy.deepcopy(element))
    head[:] = sorted(
        head, key=lambda e: (_HEAD_ORDER.index(e.tag) if e.tag in _HEAD_ORDER else 99, e.get("number", "1"))
    )


def _select_staves(part: ET.Element, staves: list[int]) -> None:
    renumber = {str(old): str(new) for new, old in enumerate(staves, start=1)}
    single = len(staves) == 1
    for measure in part.iterfind("measure"):
        for attributes in measure.iterfind("attributes"):
            for element in list(attributes):
                if element.tag == "staves":
                    if single:
                        attributes.remove(element)
                    else:
                        element.text = str(len(staves))
                elif element.tag in ("clef", "staff-details", "key", "time") and "number" in element.attrib:
                    number = element.get("number", "1")
                    if number not in renumber:
                        attributes.remove(element)
                    elif single:
                        del element.attrib["number"]
                    else:
                        element.set("number", renumber[number])
        new_children: list[ET.Element] = []
        for child in measure:
            if child.tag == "note":
                staff = child.find("staff")
                number = staff.text.strip() if staff is not None and staff.text else "1"
                if number not in renumber:
                    if (
                        child.find("chord") is None
                        and child.find("grace") is None
                        and child.find("duration") is not None
                    ):
                        new_children.append(_forward(Fraction(child.findtext("duration") or 0)))
                    continue
                if staff is not None:
                    if single:
                        child.remove(staff)
                    else:
                        staff.text = renumber[number]
            elif child.tag == "direction":
                continue  # directions of other staves would be misplaced; the linearizer ignores them anyway
            new_children.append(child)
        measure[:] = _cancel_skips(new_children)


def _forward(duration: Fraction) -> ET.Element:
    element = ET.Element("forward")
    ET.SubElement(element, "duration").text = str(int(duration))
    return element


def _cancel_skips(children: list[ET.Element]) -> list[ET.Element]:
    """Fold runs of forward/backup (left by removed notes) into one net skip, and drop trailing skips."""
    out: list[ET.Element] = []
    net = 0
    for child in children:
        if child.tag in ("forward", "backup"):
            sign = 1 if child.tag == "forward" else -1
            net += sign * int(Fraction(child.findtext("duration") or 0))
            continue
        if child.tag in ("note", "attributes") and net:
            skip = ET.Element("forward" if net > 0 else "backup")
            ET.SubElement(skip, "duration").text = str(abs(net))
            out.append(skip)
            net = 0
        out.append(child)
    return out
