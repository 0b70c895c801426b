"""Long-form translation over one-window `ScoreBridgeModel` calls: long recordings, long MIDI, whole pages.

- `transcribe`: audio -> notes in consecutive windows (default 10 s), each window's MIDI tokens decoded at the
  window's start tick and stitched across windows with the tokenizer's ties. A path is read window by window
  from a soundfile stream: memory stays bounded for hours of audio.
- `synthesize`: notes -> audio in overlapping MIDI windows; each window's output starts with the audio the
  previous window made for the overlap (a forced prefix), and keeps the frames up to the next window's start.
- `read_aloud`: system images -> audio with the sliding two-system window and cross-attention cuts (the
  reference's Contin-U, u-must.md §9.6), with an `AlignmentSpan` per system.
- `read_systems`: system images -> LMX per system joined into ONE MusicXML for the page (or MIDI per system
  joined in reading order).
- `via_notation`: the cascade baseline: `read_systems` -> MusicXML -> MIDI (Verovio) -> FluidSynth.

Windows that do not depend on one another are decoded ``LongformOptions.batch_size`` at a time in one batched
search (``ScoreBridgeModel.generate_batch``; each row ends on its own): the windows of `transcribe`, the systems of
`read_systems` (and so of `via_notation`), and the windows of `synthesize` when ``midi_overlap_ms`` is 0. A window
forced to start with the previous window's output (`synthesize` with an overlap, every window of `read_aloud`)
waits for it: those run one by one. Greedy results do not depend on the batch size.

The planning, cutting, stitching and alignment rules are pure functions in `inference.windows`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm import tqdm

from scorebridge.constants import AUDIO_SAMPLE_RATE, MIDI_TICK_MS, MIDI_TICKS_PER_SECOND
from scorebridge.decoding.search import DecodingOptions
from scorebridge.errors import InputError, ScorebridgeError
from scorebridge.fileio import write_text
from scorebridge.inference.results import MidiTranslation, NotationTranslation, Translation
from scorebridge.inference.signal import image_patch_grid, read_feature_source
from scorebridge.inference.sources import as_path, image_codes, read_source
from scorebridge.inference.windows import (
    AlignmentSpan,
    CutRule,
    alignment_spans,
    batches,
    find_cut,
    join_system_lmx,
    kept_frames,
    measure_ranges,
    ms_to_samples,
    plan_midi_windows,
    plan_spans,
    prefix_length,
    source_spans,
    system_windows,
)
from scorebridge.midi import MidiTokenizer, Note, read_midi, write_midi
from scorebridge.midi.notes import ms_to_tick
from scorebridge.modality import Modality
from scorebridge.notation import lmx_to_musicxml
from scorebridge.tokens.layout import Steps, decode_audio, decode_midi, encode, encode_audio, encode_features

if TYPE_CHECKING:
    from scorebridge.api import ScoreBridgeModel

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

    window_ms: int = 10_000
    midi_overlap_ms: int = 2_000
    cut: CutRule = CutRule()
    prefix_divisor: int = 5
    attention_layers: tuple[int, ...] = (-2,)
    decode_chunk_frames: int = 4096
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


# results -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Transcription:
    """Notes of a whole recording (ms from its start), how many windows it took, and decoding problems."""

    notes: tuple[Note, ...]
    windows: int
    problems: tuple[str, ...] = ()

    def save(self, path: str | os.PathLike[str]) -> Path:
        if Path(path).suffix.lower() not in (".mid", ".midi"):
            raise InputError(path, "write a transcription as .mid or .midi")
        write_midi(self.notes, path)  # atomic
        return Path(path)


@dataclass(frozen=True, eq=False)
class LongAudio:
    """Float32 mono ``audio`` at ``sample_rate``; ``alignment``: the span of each system, in order, when the
    source was a list of systems."""

    audio: np.ndarray = field(repr=False)
    sample_rate: int
    windows: int
    alignment: tuple[AlignmentSpan, ...] = ()
    problems: tuple[str, ...] = ()

    def alignment_json(self) -> dict[str, Any]:
        return {"sample_rate": self.sample_rate, "samples": int(len(self.audio)),
                "systems": [span.to_json(self.sample_rate) for span in self.alignment]}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """WAV, FLAC, OGG or MP3 by the suffix (``codecs.files.write_audio``)."""
        from scorebridge.codecs.files import audio_format, write_audio

        audio_format(path)  # the suffix is refused before the emptiness check
        if not self.audio.size:
            raise ScorebridgeError("no audio was generated: " + "; ".join(self.problems))
        return write_audio(path, self.audio, self.sample_rate)

    def save_alignment(self, path: str | os.PathLike[str]) -> Path:
        write_text(path, json.dumps(self.alignment_json(), indent=1) + "\n")
        return Path(path)


@dataclass(frozen=True, eq=False)
class PageTranslation:
    """Systems translated one by one and joined: ``systems`` the per-system results; for notation ``lmx`` (the
    page's LMX), ``xml`` (one MusicXML, None when the LMX does not form one) and ``measures`` (each system's
    [first, last) measures); for MIDI ``notes`` in reading order (each system after the previous one ends)."""

    modality: Modality
    systems: tuple[Translation, ...]
    lmx: tuple[str, ...] = ()
    xml: str | None = field(default=None, repr=False)
    measures: tuple[tuple[int, int], ...] = ()
    notes: tuple[Note, ...] = ()
    problems: tuple[str, ...] = ()

    def musicxml(self) -> str:
        if self.xml is None:
            raise ScorebridgeError("the generated LMX does not form a MusicXML score: " + "; ".join(self.problems))
        return self.xml

    def save(self, path: str | os.PathLike[str]) -> Path:
        """.musicxml/.xml/.mxl (the page), .lmx/.txt (one line), .mid/.midi (MIDI targets)."""
        from scorebridge.scorefile import write_musicxml

        suffix = Path(path).suffix.lower()
        if self.modality is Modality.MIDI and suffix in (".mid", ".midi"):
            write_midi(self.notes, path)
        elif self.modality is Modality.NOTATION and suffix in (".musicxml", ".xml", ".mxl"):
            write_musicxml(path, self.musicxml())
        elif self.modality is Modality.NOTATION and suffix in (".lmx", ".txt"):
            write_text(path, " ".join(self.lmx) + "\n")
        else:
            raise InputError(path, f"cannot write a {self.modality} page as {suffix or 'a file without suffix'}")
        return Path(path)


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


def audio_chunks(audio: Any, sr: int | None, window_ms: int) -> tuple[int, int, Iterator[np.ndarray]]:
    """(sample rate, number of windows, mono float32 windows) of a path (streamed from soundfile, one window
    in memory at a time) or a (samples,) / (samples, channels) array with its rate ``sr``."""
    path = as_path(audio)
    if path is not None:
        import soundfile as sf

        if not path.is_file():
            raise InputError(path, "no such file")
        try:
            info = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise InputError(path, f"not a readable audio file ({exc})") from None
        rate, total = int(info.samplerate), int(info.frames)
        window = ms_to_samples(window_ms, rate)

        def stream() -> Iterator[np.ndarray]:
            with sf.SoundFile(str(path)) as f:
                while True:
                    block = f.read(window, dtype="float32", always_2d=True)
                    if not len(block):
                        return
                    yield block.mean(axis=1)

        chunks: Iterator[np.ndarray] = stream()
    else:
        if sr is None or not isinstance(audio, np.ndarray):
            raise InputError("<audio source>", "long audio is a path, or an array with its sample rate")
        rate, samples = int(sr), np.asarray(audio, np.float32)
        if samples.ndim == 2:
            samples = samples.mean(axis=1)
        total, window = len(samples), ms_to_samples(window_ms, rate)
        chunks = (samples[s.start:s.end] for s in plan_spans(total, window))
    if total == 0:
        raise InputError(path or "<audio source>", "the recording holds no samples")
    return rate, len(plan_spans(total, window)), chunks


def decode_audio_codes(codec: Any, codes: np.ndarray, chunk: int) -> np.ndarray:
    """Codes (Q, T) -> float32 samples, ``chunk`` frames at a time (bounded memory for long pieces)."""
    parts = [np.zeros(0, np.float32)]
    device = next(codec.parameters()).device
    for start in range(0, codes.shape[1], chunk):
        with torch.inference_mode():
            wav = codec.decode(torch.from_numpy(codes[:, start:start + chunk]).to(device)[None])[0, 0]
        parts.append(wav.float().cpu().numpy())
    return np.concatenate(parts).astype(np.float32)


def _audio_codes(steps: Steps, model: ScoreBridgeModel, problems: list[str], what: str) -> np.ndarray:
    try:
        return decode_audio(steps, model.vocab)
    except ValueError as exc:
        problems.append(f"{what}: {exc}")
        return np.zeros((model.vocab.n_slots, 0), np.int64)


def _prefix_steps(codes: np.ndarray | None, model: ScoreBridgeModel, options: DecodingOptions) -> Steps | None:
    """Audio codes as a target prefix, at most half the step budget so that something is left to generate."""
    if codes is None or codes.shape[1] == 0:
        return None
    budget = min(options.max_steps, model.limits.audio - 1)
    return encode_audio(codes[:, : max(budget // 2, 0)], model.vocab, model.limits) if budget >= 2 else None


# audio -> MIDI ------------------------------------------------------------------------------------------
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
            generated = model.generate_batch(sources, Modality.MIDI, options)
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


def clip_notes(notes: Sequence[Note], end_ms: int) -> tuple[list[Note], int]:
    """Notes within a recording of ``end_ms``: later onsets dropped (counted), offsets cut at the end. A
    window shorter than the tokenizer's lets a model place events past the audio it heard."""
    kept = [n if n.offset <= end_ms else Note(n.onset, end_ms, n.pitch, n.velocity, n.program, n.is_drum)
            for n in notes if n.onset < end_ms]
    return kept, len(notes) - len(kept)


