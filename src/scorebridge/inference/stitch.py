"""The pieces long-form translation joins, outside the model: a recording read in windows, generated audio
codes and prefixes, notes clipped to a recording or laid end to end for a page, and the cascade's own audio
(Verovio's MIDI played by FluidSynth) with its per-system alignment.

The loops that call the model are in ``inference.longform``; the pure planning and cutting rules in
``inference.windows``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.decoding import DecodingOptions
from scorebridge.errors import InputError
from scorebridge.inference.sources import as_path
from scorebridge.inference.windows import AlignmentSpan, ms_to_samples, plan_spans
from scorebridge.midi import Note
from scorebridge.tokens.layout import LengthLimits, Steps, decode_audio, encode_audio
from scorebridge.tokens.vocabulary import Vocabulary


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


def audio_codes_of(steps: Steps, vocab: Vocabulary, problems: list[str], what: str) -> np.ndarray:
    """The (Q, frames) codes of generated audio steps; none, and a problem recorded, when they do not decode."""
    try:
        return decode_audio(steps, vocab)
    except ValueError as exc:
        problems.append(f"{what}: {exc}")
        return np.zeros((vocab.n_slots, 0), np.int64)


def prefix_steps(codes: np.ndarray | None, vocab: Vocabulary, limits: LengthLimits,
                 options: DecodingOptions) -> Steps | None:
    """Audio codes as a target prefix, at most half the step budget so that something is left to generate."""
    if codes is None or codes.shape[1] == 0:
        return None
    budget = min(options.max_steps, limits.audio - 1)
    return encode_audio(codes[:, : max(budget // 2, 0)], vocab, limits) if budget >= 2 else None


def clip_notes(notes: Sequence[Note], end_ms: int) -> tuple[list[Note], int]:
    """Notes within a recording of ``end_ms``: later onsets dropped (counted), offsets cut at the end. A
    window shorter than the tokenizer's lets a model place events past the audio it heard."""
    kept = [n if n.offset <= end_ms else Note(n.onset, end_ms, n.pitch, n.velocity, n.program, n.is_drum)
            for n in notes if n.onset < end_ms]
    return kept, len(notes) - len(kept)


# MIDI -> audio ------------------------------------------------------------------------------------------


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


def page_notes(systems: Sequence[Sequence[Note]]) -> list[Note]:
    """The notes of a page's systems in reading order: each system starts where the notes before it end."""
    notes: list[Note] = []
    for system in systems:
        start = max((n.offset for n in notes), default=0)
        notes.extend(Note(n.onset + start, n.offset + start, n.pitch, n.velocity, n.program, n.is_drum)
                     for n in system)
    return sorted(notes)
