"""Decoding: the search over a translator's outputs for one batch of encoded sources.

``search`` holds the one entry per level (`generate` over raw masks and rules, `generate_target` for one
target modality with its grammar, positions and stop rules) and `DecodingOptions`; ``grammar`` and ``masks``
say which ids each output slot may hold; ``stopping`` ends rows early and records why. Import the options and
the entries from here (``from scorebridge.decoding import DecodingOptions``); users get `DecodingOptions` from
``scorebridge`` itself.
"""

from .search import DecodingOptions, Generation, TargetGeneration, generate, generate_target
from .stopping import END_REASONS, SourceLength, end_counts, source_units_of

__all__ = [
    "END_REASONS", "DecodingOptions", "Generation", "SourceLength", "TargetGeneration", "end_counts", "generate",
    "generate_target", "source_units_of",
]
