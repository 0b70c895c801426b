"""Training: the translator (recipes, the multitask curriculum, batches from baked shards, the DDP loop) and the
codecs on data-engine datasets (``train.codecs``, around the codecs' own loops).

Reads token shards through ``scorebridge.shards`` and built datasets through ``scorebridge.data``; nothing
below imports ``train``.
"""

from .codecs import train_audio_codec, train_image_codec
from .curriculum import TaskEntry, ramp
from .loop import TrainReport, train
from .recipe import OptimConfig, TrainConfig, read_recipe
from .rows import read_bake_info, read_rows

__all__ = [
    "OptimConfig", "TaskEntry", "TrainConfig", "TrainReport", "ramp", "read_bake_info", "read_recipe", "read_rows",
    "train", "train_audio_codec", "train_image_codec",
]
