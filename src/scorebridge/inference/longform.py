"""Long-form translation: functions over a one-window `ScoreBridgeModel` for long recordings, long MIDI, whole
pages. ``translate_long`` picks one by the source and target:

- `transcribe`: audio -> notes in consecutive windows (default ``constants.WINDOW_MS``), each window's MIDI tokens
  decoded at the window's start tick and stitched across windows with the tokenizer's ties. A path is read
  window by window from a soundfile stream: memory stays bounded for hours of audio.
- `audio_to_image`: audio -> the systems the model writes for each window, stacked into one image.
- `midi_to_audio`: notes -> audio in overlapping MIDI windows; each window's output starts with the audio the
  previous window made for the overlap (a forced prefix), and keeps the frames up to the next window's start.
- `read_aloud`: system images -> audio with the sliding two-system window and cross-attention cuts (the
  reference's Contin-U, u-must.md §9.6), with an `AlignmentSpan` per system.
- `read_systems`: system images -> LMX per system joined into ONE MusicXML for the page (or MIDI per system
  joined in reading order).
- `via_notation`: the cascade baseline: `read_systems` -> MusicXML -> MIDI (Verovio) -> FluidSynth.

Windows that do not depend on one another are decoded ``LongformOptions.batch_size`` at a time in one batched
search (``ScoreBridgeModel.generate``; each row ends on its own): the windows of `transcribe` and
`audio_to_image`, the systems of `read_systems` (and so of `via_notation`), and the windows of `midi_to_audio`
when ``midi_overlap_ms`` is 0. A window forced to start with the previous window's output (`midi_to_audio` with
an overlap, every window of `read_aloud`) waits for it: those run one by one. Greedy results do not depend on
the batch size.

The planning, cutting, stitching and alignment rules are pure functions in ``inference.windows``; reading,
decoding and the cascade's audio are in ``inference.stitch``; the results in ``inference.results``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from scorebridge.constants import AUDIO_SAMPLE_RATE, MIDI_TICK_MS, MIDI_TICKS_PER_SECOND, WINDOW_MS
from scorebridge.decoding import DecodingOptions
from scorebridge.errors import InputError
from scorebridge.filetypes import RASTER_SUFFIXES
from scorebridge.inference.model import ScoreBridgeModel, as_modality
from scorebridge.inference.results import (
    DECODE_CHUNK_FRAMES,
    ImageTranslation,
    LongAudio,
    LongImage,
    MidiTranslation,
    NotationTranslation,
    PageTranslation,
    Transcription,
    Translation,
    decode_audio_codes,
    stack_systems,
)
from scorebridge.inference.signal import image_patch_grid, read_feature_source
from scorebridge.inference.sources import as_path, image_codes, infer_modality, read_source
from scorebridge.inference.stitch import (
    audio_chunks,
    audio_codes_of,
    cascade_alignment,
    clip_notes,
    notation_to_audio,
    page_notes,
    prefix_steps,
)
from scorebridge.inference.windows import (
    CutRule,
    alignment_spans,
    batches,
    find_cut,
    join_system_lmx,
    kept_frames,
    measure_ranges,
    ms_to_samples,
    plan_midi_windows,
    prefix_length,
    source_spans,
    system_windows,
)
from scorebridge.midi import MidiTokenizer, read_midi
from scorebridge.midi.notes import ms_to_tick
from scorebridge.modality import Modality
from scorebridge.notation import lmx_to_musicxml
from scorebridge.tokens.layout import Steps, decode_midi, encode, encode_features

log = logging.getLogger(__name__)

DEFAULT_OPTIONS = DecodingOptions()


@dataclass(frozen=True)
class LongformOptions:
    """How long inputs are cut. ``window_ms``: audio and MIDI windows (whole 10 ms ticks); ``midi_overlap_ms``:
    how much of each MIDI window the previous one already rendered (its audio becomes the prefix; 0 = plain
    concatenation); ``cut``/``prefix_divisor``/``attention_layers``: the image -> audio window rules (the
    weights of those decoder layers, averaged); ``decode_chunk_frames``: audio codec frames decoded at once;
    ``batch_size``: independent windows/systems decoded together in one batched search (1: one by one; greedy
    results are the same for every size; sampled ones draw all rows of a batch from one generator); ``report``:
    called (done, total) for each window/system as its batch finishes."""

    window_ms: int = WINDOW_MS
    midi_overlap_ms: int = 2_000
    cut: CutRule = CutRule()
    prefix_divisor: int = 5
    attention_layers: tuple[int, ...] = (-2,)
    decode_chunk_frames: int = DECODE_CHUNK_FRAMES
    progress: bool = True
    batch_size: int = 4
    report: Callable[[int, int], None] | None = None

    def __post_init__(self) -> None:
        if self.window_ms <= 0 or self.window_ms % MIDI_TICK_MS:
            raise ValueError(f"window_ms must be a positive multiple of {MIDI_TICK_MS}, got {self.window_ms}")
        if not 0 <= self.midi_overlap_ms < self.window_ms or self.midi_overlap_ms % MIDI_TICK_MS:
            raise ValueError(f"midi_overlap_ms must be a multiple of {MIDI_TICK_MS} in [0, window_ms), "
                             f"got {self.midi_overlap_ms}")
        if self.prefix_divisor < 1 or self.decode_chunk_frames < 1 or not self.attention_layers:
            raise ValueError("prefix_divisor and decode_chunk_frames must be >= 1, attention_layers non-empty")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    @property
    def window_ticks(self) -> int:
        return self.window_ms // MIDI_TICK_MS

    @property
    def overlap_ticks(self) -> int:
        return self.midi_overlap_ms // MIDI_TICK_MS


DEFAULT_LONGFORM = LongformOptions()


LongResult = Transcription | LongAudio | LongImage | PageTranslation


def translate_long(model: ScoreBridgeModel, source: Any, to: Modality | str, *,
                   source_modality: Modality | str | None = None, options: DecodingOptions = DEFAULT_OPTIONS,
                   longform: LongformOptions = DEFAULT_LONGFORM, via: str = "direct", sample_rate: int | None = None,
                   measures: Sequence[tuple[int, int] | None] | None = None) -> LongResult:
    """Translate a long ``source`` window by window with ``model``:

    - audio (a path, or samples with ``sample_rate``) -> midi: `transcribe`, a Transcription; -> image:
      `audio_to_image`, a LongImage;
    - MIDI (a .mid path or Notes) -> audio: `midi_to_audio`, a LongAudio;
    - system images (a list of uint8 arrays or image paths, reading order; one image counts as a list of
      one) -> notation or midi: `read_systems`, a PageTranslation; -> audio: `read_aloud` (``via="direct"``)
      or the cascade `via_notation` (``via="notation"``), a LongAudio with its alignment (``measures``: each
      system's measure range, for the direct path).

    Other pairs raise ValueError (use ``model.translate`` for one window)."""
    target = as_modality(to, "to")
    systems = _system_list(source)
    if systems is not None:
        src = Modality.IMAGE
    else:
        src = infer_modality(source) if source_modality is None else as_modality(source_modality, "source_modality")
    if via not in ("direct", "notation"):
        raise ValueError(f"via must be 'direct' or 'notation', got {via!r}")
    if via == "notation" and (src, target) != (Modality.IMAGE, Modality.AUDIO):
        raise ValueError("via='notation' is the image -> audio cascade")
    if src is Modality.AUDIO and target in (Modality.MIDI, Modality.IMAGE):
        if as_path(source) is None and sample_rate is None and isinstance(source, tuple) and len(source) == 2:
            source, sample_rate = source
        run = transcribe if target is Modality.MIDI else audio_to_image
        return run(model, source, sample_rate, options=options, longform=longform)
    if src is Modality.MIDI and target is Modality.AUDIO:
        return midi_to_audio(model, source, options=options, longform=longform)
    if src is Modality.IMAGE:
        systems = systems if systems is not None else [source]
        if target is Modality.AUDIO:
            if via == "notation":
                return via_notation(model, systems, options=options, longform=longform)
            return read_aloud(model, systems, options=options, longform=longform, measures=measures)
        return read_systems(model, systems, target, options=options, longform=longform)
    raise ValueError(f"no long-form path for {src} -> {target}: long-form covers audio -> midi or image, "
                     f"midi -> audio and system images -> notation, midi or audio; use translate for one window")


def _system_list(source: Any) -> list[Any] | None:
    """A list/tuple of system images (uint8 (H, W) arrays or image paths), or None for any other source."""
    if not isinstance(source, list | tuple) or not source or _looks_like_audio_pair(source):
        return None

    def is_image(item: Any) -> bool:
        if isinstance(item, np.ndarray):
            return item.dtype == np.uint8 and item.ndim == 2
        path = as_path(item)
        return path is not None and path.suffix.lower() in RASTER_SUFFIXES

    return list(source) if all(is_image(item) for item in source) else None


def _looks_like_audio_pair(source: Any) -> bool:
    return isinstance(source, tuple) and len(source) == 2 and isinstance(source[1], int | np.integer)


# helpers -----------------------------------------------------------------------------------------------
class _Progress:
    """The progress bar and the caller's ``report`` of one long-form run, advanced as windows finish."""

    def __init__(self, total: int, desc: str, options: LongformOptions) -> None:
        self.total, self.done, self.report = total, 0, options.report
        self.bar = tqdm(total=total, desc=desc, unit="window", disable=not options.progress, leave=False)

    def advance(self, n: int = 1) -> None:
        self.bar.update(n)
        for _ in range(n):
            self.done += 1
            if self.report is not None:
                self.report(self.done, self.total)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


# audio -> MIDI, audio -> image -------------------------------------------------------------------------
def transcribe(model: ScoreBridgeModel, audio: Any, sr: int | None = None, *,
               options: DecodingOptions = DEFAULT_OPTIONS, longform: LongformOptions = DEFAULT_LONGFORM
               ) -> Transcription:
    """Notes of a recording (a path, or samples with their rate ``sr``), transcribed window by window."""
    as_signal = model.inputs.uses_features(Modality.AUDIO)
    codec = None if as_signal else model.codecs.get(Modality.AUDIO, model.vocab, model.device)
    rate, count, chunks = audio_chunks(audio, sr, longform.window_ms)
    if as_signal:
        frames = model.inputs.mel_frames(ms_to_samples(longform.window_ms, model.inputs.mel_rate))
    else:
        frames = codec.config.frames(ms_to_samples(longform.window_ms, codec.config.sample_rate))
    if frames > model.limits.audio:
        raise ValueError(f"a {longform.window_ms} ms window is {frames} audio frames, more than the model's limit "
                         f"of {model.limits.audio}: use a shorter window_ms")
    tokenizer = MidiTokenizer(model.vocab.config.midi)
    windows, problems = [], []
    samples = 0
    with _Progress(count, "transcribe", longform) as progress:
        for batch in batches(enumerate(chunks), longform.batch_size):  # windows are independent
            sources = []
            for _k, chunk in batch:
                if as_signal:
                    sources.append(read_feature_source((chunk, rate), Modality.AUDIO, model.vocab, model.limits,
                                                       model.inputs))
                else:
                    sources.append(read_source((chunk, rate), Modality.AUDIO, model.vocab, model.limits, codec))
            generated = model.generate(sources, Modality.MIDI, options)
            for (k, chunk), out in zip(batch, generated, strict=True):
                samples += len(chunk)
                t0 = k * longform.window_ticks
                t1 = t0 + -(-len(chunk) * MIDI_TICKS_PER_SECOND // rate)
                try:
                    tokens = decode_midi(out.steps, model.vocab)
                except ValueError as exc:
                    problems.append(f"window {k}: {exc}")
                    tokens = []
                decoded = tokenizer.decode_window(tokens, t0, t1)
                problems.extend(f"window {k}: {p}" for p in decoded.problems)
                windows.append(decoded)
            progress.advance(len(batch))
    notes, dropped = clip_notes(tokenizer.stitch(windows), -(-samples * 1000 // rate))
    if dropped:
        problems.append(f"{dropped} notes starting after the end of the recording dropped")
    return Transcription(tuple(notes), len(windows), tuple(problems))


def audio_to_image(model: ScoreBridgeModel, audio: Any, sr: int | None = None, *,
                   options: DecodingOptions = DEFAULT_OPTIONS, longform: LongformOptions = DEFAULT_LONGFORM
                   ) -> LongImage:
    """The systems the model writes for each window of a recording (a path, or samples with their rate
    ``sr``), in order, stacked into one image."""
    rate, count, chunks = audio_chunks(audio, sr, longform.window_ms)
    systems: list[np.ndarray] = []
    problems: list[str] = []
    with _Progress(count, "audio -> image", longform) as progress:
        for batch in batches(enumerate(chunks), longform.batch_size):  # windows are independent
            results = model.translate_batch([(chunk, rate) for _k, chunk in batch], to=Modality.IMAGE,
                                            source_modality=Modality.AUDIO, options=options)
            for (k, _chunk), result in zip(batch, results, strict=True):
                systems += list(result.systems) if isinstance(result, ImageTranslation) else []
                problems += [f"window {k}: {p}" for p in result.problems]
            progress.advance(len(batch))
    return LongImage(tuple(systems), stack_systems(systems), count, tuple(problems))


# MIDI -> audio -----------------------------------------------------------------------------------------
def midi_to_audio(model: ScoreBridgeModel, notes: Any, *, options: DecodingOptions = DEFAULT_OPTIONS,
                  longform: LongformOptions = DEFAULT_LONGFORM) -> LongAudio:
    """Audio of notes (a .mid path or a sequence of Note, ms) generated by the model in overlapping MIDI windows
    with audio prefixes (FluidSynth's rendering is ``render.synthesize``)."""
    path = as_path(notes)
    name = str(path) if path is not None else "<MIDI source>"
    notes = read_midi(path) if path is not None else list(notes)
    if not notes:
        raise InputError(name, "no notes to render")
    codec = model.codecs.get(Modality.AUDIO, model.vocab, model.device)
    rate, hop = codec.config.sample_rate, codec.config.hop_length
    if rate % MIDI_TICKS_PER_SECOND:
        raise ValueError(f"a codec rate of {rate} Hz is not a whole number of samples per MIDI tick")
    tokenizer = MidiTokenizer(model.vocab.config.midi)
    end = max(max(ms_to_tick(n.offset), ms_to_tick(n.onset) + 1) for n in notes)
    windows = plan_midi_windows(end, longform.window_ticks, longform.overlap_ticks)
    keep = kept_frames([w.start * (rate // MIDI_TICKS_PER_SECOND) for w in windows], hop)
    overlap = ms_to_samples(longform.midi_overlap_ms, rate) // hop
    kept: list[np.ndarray] = []
    problems: list[str] = []
    prefix: np.ndarray | None = None

    def source(k: int) -> Steps:
        try:
            return encode(Modality.MIDI, tokenizer.encode_window(notes, windows[k].start, windows[k].end),
                          model.vocab, limits=model.limits)
        except ValueError as exc:
            raise InputError(name, f"MIDI window {k}: {exc}; use a shorter window_ms") from None

    # with an overlap each window starts with the audio of the one before: one by one
    size = 1 if overlap else longform.batch_size
    with _Progress(len(windows), "MIDI -> audio", longform) as progress:
        for batch in batches(range(len(windows)), size):
            outs = model.generate([source(k) for k in batch], Modality.AUDIO, options,
                                  prefix=prefix_steps(prefix, model.vocab, model.limits, options))
            for k, out in zip(batch, outs, strict=True):
                codes = audio_codes_of(out.steps, model.vocab, problems, f"window {k}")
                if k == len(windows) - 1:
                    kept.append(codes)
                    break
                if codes.shape[1] < keep[k]:
                    problems.append(f"window {k}: {codes.shape[1]} frames generated, {keep[k]} expected")
                kept.append(codes[:, : keep[k]])
                prefix = codes[:, keep[k]: keep[k] + overlap] if overlap else None
            progress.advance(len(batch))
    all_codes = np.concatenate(kept, axis=1) if kept else np.zeros((model.vocab.n_slots, 0), np.int64)
    audio = decode_audio_codes(codec, all_codes, longform.decode_chunk_frames)
    return LongAudio(audio, rate, len(windows), problems=tuple(problems))


# image -> audio ----------------------------------------------------------------------------------------
def _system_grids(model: ScoreBridgeModel, systems: Sequence[Any]) -> list[np.ndarray]:
    if not len(systems):
        raise InputError("<systems>", "no system images")
    if model.inputs.uses_features(Modality.IMAGE):  # patch grids, joined by _pair_source like code grids
        return [image_patch_grid(s, str(as_path(s) or f"<system {j}>"), model.inputs) for j, s in enumerate(systems)]
    codec = model.codecs.get(Modality.IMAGE, model.vocab, model.device)
    return [image_codes(s, codec, model.vocab, model.limits, str(as_path(s) or f"<system {j}>"))
            for j, s in enumerate(systems)]


def _pair_source(model: ScoreBridgeModel, grids: list[np.ndarray], window: tuple[int, ...]) -> Steps | None:
    """The source steps of a window of systems, or None when it exceeds the limits or the position tables."""
    try:
        if model.inputs.uses_features(Modality.IMAGE):
            steps = encode_features(Modality.IMAGE, [grids[j] for j in window], model.vocab, model.inputs,
                                    model.limits)
        else:
            steps = encode(Modality.IMAGE, [grids[j] for j in window], model.vocab, as_target=False,
                           limits=model.limits)
    except ValueError:
        return None
    cfg = model.translator.config
    return steps if steps.x.max() < cfg.max_x and steps.y.max() < cfg.max_y else None


def read_aloud(model: ScoreBridgeModel, systems: Sequence[Any], *, options: DecodingOptions = DEFAULT_OPTIONS,
               longform: LongformOptions = DEFAULT_LONGFORM,
               measures: Sequence[tuple[int, int] | None] | None = None) -> LongAudio:
    """Audio of system images (uint8 arrays or paths, reading order) with the sliding two-system window:
    the output of systems (j, j+1) is cut where its cross-attention moves to j+1, the first fifth of the rest
    starts the next window. ``measures``: each system's measure range, copied into the alignment."""
    grids = _system_grids(model, systems)
    codec = model.codecs.get(Modality.AUDIO, model.vocab, model.device)
    kept: list[np.ndarray] = []
    problems: list[str] = []
    prefix: np.ndarray | None = None
    plan = system_windows(len(grids))
    with _Progress(len(plan), "read aloud", longform) as progress:
        for window in plan:  # each window starts with audio of the one before: one by one
            prefix = _read_pair(model, grids, window, prefix, options, longform, kept, problems)
            progress.advance()
    audio = decode_audio_codes(codec, np.concatenate(kept, axis=1), longform.decode_chunk_frames)
    spans = alignment_spans([c.shape[1] for c in kept], codec.config.hop_length, measures)
    return LongAudio(audio, codec.config.sample_rate, len(plan), tuple(spans), tuple(problems))


def _read_pair(model: ScoreBridgeModel, grids: list[np.ndarray], window: tuple[int, ...], prefix: np.ndarray | None,
               options: DecodingOptions, longform: LongformOptions, kept: list[np.ndarray],
               problems: list[str]) -> np.ndarray | None:
    """One window of `read_aloud`: appends the codes its first system keeps to ``kept``; the next prefix."""
    j = window[0]
    src = _pair_source(model, grids, window)
    if src is None and len(window) == 2:
        problems.append(f"systems {j} and {j + 1} do not fit one window; system {j} read alone")
        window = (j,)
        src = _pair_source(model, grids, window)
    if src is None:
        raise InputError(f"<system {j}>", "the system is too long for the model; crop it")
    forced = prefix_steps(prefix, model.vocab, model.limits, options)
    [out] = model.generate([src], Modality.AUDIO, options, prefix=forced, attention_layers=longform.attention_layers)
    codes = audio_codes_of(out.steps, model.vocab, problems, f"system {j}")
    if len(window) == 1:
        kept.append(codes)
        return None
    second = source_spans(src.tokens[:, 0], model.vocab.sep)[1]
    cut = find_cut(out.attention, second, longform.cut, min_step=0 if forced is None else len(forced))
    cut = min(cut, codes.shape[1])
    kept.append(codes[:, :cut])
    return codes[:, cut: cut + prefix_length(codes.shape[1] - cut, longform.prefix_divisor)]


# image -> notation / MIDI, and the cascade -------------------------------------------------------------
def read_systems(model: ScoreBridgeModel, systems: Sequence[Any], to: Modality | str = Modality.NOTATION, *,
                 options: DecodingOptions = DEFAULT_OPTIONS, longform: LongformOptions = DEFAULT_LONGFORM
                 ) -> PageTranslation:
    """Each system image translated alone (notation or MIDI), then joined for the page (see PageTranslation)."""
    target = Modality(to)
    if target not in (Modality.NOTATION, Modality.MIDI):
        raise ValueError(f"read_systems translates to notation or midi, not {target}")
    if not len(systems):
        raise InputError("<systems>", "no system images")
    results: list[Translation] = []
    with _Progress(len(systems), "systems", longform) as progress:
        for batch in batches(systems, longform.batch_size):  # each system is read alone
            results += model.translate_batch(batch, to=target, source_modality=Modality.IMAGE, options=options)
            progress.advance(len(batch))
    problems = [f"system {j}: {p}" for j, r in enumerate(results) for p in r.problems]
    if target is Modality.MIDI:
        notes = page_notes([r.notes if isinstance(r, MidiTranslation) else () for r in results])
        return PageTranslation(target, tuple(results), notes=tuple(notes), problems=tuple(problems))
    per_system = [list(r.lmx) if isinstance(r, NotationTranslation) else [] for r in results]
    lmx = join_system_lmx(per_system)
    xml = None
    try:
        xml = lmx_to_musicxml(lmx, infer_time=True) if lmx else None  # a page: state its meter
    except Exception as exc:  # noqa: BLE001  # the delinearizer rejects bad sequences with assorted errors
        problems.append(f"the page's LMX does not form MusicXML ({type(exc).__name__}: {exc})")
    if not lmx:
        problems.append("no LMX tokens were generated")
    return PageTranslation(target, tuple(results), lmx=tuple(lmx), xml=xml,
                           measures=tuple(measure_ranges(per_system)), problems=tuple(problems))


def via_notation(model: ScoreBridgeModel, systems: Sequence[Any], *, options: DecodingOptions = DEFAULT_OPTIONS,
                 longform: LongformOptions = DEFAULT_LONGFORM, soundfont: str | os.PathLike[str] = "fluidr3",
                 sample_rate: int = AUDIO_SAMPLE_RATE) -> LongAudio:
    """The cascade: system images -> page MusicXML (`read_systems`) -> MIDI -> FluidSynth audio, aligned per
    system from the engraver's measure times. ScorebridgeError when the model's LMX forms no score."""
    page = read_systems(model, systems, Modality.NOTATION, options=options, longform=longform)
    audio, starts = notation_to_audio(page.musicxml(), soundfont, sample_rate)
    return LongAudio(audio, sample_rate, len(systems), cascade_alignment(page.measures, starts, len(audio)),
                     page.problems)
