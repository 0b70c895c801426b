"""codecs.loading, the one codec loader: where codecs are looked for, and one-line errors before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scorebridge.codecs import checkpoint_dir, codec_folder, load_codec, load_codecs
from scorebridge.codecs.audio import AUDIO_PRESETS, AudioTrainConfig, TrainClips, train_on_clips
from scorebridge.errors import InputError


def test_codec_folder_takes_the_first_folder_holding_the_kind(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "audio").mkdir(parents=True)
    (second / "image").mkdir(parents=True)
    (second / "audio").mkdir(parents=True)
    assert codec_folder([first, second], "image") == second / "image"
    assert codec_folder([first, second], "audio") == first / "audio"
    assert codec_folder([tmp_path / "nowhere"], "image") is None


def test_folders_without_a_codec_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no codec here"):
        load_codecs(tmp_path)
    with pytest.raises(InputError, match="not a codec checkpoint"):
        checkpoint_dir(tmp_path)
    with pytest.raises(ValueError, match="kind must be one of"):
        load_codec("midi", tmp_path)


def test_clips_at_another_rate_are_refused_before_any_work(tmp_path: Path) -> None:
    rate = AUDIO_PRESETS["tiny"].sample_rate
    clips = TrainClips(("a",), (np.zeros(rate, np.float32),), rate + 1)
    with pytest.raises(ValueError, match="Hz"):
        train_on_clips(AudioTrainConfig(preset="tiny", steps=1), clips, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