# MIDI -> audio ------------------------------------------------------------------------------------------
def synthesize(model: ScoreBridgeModel, notes: Any, *, options: DecodingOptions = DEFAULT_OPTIONS,
               longform: LongformOptions = DEFAULT_LONGFORM) -> LongAudio:
    """Audio of notes (a .mid path or a sequence of Note, ms) in overlapping MIDI windows with audio prefixes."""
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
    with _Progress(len(windows), "synthesize", longform) as progress:
        for batch in batches(range(len(windows)), size):
            outs = model.generate_batch([source(k) for k in batch], Modality.AUDIO, options,
                                        prefix=_prefix_steps(prefix, model, options))
            for k, out in zip(batch, outs, strict=True):
                codes = _audio_codes(out.steps, model, problems, f"window {k}")
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


# image -> audio -----------------------------------------------------------------------------------------
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
    forced = _prefix_steps(prefix, model, options)
    out = model.generate_window(src, Modality.AUDIO, options, prefix=forced,
                                attention_layers=longform.attention_layers)
    codes = _audio_codes(out.steps, model, problems, f"system {j}")
    if len(window) == 1:
        kept.append(codes)
        return None
    second = source_spans(src.tokens[:, 0], model.vocab.sep)[1]
    cut = find_cut(out.attention, second, longform.cut, min_step=0 if forced is None else len(forced))
    cut = min(cut, codes.shape[1])
    kept.append(codes[:, :cut])
    return codes[:, cut: cut + prefix_length(codes.shape[1] - cut, longform.prefix_divisor)]


