"""Helpers shared by the dataset adapters: layout checks with clear errors, images, audio, note windows."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scorebridge.constants import STAFF_HEIGHT_PX
from scorebridge.data.schema import Sample, ms_to_samples
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec, sample_id
from scorebridge.errors import InputError
from scorebridge.midi import Note

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

def read_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 audio at ``sample_rate`` (channels averaged; resampled with soxr when needed)."""
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


def audio_span(audio: np.ndarray, start_ms: int, end_ms: int, sample_rate: int) -> np.ndarray:
    """Exactly the samples of [start_ms, end_ms), padded with silence past the end of the recording."""
    a, b = ms_to_samples(start_ms, sample_rate), ms_to_samples(end_ms, sample_rate)
    out = np.zeros(b - a, np.float32)
    piece = audio[a:b]
    out[: len(piece)] = piece
    return out


def shift_audio(audio: np.ndarray, offset_ms: int, sample_rate: int) -> np.ndarray:
    """Audio whose time 0 is ``offset_ms`` of the input (negative offsets prepend silence)."""
    n = ms_to_samples(abs(offset_ms), sample_rate)
    if offset_ms >= 0:
        return audio[n:]
    return np.concatenate((np.zeros(n, np.float32), audio))


# --- notes ---

def cut_notes(notes: Iterable[Note], start_ms: int, end_ms: int) -> tuple[tuple[Note, ...], int]:
    """Notes sounding in [start_ms, end_ms), relative to start_ms and clipped to it; and how many were tied in.

    A note that began before the window starts at 0 (tied in); one still sounding at the end is cut there.
    """
    span = end_ms - start_ms
    out: list[Note] = []
    tied = 0
    for n in notes:
        if n.onset >= end_ms or (n.offset <= start_ms and n.onset < start_ms):
            continue
        onset = n.onset - start_ms
        if onset < 0:
            tied += 1
            onset = 0
        offset = min(n.offset - start_ms, span)
        out.append(Note(onset, max(offset, onset), n.pitch, n.velocity, n.program, n.is_drum))
    out.sort(key=lambda n: (n.onset, n.pitch, n.program))
    return tuple(out), tied


def performance_windows(spec: PieceSpec, notes: Sequence[Note], audio: np.ndarray | None, config: BuildConfig,
                        meta: Mapping[str, Any] | None = None) -> list[Sample]:
    """Consecutive ``config.window_ms`` windows over a performance, each with its notes (and audio).

    Windows where nothing sounds are skipped: they teach nothing and make up long silent tails.
    """
    total = max([n.offset for n in notes], default=0)
    if audio is not None:
        total = max(total, len(audio) * 1000 // config.sample_rate)
    samples: list[Sample] = []
    for start in range(0, total, config.window_ms):
        end = min(start + config.window_ms, total)
        if end <= start:
            break
        cut, tied = cut_notes(notes, start, end)
        if not cut:
            continue
        samples.append(Sample(
            id=sample_id(spec, "window", len(samples)), source=spec.source, piece=spec.piece, split=spec.split,
            kind="window", start_ms=start, end_ms=end, timeline="performance", sample_rate=config.sample_rate,
            notes=cut, audio=None if audio is None else audio_span(audio, start, end, config.sample_rate),
            meta={**(meta or {}), "tied_in": tied},
        ))
    return samples


def untimed_system(spec: PieceSpec, index: int, image: np.ndarray, lmx: Sequence[str],
                   meta: Mapping[str, Any]) -> Sample:
    """An image + LMX sample of a dataset that has no timing (no time span, no MIDI, no audio)."""
    return Sample(
        id=sample_id(spec, "system", index), source=spec.source, piece=spec.piece, split=spec.split, kind="system",
        start_ms=None, end_ms=None, image=image, lmx=tuple(lmx), meta=dict(meta),
    )


def seconds_to_ms(value: float | str) -> int:
    return int(round(float(value) * 1000))
