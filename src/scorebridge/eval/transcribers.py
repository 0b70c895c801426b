"""Reference transcribers for the codec benchmark: audio -> notes with a pretrained model that ships its weights.

``BasicPitchTranscriber`` wraps Spotify's basic-pitch (ICASSP 2022) through the ONNX file inside the package and
onnxruntime. basic-pitch 0.4.0 declares TensorFlow as a hard dependency on Linux / Python >= 3.11, but inference
with the ONNX model needs only onnxruntime, librosa, mir_eval, pretty_midi, scipy and resampy; so the bench extra
installs basic-pitch without its dependencies (see the report / pyproject's ``bench`` extra). No downloads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from scorebridge.errors import InputError, MissingToolError
from scorebridge.midi.notes import Note

log = logging.getLogger(__name__)

INSTALL_HINT = "bash scripts/setup.sh --bench, or: pip install onnxruntime && pip install --no-deps basic-pitch==0.4.0"
BATCH_WINDOWS = 8  # windows of ~2 s per onnxruntime call: bounded memory, fewer calls than one at a time
OVERLAP_FRAMES = 30  # basic-pitch's run_inference: windows overlap by 30 frames, half trimmed at each side


@dataclass(frozen=True)
class BasicPitchOptions:
    """basic-pitch's note-creation settings; defaults are basic-pitch's own ``predict`` defaults."""

    onset_threshold: float = 0.5
    frame_threshold: float = 0.3
    minimum_note_length_ms: float = 127.70
    melodia_trick: bool = True
    minimum_frequency: float | None = None  # Hz
    maximum_frequency: float | None = None  # Hz

    def __post_init__(self) -> None:
        for name in ("onset_threshold", "frame_threshold"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in (0, 1), not {getattr(self, name)}")
        if self.minimum_note_length_ms < 0:
            raise ValueError(f"minimum_note_length_ms must be >= 0, not {self.minimum_note_length_ms}")


def _import_basic_pitch() -> tuple[ModuleType, ModuleType, ModuleType]:
    """Import basic-pitch quietly: at import it warns on the root logger about every backend it lacks
    (TensorFlow, CoreML, TFLite), and a root-level ``logging.warning`` would install a stderr handler on the
    application's root logger; a temporary NullHandler and ``logging.disable`` stop both."""
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    previous = root.manager.disable
    logging.disable(logging.WARNING)
    try:
        import onnxruntime  # noqa: F401  (the only backend used here)
        from basic_pitch import constants, inference, note_creation
    except ImportError as exc:
        raise MissingToolError("basic-pitch", INSTALL_HINT) from exc
    finally:
        logging.disable(previous)
        root.removeHandler(guard)
    return constants, inference, note_creation


def default_basic_pitch_model() -> Path:
    """The ONNX model shipped inside the installed basic-pitch package."""
    _import_basic_pitch()
    import basic_pitch

    return basic_pitch.build_icassp_2022_model_path(basic_pitch.FilenameSuffix.onnx)


class BasicPitchTranscriber:
    """Polyphonic transcription with basic-pitch's ONNX model; every note is given piano (program 0)."""

    def __init__(self, model_path: str | Path | None = None, options: BasicPitchOptions = BasicPitchOptions()):
        self._constants, self._inference, self._note_creation = _import_basic_pitch()
        path = Path(model_path) if model_path is not None else default_basic_pitch_model()
        if path.suffix != ".onnx":
            raise InputError(path, "expected basic-pitch's ONNX model (.onnx)")
        if not path.is_file():
            raise InputError(path, "no such model file")
        self.model_path = path
        self.options = options

    @cached_property
    def _model(self) -> Any:
        return self._inference.Model(self.model_path)  # loads into onnxruntime (CPU provider)

    @property
    def sample_rate(self) -> int:
        """The rate the model runs at (22,050 Hz); input audio is resampled to it."""
        return int(self._constants.AUDIO_SAMPLE_RATE)

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> list[Note]:
        """Notes (integer ms from the audio's start, program 0, velocity from the model's amplitude) of float
        mono audio (T,) at ``sample_rate`` Hz, sorted by onset then pitch. Silent or very short audio gives []."""
        audio = np.asarray(audio)
        if audio.ndim != 1 or not np.issubdtype(audio.dtype, np.floating):
            raise ValueError(f"audio must be float mono (T,), not {audio.dtype} {audio.shape}")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, not {sample_rate}")
        if not np.isfinite(audio).all():
            raise ValueError("audio contains NaN or infinite samples")
        if not np.any(audio):  # empty or digital silence: nothing to hear (basic-pitch would divide 0 by 0)
            return []
        audio = self._resample(audio.astype(np.float32), sample_rate)
        events = self._note_events(self._activations(audio))
        return sorted(_to_note(*event[:4]) for event in events)

    def _resample(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        if sample_rate == self.sample_rate:
            return audio
        import librosa

        # librosa's default (soxr_hq) is what basic-pitch's own librosa.load would use
        return librosa.resample(audio, orig_sr=sample_rate, target_sr=self.sample_rate).astype(np.float32)

    def _activations(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """basic-pitch's ``run_inference`` on an array instead of a file: windows of AUDIO_N_SAMPLES overlapping
        by 30 frames, run in batches, then unwrapped with the library's own ``unwrap_output``."""
        c, inference = self._constants, self._inference
        overlap = OVERLAP_FRAMES * c.FFT_HOP
        hop = c.AUDIO_N_SAMPLES - overlap
        padded = np.concatenate([np.zeros(overlap // 2, dtype=np.float32), audio])
        windows = [w for w, _ in inference.window_audio_file(padded, hop)]  # each (AUDIO_N_SAMPLES, 1)
        outputs: dict[str, list[np.ndarray]] = {"note": [], "onset": [], "contour": []}
        for start in range(0, len(windows), BATCH_WINDOWS):
            batch = np.stack(windows[start:start + BATCH_WINDOWS]).astype(np.float32)
            for key, value in self._model.predict(batch).items():
                outputs[key].append(value)
        return {k: inference.unwrap_output(np.concatenate(v), len(audio), OVERLAP_FRAMES) for k, v in outputs.items()}

    def _note_events(self, activations: dict[str, np.ndarray]) -> list[tuple[Any, ...]]:
        o, c = self.options, self._constants
        frames_per_second = c.AUDIO_SAMPLE_RATE / c.FFT_HOP
        _, events = self._note_creation.model_output_to_notes(
            activations, onset_thresh=o.onset_threshold, frame_thresh=o.frame_threshold,
            min_note_len=int(np.round(o.minimum_note_length_ms / 1000 * frames_per_second)),
            min_freq=o.minimum_frequency, max_freq=o.maximum_frequency, include_pitch_bends=False,
            melodia_trick=o.melodia_trick)
        return list(events)


def _to_note(start_s: float, end_s: float, pitch: int, amplitude: float) -> Note:
    onset = max(0, round(float(start_s) * 1000))
    velocity = min(127, max(1, round(127 * float(amplitude))))
    return Note(onset=onset, offset=max(onset, round(float(end_s) * 1000)), pitch=int(pitch), velocity=velocity)