# image -> notation / MIDI, and the cascade ------------------------------------------------------------
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
        notes: list[Note] = []
        for r in results:
            assert isinstance(r, MidiTranslation)
            start = max((n.offset for n in notes), default=0)
            notes.extend(Note(n.onset + start, n.offset + start, n.pitch, n.velocity, n.program, n.is_drum)
                         for n in r.notes)
        return PageTranslation(target, tuple(results), notes=tuple(sorted(notes)), problems=tuple(problems))
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


def notation_to_audio(musicxml: str, soundfont: str | os.PathLike[str] = "fluidr3",
                      sample_rate: int = AUDIO_SAMPLE_RATE) -> tuple[np.ndarray, tuple[int | None, ...]]:
    """MusicXML text -> (mono float32 audio from FluidSynth, the start sample of each measure in document
    order, None for a measure that never sounds), through Verovio's MIDI."""
    from scorebridge.render import engrave, synthesize_bytes

    with tempfile.TemporaryDirectory(prefix="scorebridge-cascade-") as tmp:
        path = Path(tmp) / "page.musicxml"
        path.write_text(musicxml)
        engraved = engrave(path)
    audio = synthesize_bytes(engraved.midi, soundfont, sample_rate)
    starts = tuple(None if m.start_ms is None else m.start_ms * sample_rate // 1000 for m in engraved.measures)
    return audio.astype(np.float32), starts


def via_notation(model: ScoreBridgeModel, systems: Sequence[Any], *, options: DecodingOptions = DEFAULT_OPTIONS,
                 longform: LongformOptions = DEFAULT_LONGFORM, soundfont: str | os.PathLike[str] = "fluidr3",
                 sample_rate: int = AUDIO_SAMPLE_RATE) -> LongAudio:
    """The cascade: system images -> page MusicXML (`read_systems`) -> MIDI -> FluidSynth audio, aligned per
    system from the engraver's measure times. ScorebridgeError when the model's LMX forms no score."""
    page = read_systems(model, systems, Modality.NOTATION, options=options, longform=longform)
    audio, starts = notation_to_audio(page.musicxml(), soundfont, sample_rate)
    return LongAudio(audio, sample_rate, len(systems), cascade_alignment(page.measures, starts, len(audio)),
                     page.problems)


def cascade_alignment(measures: Sequence[tuple[int, int]], starts: Sequence[int | None],
                      total: int) -> tuple[AlignmentSpan, ...]:
    """System spans from measure start samples: system j from its first measure's start to the next system's
    (the end for the last); empty when a system's start is unknown (measures that never sound)."""
    bounds = []
    for first, last in measures:
        start = starts[first] if first < last and first < len(starts) else None
        if start is None:
            return ()
        bounds.append(min(start, total))
    bounds = [0, *bounds[1:]] if bounds else []  # the audio before the first measure belongs to system 0
    ends = [*bounds[1:], total]
    if any(b > e for b, e in zip(bounds, ends, strict=True)):
        return ()
    return tuple(AlignmentSpan(j, tuple(m), b, e) for j, (m, b, e) in enumerate(zip(measures, bounds, ends,
                                                                                     strict=True)))
