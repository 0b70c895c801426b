"""The audio codec: a DAC-style convolutional codec with residual VQ (4 codebooks x 1,024 codes), in plain PyTorch.

Public API: `AudioCodecConfig`, `AUDIO_PRESETS`, `AudioCodec`, `save_audio_codec`, `load_audio_codec`,
`prepare_audio`, `AudioTrainConfig`, `train_audio_codec`.
"""

from .config import AUDIO_PRESETS, AudioCodecConfig, audio_preset
from .model import AudioCodec, AudioCodecOutput, count_parameters, load_audio_codec, prepare_audio, save_audio_codec
from .train import AudioTrainConfig, AudioTrainResult, train_audio_codec

__all__ = [
    "AUDIO_PRESETS", "AudioCodec", "AudioCodecConfig", "AudioCodecOutput", "AudioTrainConfig", "AudioTrainResult",
    "audio_preset", "count_parameters", "load_audio_codec", "prepare_audio", "save_audio_codec", "train_audio_codec",
]
