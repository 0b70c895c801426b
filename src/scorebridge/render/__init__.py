"""Deterministic renderings of a score, without learned weights: engraving (Verovio in ``engrave``, MuseScore 3
in ``musescore``), the engraved SVG's geometry (``svglayout``), SVG -> PNG/PDF (``raster``, ``pdf``), one crop per
system (``crops``), normalization to the model's staff height (``normalize``) and synthesis (FluidSynth, ``synth``).
Import the names below from ``scorebridge.render``."""

from scorebridge.render.crops import PixelBox, SystemCrop, SystemImage, crop_systems, system_crops, system_zoom
from scorebridge.render.engrave import (
    FONTS,
    EngravedScore,
    EngraveOptions,
    MeasureInfo,
    MeasurePlay,
    StaffInfo,
    TimemapEvent,
    engrave,
    write_midi_bytes,
)
from scorebridge.render.musescore import musescore_render
from scorebridge.render.normalize import (
    normalize_system,
    resize_to_staff_height,
    to_grayscale,
    whiten_background,
)
from scorebridge.render.pdf import svgs_to_pdf
from scorebridge.render.raster import svg_to_array, svg_to_png
from scorebridge.render.synth import (
    SOUNDFONTS,
    SynthOptions,
    resolve_soundfont,
    synthesize,
    synthesize_bytes,
    synthesize_to_wav,
)

__all__ = [
    "FONTS", "SOUNDFONTS", "EngraveOptions", "EngravedScore", "MeasureInfo", "MeasurePlay", "PixelBox",
    "StaffInfo", "SynthOptions", "SystemCrop", "SystemImage", "TimemapEvent", "crop_systems", "engrave",
    "musescore_render", "normalize_system", "resize_to_staff_height", "resolve_soundfont", "svg_to_array",
    "svg_to_png", "svgs_to_pdf", "synthesize", "synthesize_bytes", "synthesize_to_wav", "system_crops", "to_grayscale",
    "system_zoom", "whiten_background", "write_midi_bytes",
]
