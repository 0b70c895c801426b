"""Recipes: TOML and YAML files into a validated TrainConfig; the shipped recipes parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorebridge.errors import InputError
from scorebridge.modality import Modality
from scorebridge.train import TrainConfig, read_recipe

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

TOML = """
data = ["tokens"]
steps = 10
batch_size = 4
model = "tiny"
[optim]
lr = 0.001
[[tasks]]
dataset = "*"
source = "image"
target = "notation"
weight = 2.0
start = 5
end = 8
"""

YAML = """
data: [tokens]
steps: 10
batch_size: 4
model: tiny
optim: {lr: 0.001}
tasks:
  - {dataset: "*", source: image, target: notation, weight: 2.0, start: 5, end: 8}
"""


def test_toml_and_yaml_give_the_same_config(tmp_path):
    (tmp_path / "r.toml").write_text(TOML)
    (tmp_path / "r.yaml").write_text(YAML)
    a, b = read_recipe(tmp_path / "r.toml"), read_recipe(tmp_path / "r.yaml")
    assert a == b
    assert isinstance(a, TrainConfig) and a.name == "r" and a.optim.lr == 0.001 and a.optim.warmup == 2000
    assert a.tasks[0].source is Modality.IMAGE and (a.tasks[0].weight, a.tasks[0].start, a.tasks[0].end) == (2.0, 5, 8)


def test_overrides_replace_fields(tmp_path):
    (tmp_path / "r.toml").write_text(TOML)
    c = read_recipe(tmp_path / "r.toml", steps=99, data=("a", "b"), batch_size=None)
    assert c.steps == 99 and c.data == ("a", "b") and c.batch_size == 4


@pytest.mark.parametrize(("text", "message"), [
    ("steeps = 3\n" + TOML, "unknown TrainConfig keys: steeps"),
    (TOML + "\nwieght = 3\n", "unknown TaskEntry keys: wieght"),
    (TOML.replace('model = "tiny"', 'model = "huge"'), "unknown model preset"),
    (TOML.replace('target = "notation"', 'target = "image"'), "two modalities"),
    (TOML.replace("batch_size = 4", "batch_size = 4\naccumulate = 3"), "micro-batches"),
    (TOML.replace("[optim]", "[optim]\nwarmpu = 3"), "unknown OptimConfig keys"),
    ("data = [", "not a valid recipe"),
])
def test_bad_recipes_are_one_line_input_errors(tmp_path, text, message):
    (tmp_path / "r.toml").write_text(text)
    with pytest.raises(InputError, match=message) as err:
        read_recipe(tmp_path / "r.toml")
    assert "\n" not in str(err.value) and "r.toml" in str(err.value)


def test_missing_or_odd_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_recipe(tmp_path / "none.toml")
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(InputError, match="toml or .yaml"):
        read_recipe(tmp_path / "r.json")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_recipes_parse(path):
    config = read_recipe(path)
    assert config.tasks and config.steps > 0


def test_the_two_model_recipes_split_the_one_model_tasks():
    one = {(t.source, t.target) for t in read_recipe(CONFIGS / "one-model.toml").tasks}
    i2a = {(t.source, t.target) for t in read_recipe(CONFIGS / "two-model-i2a.toml").tasks}
    a2i = {(t.source, t.target) for t in read_recipe(CONFIGS / "two-model-a2i.toml").tasks}
    assert not i2a & a2i and i2a | a2i < one
    assert (Modality.IMAGE, Modality.NOTATION) in i2a and (Modality.AUDIO, Modality.MIDI) in a2i


def test_a_run_written_before_a_field_existed_resumes_when_the_field_keeps_its_default(tmp_path):
    import json

    from _baked_fixtures import write_baked, write_recipe
    from scorebridge.checkpoint import config_to_dict
    from scorebridge.train.run_folder import check_recipe

    config = read_recipe(write_recipe(tmp_path / "r.toml", write_baked(tmp_path / "toy")))
    old = config_to_dict(config)
    del old["batch_tokens"], old["inputs"]  # fields a newer version added
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "recipe.json").write_text(json.dumps(old))
    check_recipe(tmp_path / "run", config, resume=True)
    with pytest.raises(InputError, match="changed recipe \\(batch_tokens\\)"):
        check_recipe(tmp_path / "run", read_recipe(tmp_path / "r.toml", batch_tokens=100), resume=True)
