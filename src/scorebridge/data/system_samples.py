"""System samples from a score: engrave once, cut into runs of systems, and give each run all four modalities.

One piece goes through these steps (all pure, randomness only from ``piece_rng``):

1. engrave the MusicXML text with Verovio (a drawn look when ``config.vary_engraving``);
2. check that Verovio's measures are the part's <measure> elements, one for one (else ``PieceRejected``);
3. crop and normalize every system, then group consecutive systems into runs within the size budget
   (``config.max_systems`` systems, ``config.max_image_patches`` 16x16 patches of the stacked image);
4. per run: the LMX of exactly its measures, Verovio's MIDI notes (score time, optionally tempo-scaled) cut
   to the run's time span, and the audio of the whole piece (synthesized once) cut to the same span.

Time spans use the **first play** of each measure: Verovio expands repeats, so a measure may sound twice; a
run is written only if the first plays of its measures follow each other without a gap or a jump (a repeat
sign or a volta bracket inside a run would put other music between them), and only if it passes
``checks.check_system_sample`` (LMX and MIDI hold the same notes). Such runs are skipped, not the piece, and every
sample of the piece lists the skipped runs with their reasons in ``meta['skipped_runs']``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorebridge.constants import IMAGE_PATCH_PX
from scorebridge.data.checks import check_system_sample
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec, piece_rng, sample_id
from scorebridge.data.cutting import cut_audio, cut_notes
from scorebridge.data.schema import Sample
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.fileio import work_dir
from scorebridge.midi import Note, read_midi, write_midi
from scorebridge.notation import LinearizationError, select_part
from scorebridge.notation.slicing import lmx_for_measures
from scorebridge.render import (
    EngravedScore,
    EngraveOptions,
    crop_systems,
    engrave,
    normalize_system,
    synthesize,
    system_zoom,
)
from scorebridge.render.crops import SystemCrop

log = logging.getLogger(__name__)

BOUNDARY_TOLERANCE_MS = 2  # Verovio's MIDI and timemap round independently: onsets may differ by 1 ms
WHITE = 255


@dataclass(frozen=True)
class RunInfo:
    """Where one sample came from: its systems, measures and score-time span (after tempo scaling)."""

    sample_id: str
    systems: tuple[tuple[int, int], ...]  # (page, system index on the page) of each stacked system
    measure_start: int  # 0-based <measure> positions in the part, end exclusive
    measure_end: int
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class SkippedRun:
    measure_start: int
    measure_end: int
    reason: str


@dataclass(frozen=True, eq=False)
class SystemBuild:
    """The samples of one piece plus the score timing that a performance alignment (ASAP) needs.

    All times are score-time milliseconds after tempo scaling (``tempo_factor``: >1 plays faster).
    """

    samples: tuple[Sample, ...]
    runs: tuple[RunInfo, ...]  # one per sample, same order
    measure_plays: tuple[tuple[tuple[int, int], ...], ...]  # per <measure> position: every play (start, end)
    score_notes: tuple[Note, ...]  # Verovio's MIDI notes of the whole piece, absolute score time
    tempo_factor: float
    soundfont: str
    engrave_options: EngraveOptions
    skipped: tuple[SkippedRun, ...]

    def measure_span(self, index: int) -> tuple[int, int] | None:
        """First play of the measure at ``index`` (the span samples use), or None if it never sounds."""
        plays = self.measure_plays[index]
        return plays[0] if plays else None


@dataclass(frozen=True)
class _System:
    image: np.ndarray
    crop: SystemCrop


def build_system_samples(spec: PieceSpec, config: BuildConfig, musicxml: str,
                         part_index: int | None = None) -> SystemBuild:
    """All system samples of one score; see the module docstring.

    ``musicxml`` is the text of the score to engrave; ``part_index`` is the 1-based part whose LMX is taken
    (default: the piano part, as ``notation.select_part``). Every staff drawn must belong to that part, so pass
    a score that holds only it (Lieder: the piano part alone). Raises ``PieceRejected`` with a one-line reason.
    """
    part = _part(musicxml, part_index, spec)
    options = (EngraveOptions.sample(piece_rng(spec, config, "engrave"), config.page_width_range)
               if config.vary_engraving else EngraveOptions())
    tempo = _tempo_factor(spec, config)
    soundfont = str(piece_rng(spec, config, "soundfont").choice(list(config.soundfonts)))
    with work_dir("systems") as tmp:  # named by pid: a resumed build sweeps what a killed one left
        engraved = _engrave(Path(tmp), musicxml, options, spec)
        _check_measures(part, engraved, spec)
        systems = _systems(engraved, config, part.get("id", ""), spec)
        notes = tuple(_scale_note(n, tempo) for n in _midi_notes(Path(tmp), engraved.midi))
        if not notes:
            raise PieceRejected("Verovio's MIDI has no notes")
        plays = tuple(tuple((_scale(p.start_ms, tempo), _scale(p.end_ms, tempo)) for p in m.plays)
                      for m in engraved.measures)
        audio = _synthesize(Path(tmp), notes, soundfont, config.sample_rate)
    runs, skipped = plan_runs(systems, plays, config.max_systems, config.max_image_patches)
    if not runs:
        reasons = "; ".join(sorted({s.reason for s in skipped}))
        raise PieceRejected(f"no system run could be aligned ({reasons})")
    samples: list[Sample] = []
    for run in runs:
        try:
            sample = _sample(spec, config, len(samples), [systems[i] for i in run], part, plays, notes, audio,
                             soundfont)
        except LinearizationError as exc:  # e.g. a tuplet ratio LMX has no token for: only this run is lost
            first, last = systems[run[0]].crop, systems[run[-1]].crop
            skipped.append(SkippedRun(first.measure_start, last.measure_end, f"LMX: {exc.problem}"))
            continue
        # Verovio's MIDI can disagree with the notation it engraved (a tie across voices played as two strikes):
        # such a run is not written, and the reason is kept with the piece's other samples.
        result = check_system_sample(sample)
        if not result.ok:
            skipped.append(SkippedRun(sample.measure_start or 0, sample.measure_end or 0,
                                      "check: " + result.reasons[0]))
            continue
        samples.append(sample)
    if not samples:
        reasons = "; ".join(sorted({s.reason for s in skipped}))
        raise PieceRejected(f"no system run passed the alignment check ({reasons[:300]})")
    skipped.sort(key=lambda s: s.measure_start)
    skipped_meta = [dataclasses.asdict(s) for s in skipped]
    meta = {"engraving": dataclasses.asdict(options), "tempo_factor": tempo, "skipped_runs": skipped_meta}
    samples = [dataclasses.replace(s, meta={**s.meta, **meta}) for s in samples]
    infos = [RunInfo(s.id, tuple(tuple(x) for x in s.meta["systems"]), s.measure_start or 0, s.measure_end or 0,
                     s.start_ms, s.end_ms) for s in samples]
    log.debug("%s/%s: %d samples, %d runs skipped", spec.source, spec.piece, len(samples), len(skipped))
    return SystemBuild(tuple(samples), tuple(infos), plays, notes, tempo, soundfont, options, tuple(skipped))


# ---------------------------------------------------------------------------------------------- planning


def image_patches(height: int, width: int, patch: int = IMAGE_PATCH_PX) -> int:
    """16x16 patches needed to cover an image (edges padded up to a whole patch)."""
    return math.ceil(height / patch) * math.ceil(width / patch)


def first_play_span(plays: Sequence[tuple[tuple[int, int], ...]], start: int, end: int) -> tuple[int, int] | str:
    """The score-time span of measures [start, end) by their first plays, or why there is none.

    The first plays must follow each other exactly (each measure starts where the previous one ended).
    """
    spans = [plays[i][0] if plays[i] else None for i in range(start, end)]
    if any(s is None for s in spans):
        return "a measure never sounds in Verovio's timemap"
    for (_, prev_end), (next_start, _) in zip(spans, spans[1:], strict=False):  # type: ignore[misc]
        if abs(next_start - prev_end) > BOUNDARY_TOLERANCE_MS:
            return "a repeat or volta jump inside the run (first plays are not contiguous)"
    begin, finish = spans[0][0], spans[-1][1]  # type: ignore[index]
    if finish <= begin:
        return "the run has no duration"
    return begin, finish


def plan_runs(systems: Sequence[_System], plays: Sequence[tuple[tuple[int, int], ...]], max_systems: int,
              max_patches: int) -> tuple[list[list[int]], list[SkippedRun]]:
    """Group consecutive systems greedily into runs (lists of system positions) within the budget.

    A run grows while the next system fits the budget and continues the previous one in time; a system that
    cannot be aligned on its own, or is larger than the budget alone, is skipped with its reason.
    """
    runs: list[list[int]] = []
    skipped: list[SkippedRun] = []
    current: list[int] = []

    def close() -> None:
        if current:
            runs.append(list(current))
            current.clear()

    for i, system in enumerate(systems):
        crop = system.crop
        alone = first_play_span(plays, crop.measure_start, crop.measure_end)
        if isinstance(alone, str):
            close()
            skipped.append(SkippedRun(crop.measure_start, crop.measure_end, alone))
            continue
        h, w = system.image.shape
        if image_patches(h, w) > max_patches:
            close()
            skipped.append(SkippedRun(crop.measure_start, crop.measure_end,
                                      f"one system needs {image_patches(h, w)} patches > {max_patches}"))
            continue
        if current:
            stacked = [systems[j].image for j in current] + [system.image]
            joined = first_play_span(plays, systems[current[0]].crop.measure_start, crop.measure_end)
            fits = (len(current) < max_systems and not isinstance(joined, str)
                    and image_patches(sum(s.shape[0] for s in stacked), max(s.shape[1] for s in stacked))
                    <= max_patches)
            if not fits:
                close()
        current.append(i)
    close()
    return runs, skipped


def stack_images(images: Sequence[np.ndarray]) -> np.ndarray:
    """Stack system images top to bottom, padding each with white on the right to the widest."""
    width = max(img.shape[1] for img in images)
    padded = [np.pad(img, ((0, 0), (0, width - img.shape[1])), constant_values=WHITE) for img in images]
    return np.ascontiguousarray(np.concatenate(padded, axis=0), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------- steps


def _part(musicxml: str, part_index: int | None, spec: PieceSpec) -> ET.Element:
    try:
        root = ET.fromstring(musicxml)
    except ET.ParseError as exc:
        raise PieceRejected(f"the MusicXML text is not valid XML ({exc})") from exc
    try:
        return select_part(ET.ElementTree(root), part_index, spec.path)
    except InputError as exc:
        raise PieceRejected(exc.problem) from exc


def _tempo_factor(spec: PieceSpec, config: BuildConfig) -> float:
    lo, hi = config.tempo_factor_range
    if lo == hi:
        return float(lo)
    return float(np.round(piece_rng(spec, config, "tempo").uniform(lo, hi), 3))


def _scale(ms: int, factor: float) -> int:
    return ms if factor == 1.0 else int(round(ms / factor))


def _scale_note(note: Note, factor: float) -> Note:
    if factor == 1.0:
        return note
    return dataclasses.replace(note, onset=_scale(note.onset, factor), offset=_scale(note.offset, factor))


def _engrave(tmp: Path, musicxml: str, options: EngraveOptions, spec: PieceSpec) -> EngravedScore:
    path = tmp / "score.musicxml"
    path.write_text(musicxml, encoding="utf-8")
    try:
        return engrave(path, options)
    except InputError as exc:
        raise PieceRejected(f"Verovio: {exc.problem}") from exc


def _check_measures(part: ET.Element, engraved: EngravedScore, spec: PieceSpec) -> None:
    """Verovio's measures and the part's <measure> elements must be the same list, position for position."""
    measures = part.findall("measure")
    if len(measures) != len(engraved.measures):
        raise PieceRejected(f"Verovio draws {len(engraved.measures)} measures, the part has {len(measures)}")
    for i, (xml, drawn) in enumerate(zip(measures, engraved.measures, strict=True)):
        number = xml.get("number") or ""
        if number and drawn.n and number != drawn.n:
            raise PieceRejected(f"measure {i}: Verovio numbers it {drawn.n!r}, the part {number!r}")


def _systems(engraved: EngravedScore, config: BuildConfig, part_id: str, spec: PieceSpec) -> list[_System]:
    from scorebridge.render import system_crops

    crops = system_crops(engraved)
    if not crops:
        raise PieceRejected("no systems with measures to crop")
    foreign = {p for c in crops for p in c.part_ids if part_id and p != part_id}
    if foreign:
        raise PieceRejected(f"staves of other parts are drawn ({', '.join(sorted(foreign))}); pass one part only")
    zoom = system_zoom(min(c.staff_height_px for c in crops), config.staff_height)
    out = []
    for system in crop_systems(engraved, zoom=zoom):
        image = normalize_system(system.image, system.crop.staff_height_px, target=config.staff_height)
        out.append(_System(image, system.crop))
    return out


def _midi_notes(tmp: Path, midi: bytes) -> list[Note]:
    path = tmp / "verovio.mid"
    path.write_bytes(midi)
    try:
        return read_midi(path)
    except InputError as exc:
        raise PieceRejected(f"Verovio's MIDI: {exc.problem}") from exc


def _synthesize(tmp: Path, notes: Sequence[Note], soundfont: str, sample_rate: int) -> np.ndarray:
    """The whole piece at once: cutting one rendering keeps release tails that cross run boundaries."""
    path = tmp / "notes.mid"
    write_midi(notes, path)
    try:
        return synthesize(path, soundfont, sample_rate)
    except ScorebridgeError as exc:
        raise PieceRejected(f"synthesis failed ({exc})") from exc


def _sample(spec: PieceSpec, config: BuildConfig, index: int, systems: list[_System], part: ET.Element,
            plays: Sequence[tuple[tuple[int, int], ...]], notes: Sequence[Note], audio: np.ndarray,
            soundfont: str) -> Sample:
    m_start, m_end = systems[0].crop.measure_start, systems[-1].crop.measure_end
    span = first_play_span(plays, m_start, m_end)
    assert not isinstance(span, str), span  # plan_runs only keeps aligned runs
    start_ms, end_ms = span
    cut = cut_notes(notes, start_ms, end_ms, snap_ms=BOUNDARY_TOLERANCE_MS)
    lmx = lmx_for_measures(part, m_start, m_end, path=spec.path)  # LinearizationError: the caller skips the run
    image = stack_images([s.image for s in systems])
    return Sample(
        id=sample_id(spec, "system", index), source=spec.source, piece=spec.piece, split=spec.split,
        kind="system", start_ms=start_ms, end_ms=end_ms, timeline="score",
        measure_start=m_start, measure_end=m_end, soundfont=soundfont, sample_rate=config.sample_rate,
        image=image, lmx=tuple(lmx), notes=cut.notes, tied_in=cut.tied_in,  # ties from the previous system
        audio=cut_audio(audio, start_ms, end_ms, config.sample_rate),
        meta={
            "systems": [[s.crop.page, s.crop.system] for s in systems],
            "system_heights": [int(s.image.shape[0]) for s in systems],
            "measure_numbers": [n for s in systems for n in s.crop.measure_numbers],
            "image_patches": image_patches(*image.shape),
            "max_image_patches": config.max_image_patches,
        },
    )


# ---------------------------------------------------------------------------------------------- score files


def score_file_samples(spec: PieceSpec, config: BuildConfig, part: int | None = None, *,
                       sole_part: bool = False) -> list[Sample]:
    """System samples of the score file ``spec.path`` (MusicXML/.mxl/kern/ABC/MEI): its piano part (or the
    1-based ``part``) is engraved alone, so the image holds exactly the staves of the LMX (OLiMPiC drops the
    voice staff of songs the same way). ``sole_part``: reject scores that read as several parts (a kern file
    whose spines music21 did not join into one piano part would lose a staff). Raises ``PieceRejected``."""
    from scorebridge.notation import NoPianoPartError, load_musicxml
    from scorebridge.notation.compare import part_to_musicxml

    try:
        tree = load_musicxml(spec.path)
    except InputError as exc:
        raise PieceRejected(f"cannot read the score ({exc.problem})") from exc
    parts = tree.getroot().findall("part")
    if sole_part and len(parts) != 1:
        raise PieceRejected(f"the score reads as {len(parts)} parts, not one piano part")
    try:
        element = select_part(tree, part, spec.path)
    except NoPianoPartError as exc:
        raise PieceRejected("no piano part") from exc
    except InputError as exc:
        raise PieceRejected(exc.problem) from exc
    if not element.findall("measure"):
        raise PieceRejected("the part has no measures")
    return list(build_system_samples(spec, config, part_to_musicxml(element)).samples)
