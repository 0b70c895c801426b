"""Codec training: train-split-only data, the loss falls, exact resume, resume after a kill; losses and
discriminators."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from scorebridge.codecs.audio import AUDIO_PRESETS, AudioTrainConfig, load_audio_codec, sample_excerpts
from scorebridge.codecs.audio.discriminators import Discriminator, discriminator_loss, generator_losses
from scorebridge.codecs.audio.losses import ReconstructionLoss
from scorebridge.data.build import build
from scorebridge.data.contract import BuildConfig, PieceSpec, sample_id
from scorebridge.data.schema import Sample, ms_to_sample_floor
from scorebridge.errors import InputError
from scorebridge.train.codecs import load_train_clips, train_audio_codec

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = AUDIO_PRESETS["tiny"]
SPLITS = ("train", "train", "train", "valid", "test")


class ToneSource:
    """Pieces of three 1-s chords; valid and test pieces are silent apart from a marker, train ones are not."""

    name = "tones"

    def pieces(self) -> list[PieceSpec]:
        return [PieceSpec("tones", f"set/piece{i}", f"/nowhere/{i}", split) for i, split in enumerate(SPLITS)]

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        index = int(spec.piece[-1])
        out = []
        for k in range(3):
            n = ms_to_sample_floor(1000, config.sample_rate)
            t = np.arange(n) / config.sample_rate
            root = 110.0 * 2 ** ((index * 3 + k) / 12)
            audio = sum(np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.25, 1.5)) * 0.2
            out.append(Sample(id=sample_id(spec, "system", k), source=spec.source, piece=spec.piece, split=spec.split,
                              kind="system", start_ms=1000 * k, end_ms=1000 * k + 1000, sample_rate=config.sample_rate,
                              audio=audio.astype(np.float32)))
        return out


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tones") / "ds"
    build(ToneSource(), out)
    return out


def _config(**kw: object) -> AudioTrainConfig:
    base = dict(preset="tiny", steps=4, batch_size=2, excerpt_samples=960, lr=1e-3, checkpoint_every=2, log_every=1)
    return AudioTrainConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_only_train_clips_are_read(tones: Path) -> None:
    clips = load_train_clips([tones], TINY.sample_rate, max_clips=100)
    assert len(clips.ids) == 9 and all("/piece0/" in i or "/piece1/" in i or "/piece2/" in i for i in clips.ids)
    assert all(a.size == TINY.sample_rate for a in clips.audio)  # resampled 44.1 kHz -> 16 kHz, 1 s each
    batch = sample_excerpts(clips, 3, 500, torch.Generator().manual_seed(0))
    assert batch.shape == (3, 1, 500) and float(batch.abs().max()) > 0.05
    with pytest.raises(InputError):
        load_train_clips([tones.parent / "nothing"], TINY.sample_rate, 10)


def test_loss_falls_over_a_few_dozen_steps(tones: Path, tmp_path: Path) -> None:
    result = train_audio_codec(_config(steps=24, checkpoint_every=100), [tones], tmp_path / "run", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    mel = [r["mel"] for r in rows]
    assert len(mel) == 24 and result.steps == 24 and result.start_step == 0
    assert np.mean(mel[-4:]) < 0.8 * np.mean(mel[:4])
    codec = load_audio_codec(result.checkpoint)
    assert codec.encode(torch.zeros(1, 1, 700)).shape == (1, 4, 3)


def test_resume_is_exact(tones: Path, tmp_path: Path) -> None:
    whole = train_audio_codec(_config(), [tones], tmp_path / "whole", progress=False)
    train_audio_codec(_config(steps=2), [tones], tmp_path / "parts", progress=False)
    resumed = train_audio_codec(_config(), [tones], tmp_path / "parts", progress=False)
    assert resumed.start_step == 2 and resumed.steps == 4
    a, b = load_audio_codec(whole.checkpoint), load_audio_codec(resumed.checkpoint)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name
    logged = [json.loads(line)["step"] for line in (tmp_path / "parts" / "train_log.jsonl").read_text().splitlines()]
    assert logged == [1, 2, 3, 4]
    with pytest.raises(InputError, match="other settings"):
        train_audio_codec(_config(lr=5e-4), [tones], tmp_path / "parts", progress=False)


def test_a_time_limit_saves_and_a_rerun_continues_exactly(tones: Path, tmp_path: Path) -> None:
    from scorebridge.deadline import Deadline

    whole = train_audio_codec(_config(), [tones], tmp_path / "whole", progress=False)
    cut = train_audio_codec(_config(), [tones], tmp_path / "cut", progress=False, deadline=Deadline(1e-9))
    assert cut.steps == 1
    rest = train_audio_codec(_config(), [tones], tmp_path / "cut", progress=False)
    assert rest.start_step == 1 and rest.steps == 4
    a, b = load_audio_codec(whole.checkpoint), load_audio_codec(rest.checkpoint)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_killed_run_resumes_from_its_last_checkpoint(tones: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    code = ("import sys; from scorebridge.codecs.audio import AudioTrainConfig; "
            "from scorebridge.train.codecs import train_audio_codec; "
            "train_audio_codec(AudioTrainConfig(preset='tiny', steps=100000, batch_size=2, excerpt_samples=1280, "
            "checkpoint_every=2, log_every=1), [sys.argv[1]], sys.argv[2], progress=False)")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code, str(tones), str(out)], env=env)
    deadline = time.time() + 300  # only an upper bound: the loop stops at the first checkpoint (slow when loaded)
    try:
        while not (out / "train_state.pt").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (out / "train_state.pt").exists()
    saved = int(torch.load(out / "train_state.pt", weights_only=True)["step"])
    assert saved >= 2 and saved % 2 == 0
    config = AudioTrainConfig(preset="tiny", steps=saved + 2, batch_size=2, excerpt_samples=1280, checkpoint_every=2,
                              log_every=1)
    result = train_audio_codec(config, [tones], out, progress=False)
    assert result.start_step == saved and result.steps == saved + 2
    assert int(torch.load(out / "train_state.pt", weights_only=True)["step"]) == saved + 2


def test_adversarial_step_runs_and_discriminator_shapes(tones: Path, tmp_path: Path) -> None:
    disc = Discriminator(width=4)
    wav = torch.randn(2, 1, 4096) * 0.1
    feats = disc(wav)
    assert len(feats) == 5 + 3  # five periods, three STFT windows
    for period, f in zip((2, 3, 5, 7, 11), feats[:5], strict=True):
        assert f[-1].shape[0] == 2 and f[-1].shape[1] == 1 and f[-1].shape[-1] == period
    for f in feats[5:]:
        assert f[-1].dim() == 4 and f[-1].shape[:2] == (2, 1)
    fake = disc(wav * 0.5)
    assert float(discriminator_loss(feats, fake).detach()) > 0
    g = generator_losses(feats, disc(wav))
    assert float(g.feature_matching.detach()) == 0.0
    result = train_audio_codec(_config(steps=1, adversarial=True, disc_width=4), [tones], tmp_path / "adv",
                               progress=False)
    row = json.loads((tmp_path / "adv" / "train_log.jsonl").read_text().splitlines()[-1])
    assert result.steps == 1 and row["disc"] > 0 and "feature" in row


def test_spectral_losses_vanish_on_identity_only() -> None:
    loss = ReconstructionLoss(TINY)
    t = torch.arange(4000) / TINY.sample_rate
    wav = (0.3 * torch.sin(2 * torch.pi * 440 * t)).view(1, 1, -1)
    same = loss(wav, wav)
    assert float(same.mel) == 0.0 and float(same.stft) == 0.0
    other = loss(0.5 * wav, wav)
    assert float(other.mel) > 0.1 and float(other.spectral_convergence) == pytest.approx(0.5, abs=1e-3)
