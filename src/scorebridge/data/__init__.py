"""The data engine: aligned image / LMX / MIDI / audio samples from corpora and datasets, in sharded storage.

What lives here, top to bottom:

- ``schema``: the ``Sample`` (one system or one long window, up to four aligned modalities) and its record form;
- ``contract``: what the build and every source agree on (``BuildConfig``, ``PieceSpec``, ``Source``, ...);
- ``cutting``: the one note / audio cut and the one long-window builder every source uses;
- ``sources/`` (built-in corpora) and ``adapters/`` (public datasets), named for ``--source`` by ``registry``;
- ``system_samples`` (score -> system samples), ``performance`` (ASAP alignment), ``checks``, ``augment``;
- ``build`` (pieces -> shards, local pool or Ray), ``dataset`` (reading a built dataset), ``splits``.
"""

from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec, Source, piece_rng, sample_id
from scorebridge.data.cutting import NoteCut, cut_audio, cut_notes, window_samples
from scorebridge.data.schema import SCHEMA_VERSION, Sample, from_record, ms_to_sample_floor, to_record

__all__ = ["SCHEMA_VERSION", "BuildConfig", "NoteCut", "PieceRejected", "PieceSpec", "Sample", "Source", "cut_audio",
           "cut_notes", "from_record", "ms_to_sample_floor", "piece_rng", "sample_id", "to_record", "window_samples"]
