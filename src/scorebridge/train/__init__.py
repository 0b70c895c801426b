"""Training the translator: recipes, the multitask curriculum, batches from baked shards, the DDP loop."""

from .curriculum import TaskEntry, ramp
from .loop import TrainReport, train
from .recipe import OptimConfig, TrainConfig, read_recipe

__all__ = ["OptimConfig", "TaskEntry", "TrainConfig", "TrainReport", "ramp", "read_recipe", "train"]
