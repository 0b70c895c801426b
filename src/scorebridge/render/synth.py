"""MIDI -> audio with the FluidSynth command line (Debian ``fluidsynth``); symusic's synthesizer is broken.

Rendering is deterministic: fluidsynth writes 32-bit float WAV (no dither noise), and its chorus and
reverb are plain DSP without random state, so the same MIDI gives identical samples run after run.

Where the fluidsynth binary is missing (a wheel-only machine such as a GPU lease), ``render.tsf_synth`` renders
with the ``tinysoundfont`` wheel and the same soundfont file (no reverb or chorus; its likeness to FluidSynth
in docs/gpu-data.md). ``$SCOREBRIDGE_SYNTH`` (``fluidsynth`` or ``tinysoundfont``) forces one.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.errors import InputError, MissingToolError, ScorebridgeError
from scorebridge.fileio import atomic_path, work_dir
from scorebridge.limits import LIMITS, Limits, check_render_length, measure_midi_file

log = logging.getLogger(__name__)

SILENCE = 1e-4  # -80 dBFS: below this the release tail counts as silence
SOUNDFONT_DIR = Path("/usr/share/sounds/sf2")
SOUNDFONTS = {  # preset name -> (file, Debian package that ships it)
    "fluidr3": (SOUNDFONT_DIR / "FluidR3_GM.sf2", "fluid-soundfont-gm"),
    "timgm6mb": (SOUNDFONT_DIR / "TimGM6mb.sf2", "timgm6mb-soundfont"),
}


@dataclass(frozen=True)
class SynthOptions:
    mono: bool = True  # average the two channels fluidsynth renders
    gain: float = 0.2  # fluidsynth's default master gain
    reverb: bool = True
    chorus: bool = True
    trim_tail: bool = True  # drop fluidsynth's trailing silence (it renders ~3 s past the last event)
    timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if not 0.0 < self.gain <= 10.0:
            raise ValueError(f"gain must be in (0, 10], not {self.gain}")


def resolve_soundfont(soundfont: str | os.PathLike[str]) -> Path:
    """A preset name ('fluidr3', 'timgm6mb') or a path to an .sf2/.sf3 file -> an existing file."""
    key = str(soundfont).lower()
    if key in SOUNDFONTS:
        path, package = SOUNDFONTS[key]
        if not path.is_file():
            raise InputError(path, f"soundfont {key!r} is not installed (Debian: apt-get install {package})")
        return path
    path = Path(soundfont)
    if path.suffix.lower() not in (".sf2", ".sf3"):
        raise InputError(path, f"unknown soundfont (use {', '.join(SOUNDFONTS)} or a path to an .sf2 file)")
    if not path.is_file():
        raise InputError(path, "soundfont file not found")
    return path


def check_midi(midi_path: str | os.PathLike[str], limits: Limits = LIMITS) -> float:
    """Raise InputError unless the file is a readable MIDI file with at least one sounding note whose audio is
    at most ``limits.max_render_seconds`` long (measured before FluidSynth writes any of it).

    Returns the MIDI file's length in seconds.
    """
    measure = measure_midi_file(midi_path, limits)
    if measure.notes == 0:
        raise InputError(midi_path, "MIDI file has no notes")
    check_render_length(measure, midi_path, limits)
    return measure.seconds


def synthesize(midi_path: str | os.PathLike[str], soundfont: str | os.PathLike[str] = "fluidr3",
               sample_rate: int = AUDIO_SAMPLE_RATE, options: SynthOptions = SynthOptions()) -> np.ndarray:
    """Render a MIDI file; returns float32 samples, shape (N,) if mono else (N, 2)."""
    from scorebridge.render import tsf_synth

    if tsf_synth.chosen():
        if not 8_000 <= sample_rate <= 96_000:
            raise ValueError(f"sample_rate must be in 8000..96000, not {sample_rate}")
        sf2 = resolve_soundfont(soundfont)
        midi_seconds = check_midi(midi_path)
        audio = tsf_synth.render(midi_path, sf2, sample_rate, midi_seconds, options.gain)
    else:
        with work_dir("synth") as tmp:
            wav = Path(tmp) / "out.wav"
            midi_seconds = _render(midi_path, wav, soundfont, sample_rate, options)
            audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    if options.trim_tail:
        audio = trim_tail(audio, min_samples=math.ceil(midi_seconds * sample_rate))
    return _channels(audio, options.mono)


def trim_tail(audio: np.ndarray, min_samples: int, threshold: float = SILENCE) -> np.ndarray:
    """Cut trailing samples quieter than ``threshold``, keeping at least ``min_samples`` (the MIDI length)."""
    tail = audio[min_samples:]  # only the part past the MIDI's end can be cut: scan just that
    level = np.abs(tail) if tail.ndim == 1 else np.abs(tail).max(axis=1)
    loud = np.flatnonzero(level > threshold)
    end = min_samples + (int(loud[-1]) + 1 if loud.size else 0)
    return audio[: min(end, len(audio))]


def synthesize_bytes(midi: bytes, soundfont: str | os.PathLike[str] = "fluidr3",
                     sample_rate: int = AUDIO_SAMPLE_RATE,
                     options: SynthOptions = SynthOptions()) -> np.ndarray:
    """As ``synthesize`` for MIDI held in memory (e.g. ``EngravedScore.midi``)."""
    with work_dir("synth") as tmp:
        path = Path(tmp) / "in.mid"
        path.write_bytes(midi)
        return synthesize(path, soundfont, sample_rate, options)


def synthesize_to_wav(midi_path: str | os.PathLike[str], wav_path: str | os.PathLike[str],
                      soundfont: str | os.PathLike[str] = "fluidr3", sample_rate: int = AUDIO_SAMPLE_RATE,
                      options: SynthOptions = SynthOptions(), subtype: str = "PCM_16") -> Path:
    """Render a MIDI file to a WAV (16-bit PCM by default, 'FLOAT' for exact samples), atomically."""
    audio = synthesize(midi_path, soundfont, sample_rate, options)
    with atomic_path(wav_path) as tmp:
        sf.write(tmp, audio, sample_rate, subtype=subtype, format="WAV")
    return Path(wav_path)


def _render(midi_path: str | os.PathLike[str], wav: Path, soundfont: str | os.PathLike[str],
            sample_rate: int, options: SynthOptions) -> float:
    if not 8_000 <= sample_rate <= 96_000:  # fluidsynth's accepted range
        raise ValueError(f"sample_rate must be in 8000..96000, not {sample_rate}")
    sf2 = resolve_soundfont(soundfont)
    midi_seconds = check_midi(midi_path)
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise MissingToolError("fluidsynth", "Debian: apt-get install fluidsynth")
    cmd = [
        exe, "-n", "-i", "-q",
        "-R", "1" if options.reverb else "0", "-C", "1" if options.chorus else "0",
        "-g", f"{options.gain:g}", "-r", str(sample_rate),
        "-o", "audio.file.type=wav", "-o", "audio.file.format=float",  # float: no dither, exact repeats
        "-F", str(wav), str(sf2), str(midi_path),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=options.timeout_s, check=False,
                              preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired as exc:
        raise ScorebridgeError(f"fluidsynth took longer than {options.timeout_s:g} s on {midi_path}") from exc
    if proc.returncode != 0 or not wav.is_file():
        stderr = proc.stderr.decode(errors="replace")[:300]
        raise ScorebridgeError(f"fluidsynth failed on {midi_path}: {stderr}")
    log.debug("synthesized %s with %s", midi_path, sf2.name)
    return midi_seconds


def _die_with_parent() -> None:
    """In the fluidsynth child, before exec: Linux kills it when the process that started it dies (a killed
    build worker would otherwise leave it writing its WAV)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _channels(audio: np.ndarray, mono: bool) -> np.ndarray:
    if mono and audio.shape[1] == 2:
        # Same values as mean(axis=1) for two channels, ~10x faster: a strided reduction over an axis of
        # length 2 was a second per minute of audio.
        return (audio[:, 0] + audio[:, 1]) * np.float32(0.5)
    if mono:
        return np.ascontiguousarray(audio.mean(axis=1, dtype=np.float32))
    if audio.shape[1] == 1:
        return np.repeat(audio, 2, axis=1)
    return np.ascontiguousarray(audio)
