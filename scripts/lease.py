"""The lease relay: each lent GPU continues the shipped translator, and its weights ship only when held-out
figures improve. `scripts/gpu/lease.sh` runs `train` and `export` on the GPU machine; `relay` runs here after the
return (collect the weights, evaluate candidate and shipped weights on the same held-out set, ship or not, and
append the lease's row to MODEL_CARD.md).

    python scripts/lease.py budget --lease-min 15 --elapsed-s 150                  # training seconds left
    python scripts/lease.py train --recipe configs/lease.toml --data TOKENS --init src/scorebridge/weights/model \\
        --out RUN --seconds 480 --device cuda                                      # on the GPU machine
    python scripts/lease.py export --run RUN --out OUT                             # fp16 parts, summary.json
    python scripts/lease.py relay --returned OUT --data TEST_TOKENS --card MODEL_CARD.md   # here, after the return

Why the optimiser state does not travel: AdamW's two moments of the compact model are 135 MB in fp32 (67 MB in
bf16), more than the 64 MiB that return from a lease beside the 34 MB of fp16 weights; and with beta2 = 0.95 its
second moment forgets within ~20 steps, so a lease that restarts AdamW from the shipped weights with a short
warm-up loses a few dozen steps' worth of adaptation, not the training.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from scorebridge.errors import InputError, exit_status
from scorebridge.fileio import replace_dir, write_text
from scorebridge.modality import Modality

log = logging.getLogger("lease")

PART_BYTES = 15 * 2**20  # a returned file may hold 16 MiB
RETURN_S = 180.0  # kept for packing and the return (issue 19: >= 3 min)
CALL_S = 600.0  # the device tool runs one command for at most 10 minutes: a lease is one command
AFTER_S = 60.0  # kept inside that command after training: the FLOP count, the export, the logs' tar
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0}  # dense bf16 peaks (NVIDIA's sheets), for MFU
TABLE_HEADER = ("| date | GPU | minutes lent | training s | examples seen | examples/s | MFU | held-out OMR SER % "
                "(shipped) | held-out onset F1 % (shipped) | shipped? |")


# ---- the time budget --------------------------------------------------------------------------------------------
def train_seconds(lease_s: float, elapsed_s: float, return_s: float = RETURN_S, export_s: float = 30.0,
                  call_s: float | None = None, call_elapsed_s: float = 0.0, after_s: float = AFTER_S) -> float:
    """Seconds of training left in a lease of ``lease_s`` device seconds after ``elapsed_s`` of them (start,
    transfer, unpacking), keeping ``return_s`` for the return and ``export_s`` for writing the weights — and, with
    ``call_s``, inside the one command's limit: ``call_s`` less the ``call_elapsed_s`` the command has run and the
    ``after_s`` it needs after training (a command stopped at its limit returns no weights). Never below 0."""
    left = lease_s - elapsed_s - return_s - export_s
    if call_s is not None:
        left = min(left, call_s - call_elapsed_s - after_s)
    return max(0.0, left)


def probe_rate(rows: list[dict[str, Any]]) -> float:
    """Steps/s over the second half of a probe's metric rows (the first steps pay for warm-up and compiling)."""
    rows = [r for r in rows if "loss" in r]
    if len(rows) < 2:
        raise ValueError("a timing probe needs at least two logged steps")
    a, b = rows[len(rows) // 2 - 1], rows[-1]
    if b["seconds"] <= a["seconds"]:
        raise ValueError("the probe's clock did not advance")
    return (b["step"] - a["step"]) / (b["seconds"] - a["seconds"])


# ---- training on the GPU machine --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeaseRun:
    steps: int
    examples: int
    seconds: float  # training time (probe and run, each from its first step)
    probe_steps_s: float
    checkpoint: Path


def lease_train(config: Any, out: Path, device: str, seconds: float, probe_steps: int = 40,
                margin: float = 0.93) -> LeaseRun:
    """Train ``config`` for about ``seconds`` of wall time: a probe of the first ``probe_steps`` steps (inside the
    warm-up, where the schedule does not depend on the total) times the real step, the total is set so that
    the cosine ends where the time does, and the same run resumes to it; a deadline stops it regardless."""
    from scorebridge.deadline import Deadline
    from scorebridge.train import train
    from scorebridge.train.run_folder import read_metrics

    end = time.monotonic() + seconds

    def left() -> float:
        return max(end - time.monotonic(), 1e-3)

    probe = max(2, min(probe_steps, config.optim.warmup, config.steps - 1))
    config = dataclasses.replace(config, log_every=min(config.log_every, max(1, probe // 4)))  # rows to time
    first = train(config, out, device=device, progress=False, stop_at=probe, deadline=Deadline(left()))
    if first.steps < probe:  # the time ran out inside the probe (a slow start): that was the whole lease
        if first.checkpoint is None:
            raise RuntimeError("the run ended without a checkpoint")
        log.info("the probe ran out of time after %d steps", first.steps)
        return LeaseRun(first.steps, first.examples, first.seconds, first.steps / max(first.seconds, 1e-9),
                        first.checkpoint)
    rate = probe_rate(read_metrics(out))
    total = max(first.steps + 1, first.steps + int(rate * left() * margin))
    log.info("probe: %.2f steps/s; %.0f s left: %d steps in all", rate, left(), total)
    second = train(dataclasses.replace(config, steps=total), out, resume=True, device=device, progress=False,
                   deadline=Deadline(left()))
    if second.checkpoint is None:
        raise RuntimeError("the run ended without a checkpoint")
    return LeaseRun(second.steps, first.examples + second.examples, first.seconds + second.seconds, rate,
                    second.checkpoint)


def flops_per_example(config: Any, device: str, steps: int = 3) -> float:
    """Training FLOPs (forward + backward) per example of the recipe's real batches, counted by
    torch.utils.flop_counter on ``steps`` steps; attention is added analytically where the device's kernel has
    no FLOP formula (CPU)."""
    from torch.utils.flop_counter import FlopCounterMode

    from scorebridge.model import translation_loss
    from scorebridge.train.assemble import new_model, vocabulary_for
    from scorebridge.train.batches import ExampleSource, StepBatches, build_pools
    from scorebridge.train.rows import read_bake_info, read_rows

    info = read_bake_info(config.data)
    vocab = vocabulary_for(info)
    rows = read_rows(config.data, "train", config.inputs)  # pixels / mel recipes read built datasets as signal
    pools = build_pools(config.tasks, rows, config.limits)
    batches = StepBatches(ExampleSource(rows, pools, vocab, config.limits, config.inputs), config.seed,
                          config.batch_size,
                          config.accumulate, 0, 1, 0, steps, config.batch_tokens)
    dev = torch.device(device)
    model = new_model(config, vocab, info).to(dev).train()
    mc = model.config
    total = examples = 0.0
    for i in range(len(batches)):  # a map-style dataset: iterating it directly would never end
        for micro in batches[i].micro:
            batch = micro.batch.to(dev)
            counter = FlopCounterMode(display=False)
            with counter:
                translation_loss(model, batch).loss_sum.backward()
            counted = counter.get_total_flops()
            if not any("scaled_dot_product" in str(op) for op in counter.get_flop_counts().get("Global", {})):
                b, s, t = batch.src_tokens.shape[0], batch.src_tokens.shape[1], batch.tgt_tokens.shape[1] - 1
                pairs = mc.enc_layers * s * s + mc.dec_layers * (t * t + t * s)
                counted += 3 * 4 * b * pairs * mc.d_model  # QK^T and AV, forward + 2x backward
            total += counted
            examples += batch.src_tokens.shape[0]
    return total / max(examples, 1.0)


def device_name(device: str) -> str:
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return "CPU"


def peak_tflops(name: str) -> float | None:
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


# ---- what returns -----------------------------------------------------------------------------------------------
def export(run: Path, out: Path, summary: dict[str, Any]) -> list[Path]:
    """The run's latest weights in fp16, in parts under 16 MiB, with config.json, metrics.jsonl, summary.json."""
    from safetensors.torch import load_file, save

    from scorebridge.train.run_folder import latest_checkpoint

    checkpoint = latest_checkpoint(run)
    if checkpoint is None:
        raise InputError(run, "has no checkpoint to export")
    weights = load_file(str(checkpoint / "model.safetensors"))
    data = save({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()})
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    for i in range(0, len(data), PART_BYTES):
        part = out / f"model-fp16.part{i // PART_BYTES:02d}"
        part.write_bytes(data[i:i + PART_BYTES])
        parts.append(part)
    write_text(out / "config.json", (checkpoint / "config.json").read_text())
    if (run / "metrics.jsonl").is_file():
        write_text(out / "metrics.jsonl", (run / "metrics.jsonl").read_text())
    write_text(out / "summary.json", json.dumps({**summary, "checkpoint": checkpoint.name}, indent=1) + "\n")
    return parts


def collect(returned: Path, model_dir: Path) -> Path:
    """The returned parts joined back into a translator folder (config.json + model.safetensors)."""
    parts = sorted(returned.glob("model-fp16.part*"))
    if not parts or not (returned / "config.json").is_file():
        raise InputError(returned, "holds no returned weights (model-fp16.part* and config.json)")
    with replace_dir(model_dir) as tmp:
        with open(tmp / "model.safetensors", "wb") as f:
            for part in parts:
                f.write(part.read_bytes())
        (tmp / "config.json").write_text((returned / "config.json").read_text())
    from scorebridge.model import load_translator

    load_translator(model_dir)  # strict: a missing or torn part is an error here, not at translation time
    return model_dir


# ---- held-out figures and the decision --------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    """Held-out figures of one model: OMR SER % (lower is better), transcription onset F1 % (higher)."""

    omr_ser: float | None
    onset_f1: float | None
    omr_examples: int = 0
    transcription_examples: int = 0


def evaluate(model_dir: Path, data: list[str], split: str, limit: int, omr: str = "*",
             transcription: str = "*") -> Figures:
    """Greedy decoding of ``limit`` fixed samples per dataset of ``split`` (spread evenly, centre shift, clean
    image), the same code that validates during training: SER of image -> notation on dataset ``omr`` and onset
    F1 of audio -> MIDI on ``transcription`` ("*" = every dataset, averaged)."""
    from scorebridge.checkpoint import config_from_dict
    from scorebridge.model import load_translator
    from scorebridge.tokens.features import CODES, FeatureSpec
    from scorebridge.tokens.layout import LengthLimits
    from scorebridge.train.assemble import vocabulary_for
    from scorebridge.train.curriculum import TaskEntry
    from scorebridge.train.recipe import TrainConfig
    from scorebridge.train.rows import read_bake_info
    from scorebridge.train.validate import validate

    loaded = load_translator(model_dir)
    # each model reads the sources as it was trained to: codes from a baked folder, pixels / mel frames from a
    # built dataset (the relay's --data and --shipped-data name folders of the same samples)
    inputs = config_from_dict(FeatureSpec, loaded.extra["inputs"], model_dir) if "inputs" in loaded.extra else CODES
    vocab = vocabulary_for(read_bake_info(data))
    if loaded.extra.get("vocabulary") != vocab.to_dict():
        raise InputError(model_dir, f"was trained on another token vocabulary than {data[0]}")
    limits = config_from_dict(LengthLimits, loaded.extra.get("limits", {}), model_dir)
    tasks = (TaskEntry(omr, "image", "notation"), TaskEntry(transcription, "audio", "midi"))
    config = TrainConfig(name="held-out", data=tuple(data), tasks=tasks, steps=1, batch_size=1, limits=limits,
                         valid_examples=limit, valid_decode=limit, inputs=inputs)
    results = validate(loaded.model, config, vocab, torch.device("cpu"), split=split)

    def mean(suffix: str, key: str) -> tuple[float | None, int]:
        values = [(r[key], int(r["examples"])) for name, r in results.items() if name.endswith(suffix) and key in r]
        if not values:
            return None, 0
        return 100 * sum(v for v, _ in values) / len(values), sum(min(n, limit) for _, n in values)

    ser, n_omr = mean(":image->notation", "ser")
    f1, n_tr = mean(":audio->midi", "onset_f1")
    return Figures(ser, f1, n_omr, n_tr)


def check_same_samples(data: list[str], other: list[str], split: str) -> None:
    """Both models are judged on the same samples: the folders of ``other`` (e.g. the bake of a built dataset,
    for a model that reads codes) must hold the same ``split`` sample ids as ``data``."""
    if list(data) == list(other):
        return
    from scorebridge.train.rows import split_ids

    if split_ids(data, split) != split_ids(other, split):
        raise InputError(Path(other[0]), f"does not hold the same {split} samples as {data[0]}")


def should_ship(candidate: Figures, shipped: Figures) -> tuple[bool, str]:
    """Ship only when no held-out figure got worse and at least one got better."""
    compared = [("OMR SER", candidate.omr_ser, shipped.omr_ser, -1), ("onset F1", candidate.onset_f1,
                                                                    shipped.onset_f1, 1)]
    compared = [c for c in compared if c[1] is not None and c[2] is not None]
    if not compared:
        return False, "no held-out figure to compare"
    worse = [name for name, c, s, sign in compared if sign * (c - s) < 0]
    better = [name for name, c, s, sign in compared if sign * (c - s) > 0]
    if worse:
        return False, f"not shipped: {' and '.join(worse)} worse"
    if not better:
        return False, "not shipped: no held-out figure improved"
    return True, f"shipped: {' and '.join(better)} better"


def directions(model_dir: Path) -> set[tuple[Modality, Modality]]:
    """The directions a translator folder was trained in (its config's tasks, else its recipe's)."""
    extra = json.loads((model_dir / "config.json").read_text()).get("extra", {})
    pairs = extra.get("tasks") or [(t["source"], t["target"]) for t in extra.get("recipe", {}).get("tasks", [])]
    return {(Modality(s), Modality(t)) for s, t in pairs}


def _names(pairs: set[tuple[Modality, Modality]]) -> list[str]:
    return sorted(f"{s}->{t}" for s, t in pairs)


def lost_directions(candidate: Path, shipped: Path) -> list[str]:
    """Directions users can translate with the shipped model, by any engine (the model, a cascade through one
    of its directions, a library: ``scorebridge.routes``), that the candidate would leave without a route."""
    from scorebridge.routes import served_directions

    return _names(served_directions(directions(shipped)) - served_directions(directions(candidate)))


def model_engines_lost(candidate: Path, shipped: Path) -> list[str]:
    """Directions the shipped model translates itself that the candidate would hand to a cascade or a library."""
    from scorebridge.routes import ENGINES, serves

    own = {pair for pair in ENGINES if "model" in ENGINES[pair]}
    before, after = directions(shipped), directions(candidate)
    return _names({pair for pair in own if serves(*pair, "model", before) and not serves(*pair, "model", after)})


def ship(candidate: Path, weights_dir: Path) -> None:
    """Replace ``weights_dir/model`` with the candidate's weights in fp16 (atomically; the codecs stay)."""
    from safetensors.torch import load_file, save_file

    weights = load_file(str(candidate / "model.safetensors"))
    with replace_dir(weights_dir / "model") as tmp:  # the shipped folder is replaced as one unit
        (tmp / "config.json").write_text((candidate / "config.json").read_text())
        save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()},
                  str(tmp / "model.safetensors"))


def write_figures(model_dir: Path, figures: Figures, a: argparse.Namespace) -> None:
    """The shipped weights' held-out figures as ``quality.json`` (``scorebridge.quality``)."""
    from scorebridge.quality import Figure, write_quality

    where = f"{a.limit} {a.split} samples per dataset of {', '.join(a.data)} (the relay's fixed held-out set)"
    rows = [Figure("image->notation", "SER %", figures.omr_ser, f"{where}; OMR on {a.omr}", decoding="greedy"),
            Figure("audio->midi", "onset F1 %", figures.onset_f1, f"{where}; transcription on {a.transcription}",
                   decoding="greedy")]
    write_quality(model_dir, [f for f in rows if f.value is not None], "measured by scripts/lease.py relay")


def start_words(summary: dict[str, Any]) -> str:
    """How the lease began, for its row: from the shipped weights, or from scratch and why."""
    if summary.get("init"):
        return "continued the shipped weights"
    return "from scratch" + (f" ({summary['init_skipped']})" if summary.get("init_skipped") else "")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def table_row(summary: dict[str, Any], candidate: Figures, shipped: Figures, verdict: str) -> str:
    mfu = summary.get("mfu")
    return (f"| {summary.get('date', '?')} | {summary.get('device', '?')} | {summary.get('lease_min', 0):.1f} | "
            f"{summary.get('train_seconds', 0):.0f} | {summary.get('examples', 0):,} | "
            f"{summary.get('examples_per_s', 0):,.1f} | {'n/a' if mfu is None else f'{100 * mfu:.1f}%'} | "
            f"{_pct(candidate.omr_ser)} ({_pct(shipped.omr_ser)}) | {_pct(candidate.onset_f1)} "
            f"({_pct(shipped.onset_f1)}) | {verdict} |")


def append_row(card: Path, row: str) -> None:
    """Add ``row`` at the end of the lease table of ``card`` (the table under TABLE_HEADER)."""
    lines = card.read_text(encoding="utf-8").splitlines()
    try:
        at = lines.index(TABLE_HEADER) + 2  # header and its |---| line
    except ValueError:
        raise InputError(card, "has no lease table (its header line is missing)") from None
    while at < len(lines) and lines[at].startswith("|"):
        at += 1
    lines.insert(at, row)
    write_text(card, "\n".join(lines) + "\n")


# ---- commands ---------------------------------------------------------------------------------------------------
def _cmd_budget(a: argparse.Namespace) -> None:
    # lease.sh passes the command's own seconds; the device has also spent start_s before it began
    left = train_seconds(a.lease_min * 60, a.elapsed_s + a.start_s, a.return_s, call_s=a.call_s or None,
                         call_elapsed_s=a.elapsed_s, after_s=a.after_s)
    print(f"{left:.0f}")


def _cmd_train(a: argparse.Namespace) -> None:
    from scorebridge.train import read_recipe

    overrides = {"data": tuple(a.data) if a.data else None, "init": a.init, "batch_size": a.batch_size,
                 "batch_tokens": a.batch_tokens, "model": a.model, "steps": a.guess_steps,
                 "compile": True if a.compile else None}
    config = read_recipe(a.recipe, **overrides)
    if a.seconds < 1:
        raise InputError(a.recipe, f"no time left to train ({a.seconds:.0f} s)")
    skipped = None
    if config.init is not None and a.init_if_fits:
        from scorebridge.train.assemble import init_mismatch

        skipped = init_mismatch(config, config.init)
        if skipped:  # e.g. the first lease of a recipe whose inputs differ from the shipped model's
            log.info("training from scratch: %s %s", config.init, skipped)
            config = dataclasses.replace(config, init=None)
    run = lease_train(config, a.out, a.device, a.seconds, a.probe_steps)
    fpe = flops_per_example(config, a.device, steps=1)  # inside the lease's command: AFTER_S keeps time for it
    name = device_name(a.device)
    rate = run.examples / run.seconds
    peak = peak_tflops(name)
    summary = {"date": datetime.date.today().isoformat(), "device": name, "lease_min": a.lease_min,
               "train_seconds": round(run.seconds, 1), "steps": run.steps, "examples": run.examples,
               "examples_per_s": round(rate, 2), "probe_steps_per_s": round(run.probe_steps_s, 3),
               "flops_per_example": fpe, "mfu": rate * fpe / (peak * 1e12) if peak else None,
               "batch_size": config.batch_size, "batch_tokens": config.batch_tokens, "init": config.init,
               "init_skipped": skipped,
               "compile": config.compile, "model": config.model, "torch": torch.__version__}
    write_text(a.out / "lease-summary.json", json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))


def _cmd_export(a: argparse.Namespace) -> None:
    summary_file = a.run / "lease-summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    for part in export(a.run, a.out, summary):
        print(part)


def _cmd_relay(a: argparse.Namespace) -> None:
    summary_file = a.returned / "summary.json"
    if not summary_file.is_file():
        raise InputError(a.returned, "holds no summary.json (not what scripts/gpu/lease.sh returns)")
    summary = json.loads(summary_file.read_text())
    shipped_data = a.shipped_data or a.data
    check_same_samples(a.data, shipped_data, a.split)  # before any work
    candidate_dir = collect(a.returned, a.work / "candidate")
    shipped_dir = a.weights_dir / "model"
    figures = [evaluate(d, data, a.split, a.limit, a.omr, a.transcription)
               for d, data in ((candidate_dir, a.data), (shipped_dir, shipped_data))]
    ok, verdict = should_ship(figures[0], figures[1])
    lost = lost_directions(candidate_dir, shipped_dir)
    if ok and lost and not a.allow_fewer_directions:
        ok, verdict = False, f"not shipped: better, but it leaves {', '.join(lost)} without a route " \
                             "(--allow-fewer-directions)"
    handed = model_engines_lost(candidate_dir, shipped_dir)
    if ok and handed:
        verdict += f"; {', '.join(handed)} now by a cascade or a library (not trained in them)"
    verdict += f"; {start_words(summary)}"
    if ok and not a.dry_run:
        ship(candidate_dir, a.weights_dir)
        write_figures(a.weights_dir / "model", figures[0], a)  # the note every model route prints reads them
    elif ok:
        verdict += " (dry run: weights left as they were)"
    row = table_row(summary, figures[0], figures[1], verdict)
    append_row(a.card, row)
    write_text(a.work / "relay.json", json.dumps({"candidate": dataclasses.asdict(figures[0]),
                                                   "shipped": dataclasses.asdict(figures[1]), "ship": ok,
                                                   "verdict": verdict, "summary": summary}, indent=1) + "\n")
    print(row)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("budget", help="training seconds left in a lease")
    b.add_argument("--lease-min", type=float, required=True)
    b.add_argument("--elapsed-s", type=float, required=True, help="seconds this command has run")
    b.add_argument("--start-s", type=float, default=0.0, help="device seconds spent before it began (start, transfer)")
    b.add_argument("--return-s", type=float, default=RETURN_S)
    b.add_argument("--call-s", type=float, default=CALL_S, help="the command's time limit (0: none)")
    b.add_argument("--after-s", type=float, default=AFTER_S, help="kept in the command after training")
    t = sub.add_parser("train", help="train for a time budget from the shipped weights (GPU machine)")
    t.add_argument("--recipe", type=Path, required=True)
    t.add_argument("--data", action="append", default=None)
    t.add_argument("--init", default=None, help="translator folder to start from")
    t.add_argument("--init-if-fits", action="store_true",
                   help="train from scratch (and say why in the summary) when --init does not fit the recipe "
                        "(dimensions, vocabulary, codecs, inputs) instead of failing")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--seconds", type=float, required=True)
    t.add_argument("--lease-min", type=float, default=0.0, help="the lease's length, for the table")
    t.add_argument("--device", default="cuda")
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--batch-tokens", type=int, default=None)
    t.add_argument("--model", default=None, help="model preset (tests: tiny)")
    t.add_argument("--guess-steps", type=int, default=None, help="the schedule's total before the probe")
    t.add_argument("--probe-steps", type=int, default=40)
    t.add_argument("--compile", action="store_true", help="torch.compile the step")
    e = sub.add_parser("export", help="what returns: fp16 weight parts, config, metrics, summary")
    e.add_argument("--run", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("relay", help="here, after the return: evaluate, ship if better, add the table row")
    r.add_argument("--returned", type=Path, required=True, help="the files a lease returned")
    r.add_argument("--data", action="append", required=True, help="baked folder(s) holding the held-out split")
    r.add_argument("--shipped-data", action="append", default=None,
                   help="folder(s) of the same held-out samples for the shipped model when it reads other inputs "
                        "(e.g. the bake of the built --data; default: --data)")
    r.add_argument("--split", default="test")
    r.add_argument("--limit", type=int, default=20, help="held-out samples per dataset and direction")
    r.add_argument("--allow-fewer-directions", action="store_true",
                   help="ship a better candidate even when it leaves a direction users translate today without "
                        "a route (the model, a cascade or a library)")
    r.add_argument("--omr", default="*", help="dataset of the OMR figure (the card's: lieder)")
    r.add_argument("--transcription", default="*", help="dataset of the onset F1 figure (the card's: asap)")
    r.add_argument("--weights-dir", type=Path, default=Path("src/scorebridge/weights"))
    r.add_argument("--card", type=Path, default=Path("MODEL_CARD.md"))
    r.add_argument("--work", type=Path, default=Path("runs/relay"))
    r.add_argument("--dry-run", action="store_true", help="decide and write the row, but replace no weights")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    commands = {"budget": _cmd_budget, "train": _cmd_train, "export": _cmd_export, "relay": _cmd_relay}
    return exit_status(lambda: commands[args.command](args), args.debug)


if __name__ == "__main__":
    sys.exit(main())
