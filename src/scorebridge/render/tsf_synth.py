"""MIDI -> audio with the ``tinysoundfont`` wheel (TinySoundFont in C), for machines without FluidSynth.

``render.synth`` uses it when the fluidsynth binary is not on PATH (or ``$SCOREBRIDGE_SYNTH=tinysoundfont``).
It plays the same .sf2 file with the same MIDI events but has no reverb or chorus, and its gain is matched to
FluidSynth's level once (``GAIN_DB_AT_02``, measured on piano MIDI). Deterministic: no random state.
The wheel declares pyaudio as a requirement but only its live-output path uses it; install it with
``pip install --no-deps tinysoundfont==0.3.7``.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from pathlib import Path

import numpy as np

from scorebridge.errors import MissingToolError, ScorebridgeError

log = logging.getLogger(__name__)

SYNTH_ENV = "SCOREBRIDGE_SYNTH"
BACKEND = "tinysoundfont"
PIP_HINT = "pip install --no-deps tinysoundfont==0.3.7"
TAIL_S = 3.0  # rendered past the MIDI's end for release tails, as fluidsynth does (trim_tail cuts the silence)
GAIN_DB_AT_02 = -8.3  # tinysoundfont gain (dB) matching fluidsynth at its default 0.2: mean RMS difference over
# 6 ASAP performances with TimGM6mb (3.8..15.3 dB: the two velocity curves differ), bench/bench_tsf_synth.py
_logged: list[str] = []


def available() -> bool:
    """True when the tinysoundfont wheel is importable."""
    try:
        import tinysoundfont  # noqa: F401
    except ImportError:
        return False
    return True


def chosen() -> bool:
    """Whether to synthesize with tinysoundfont: forced by $SCOREBRIDGE_SYNTH, or fluidsynth is missing and the
    wheel is there. Names the backend in the log once per process."""
    forced = os.environ.get(SYNTH_ENV)
    if forced not in (None, "", "fluidsynth", BACKEND):
        raise ScorebridgeError(f"{SYNTH_ENV} must be 'fluidsynth' or '{BACKEND}', not {forced!r}")
    use = forced == BACKEND if forced else shutil.which("fluidsynth") is None and available()
    name = BACKEND if use else "fluidsynth"
    if _logged != [name]:
        log.info("synthesizing MIDI with %s", name)
        _logged[:] = [name]
    return use


def render(midi_path: str | os.PathLike[str], sf2: Path, sample_rate: int, midi_seconds: float,
           gain: float = 0.2) -> np.ndarray:
    """Render ``midi_path`` with ``sf2``; returns float32 stereo (N, 2), TAIL_S past ``midi_seconds``.

    ``gain`` is fluidsynth's linear master gain; it maps to tinysoundfont's dB relative to the default 0.2.
    """
    try:
        import tinysoundfont
    except ImportError as exc:
        raise MissingToolError("tinysoundfont", PIP_HINT) from exc
    gain_db = GAIN_DB_AT_02 + 20.0 * math.log10(gain / 0.2)
    try:
        synth = tinysoundfont.Synth(gain=gain_db, samplerate=sample_rate)
        sfid = synth.sfload(str(sf2))
        _default_programs(synth, sfid)
        seq = tinysoundfont.Sequencer(synth)
        seq.midi_load(str(midi_path))
        frames = math.ceil((midi_seconds + TAIL_S) * sample_rate)
        buf = synth.generate(frames)
    except Exception as exc:  # the binding raises its own types (SoundFontException, OSError, ValueError)
        raise ScorebridgeError(f"tinysoundfont failed on {midi_path}: {str(exc)[:300]}") from exc
    log.debug("synthesized %s with %s (tinysoundfont)", midi_path, sf2.name)
    return np.frombuffer(buf, dtype=np.float32).reshape(-1, 2).copy()


def _default_programs(synth: object, sfid: int) -> None:
    """Program 0 on every channel and the drum kit on channel 10, as FluidSynth starts: tinysoundfont's channels
    are silent until a program change, which many MIDI files (Verovio's piano parts among them) never send."""
    for chan in range(16):
        try:
            synth.program_select(chan, sfid, 0, 0, is_drums=chan == 9)  # type: ignore[attr-defined]
        except RuntimeError:  # a soundfont without drums (or without preset 0): that channel stays silent
            log.debug("no default program for channel %d in soundfont %d", chan, sfid)
