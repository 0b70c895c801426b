"""The audio codec: a DAC-style convolutional codec with residual VQ (4 codebooks x 1,024 codes), in plain PyTorch,
and its training loop (on clips in memory; ``train.codecs`` reads them from datasets)."""

from .clips import TrainClips, sample_excerpts
from .config import AUDIO_PRESETS, AudioCodecConfig, audio_preset
from .model import AudioCodec, AudioCodecOutput, load_audio_codec, prepare_audio, save_audio_codec
from .train import AudioTrainConfig, AudioTrainResult, train_on_clips

__all__ = [
    "AUDIO_PRESETS", "AudioCodec", "AudioCodecConfig", "AudioCodecOutput", "AudioTrainConfig", "AudioTrainResult",
    "TrainClips", "audio_preset", "load_audio_codec", "prepare_audio", "sample_excerpts", "save_audio_codec",
    "train_on_clips",
]
