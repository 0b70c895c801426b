"""The training loop: overfitting every task, exact resume, DDP equal to one process, run folders, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from _baked_fixtures import ALL_TASKS, write_baked, write_recipe
from scorebridge import load_model
from scorebridge.cli import main
from scorebridge.errors import InputError
from scorebridge.modality import Modality
from scorebridge.train import read_recipe, train
from scorebridge.train.run_folder import latest_checkpoint, read_metrics
from scorebridge.train.validate import validate


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    return write_baked(tmp_path_factory.mktemp("baked") / "toy", n_train=4, shifts=(1, 1))


def _losses(out):
    return [(r["step"], r["loss"]) for r in read_metrics(out) if "loss" in r]


def test_tiny_model_overfits_every_task(tmp_path, baked):
    recipe = write_recipe(tmp_path / "r.toml", baked, steps=250, batch=16, checkpoint_every=250, lr=3e-3, warmup=10,
                          extra="valid_examples = 8\nvalid_decode = 2")
    config = read_recipe(recipe)
    report = train(config, tmp_path / "run", progress=False)
    assert report.steps == 250 and report.checkpoint == tmp_path / "run" / "step-00000250"
    losses = _losses(tmp_path / "run")
    assert losses[-1][1] < losses[0][1] / 20
    # teacher-forced accuracy of every task on the training samples themselves
    from scorebridge.train.assemble import vocabulary_for
    from scorebridge.train.rows import read_bake_info

    model = load_model(report.checkpoint).translator
    vocab = vocabulary_for(read_bake_info(config.data))
    results = validate(model, config, vocab, torch.device("cpu"), split="train")
    assert len(results) == len(ALL_TASKS)
    for name, r in results.items():
        assert r["accuracy"] > 0.97, name
    assert results["toy:image->notation"]["ser"] < 0.1
    assert results["toy:audio->midi"]["onset_f1"] > 0.9
    assert results["toy:image->notation"]["end_eos"] == results["toy:audio->midi"]["end_eos"] == 2  # it stops


def test_resume_continues_the_same_loss_curve(tmp_path, baked):
    extra = "dropout = 0.1"  # dropout draws from the RNG: its state must be restored too
    full = write_recipe(tmp_path / "full.toml", baked, steps=6, checkpoint_every=3, extra=extra)
    train(read_recipe(full), tmp_path / "a", progress=False)
    train(read_recipe(full), tmp_path / "b", progress=False, stop_at=4)  # interrupted after step 4
    train(read_recipe(full), tmp_path / "b", resume=True, progress=False)
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b")
    a = load_file(str(latest_checkpoint(tmp_path / "a") / "model.safetensors"))
    b = load_file(str(latest_checkpoint(tmp_path / "b") / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_time_limit_stops_with_a_checkpoint_and_resume_continues(tmp_path, baked):
    from scorebridge.deadline import Deadline

    full = write_recipe(tmp_path / "full.toml", baked, steps=4, checkpoint_every=100)
    train(read_recipe(full), tmp_path / "a", progress=False)
    report = train(read_recipe(full), tmp_path / "b", progress=False, deadline=Deadline(1e-9))
    assert report.steps == 1 and report.checkpoint is not None  # out of time after its first step
    train(read_recipe(full), tmp_path / "b", resume=True, progress=False)
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b")


def test_a_run_folder_is_not_overwritten_and_resume_needs_a_run(tmp_path, baked):
    recipe = write_recipe(tmp_path / "r.toml", baked, steps=2, checkpoint_every=1,
                          extra="validate_every = 2\nvalid_examples = 2\nvalid_decode = 1")
    train(read_recipe(recipe), tmp_path / "run", progress=False)
    validation = [r for r in read_metrics(tmp_path / "run") if "validation" in r]
    assert [r["step"] for r in validation] == [2] and validation[0]["decoding"]["method"] == "greedy"
    metrics = validation[0]["validation"]
    assert "ser" in metrics["toy:image->notation"] and "onset_f1" in metrics["toy:audio->midi"]
    ends = [metrics["toy:image->notation"][f"end_{k}"] for k in ("eos", "loop", "source_length", "max_steps")]
    assert sum(ends) == 1  # why the one decoded example stopped
    assert 0 <= metrics["toy:midi->audio"]["accuracy"] <= 1
    with pytest.raises(InputError, match="already holds a training run"):
        train(read_recipe(recipe), tmp_path / "run", progress=False)
    with pytest.raises(InputError, match="no training run to resume"):
        train(read_recipe(recipe), tmp_path / "other", resume=True, progress=False)
    with pytest.raises(InputError, match="changed recipe"):
        train(read_recipe(recipe, batch_size=8), tmp_path / "run", resume=True, progress=False)
    # keep_checkpoints = 3 by default: steps 1 and 2 exist, latest is 2
    assert latest_checkpoint(tmp_path / "run").name == "step-00000002"
    assert (tmp_path / "run" / "tensorboard").is_dir() and any((tmp_path / "run" / "tensorboard").iterdir())


def test_ddp_with_two_gloo_processes_equals_one_process(tmp_path, baked):
    recipe = write_recipe(tmp_path / "r.toml", baked, steps=3, batch=4, checkpoint_every=3)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["train", "--config", str(recipe), "--device", "cpu", "-q"]
    one = subprocess.run([sys.executable, "-m", "scorebridge", *args, "--out", str(tmp_path / "one")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "scorebridge", *args, "--out", str(tmp_path / "two")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-2000:]
    a, b = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert [s for s, _ in a] == [s for s, _ in b] == [1, 2, 3]
    assert [la for _, la in a] == pytest.approx([lb for _, lb in b], rel=1e-5)
    wa = load_file(str(latest_checkpoint(tmp_path / "one") / "model.safetensors"))
    wb = load_file(str(latest_checkpoint(tmp_path / "two") / "model.safetensors"))
    assert all(torch.allclose(wa[k], wb[k], atol=1e-5) for k in wa)


def test_bf16_autocast_trains_on_cpu(tmp_path, baked):
    recipe = write_recipe(tmp_path / "r.toml", baked, steps=2, checkpoint_every=2, extra='precision = "bf16"')
    report = train(read_recipe(recipe), tmp_path / "run", progress=False)
    assert report.steps == 2 and 0 < report.loss < 20


@pytest.mark.slow  # compiling takes minutes on 2 cores
def test_compiled_training_matches_eager(tmp_path, baked):
    recipe = write_recipe(tmp_path / "r.toml", baked, steps=2, checkpoint_every=2)
    train(read_recipe(recipe), tmp_path / "eager", progress=False)
    train(read_recipe(recipe, compile=True), tmp_path / "compiled", progress=False)
    eager, compiled = _losses(tmp_path / "eager"), _losses(tmp_path / "compiled")
    assert [b for _, b in compiled] == pytest.approx([a for _, a in eager], rel=1e-4)


def test_a_checkpoint_is_a_model_folder(tmp_path, baked):
    recipe = write_recipe(tmp_path / "r.toml", baked, steps=1, checkpoint_every=1)
    train(read_recipe(recipe), tmp_path / "run", progress=False)
    model = load_model(latest_checkpoint(tmp_path / "run"))
    assert (Modality.IMAGE, Modality.NOTATION) in model.tasks
    assert model.vocab.size == model.translator.config.vocab_size
    result = model.translate("C4 quarter", to="midi")  # no codec needed between notation and MIDI
    assert result.modality is Modality.MIDI


def test_cli_train_and_its_errors(tmp_path, baked, capsys):
    recipe = write_recipe(tmp_path / "r.toml", baked, steps=2, checkpoint_every=2)
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "run"), "-q"]) == 0
    assert "step 2 (from 0)" in capsys.readouterr().out
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "run"), "-q", "--resume",
                 "--steps", "3"]) == 0
    assert "step 3 (from 2)" in capsys.readouterr().out
    assert main(["train", "--config", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "missing.toml" in err and "not found" in err and len(err.strip().splitlines()) == 1
    assert main(["train", "--config", str(recipe), "--out", str(tmp_path / "y"), "--data", str(tmp_path)]) == 2
    assert "bake.json" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["one-model", "two-model-i2a", "two-model-a2i"])
def test_shipped_recipes_train_on_baked_shards(tmp_path, baked, name):
    """The shipped curricula as written (tasks, ramps, optimiser), shrunk to the tiny preset and two steps."""
    from pathlib import Path

    from scorebridge.tokens.layout import LengthLimits

    recipe = Path(__file__).resolve().parents[1] / "configs" / f"{name}.toml"
    config = read_recipe(recipe, data=(str(baked),), model="tiny", steps=2, batch_size=4, workers=0,
                         checkpoint_every=2, validate_every=0,
                         limits=LengthLimits(image=200, notation=200, midi=200, audio=200, image_columns=50))
    report = train(config, tmp_path / "run", progress=False)
    assert report.steps == 2
    first = read_metrics(tmp_path / "run")[0]["tasks"]
    # at step 0 only the entries that start at 0 are drawn
    starting = {f"toy:{t.source}->{t.target}" for t in config.tasks if t.start == 0}
    assert set(first) <= starting
