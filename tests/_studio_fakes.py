"""Job functions for studio tests. They run inside the studio's worker processes, which import them by name:
they must stay module-level functions of an importable module (tests/ is on the workers' sys.path)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from scorebridge.errors import ScorebridgeError
from scorebridge.studio.work import JobResult


def wait_for_gate(spec, out: Path, model, options, progress) -> JobResult:
    """Runs until a file named ``gate`` appears beside the job root (the test opens it), then succeeds."""
    progress(0, 1, "waiting at the gate")
    gate = Path(out).parents[2] / "gate"
    while not gate.exists():
        time.sleep(0.05)
    return ok(spec, out, model, options, progress)


def ok(spec, out: Path, model, options, progress) -> JobResult:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pid.txt").write_text(str(os.getpid()))
    return JobResult(("pid.txt",), problems=(f"read {spec.input}",))


def noted(spec, out: Path, model, options, progress) -> JobResult:
    """A result with a caution about its direction and a problem, as a weak model route gives."""
    progress(1, 2, "making the score from the page: 1 of 2 systems done")
    ok(spec, out, model, options, progress)
    return JobResult(("pid.txt",), problems=("score: system 2 was cut short",),
                     warnings=("the built-in model cannot read scores reliably yet: check the result",))


def sleep_forever(spec, out: Path, model, options, progress) -> JobResult:
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "partial.bin").write_bytes(b"x" * 1000)
    progress(0, 1, "sleeping")
    while True:
        time.sleep(0.05)


def hog_memory(spec, out: Path, model, options, progress) -> JobResult:
    """Touches 20 MB more every 20 ms until it is stopped."""
    held = []
    while True:
        held.append(bytearray(20 * 1024 * 1024))
        time.sleep(0.02)


def big_allocation(spec, out: Path, model, options, progress) -> JobResult:
    """One allocation far past any cap (as a 1 Hz WAV asking for 67 GB): refused by the address-space limit."""
    return bytearray(64 * 1024 ** 3)


def leak_path(spec, out: Path, model, options, progress) -> JobResult:
    raise ScorebridgeError(f"cannot read {spec.input} (under {Path(out).parent}) nor /etc/scorebridge/secret.conf")


def crash(spec, out: Path, model, options, progress) -> JobResult:
    os._exit(3)


BEHAVIOURS = {"sleep": sleep_forever, "hog": hog_memory, "huge": big_allocation, "leak": leak_path, "crash": crash,
              "gate": wait_for_gate, "noted": noted}


def by_name(spec, out: Path, model, options, progress) -> JobResult:
    """The behaviour named by the upload's name ("sleep.musicxml" sleeps); ``ok`` for any other name."""
    return BEHAVIOURS.get(spec.name.split(".")[0], ok)(spec, out, model, options, progress)
