"""How image codes become the translator's steps: column-by-column reading, separators, heights, padding.

The codec gives each system an (h, w, Q) grid of codes (one cell per 16x16 patch, Q = 4 codebooks). The
translator reads it **column by column** (top to bottom within a column, then left to right), one step per cell
holding its Q codes, with positions x = column and y = row (u-must.md section 2.2, "vertical flattening").

Several systems form one sequence:

- **encoder side** (``pad_to_tallest=True``): systems are padded at the bottom with ``PAD_CODE`` cells to the
  tallest one's height, flattened, and joined with a ``SEP`` step;
- **decoder side** (``pad_to_tallest=False``, images are generated): each system starts with a ``HEIGHT`` step
  carrying its row count (the translator emits it after its start token and after every separator) and holds
  no padding cells, so systems of any height need none.

Vocabulary ids are not chosen here: ``StepKind`` and ``ImageSequence.height`` are symbolic markers that the
unified vocabulary maps to ids. Marker steps hold ``PAD_CODE`` in every slot and sit at x = y = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

PAD_CODE = -1  # a padding cell (never a valid code: codes are in [0, codebook_size))
REFERENCE_MAX_STEPS = 1000  # the reference's image sequence limit (it also counts SOS/EOS)
REFERENCE_MAX_COLUMNS = 150  # the reference's max_pt_x_len (about 2,400 px of width)


class StepKind(IntEnum):
    CODE = 0  # one grid cell: Q codes, or PAD_CODE in every slot for a padding cell
    SEP = 1  # between two systems
    HEIGHT = 2  # before each system on the decoder side; ImageSequence.height holds its row count


@dataclass(frozen=True, eq=False)
class ImageSequence:
    steps: np.ndarray  # (N, Q) int64 codes; PAD_CODE in padding cells and marker steps
    x: np.ndarray  # (N,) int64 column within its system
    y: np.ndarray  # (N,) int64 row within its system
    kinds: np.ndarray  # (N,) int64 StepKind values
    height: np.ndarray  # (N,) int64 a system's row count at HEIGHT steps, 0 elsewhere
    padded: bool  # True: encoder layout (padded to the tallest, no HEIGHT steps)

    def __len__(self) -> int:
        return len(self.kinds)


def _as_grid(codes: Any) -> np.ndarray:
    grid = np.asarray(codes.detach().cpu() if hasattr(codes, "detach") else codes)
    if grid.ndim != 3 or grid.shape[0] < 1 or grid.shape[1] < 1:
        raise ValueError(f"expected a code grid of shape (h, w, Q) with h, w >= 1, got {grid.shape}")
    return grid.astype(np.int64, copy=False)


def flatten_grid(codes: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, w, Q) -> steps (h*w, Q), x (h*w,), y (h*w,): column by column, top to bottom within a column."""
    grid = _as_grid(codes)
    h, w, q = grid.shape
    steps = grid.transpose(1, 0, 2).reshape(h * w, q)
    x = np.repeat(np.arange(w, dtype=np.int64), h)
    y = np.tile(np.arange(h, dtype=np.int64), w)
    return steps, x, y


def unflatten_grid(steps: Any, height: int) -> np.ndarray:
    """Inverse of ``flatten_grid``: (h*w, Q) steps of a system ``height`` rows tall -> (h, w, Q)."""
    steps = np.asarray(steps, dtype=np.int64)
    if steps.ndim != 2 or height < 1 or len(steps) % height or not len(steps):
        raise ValueError(f"{len(steps)} steps do not form whole columns of height {height}")
    return steps.reshape(len(steps) // height, height, steps.shape[1]).transpose(1, 0, 2)


def join_systems(systems: list[Any], pad_to_tallest: bool, *, max_steps: int | None = None,
                 max_columns: int | None = None, max_rows: int | None = None) -> ImageSequence:
    """Systems' (h_i, w_i, Q) grids -> one sequence (encoder layout when ``pad_to_tallest``, else decoder)."""
    grids = [_as_grid(s) for s in systems]
    if not grids:
        raise ValueError("no systems to join")
    if len({g.shape[2] for g in grids}) != 1:
        raise ValueError(f"systems have different codebook counts: {[g.shape[2] for g in grids]}")
    for g in grids:
        if (g < 0).any():
            raise ValueError("a system grid holds negative codes; PAD_CODE is added by join_systems only")
        if max_columns is not None and g.shape[1] > max_columns:
            raise ValueError(f"a system is {g.shape[1]} columns wide, more than the limit of {max_columns}")
        if max_rows is not None and g.shape[0] > max_rows:
            raise ValueError(f"a system is {g.shape[0]} rows tall, more than the limit of {max_rows}")
    q = grids[0].shape[2]
    tallest = max(g.shape[0] for g in grids)
    parts: list[tuple[np.ndarray, ...]] = []
    for i, g in enumerate(grids):
        if i:
            parts.append(_marker(StepKind.SEP, q))
        if pad_to_tallest:
            g = np.pad(g, ((0, tallest - g.shape[0]), (0, 0), (0, 0)), constant_values=PAD_CODE)
        else:
            parts.append(_marker(StepKind.HEIGHT, q, g.shape[0]))
        steps, x, y = flatten_grid(g)
        n = len(steps)
        parts.append((steps, x, y, np.full(n, StepKind.CODE, np.int64), np.zeros(n, np.int64)))
    seq = ImageSequence(*(np.concatenate(cols) for cols in zip(*parts, strict=True)), padded=pad_to_tallest)
    check_length(seq, max_steps)
    return seq


def _marker(kind: StepKind, q: int, height: int = 0) -> tuple[np.ndarray, ...]:
    one = np.zeros(1, np.int64)
    return (np.full((1, q), PAD_CODE, np.int64), one, one, np.full(1, kind, np.int64), np.full(1, height, np.int64))


def check_length(seq: ImageSequence, max_steps: int | None) -> None:
    if max_steps is not None and len(seq) > max_steps:
        raise ValueError(f"image sequence of {len(seq)} steps is longer than the limit of {max_steps}")


def split_systems(seq: ImageSequence) -> list[np.ndarray]:
    """Inverse of ``join_systems``: the systems' (h_i, w_i, Q) grids, padding cells removed."""
    kinds = np.asarray(seq.kinds)
    cuts = np.flatnonzero(kinds == StepKind.SEP)
    bounds = zip(np.concatenate([[0], cuts + 1]), np.concatenate([cuts, [len(kinds)]]), strict=True)
    return [_one_system(seq, int(a), int(b)) for a, b in bounds]


def _one_system(seq: ImageSequence, a: int, b: int) -> np.ndarray:
    kinds = seq.kinds[a:b]
    if seq.padded:
        if (kinds != StepKind.CODE).any():
            raise ValueError(f"steps {a}..{b}: a padded (encoder) sequence holds only codes between separators")
        steps = seq.steps[a:b]
        rows = int(seq.y[a:b].max()) + 1 if b > a else 0
        grid = unflatten_grid(steps, rows)
        real = ~(grid[:, 0] == PAD_CODE).all(axis=-1)  # first column: which rows are not padding
        height = int(real.sum())
        if height == 0 or not real[:height].all() or (grid[height:] != PAD_CODE).any():
            raise ValueError(f"steps {a}..{b}: padding must be whole rows at the bottom of a system")
        return grid[:height]
    if b - a < 2 or kinds[0] != StepKind.HEIGHT or (kinds[1:] != StepKind.CODE).any():
        raise ValueError(f"steps {a}..{b}: a decoder-side system is one HEIGHT step followed by codes")
    return unflatten_grid(seq.steps[a + 1:b], int(seq.height[a]))
