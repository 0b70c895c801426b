"""Inference: a trained model translating one window, and long inputs window by window.

``model`` holds `ScoreBridgeModel` (one window, or one batch of windows: read the source, encode, decode,
build the result) and `load_model`; ``longform`` the functions over a model for long recordings, long MIDI and
whole pages (`translate_long` picks one), with ``windows`` (pure planning and cutting rules) and ``stitch``
(reading and joining outside the model) beneath them. ``sources`` and ``signal`` read user input into source
steps, ``codecs`` finds the codecs a translation needs, ``results`` holds every result type and its ``save``.
The direction of calls is one way: longform -> model -> decoding; the model never calls long-form code.
"""

from .codecs import CodecLookup
from .longform import (
    DEFAULT_LONGFORM,
    LongformOptions,
    audio_to_image,
    midi_to_audio,
    read_aloud,
    read_systems,
    transcribe,
    translate_long,
    via_notation,
)
from .model import ScoreBridgeModel, load_model
from .results import (
    AudioTranslation,
    ImageTranslation,
    LongAudio,
    LongImage,
    MidiTranslation,
    NotationTranslation,
    PageTranslation,
    Transcription,
    Translation,
)
from .windows import AlignmentSpan, CutRule

__all__ = [
    "DEFAULT_LONGFORM", "AlignmentSpan", "AudioTranslation", "CodecLookup", "CutRule", "ImageTranslation",
    "LongAudio", "LongImage", "LongformOptions", "MidiTranslation", "NotationTranslation", "PageTranslation",
    "ScoreBridgeModel", "Transcription", "Translation", "audio_to_image", "load_model", "midi_to_audio",
    "read_aloud", "read_systems", "transcribe", "translate_long", "via_notation",
]
