"""Helpers shared by the dataset adapters: layout checks with clear errors, images, recordings.

Notes and audio are cut to windows by ``data.cutting``, as every source cuts them."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scorebridge.constants import STAFF_HEIGHT_PX
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec, sample_id
from scorebridge.data.schema import Sample, ms_to_sample_floor
from scorebridge.errors import InputError
from scorebridge.midi.notes import seconds_to_ms

log = logging.getLogger(__name__)

INK_THRESHOLD = 160  # gray levels below this count as ink when measuring staff lines
SPLIT_NAMES = {"train": "train", "valid": "valid", "validation": "valid", "val": "valid", "dev": "valid",
               "test": "test"}


def dataset_root(path: str | os.PathLike[str], dataset: str) -> Path:
    """The dataset folder, or an InputError that says which dataset was expected there."""
    root = Path(path).expanduser()
    if not root.is_dir():
        state = "is a file" if root.exists() else "does not exist"
        raise InputError(root, f"expected a {dataset} folder here, but it {state}")
    return root.resolve()


def require_file(root: Path, relative: str, what: str, dataset: str) -> Path:
    """``root/relative`` must be a file; the error names the file, what it holds and the dataset."""
    path = root / relative
    if not path.is_file():
        raise InputError(root, f"expected {relative} ({what}) — is this a {dataset} folder?")
    return path


def first_existing(root: Path, candidates: Sequence[str]) -> Path | None:
    for name in candidates:
        if (root / name).exists():
            return root / name
    return None


def read_list(path: Path) -> list[str]:
    """Non-empty, stripped lines of a split list file."""
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the split list ({exc})") from exc


def chunked_pieces(source: str, groups: Mapping[tuple[str, str], list[str]], root: Path,
                   chunk: int) -> list[PieceSpec]:
    """One PieceSpec per ``chunk`` items of each (group, split), in a fixed order.

    Datasets of single systems hold tens of thousands of tiny items; the build writes one shard per piece,
    so items are batched into pieces. The items ride in ``extra['items']``, one per line.
    """
    specs: list[PieceSpec] = []
    for (group, split), items in sorted(groups.items()):
        items = sorted(items)
        for k in range(0, len(items), chunk):
            part = items[k:k + chunk]
            piece = f"{group}/{split}-{k // chunk:04d}"
            specs.append(PieceSpec(source, piece, str(root), split, {"items": "\n".join(part)}))
    return specs


def piece_items(spec: PieceSpec) -> list[str]:
    return [item for item in spec.extra.get("items", "").split("\n") if item]


# --- images ---

def load_gray(path: Path) -> np.ndarray:
    """A grayscale uint8 (H, W) image; transparent pixels become white paper."""
    from PIL import Image, UnidentifiedImageError

    from scorebridge.render.normalize import to_grayscale

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGBA") if im.mode in ("RGBA", "LA", "P") else im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(path, f"cannot read the image ({exc})") from exc
    return to_grayscale(arr)


def estimate_staff_height(img: np.ndarray) -> float | None:
    """Staff height (centre of top line to centre of bottom line, px) of a grayscale score image, or None.

    Vertical run lengths: the most common dark run is the staff-line thickness t, the most common light run
    bounded by ink on both sides is the staff space s; five lines span 4 * (s + t).
    """
    ink = img < INK_THRESHOLD
    if ink.size == 0 or not ink.any():
        return None
    h = ink.shape[0]
    cols = np.pad(ink.T, ((0, 0), (1, 1)))  # a light border row separates columns in the flat view
    flat = cols.ravel()
    edges = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    starts = np.concatenate(([0], edges))
    lengths = np.diff(np.concatenate((starts, [flat.size])))
    values = flat[starts]
    stride = h + 2
    first, last = starts % stride, (starts + lengths - 1) % stride
    same_col = starts // stride == (starts + lengths - 1) // stride
    light_inner = ~values & same_col & (first != 0) & (last != stride - 1)
    dark = lengths[values]
    light = lengths[light_inner]
    if dark.size < 10 or light.size < 10:
        return None
    t = int(np.bincount(dark).argmax())
    s = int(np.bincount(light).argmax())
    if s < 2 or t < 1 or s > h:
        return None
    return 4.0 * (s + t)


def normalized_system(img: np.ndarray, config: BuildConfig, staff_height_px: float | None = None,
                      where: str = "") -> np.ndarray:
    """``render.normalize_system`` at the configured staff height, estimating the source staff height."""
    from scorebridge.render import normalize_system

    height = staff_height_px or estimate_staff_height(img)
    if height is None:
        raise PieceRejected(f"{where}: no staff lines found to measure the staff height")
    return normalize_system(img, height, config.staff_height or STAFF_HEIGHT_PX)


# --- audio ---

def read_recording(path: Path, sample_rate: int) -> np.ndarray:
    """A dataset recording as mono float32 at ``sample_rate`` (channels averaged; resampled with soxr when needed).

    Not ``codecs.files.read_audio``: that one guards user input with the translate limits, and a dataset's
    recordings (a 40-minute MAESTRO performance) go past them by design."""
    import soundfile as sf

    try:
        audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise InputError(path, f"cannot read the audio ({exc})") from exc
    mono = audio.mean(axis=1).astype(np.float32)
    if sr != sample_rate:
        import soxr

        mono = soxr.resample(mono, sr, sample_rate, quality="HQ").astype(np.float32)
    return mono


def advance_audio(audio: np.ndarray, offset_ms: int, sample_rate: int) -> np.ndarray:
    """Audio whose time 0 is ``offset_ms`` of the input: the start is dropped (a negative offset prepends silence).
    Not ``tokens.shifts.shift_audio``, which delays."""
    n = ms_to_sample_floor(abs(offset_ms), sample_rate)
    if offset_ms >= 0:
        return audio[n:]
    return np.concatenate((np.zeros(n, np.float32), audio))


def untimed_system(spec: PieceSpec, index: int, image: np.ndarray, lmx: Sequence[str],
                   meta: Mapping[str, Any]) -> Sample:
    """An image + LMX sample of a dataset that has no timing (no time span, no MIDI, no audio)."""
    return Sample(
        id=sample_id(spec, "system", index), source=spec.source, piece=spec.piece, split=spec.split, kind="system",
        start_ms=None, end_ms=None, image=image, lmx=tuple(lmx), meta=dict(meta),
    )


def parse_seconds_ms(text: str) -> int:
    """A time in seconds as a metadata file spells it ('12.5') -> integer milliseconds; ValueError if not a number."""
    return seconds_to_ms(float(text))
