"""Continuous source inputs: pixel patches of score images and log-mel frames of audio, in the translator's layout.

The translator can read an image or audio *source* either as codec tokens (``tokens.layout``) or as the signal
itself: an audio codec that keeps a tenth of the onsets cannot carry more to the encoder than that, while a
log-mel spectrogram (the input of the transcription literature: Onsets and Frames, MT3) and raw 16x16 pixel
patches (a ViT's input) lose nothing. Targets stay tokens either way.

Layout: feature steps sit exactly where the codec's steps would — an image patch at x = column, y = row, read
column by column with systems padded to the tallest and joined by SEP (``tokens.image_grid``); a mel frame at
x = frame index, y = 0 — and hold PAD in every token slot; the model adds a linear projection of the feature
vector to the step's embedding. Padding cells and marker steps have zero features (zero = white paper for
patches). Image and audio vectors share one input space: image patches fill the first ``image_dim`` values,
mel frames the next ``audio_dim``, so one projection serves both and the modalities never share weights.

Mel frames are 20 ms apart (16 kHz, hop 320): an integer number of milliseconds, 500 frames in a 10 s window,
close to the audio codec's 469; 229 bands from a 2,048-point FFT, as Onsets and Frames.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scorebridge.constants import IMAGE_PATCH_PX
from scorebridge.modality import Modality
from scorebridge.tokens.image_grid import PAD_CODE, StepKind, join_systems

IMAGE_INPUTS = ("codes", "pixels")
AUDIO_INPUTS = ("codes", "mel")
MEL_FLOOR = 1e-5  # amplitude floor before the log: -11.5 in natural log, well below a soft piano note's bins


@dataclass(frozen=True)
class FeatureSpec:
    """How image and audio sources enter the encoder (stored in the recipe and in every checkpoint).

    image: "codes" (the image codec's tokens) or "pixels" (16x16 patches, ink = 1 - gray / 255).
    audio: "codes" (the audio codec's tokens) or "mel" (log-mel frames at ``mel_rate`` / ``mel_hop`` per second).
    """

    image: str = "codes"
    audio: str = "codes"
    mel_rate: int = 16_000
    mel_hop: int = 320
    mel_fft: int = 2048
    mel_bins: int = 229  # Onsets and Frames' count: about 13 Hz per band below 1 kHz, under a semitone at C4
    mel_fmin: float = 30.0
    mel_fmax: float = 8_000.0
    staff_top: int = 0  # pixels: > 0 moves a system's first staff line this far down (``anchor_staff``)

    def __post_init__(self) -> None:
        if self.image not in IMAGE_INPUTS:
            raise ValueError(f"inputs.image must be one of {', '.join(IMAGE_INPUTS)}, got {self.image!r}")
        if self.audio not in AUDIO_INPUTS:
            raise ValueError(f"inputs.audio must be one of {', '.join(AUDIO_INPUTS)}, got {self.audio!r}")
        if min(self.mel_rate, self.mel_hop, self.mel_fft, self.mel_bins) < 1 or self.mel_hop > self.mel_fft:
            raise ValueError("mel_rate, mel_hop, mel_fft and mel_bins must be >= 1, with mel_hop <= mel_fft")
        if (1000 * self.mel_hop) % self.mel_rate:
            raise ValueError(f"a mel hop of {self.mel_hop} samples at {self.mel_rate} Hz is not a whole number of ms")
        if not 0 <= self.staff_top <= 256:
            raise ValueError(f"staff_top must be in 0..256 px, got {self.staff_top}")
        if not 0 <= self.mel_fmin < self.mel_fmax <= self.mel_rate / 2:
            raise ValueError("mel band must satisfy 0 <= fmin < fmax <= mel_rate / 2")

    def uses_features(self, modality: Modality) -> bool:
        m = Modality(modality)
        return (m is Modality.IMAGE and self.image == "pixels") or (m is Modality.AUDIO and self.audio == "mel")

    @property
    def image_dim(self) -> int:
        return IMAGE_PATCH_PX * IMAGE_PATCH_PX if self.image == "pixels" else 0

    @property
    def audio_dim(self) -> int:
        return self.mel_bins if self.audio == "mel" else 0

    @property
    def dim(self) -> int:
        """Length of one feature vector (0: the model reads tokens only)."""
        return self.image_dim + self.audio_dim

    @property
    def frame_ms(self) -> int:
        return 1000 * self.mel_hop // self.mel_rate

    def mel_frames(self, samples: int) -> int:
        """Frames of ``samples`` samples at ``mel_rate`` (centred STFT: one per hop, plus one)."""
        return samples // self.mel_hop + 1


CODES = FeatureSpec()  # every source as tokens: the shipped model's inputs


# images ------------------------------------------------------------------------------------------------------
STAFF_LINE_SHARE = 0.6  # a staff line's row holds at least this share of the inkiest row's ink


def anchor_staff(img: np.ndarray, top: int, patch: int = IMAGE_PATCH_PX) -> np.ndarray:
    """Pad the top of a uint8 (H, W) system image with paper so that its first staff line lies ``top`` px down,
    or ``top`` plus a whole number of patches where more than ``top`` px of ink sit above it; nothing is cut.

    A crop's height follows its content (ledger lines, marks), so the staff would otherwise sit at a different
    height in every image, and a patch's pixels alone would not tell a note's pitch. Staff lines are found as the
    rows that ink crosses almost from end to end; an image without such a row is returned as it is."""
    if top <= 0:
        return img
    ink = 1.0 - img.astype(np.float32).mean(axis=1) / 255.0
    if not ink.size or ink.max() < 0.3:  # no row crossed by a line: nothing to anchor on
        return img
    first = int(np.argmax(ink >= STAFF_LINE_SHARE * ink.max()))
    pad = top - first if first <= top else (top - first) % patch
    return np.pad(img, ((pad, 0), (0, 0)), constant_values=255) if pad else img


def image_patches(img: np.ndarray, patch: int = IMAGE_PATCH_PX) -> np.ndarray:
    """uint8 (H, W) gray image (255 = paper) -> float32 (h, w, patch * patch) ink in [0, 1], padded with paper at
    the right and bottom to whole patches. Patch (r, c) holds rows r*patch.. and columns c*patch.., row-major."""
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 2 or 0 in img.shape:
        raise ValueError(f"expected a non-empty uint8 (H, W) image, got {getattr(img, 'dtype', type(img))} "
                         f"{getattr(img, 'shape', '')}")
    h, w = img.shape
    padded = np.pad(img, ((0, -h % patch), (0, -w % patch)), constant_values=255)
    rows, cols = padded.shape[0] // patch, padded.shape[1] // patch
    cells = padded.reshape(rows, patch, cols, patch).transpose(0, 2, 1, 3).reshape(rows, cols, patch * patch)
    return 1.0 - cells.astype(np.float32) / 255.0


def image_feature_steps(systems: Sequence[np.ndarray], spec: FeatureSpec, *, max_columns: int | None = None,
                        max_rows: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Systems' patch grids [(h_i, w_i, patch*patch)] -> (is_sep (N,), x (N,), y (N,), features (N, spec.dim)) in
    the encoder's image layout (padded to the tallest, SEP-joined), exactly where ``tokens.layout.encode_image``
    puts codes. Raises ValueError for a system beyond ``max_columns`` / ``max_rows``."""
    if spec.image != "pixels":
        raise ValueError("this FeatureSpec reads images as codes, not pixels")
    grids = [np.asarray(s, np.float32) for s in systems]
    if any(g.ndim != 3 or g.shape[2] != spec.image_dim for g in grids):
        raise ValueError(f"expected patch grids (h, w, {spec.image_dim}), got {[g.shape for g in grids]}")
    # join_systems lays out integer cells; lay out each cell's index and gather the vectors by it
    offsets = np.cumsum([0] + [g.shape[0] * g.shape[1] for g in grids])
    index_grids = [(offsets[i] + np.arange(g.shape[0] * g.shape[1])).reshape(g.shape[0], g.shape[1], 1)
                   for i, g in enumerate(grids)]
    seq = join_systems(index_grids, pad_to_tallest=True, max_columns=max_columns, max_rows=max_rows)
    vectors = np.concatenate([g.reshape(-1, spec.image_dim) for g in grids])
    features = np.zeros((len(seq), spec.dim), np.float32)
    cell = seq.steps[:, 0] != PAD_CODE
    features[cell, :spec.image_dim] = vectors[seq.steps[cell, 0]]
    return seq.kinds == StepKind.SEP, seq.x, seq.y, features


# audio -------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _mel_filters(spec: FeatureSpec) -> np.ndarray:
    try:
        import librosa  # the filterbank only; the STFT is torch's. An extra: the shipped model reads audio as codes
    except ModuleNotFoundError as exc:
        from scorebridge.extras import from_import_error

        raise from_import_error(exc, "a model that reads audio as log-mel frames") from None

    return librosa.filters.mel(sr=spec.mel_rate, n_fft=spec.mel_fft, n_mels=spec.mel_bins, fmin=spec.mel_fmin,
                               fmax=spec.mel_fmax).astype(np.float32)


def resample_mono(audio: Any, rate: int, spec: FeatureSpec) -> np.ndarray:
    """Samples (N,) or (N, channels) at ``rate`` -> float32 mono (M,) at ``spec.mel_rate`` (soxr)."""
    x = np.asarray(audio, np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.ndim != 1 or not x.size:
        raise ValueError(f"expected non-empty samples (N,) or (N, channels), got shape {x.shape}")
    if rate < 1:
        raise ValueError(f"sample rate must be >= 1, got {rate}")
    if rate != spec.mel_rate:
        import soxr

        x = soxr.resample(x, rate, spec.mel_rate, quality="HQ").astype(np.float32)
    return x


def log_mel(audio: Any, rate: int, spec: FeatureSpec) -> np.ndarray:
    """Mono or multichannel samples at ``rate`` -> float32 (frames, mel_bins): log(max(mel magnitude, floor)),
    shifted and scaled by fixed constants to about [-1, 1.5] (no per-input normalisation: quiet stays quiet)."""
    import torch

    if spec.audio != "mel":
        raise ValueError("this FeatureSpec reads audio as codes, not mel frames")
    x = torch.from_numpy(resample_mono(audio, rate, spec))
    stft = torch.stft(x, spec.mel_fft, spec.mel_hop, window=torch.hann_window(spec.mel_fft), center=True,
                      return_complex=True)
    mel = torch.from_numpy(_mel_filters(spec)) @ stft.abs()
    return ((mel.clamp_min(MEL_FLOOR).log() + 6.0) / 6.0).T.contiguous().numpy()


def audio_feature_steps(mel: np.ndarray, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames, mel_bins) -> (x (frames,), y (frames,), features (frames, spec.dim)) with mel in its share."""
    mel = np.asarray(mel, np.float32)
    if mel.ndim != 2 or mel.shape[1] != spec.audio_dim or not len(mel):
        raise ValueError(f"expected mel frames (frames, {spec.audio_dim}), got {mel.shape}")
    features = np.zeros((len(mel), spec.dim), np.float32)
    features[:, spec.image_dim:] = mel
    n = len(mel)
    return np.arange(n, dtype=np.int64), np.zeros(n, np.int64), features
