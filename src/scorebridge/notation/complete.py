"""Fill in what a delinearized <part> leaves out, so that readers show the score a page shows.

LMX states a key, clefs and a time signature only where a system or the music states them, and has no measure
numbers. A page read system by system (OMR) therefore often reaches the first measure without a key (the model
wrote it in a later system only) and without a time signature (only a piece's first system shows one), and
music21 / MuseScore then read C major in 4/4. Here:

- measures are numbered 1..N;
- the first measure gets the key, time signature and clef of each staff stated first anywhere in the part
  (the "first system" rule: a later system restating them means they were in force from the start);
- later restatements of what is already in force are dropped (a real change stays);
- optionally (``infer_time``), a part with no time signature at all gets the one its measures' most common
  length implies (3 quarters -> 3/4, 7 eighths -> 7/8): a page from the middle of a piece shows none.
"""

from __future__ import annotations

import copy
import logging
import xml.etree.ElementTree as ET
from collections import Counter
from fractions import Fraction

log = logging.getLogger(__name__)

# MusicXML's order of the <attributes> children we touch (the schema's sequence)
_ORDER = ("footnote", "level", "divisions", "key", "time", "staves", "part-symbol", "instruments", "clef")
_DEFAULT_CLEFS = {"1": ("G", "2"), "2": ("F", "4"), "3": ("F", "4")}


def complete_part(part: ET.Element, *, infer_time: bool = False) -> ET.Element:
    """Number the measures and state key, time and clefs at the start of ``part`` (changed in place and returned;
    see the module docstring)."""
    measures = part.findall("measure")
    if not measures:
        return part
    for number, measure in enumerate(measures, start=1):
        measure.set("number", str(number))
    first = _head_attributes(measures[0])
    key = _first(measures, "key")
    if key is not None and first.find("key") is None:
        _insert(first, copy.deepcopy(key))
        log.debug("the page's first measure takes the key stated later (fifths %s)", key.findtext("fifths"))
    if first.find("time") is None:
        time = _first(measures, "time")
        lengths = _lengths(measures, stop=_first_index(measures, "time"))
        implied = _implied_time(lengths)
        if time is not None and (len(lengths) <= 1 or implied is None
                                 or _time_quarters(time) == _time_quarters(implied)):
            _insert(first, copy.deepcopy(time))  # a pickup alone before it says nothing against it
        elif implied is not None and infer_time:
            _insert(first, implied)
            log.debug("no time signature in the LMX: %s/%s from the measures' lengths",
                      implied.findtext("beats"), implied.findtext("beat-type"))
    _complete_clefs(measures, first)
    _drop_restatements(measures)
    return part


def _head_attributes(measure: ET.Element) -> ET.Element:
    """The <attributes> before the first note of ``measure`` (created at its start when there is none)."""
    for child in measure:
        if child.tag == "attributes":
            return child
        if child.tag in ("note", "backup", "forward"):
            break
    head = ET.Element("attributes")
    measure.insert(0, head)
    return head


def _insert(attributes: ET.Element, element: ET.Element) -> None:
    rank = _ORDER.index(element.tag)
    position = next((i for i, child in enumerate(attributes)
                     if child.tag in _ORDER and _ORDER.index(child.tag) > rank), len(attributes))
    attributes.insert(position, element)


def _first(measures: list[ET.Element], tag: str) -> ET.Element | None:
    for measure in measures:
        for attributes in measure.findall("attributes"):
            found = attributes.find(tag)
            if found is not None:
                return found
    return None


def _first_index(measures: list[ET.Element], tag: str) -> int:
    return next((i for i, m in enumerate(measures) if any(a.find(tag) is not None for a in m.findall("attributes"))),
                len(measures))


def _complete_clefs(measures: list[ET.Element], first: ET.Element) -> None:
    staves = int(first.findtext("staves") or 1)
    stated = {c.get("number", "1") for c in first.findall("clef")}
    for staff in (str(s) for s in range(1, staves + 1)):
        if staff in stated:
            continue
        later = next((c for m in measures for a in m.findall("attributes") for c in a.findall("clef")
                      if c.get("number", "1") == staff), None)
        if later is not None:
            clef = copy.deepcopy(later)
        else:
            sign, line = _DEFAULT_CLEFS.get(staff, ("G", "2")) if staves > 1 else ("G", "2")
            clef = ET.Element("clef")
            ET.SubElement(clef, "sign").text = sign
            ET.SubElement(clef, "line").text = line
        if staves > 1:
            clef.set("number", staff)
        first.append(clef)  # clefs close the sequence we touch


def _signature(element: ET.Element) -> tuple:
    return tuple((child.tag, (child.text or "").strip()) for child in element.iter() if child is not element)


def _drop_restatements(measures: list[ET.Element]) -> None:
    """Remove key, time and clef elements that restate what is in force; drop <attributes> left empty."""
    in_force: dict[str, tuple] = {}
    for measure in measures:
        for attributes in measure.findall("attributes"):
            for element in list(attributes):
                if element.tag not in ("key", "time", "clef"):
                    continue
                slot = element.tag + ":" + element.get("number", "1")
                signature = _signature(element)
                if in_force.get(slot) == signature:
                    attributes.remove(element)
                in_force[slot] = signature
            if len(attributes) == 0:
                measure.remove(attributes)


def _lengths(measures: list[ET.Element], stop: int) -> list[Fraction]:
    """The length in quarters of each measure before ``stop`` (the furthest point any voice reaches)."""
    divisions = None
    lengths = []
    for measure in measures[:stop]:
        text = next((a.findtext("divisions") for a in measure.findall("attributes") if a.find("divisions") is not None),
                    None)
        divisions = int(text) if text else divisions
        if not divisions:
            continue
        position = longest = 0
        for child in measure:
            duration = int(child.findtext("duration") or 0)
            if child.tag == "note" and child.find("chord") is None and child.find("grace") is None:
                position += duration
            elif child.tag == "forward":
                position += duration
            elif child.tag == "backup":
                position -= duration
            longest = max(longest, position)
        if longest:
            lengths.append(Fraction(longest, divisions))
    return lengths


def _implied_time(lengths: list[Fraction]) -> ET.Element | None:
    """A <time> for the most common measure length (the first and last measures, often partial, count only when
    there is nothing else); None when no length is whole in eighths."""
    inner = lengths[1:-1] or lengths
    if not inner:
        return None
    length = Counter(inner).most_common(1)[0][0]
    for beat_type in (4, 8, 16):
        beats = length * beat_type / 4
        if beats.denominator == 1 and 1 <= beats <= 16:
            time = ET.Element("time")
            ET.SubElement(time, "beats").text = str(beats.numerator)
            ET.SubElement(time, "beat-type").text = str(beat_type)
            return time
    return None


def _time_quarters(time: ET.Element) -> Fraction | None:
    try:
        return Fraction(int(time.findtext("beats") or 0) * 4, int(time.findtext("beat-type") or 0))
    except (ValueError, ZeroDivisionError):
        return None
