"""The library's public names, re-exported from where they live (``inference``, ``decoding``).

Example::

    from scorebridge.api import DecodingOptions, load_model, translate_long

    model = load_model("runs/small/best")
    result = model.translate("system.png", to="notation", options=DecodingOptions(max_steps=500))
    print(result.musicxml())
    page = translate_long(model, [system1, system2], to="notation")   # one MusicXML for the page
    notes = translate_long(model, "piece.wav", to="midi")             # 10 s windows, stitched
"""

from __future__ import annotations

from scorebridge.decoding import DecodingOptions
from scorebridge.inference import (
    AudioTranslation,
    CodecLookup,
    ImageTranslation,
    LongAudio,
    LongformOptions,
    LongImage,
    MidiTranslation,
    NotationTranslation,
    PageTranslation,
    ScoreBridgeModel,
    Transcription,
    Translation,
    load_model,
    translate_long,
)

__all__ = [
    "AudioTranslation", "CodecLookup", "DecodingOptions", "ImageTranslation", "LongAudio", "LongImage",
    "LongformOptions", "MidiTranslation", "NotationTranslation", "PageTranslation", "ScoreBridgeModel",
    "Transcription", "Translation", "load_model", "translate_long",
]
