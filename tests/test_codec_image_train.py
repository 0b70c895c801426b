"""Image codec training: the loss falls, training resumes exactly, only train-split images are read."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from _image_codec_fixtures import staff_image
from scorebridge.codecs.image import (
    IMAGE_PRESETS,
    ImageCodec,
    ImageTrainConfig,
    image_codec_losses,
    image_to_tensor,
    load_image_codec,
    train_on_images,
)
from scorebridge.data.schema import Sample, to_record
from scorebridge.errors import InputError
from scorebridge.train.codecs import load_train_images, train_image_codec

IMAGES = [staff_image(48 + 16 * (i % 3), 100 + 20 * i, seed=i) for i in range(6)]


def small_run(steps: int, **kw) -> ImageTrainConfig:
    return ImageTrainConfig(preset="tiny", steps=steps, batch_size=8, crop_sizes=(32, 48), lr=3e-3,
                            log_every=5, checkpoint_every=kw.pop("checkpoint_every", 100), **kw)


def eval_loss(model: ImageCodec) -> float:
    x = torch.cat([image_to_tensor(img[:48, :96]) for img in IMAGES])
    model.eval()
    with torch.no_grad():
        out = model(x)
        return image_codec_losses(out.recon, x, out.commit_loss, model.config).total.item()


def test_loss_falls(tmp_path):
    config = small_run(40)
    torch.manual_seed(config.seed)
    before = eval_loss(ImageCodec(IMAGE_PRESETS["tiny"]))  # the same initial weights as the run's
    result = train_on_images(config, IMAGES, tmp_path / "run")
    assert result.step == 40 and result.resumed_from == 0
    after = eval_loss(load_image_codec(tmp_path / "run"))
    assert after < 0.7 * before, (before, after)


def test_resume_continues_exactly(tmp_path):
    straight = train_on_images(small_run(6), IMAGES, tmp_path / "straight")
    first = train_on_images(small_run(3), IMAGES, tmp_path / "resumed")
    assert first.step == 3
    second = train_on_images(small_run(6), IMAGES, tmp_path / "resumed")
    assert (second.resumed_from, second.step) == (3, 6)
    assert second.losses == straight.losses
    a = load_image_codec(tmp_path / "straight").state_dict()
    b = load_image_codec(tmp_path / "resumed").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # asking for no more steps than done leaves the run as it is
    again = train_on_images(small_run(6), IMAGES, tmp_path / "resumed")
    assert (again.resumed_from, again.step) == (6, 6)


def test_a_time_limit_saves_and_a_rerun_continues_exactly(tmp_path):
    from scorebridge.deadline import Deadline

    straight = train_on_images(small_run(5), IMAGES, tmp_path / "straight")
    cut = train_on_images(small_run(5), IMAGES, tmp_path / "cut", deadline=Deadline(1e-9))
    assert cut.step == 1
    rest = train_on_images(small_run(5), IMAGES, tmp_path / "cut")
    assert (rest.resumed_from, rest.step) == (1, 5) and rest.losses == straight.losses


def test_resume_saves_every_n_steps(tmp_path):
    train_on_images(small_run(4, checkpoint_every=2), IMAGES, tmp_path / "run")
    state = torch.load(tmp_path / "run" / "train_state.pt", weights_only=True)
    assert state["step"] == 4
    with pytest.raises(InputError, match="another recipe"):
        train_on_images(small_run(6, seed=1), IMAGES, tmp_path / "run")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("not a run")
    with pytest.raises(InputError, match="no training state"):
        train_on_images(small_run(2), IMAGES, tmp_path / "other")


def write_dataset(root: Path) -> None:
    import webdataset as wds

    samples = [
        Sample(id=f"fake/p{i}/system-0000", source="fake", piece=f"p{i}", split=split, kind="system",
               start_ms=0, end_ms=1000, image=img)
        for i, (split, img) in enumerate([("train", IMAGES[0]), ("test", np.zeros((40, 90), np.uint8)),
                                          ("train", IMAGES[1]), ("valid", np.zeros((50, 60), np.uint8))])
    ]
    (root / "shards").mkdir(parents=True)
    rows = []
    for s in samples:
        shard = f"shards/{s.piece}.tar"
        with wds.TarWriter(str(root / shard)) as sink:
            sink.write(to_record(s))
        rows.append({**s.row(), "shard": shard})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_reads_train_split_only(tmp_path):
    write_dataset(tmp_path / "ds")
    images = load_train_images([tmp_path / "ds"], max_images=10, seed=0)
    assert len(images) == 2
    assert sorted(img.shape for img in images) == sorted([IMAGES[0].shape, IMAGES[1].shape])
    assert all(img.min() > 0 for img in images)  # the all-black valid/test images are never read
    assert len(load_train_images([tmp_path / "ds"], max_images=1, seed=0)) == 1
    result = train_image_codec(small_run(2), [tmp_path / "ds"], tmp_path / "run")
    assert result.images == 2 and result.step == 2
    assert load_image_codec(tmp_path / "run").config == IMAGE_PRESETS["tiny"]


def test_train_config_checks():
    with pytest.raises(ValueError, match="preset"):
        ImageTrainConfig(preset="huge")
    with pytest.raises(ValueError, match="multiples of 16"):
        ImageTrainConfig(crop_sizes=(40,))
