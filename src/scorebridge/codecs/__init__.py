"""The codecs alone: learned tokenizers for the continuous modalities and nothing about datasets or shards.

``codecs.image`` (the RQ-VAE for score images) and ``codecs.audio`` (the DAC-style audio codec) hold each model,
its checkpoints and its training loop on material in memory. Here: loading codecs from folders (``loading``, the
one loader the bake and inference share) and codec work on ordinary files (``files``: image/audio readers,
``.npz`` codes, audio writers). The models pull in torch, so this face imports only the light modules; import
``scorebridge.codecs.image`` / ``.audio`` for the networks. Baked token shards live in ``scorebridge.shards``;
reading datasets for codec training in ``scorebridge.train.codecs``.
"""

from .files import CodesInfo, audio_format, decode_file, encode_file, read_audio, read_image, write_audio
from .loading import KINDS, Codecs, checkpoint_dir, codec_folder, load_codec, load_codecs

__all__ = [
    "KINDS", "Codecs", "CodesInfo", "audio_format", "checkpoint_dir", "codec_folder", "decode_file", "encode_file",
    "load_codec", "load_codecs", "read_audio", "read_image", "write_audio",
]
