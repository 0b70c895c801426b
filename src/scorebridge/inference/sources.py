"""One window of user input -> the translator's source steps: modality inference and one reader per modality.

Accepted sources (one window each):

- image: a .png/.jpg/.tif path or a uint8 (H, W) array, a normalized system crop (255 = white); encoded at the
  centre placement (``shift_and_pad_image(img, 0, 0)``), as the baked evaluation data.
- notation: a .lmx/.txt path, a str of space-separated LMX tokens, or a list/tuple of str.
- MIDI: a .mid/.midi path or a sequence of ``Note`` (ms from the window start), at most one tokenizer window.
- audio: a .wav/.flac/.ogg/.mp3 path (``filetypes.readable(AUDIO)``) or a ``(float32 mono array, sample_rate)``
  tuple.

Every problem with the input, a too-long one included, is an InputError (one line).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scorebridge.codecs.audio import prepare_audio
from scorebridge.codecs.files import read_audio, read_image
from scorebridge.codecs.image import image_to_tensor
from scorebridge.constants import IMAGE_PATCH_PX, MIDI_TICKS_PER_SECOND
from scorebridge.errors import InputError
from scorebridge.filetypes import RASTER_SUFFIXES, VEROVIO_INPUTS, readable
from scorebridge.midi import MidiTokenizer, Note, read_midi
from scorebridge.midi.notes import ms_to_tick
from scorebridge.modality import Modality
from scorebridge.notation import read_lmx_file
from scorebridge.tokens.layout import LengthLimits, Steps, encode
from scorebridge.tokens.shifts import shift_and_pad_image, shifted_image_size
from scorebridge.tokens.vocabulary import Vocabulary

# The suffixes one window reads, from the one table (``scorebridge.filetypes``): raster images (a PDF is a
# page, read by ``pages``), LMX text, MIDI and audio. The documented extra: ``.txt`` holds LMX text too (LMX is
# plain text); MusicXML and the other score formats are not model sources (``notation`` turns them into LMX).
LMX_SUFFIXES = (*(s for s in readable(Modality.NOTATION) if s not in VEROVIO_INPUTS), ".txt")
SUFFIXES: dict[str, Modality] = {
    **dict.fromkeys(RASTER_SUFFIXES, Modality.IMAGE), **dict.fromkeys(LMX_SUFFIXES, Modality.NOTATION),
    **dict.fromkeys(readable(Modality.MIDI), Modality.MIDI), **dict.fromkeys(readable(Modality.AUDIO), Modality.AUDIO),
}
LONG_FORM_HINT = "use the long-form command"


def as_path(source: Any) -> Path | None:
    """The path a source names, or None when it is in-memory data. A str is a path when its suffix is a
    known one or it names an existing file (and holds no whitespace); otherwise it is LMX text."""
    if isinstance(source, os.PathLike):
        return Path(source)
    if isinstance(source, str) and source.strip() and "\n" not in source:
        path = Path(source)
        if path.suffix.lower() in SUFFIXES or (not any(c.isspace() for c in source) and _is_file(path)):
            return path
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system is not a file
        return False


def infer_modality(source: Any) -> Modality:
    """The modality of a source from its file suffix or Python type; InputError for an unknown suffix,
    TypeError for data of no known shape."""
    path = as_path(source)
    if path is not None:
        if path.suffix.lower() not in SUFFIXES:
            raise InputError(path, f"cannot tell the modality from the suffix {path.suffix!r}: pass source_modality")
        return SUFFIXES[path.suffix.lower()]
    if isinstance(source, str):
        return Modality.NOTATION
    if isinstance(source, np.ndarray):
        if source.dtype == np.uint8 and source.ndim == 2:
            return Modality.IMAGE
        raise TypeError(f"an array source must be a uint8 (H, W) image, got {source.dtype} {source.shape}; "
                        f"pass audio as (samples, sample_rate)")
    if _is_audio_pair(source):
        return Modality.AUDIO
    if isinstance(source, Sequence) and source:
        if all(isinstance(t, str) for t in source):
            return Modality.NOTATION
        if all(isinstance(n, Note) for n in source):
            return Modality.MIDI
    raise TypeError(f"cannot tell the modality of a {type(source).__name__} source: pass a path, an image array, "
                    f"LMX tokens, Notes or (audio, sample_rate), or source_modality")


def _is_audio_pair(source: Any) -> bool:
    return (isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], np.ndarray)
            and isinstance(source[1], int | np.integer))


def source_name(source: Any, modality: Modality) -> str:
    """How error messages name a source: its path, or ``<modality source>``."""
    path = as_path(source)
    return str(path) if path is not None else f"<{modality} source>"


def read_source(source: Any, modality: Modality, vocab: Vocabulary, limits: LengthLimits,
                codec: Any = None) -> Steps:
    """Source steps (encoder layout) of one window. ``codec`` is the image or audio codec for those sources."""
    modality = Modality(modality)
    name = source_name(source, modality)
    if modality is Modality.IMAGE:
        data: Any = [image_codes(source, codec, vocab, limits, name)]
    elif modality is Modality.NOTATION:
        data = lmx_tokens(source, name)
    elif modality is Modality.MIDI:
        data = midi_tokens(source, vocab, name)
    else:
        data = audio_codes(source, codec, limits, name)
    try:
        steps = encode(modality, data, vocab, as_target=False, limits=limits)
    except ValueError as exc:  # too long, unknown LMX token, system too wide or tall
        raise InputError(name, _hint(str(exc))) from None
    if len(steps) == 0:
        raise InputError(name, f"the {modality} source is empty")
    return steps


def _hint(problem: str) -> str:
    return f"{problem}; {LONG_FORM_HINT}" if "longer than" in problem else problem


# per modality ------------------------------------------------------------------------------------------
def image_codes(source: Any, codec: Any, vocab: Vocabulary, limits: LengthLimits, name: str) -> np.ndarray:
    """The (h, w, Q) code grid of one system image at the centre placement."""
    path = as_path(source)
    img = read_image(path) if path is not None else source
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 2 or 0 in img.shape:
        raise InputError(name, f"an image source must be a non-empty uint8 (H, W) array, got "
                               f"{getattr(img, 'dtype', type(img).__name__)} {getattr(img, 'shape', '')}")
    height, width = shifted_image_size(*img.shape)
    rows, cols = height // IMAGE_PATCH_PX, width // IMAGE_PATCH_PX
    # checked before the codec runs: a whole page would take long to encode and fail anyway
    if cols > limits.image_columns:
        raise InputError(name, f"image of {img.shape[1]} px is {cols} columns wide, more than the limit of "
                               f"{limits.image_columns}; {LONG_FORM_HINT}")
    if rows > vocab.config.max_image_height:
        raise InputError(name, f"image of {img.shape[0]} px is {rows} rows tall, more than the limit of "
                               f"{vocab.config.max_image_height}; pass one system crop")
    device = next(codec.parameters()).device
    with torch.inference_mode():
        codes = codec.encode(image_to_tensor(shift_and_pad_image(img, 0, 0)).to(device))
    return codes[0].cpu().numpy()


def lmx_tokens(source: Any, name: str) -> list[str]:
    path = as_path(source)
    if path is not None:
        return read_lmx_file(path)
    if isinstance(source, str):
        return source.split()
    if isinstance(source, Sequence) and all(isinstance(t, str) for t in source):
        return list(source)
    raise InputError(name, f"a notation source is a path, a str or a list of str, not {type(source).__name__}")


def midi_tokens(source: Any, vocab: Vocabulary, name: str) -> list[int]:
    """MidiTokenizer ids of one window starting at 0 and ending at the last offset (or just after the last
    onset): at most the tokenizer's window."""
    path = as_path(source)
    notes = read_midi(path) if path is not None else source
    if not isinstance(notes, Sequence) or not all(isinstance(n, Note) for n in notes):
        raise InputError(name, "a MIDI source is a .mid path or a sequence of Note")
    tokenizer = MidiTokenizer(vocab.config.midi)
    end = max([1] + [ms_to_tick(n.offset) for n in notes] + [ms_to_tick(n.onset) + 1 for n in notes])
    window = tokenizer.config.max_window_ticks
    if end > window:
        raise InputError(name, f"notes of {end / MIDI_TICKS_PER_SECOND:g} s are longer than one "
                               f"{window / MIDI_TICKS_PER_SECOND:g} s window; {LONG_FORM_HINT}")
    return tokenizer.encode_window(list(notes), 0, end)


def audio_codes(source: Any, codec: Any, limits: LengthLimits, name: str) -> np.ndarray:
    """(Q, frames) codes of mono audio resampled to the codec's rate."""
    path = as_path(source)
    if path is not None:
        audio, sr = read_audio(path)
    elif _is_audio_pair(source):
        audio, sr = source
    else:
        raise InputError(name, "an audio source is a path or a (samples, sample_rate) tuple")
    try:
        wav = prepare_audio(np.asarray(audio), int(sr), codec.config.sample_rate)
    except InputError as exc:
        raise InputError(name, exc.problem) from None
    frames = codec.config.frames(wav.shape[-1])
    if frames > limits.audio:  # before the codec runs
        seconds = limits.audio * codec.config.hop_length / codec.config.sample_rate
        raise InputError(name, f"audio of {wav.shape[-1] / codec.config.sample_rate:.2f} s is {frames} frames, "
                               f"longer than the limit of {limits.audio} ({seconds:.2f} s); {LONG_FORM_HINT}")
    device = next(codec.parameters()).device
    with torch.inference_mode():
        return codec.encode(wav.to(device))[0].cpu().numpy()
