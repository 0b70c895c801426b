"""Alignment check of a score-time system sample: its LMX and its MIDI hold the same notes; shapes are right.

Pitch rule. The LMX is delinearized (alterations restored from key and accidentals) and every pitched note that
is struck in the slice counts once: a note that continues a tie from an earlier note *of the slice* is not
struck again. A note tied in from the previous system is different: LMX cannot encode the stop of a tie whose
start lies outside the slice, so the slice's first measure shows it as a plain note, and the MIDI of the sample
holds it as a note starting at 0 (it sounds, cut at the sample start). Both sides therefore count it once, and
the check compares the LMX multiset with the multiset of *all* the sample's notes (new and tied in).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass

from scorebridge.constants import IMAGE_PATCH_PX
from scorebridge.data.schema import Sample
from scorebridge.notation import UnknownTokenError, check_tokens, delinearize

_STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MAX_LISTED = 6  # pitches named in a mismatch reason


@dataclass(frozen=True)
class CheckResult:
    """``ok`` is True when ``reasons`` is empty; each reason is one line."""

    ok: bool
    reasons: tuple[str, ...] = ()


def lmx_pitches(tokens: tuple[str, ...] | list[str]) -> Counter[int]:
    """MIDI pitch multiset of the notes struck in an LMX sequence (see the module docstring)."""
    part = delinearize(list(tokens))
    out: Counter[int] = Counter()
    for note in part.iter("note"):
        pitch = note.find("pitch")
        if pitch is None:
            continue  # rests and unpitched notes
        if _continues_tie(note):
            continue
        out[_midi_pitch(pitch)] += 1
    return out


def _continues_tie(note: ET.Element) -> bool:
    types = {t.get("type") for t in note.findall("tie")}
    types |= {t.get("type") for t in note.findall("notations/tied")}
    return "stop" in types or "continue" in types


def _midi_pitch(pitch: ET.Element) -> int:
    step = _STEP[(pitch.findtext("step") or "C").strip().upper()]
    octave = int((pitch.findtext("octave") or "4").strip())
    alter = round(float((pitch.findtext("alter") or "0").strip()))
    return (octave + 1) * 12 + step + alter


def check_system_sample(sample: Sample) -> CheckResult:
    """All checks for one score-time system sample; never raises for bad data, reports it."""
    reasons: list[str] = []
    missing = [m for m in ("image", "lmx", "midi", "audio") if m not in sample.modalities]
    if missing:
        reasons.append(f"missing modalities: {', '.join(missing)}")
    if sample.timeline != "score" or sample.kind != "system":
        reasons.append(f"not a score-time system sample (kind {sample.kind}, timeline {sample.timeline})")
    if sample.audio is not None and len(sample.audio) != sample.audio_samples_expected:
        reasons.append(f"audio has {len(sample.audio)} samples, expected {sample.audio_samples_expected}")
    if sample.image is not None:
        reasons += _image_reasons(sample)
    if sample.lmx is not None:
        try:
            check_tokens(sample.lmx)
        except UnknownTokenError as exc:
            reasons.append(str(exc))
        else:
            if sample.notes is not None:
                reasons += _pitch_reasons(sample)
    return CheckResult(not reasons, tuple(reasons))


def _image_reasons(sample: Sample) -> list[str]:
    assert sample.image is not None
    h, w = sample.image.shape
    patches = math.ceil(h / IMAGE_PATCH_PX) * math.ceil(w / IMAGE_PATCH_PX)
    out = []
    if h == 0 or w == 0:
        out.append("empty image")
    recorded, budget = sample.meta.get("image_patches"), sample.meta.get("max_image_patches")
    if recorded is not None and recorded != patches:
        out.append(f"image {h}x{w} has {patches} patches, meta says {recorded}")
    if budget is not None and patches > budget:
        out.append(f"image {h}x{w} has {patches} patches, over the budget of {budget}")
    heights = sample.meta.get("system_heights")
    if heights is not None and sum(heights) != h:
        out.append(f"system heights {heights} do not add up to the image height {h}")
    return out


def _pitch_reasons(sample: Sample) -> list[str]:
    assert sample.lmx is not None and sample.notes is not None
    try:
        score = lmx_pitches(sample.lmx)
    except Exception as exc:  # the delinearizer fails in assorted ways on malformed sequences
        return [f"LMX does not delinearize ({type(exc).__name__}: {exc})"]
    midi = Counter(n.pitch for n in sample.notes if not n.is_drum)
    if score == midi:
        return []
    only_lmx, only_midi = score - midi, midi - score
    return [f"pitches differ: {sum(score.values())} in LMX, {sum(midi.values())} in MIDI; "
            f"only in LMX {_listed(only_lmx)}, only in MIDI {_listed(only_midi)}"]


def _listed(counter: Counter[int]) -> str:
    items = sorted(counter.elements())
    text = ",".join(str(p) for p in items[:MAX_LISTED])
    return f"[{text}{',...' if len(items) > MAX_LISTED else ''}]"
