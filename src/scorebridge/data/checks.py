"""Alignment check of a score-time system sample: its LMX and its MIDI hold the same notes; shapes are right.

Pitch rule. The LMX is delinearized (alterations restored from key and accidentals) and every pitched note
counts once unless it ends a tie (``tied:stop``): a tied continuation sounds on without a new onset. On the MIDI
side every note of the sample counts, except those tied in from the previous system: they sound from 0 (cut at
the sample start) but were struck before it, and the builder lists them in ``Sample.tied_in``. Their
LMX notes are the tie stops of the first measure, so the two multisets compare exactly.
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
    """MIDI pitch multiset of the notes struck in an LMX sequence (tie stops excluded)."""
    return _lmx_notes(tokens)[0]


def _lmx_notes(tokens: tuple[str, ...] | list[str]) -> tuple[Counter[int], Counter[int]]:
    """(struck notes, tie stops) as MIDI pitch multisets."""
    part = delinearize(list(tokens))
    struck: Counter[int] = Counter()
    stops: Counter[int] = Counter()
    for note in part.iter("note"):
        pitch = note.find("pitch")
        if pitch is None:
            continue  # rests and unpitched notes
        (stops if _continues_tie(note) else struck)[_midi_pitch(pitch)] += 1
    return struck, stops


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
        score, stops = _lmx_notes(sample.lmx)
    except Exception as exc:  # the delinearizer fails in assorted ways on malformed sequences
        return [f"LMX does not delinearize ({type(exc).__name__}: {exc})"]
    midi = Counter(n.pitch for n in sample.notes if not n.is_drum)
    if sample.tied_in is not None:
        tied_in = Counter(sample.notes[i].pitch for i in sample.tied_in)
    else:  # a sample from elsewhere: take the notes sounding at 0 that the LMX shows as tie stops
        tied_in = Counter(n.pitch for n in sample.notes if n.onset == 0) & stops
    out = []
    if tied_in - stops:
        out.append(f"notes tied in from before without a tie stop in the LMX: {_listed(tied_in - stops)}")
    midi = midi - tied_in
    if score != midi:
        only_lmx, only_midi = score - midi, midi - score
        out.append(f"pitches differ: {sum(score.values())} struck in LMX, {sum(midi.values())} in MIDI; "
                   f"only in LMX {_listed(only_lmx)}, only in MIDI {_listed(only_midi)}")
    return out


def _listed(counter: Counter[int]) -> str:
    items = sorted(counter.elements())
    text = ",".join(str(p) for p in items[:MAX_LISTED])
    return f"[{text}{',...' if len(items) > MAX_LISTED else ''}]"
