"""The lease relay (scripts/lease.py, scripts/gpu/lease.sh) end to end on CPU with a tiny model: a lease from
the "shipped" weights, the return, held-out evaluation, the ship decision and the model card's row. Every
weight folder here is a temporary copy; the real shipped weights are never touched."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _baked_fixtures import write_baked, write_recipe
from _raw_fixtures import write_raw
from scorebridge.train import read_recipe, train

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("lease", ROOT / "scripts" / "lease.py")
lease = importlib.util.module_from_spec(spec)
sys.modules["lease"] = lease
spec.loader.exec_module(lease)

CARD = f"""# Model card

## Leases

{lease.TABLE_HEADER}
|---|---|---|---|---|---|---|---|---|---|

## Evaluation
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A baked folder (train + valid) and two trained tiny models of its vocabulary: 'weak' (1 step) and
    'strong' (overfit on the same samples), each a model folder."""
    root = tmp_path_factory.mktemp("lease")
    baked = write_baked(root / "toy", n_train=4, n_valid=2, shifts=(1, 1))
    tasks = [("image", "notation"), ("audio", "midi")]
    recipe = write_recipe(root / "r.toml", baked, steps=1, batch=8, checkpoint_every=1, tasks=tasks)
    weak = train(read_recipe(recipe), root / "weak", progress=False).checkpoint
    strong_recipe = write_recipe(root / "s.toml", baked, steps=80, batch=16, checkpoint_every=80, lr=3e-3,
                                 warmup=10, tasks=tasks)
    strong = train(read_recipe(strong_recipe), root / "strong", progress=False).checkpoint
    return {"root": root, "baked": baked, "weak": weak, "strong": strong}


def _weights(tmp_path: Path, model: Path) -> Path:
    """A temporary weights folder like src/scorebridge/weights (model/ only) holding ``model``."""
    weights = tmp_path / "weights"
    (weights / "model").mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copyfile(model / name, weights / "model" / name)
    return weights


def test_the_budget_keeps_the_return_and_the_command_limit():
    assert lease.train_seconds(15 * 60, 150) == 15 * 60 - 150 - 180 - 30
    assert lease.train_seconds(5 * 60, 200) == 0.0
    # one command may run 10 minutes: 100 s into it (and 120 s of start before), 600 - 100 - 60 are left, not
    # 900 - 220 - 180 - 30
    assert lease.train_seconds(15 * 60, 220, call_s=600, call_elapsed_s=100) == 600 - 100 - 60
    assert lease.train_seconds(8 * 60, 220, call_s=600, call_elapsed_s=100) == 8 * 60 - 220 - 180 - 30
    assert lease.probe_rate([{"step": 5, "loss": 1, "seconds": 9.0}, {"step": 10, "loss": 1, "seconds": 10.0},
                             {"step": 20, "loss": 1, "seconds": 12.0}]) == pytest.approx(5.0)


def test_ship_only_when_nothing_is_worse_and_something_better():
    F = lease.Figures
    assert lease.should_ship(F(50.0, 10.0), F(60.0, 10.0))[0]
    assert lease.should_ship(F(60.0, 12.0), F(60.0, 10.0))[0]
    ok, why = lease.should_ship(F(40.0, 9.0), F(60.0, 10.0))
    assert not ok and "onset F1 worse" in why
    assert not lease.should_ship(F(60.0, 10.0), F(60.0, 10.0))[0]
    assert not lease.should_ship(F(None, None), F(60.0, 10.0))[0]
    assert lease.should_ship(F(50.0, None), F(60.0, 10.0))[0]  # a figure missing on one side is not compared


NINE = [("audio", "image"), ("audio", "midi"), ("audio", "notation"), ("image", "audio"), ("image", "midi"),
        ("image", "notation"), ("midi", "audio"), ("notation", "image"), ("notation", "midi")]  # the shipped model's
READ = [("image", "notation"), ("audio", "midi"), ("image", "midi"), ("audio", "notation"), ("notation", "midi")]


def test_directions_left_without_a_route_are_named(tmp_path):
    def folder(name, tasks, in_recipe=False):
        d = tmp_path / name
        d.mkdir()
        recipe = {"tasks": [{"source": s, "target": t} for s, t in tasks]}
        extra = {"recipe": recipe} if in_recipe else {"tasks": [list(t) for t in tasks]}
        (d / "config.json").write_text(json.dumps({"extra": extra}))
        return d

    shipped = folder("shipped", NINE)
    read = folder("read", READ, in_recipe=True)  # older folders name their directions in the recipe only
    # a pixels + mel lease serves every direction users have: the rest by cascades through its own directions
    # (image -> audio, audio -> image) and by FluidSynth (MIDI -> audio)
    assert lease.lost_directions(read, shipped) == []
    assert lease.model_engines_lost(read, shipped) == ["audio->image", "image->audio", "midi->audio"]
    transcriber = folder("transcriber", [("audio", "midi")])
    assert lease.lost_directions(transcriber, shipped) == ["image->audio", "image->midi", "image->notation"]
    assert lease.lost_directions(shipped, shipped) == [] and lease.model_engines_lost(shipped, shipped) == []


def test_export_and_collect_round_trip_the_weights(tmp_path, world):
    from safetensors.torch import load_file

    ret = tmp_path / "ret"
    parts = lease.export(world["strong"].parent, ret, {"examples": 3})
    assert parts and all(p.stat().st_size <= lease.PART_BYTES for p in parts)
    model = lease.collect(ret, tmp_path / "model")
    a, b = load_file(str(world["strong"] / "model.safetensors")), load_file(str(model / "model.safetensors"))
    assert set(a) == set(b) and all((a[k].half().float() == b[k].float()).all() for k in a)
    assert json.loads((ret / "summary.json").read_text())["examples"] == 3
    with pytest.raises(lease.InputError, match="no returned weights"):
        lease.collect(tmp_path, tmp_path / "x")


def test_the_lease_script_trains_from_the_shipped_weights_on_cpu(tmp_path, world):
    weights = _weights(tmp_path, world["weak"])
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DEVICE": "cpu", "OUT": str(out), "WORK": str(tmp_path / "work"),
           "TOKENS": str(world["baked"]), "INIT": str(weights / "model"), "MODEL": "tiny",
           # no TRAIN_S: the budget decides, here bound by a short command limit (the device tool's is 600 s)
           "LEASE_MIN": "15", "START_S": "0", "CALL_S": "50", "AFTER_S": "20",
           "BATCH": "8", "BATCH_TOKENS": "200", "PROBE_STEPS": "4",
           "PY": sys.executable, "EXTRA_PATH": str(ROOT / "src")}
    done = subprocess.run(["bash", "scripts/gpu/lease.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    names = sorted(p.name for p in out.iterdir())
    assert names[:2] == ["config.json", "logs.tar"] and "summary.json" in names and len(names) <= 8
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] > 4 and summary["examples"] == summary["steps"] * 8  # past the probe
    assert summary["device"] == "CPU" and summary["mfu"] is None and summary["flops_per_example"] > 0
    assert summary["init"] == str(weights / "model")
    seconds = next(int(line.split()[-1]) for line in done.stdout.splitlines() if line.startswith("training seconds"))
    assert 0 < seconds <= 50 - 20  # 30 s less what setting up took (a loaded machine's slow start is absorbed)


@pytest.mark.parametrize("candidate, shipped, ships", [("strong", "weak", True), ("weak", "strong", False)])
def test_the_relay_ships_better_weights_only_and_writes_the_row(tmp_path, world, candidate, shipped, ships):
    from safetensors.torch import load_file

    weights = _weights(tmp_path, world[shipped])
    ret = tmp_path / "ret"
    lease.export(world[candidate].parent, ret, {"date": "2026-12-06", "device": "CPU", "lease_min": 15.0,
                                                "train_seconds": 10.0, "examples": 1234, "examples_per_s": 12.5,
                                                "mfu": None})
    card = tmp_path / "MODEL_CARD.md"
    card.write_text(CARD)
    before = load_file(str(weights / "model" / "model.safetensors"))
    argv = ["relay", "--returned", str(ret), "--data", str(world["baked"]), "--split", "valid", "--limit", "2",
            "--weights-dir", str(weights), "--card", str(card), "--work", str(tmp_path / "work")]
    assert lease.main(argv) == 0
    after = load_file(str(weights / "model" / "model.safetensors"))
    changed = any(not (before[k].float() == after[k].float()).all() for k in before)
    assert changed is ships
    rows = [line for line in card.read_text().splitlines() if line.startswith("| 2026-12-06")]
    assert len(rows) == 1 and "1,234" in rows[0] and "| CPU | 15.0 |" in rows[0]
    assert ("| shipped:" in rows[0]) is ships and ("not shipped" in rows[0]) is not ships
    assert card.read_text().index(rows[0]) < card.read_text().index("## Evaluation")
    relay = json.loads((tmp_path / "work" / "relay.json").read_text())
    assert relay["ship"] is ships and relay["candidate"]["omr_ser"] is not None
    from scorebridge.quality import read_quality

    omr = read_quality(weights / "model").headline("image->notation")  # the shipped weights' own figures
    assert (omr is not None and omr.value == pytest.approx(relay["candidate"]["omr_ser"])) is ships


def test_relay_errors_are_one_line(tmp_path, world, capsys):
    card = tmp_path / "card.md"
    card.write_text("# no table\n")
    assert lease.main(["relay", "--returned", str(tmp_path), "--data", str(world["baked"]), "--card",
                       str(card)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "summary.json" in err
    assert lease.main(["budget", "--lease-min", "15", "--elapsed-s", "100", "--call-s", "0"]) == 0
    assert capsys.readouterr().out.strip() == str(15 * 60 - 100 - 180 - 30)
    assert lease.main(["budget", "--lease-min", "15", "--elapsed-s", "100", "--start-s", "120"]) == 0
    assert capsys.readouterr().out.strip() == str(600 - 100 - 60)


@pytest.mark.parametrize("transport", ["tar.xz", "sbbuilt"])
def test_the_pixels_and_mel_recipe_trains_from_scratch_on_a_built_dataset(tmp_path, world, transport):
    """scripts/gpu/lease-read.toml (the CPU proofs' inputs): a built dataset travels as a tar.xz or as a dense
    built-dataset pack (audio made again there from the notes with a carried soundfont); the shipped weights read
    codes, so the first lease of this recipe starts from scratch and says why; the relay judges each model with
    the inputs it was trained on (here the "shipped" weights are the candidate itself: equal figures, nothing
    shipped); and the next lease continues the pixels + mel weights once they are the shipped ones."""
    raw = write_raw(tmp_path / "built" / "toyraw")
    extra = {}
    if transport == "tar.xz":
        archive = tmp_path / "built.tar.xz"
        subprocess.run(["tar", "-cJf", str(archive), "-C", str(raw.parent), raw.name], check=True)
    else:
        from scorebridge.shards.built_pack import pack_built

        archive = pack_built(raw, tmp_path / "built.sbbuilt").out
        extra = {"SOUNDFONT": "timgm6mb", "UNPACK_WORKERS": "1"}
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DEVICE": "cpu", "OUT": str(out), "WORK": str(tmp_path / "work"),
           "TOKENS": str(archive), "INIT": str(world["weak"]), "RECIPE": "scripts/gpu/lease-read.toml", "MODEL": "tiny",
           "TRAIN_S": "12", "BATCH": "8", "BATCH_TOKENS": "400", "PROBE_STEPS": "4",
           "PY": sys.executable, "EXTRA_PATH": str(ROOT / "src"), **extra}
    done = subprocess.run(["bash", "scripts/gpu/lease.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    # steps: the probe's 4 and more, unless a loaded machine's slow start spent the 12 s inside the probe
    assert summary["init"] is None and summary["steps"] >= 1 and summary["flops_per_example"] > 0
    assert "other model dimensions" in summary["init_skipped"]  # a codes model: no feature projection
    assert "(6 samples)" in done.stdout
    if transport == "sbbuilt":
        from scorebridge.data.dataset import iter_samples

        made = list(iter_samples(tmp_path / "work" / "built"))
        assert len(made) == 6 and all(s.audio is not None and "audio_resynthesized" in s.meta for s in made)
        return
    card = tmp_path / "card.md"
    card.write_text(CARD)
    weights = _weights(tmp_path, lease.collect(out, tmp_path / "as-shipped"))
    assert lease.main(["relay", "--returned", str(out), "--data", str(raw), "--split", "valid", "--limit", "2",
                       "--weights-dir", str(weights), "--card", str(card), "--work", str(tmp_path / "relay")]) == 0
    relay = json.loads((tmp_path / "relay" / "relay.json").read_text())
    assert relay["candidate"]["omr_ser"] is not None and relay["candidate"] == relay["shipped"]
    assert not relay["ship"] and "from scratch (" in relay["verdict"]
    again = {**env, "OUT": str(tmp_path / "out2"), "WORK": str(tmp_path / "work2"), "INIT": str(weights / "model"),
             "TRAIN_S": "12"}
    done = subprocess.run(["bash", "scripts/gpu/lease.sh"], cwd=ROOT, env=again, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads((tmp_path / "out2" / "summary.json").read_text())
    assert summary["init"] == str(weights / "model") and summary["init_skipped"] is None


def test_the_relay_refuses_shipped_data_of_other_samples(tmp_path, world, capsys):
    raw = write_raw(tmp_path / "toyraw", n_train=3, n_valid=1)
    (tmp_path / "ret").mkdir()
    (tmp_path / "ret" / "summary.json").write_text("{}")
    assert lease.main(["relay", "--returned", str(tmp_path / "ret"), "--data", str(raw), "--shipped-data",
                       str(world["baked"]), "--split", "valid", "--card", str(tmp_path / "card.md"),
                       "--work", str(tmp_path / "relay")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "same valid samples" in err


def test_the_model_card_holds_the_lease_table():
    text = (ROOT / "MODEL_CARD.md").read_text()
    assert lease.TABLE_HEADER in text
    at = text.splitlines().index(lease.TABLE_HEADER)
    assert text.splitlines()[at + 2].startswith("| 2026-11-26 | NVIDIA H100")
