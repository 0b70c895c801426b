"""Token shards: the baked format between the data engine and training, its writer and its readers.

``format`` defines a baked folder and its records (``BakedSample``, the manifest, ``CODEBOOKS_NAME``);
``reader`` reads them in order (``iter_baked``) or by row (``ShardReader``); ``bake`` writes them from
data-engine datasets and codecs (``scorebridge.shards.bake.bake``, behind ``scorebridge codec bake``);
``pack`` packs a baked folder densely for a lent GPU (``python -m scorebridge.shards.pack``), ``built_pack`` a
built dataset for a lease that reads pixels and mel frames (``python -m scorebridge.shards.built_pack``).

Layering: shards may use ``data``, ``codecs`` and ``tokens``; ``data`` and ``codecs`` never import shards. This
face imports only the format and the readers (numpy and the standard library): the writer pulls in the codecs,
torch and the data engine, so it is imported as ``scorebridge.shards.bake``.
"""

from .format import (
    BAKE_VERSION,
    CODEBOOKS_NAME,
    MANIFEST_NAME,
    SETTINGS_NAME,
    BakedSample,
    baked_from_record,
    npy_bytes,
    read_baked_manifest,
)
from .reader import NO_BAKE, BakedRow, BakeInfo, ShardReader, bake_info_of, baked_rows, iter_baked

__all__ = [
    "BAKE_VERSION", "CODEBOOKS_NAME", "MANIFEST_NAME", "NO_BAKE", "SETTINGS_NAME", "BakeInfo", "BakedRow",
    "BakedSample", "ShardReader", "bake_info_of", "baked_from_record", "baked_rows", "iter_baked", "npy_bytes",
    "read_baked_manifest",
]
