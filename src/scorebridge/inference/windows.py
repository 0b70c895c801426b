"""Long-form translation as small pure functions: plan windows, find where to cut, stitch and align.

Everything counts in integers (samples, codec frames, 10 ms MIDI ticks, steps); seconds appear only in
``AlignmentSpan.to_json``. The pieces, used by ``inference.longform`` and ``inference.stitch``:

- audio: consecutive windows of ``window`` samples (`plan_spans`); the window length from milliseconds
  (`ms_to_samples`, exact or an error).
- MIDI -> audio: tokenizer windows of ``window`` ticks advancing by ``window - overlap`` (`plan_midi_windows`);
  window k's output keeps the codec frames up to window k+1's start (`kept_frames`), and the frames of the
  overlap become window k+1's audio prefix (the reference's "2-s overlaps", u-must.md §9.6).
- image -> audio (the reference's "Contin-U"): windows of systems (j, j+1), the last system alone
  (`system_windows`); in the output of a pair, the first step from which the cross-attention mass stays on
  system j+1 (`find_cut` under a `CutRule`) ends system j's audio; the first fifth of the audio cut off
  (`prefix_length`) is forced at the start of the next window's output.
- alignment: kept frames per system -> contiguous sample spans (`alignment_spans`).
- batches: consecutive groups of independent windows or systems decoded in one batched search (`batches`).
- notation: per-system LMX joined into one page (`join_system_lmx`), dropping the key and clefs each system
  repeats at its start; `measure_ranges` says which measures each system holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from scorebridge.midi.windows import Window, plan_windows

T = TypeVar("T")


@dataclass(frozen=True)
class Span:
    """[start, end) in whatever integer unit the caller uses (samples, frames, source steps)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"a span needs 0 <= start <= end, got [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start


# audio windows -----------------------------------------------------------------------------------------
def ms_to_samples(ms: int, rate: int) -> int:
    """``ms`` milliseconds at ``rate`` Hz as a whole number of samples; ValueError when it is not whole."""
    if ms * rate % 1000:
        raise ValueError(f"{ms} ms at {rate} Hz is not a whole number of samples")
    return ms * rate // 1000


def plan_spans(total: int, window: int) -> list[Span]:
    """Consecutive windows [k * window, (k + 1) * window) covering [0, total), the last one cut at ``total``;
    none when total <= 0."""
    if window <= 0:
        raise ValueError(f"window must be positive, got {window}")
    return [Span(start, min(start + window, total)) for start in range(0, max(total, 0), window)]


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive groups of ``size`` items (the last one shorter), drawn lazily: a streamed recording holds
    one batch of windows in memory at a time."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    group: list[T] = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


# MIDI -> audio ------------------------------------------------------------------------------------------
def plan_midi_windows(end: int, window: int, overlap: int = 0) -> list[Window]:
    """Tokenizer windows (ticks) of length ``window`` starting every ``window - overlap`` ticks, enough to
    cover [0, end]: the last one is the first that reaches ``end``. With no overlap, ``midi.plan_windows``."""
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, window), got {overlap} for a window of {window}")
    if overlap == 0:
        return plan_windows(end, window)
    stride = window - overlap
    if end <= 0:
        return []
    count = 1 + max(0, -(-(end - window) // stride))
    return [Window(k * stride, k * stride + window) for k in range(count)]


def kept_frames(starts: Sequence[int], hop: int) -> list[int]:
    """Codec frames window k keeps before window k+1 takes over, for window starts in codec samples: the
    difference of their frame indices (floor(start / hop)), so that rounding never drifts. One entry fewer
    than ``starts``: the last window keeps what it generated."""
    frames = [s // hop for s in starts]
    if any(b < a for a, b in zip(frames, frames[1:], strict=False)):
        raise ValueError("window starts must not decrease")
    return [b - a for a, b in zip(frames, frames[1:], strict=False)]


# image -> audio -----------------------------------------------------------------------------------------
def system_windows(n_systems: int) -> list[tuple[int, ...]]:
    """The sliding two-system windows over ``n_systems`` systems: (0, 1), (1, 2), .., (n-2, n-1), then the last
    system alone (n-1,). Each pair yields the audio of its first system; the last window all of its system."""
    if n_systems < 0:
        raise ValueError(f"n_systems must be >= 0, got {n_systems}")
    return [(j, j + 1) for j in range(n_systems - 1)] + ([(n_systems - 1,)] if n_systems else [])


def source_spans(first_slot: Any, sep_id: int) -> list[Span]:
    """The source steps of each system in a SEP-joined image source, from its slot-0 ids."""
    ids = np.asarray(first_slot).reshape(-1)
    cuts = np.flatnonzero(ids == sep_id).tolist()
    starts = [0] + [c + 1 for c in cuts]
    ends = cuts + [len(ids)]
    return [Span(a, b) for a, b in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class CutRule:
    """Where the output of a two-system window moves to the second system (u-must.md §9.6): the first step
    from which the cross-attention mass on the second system is >= ``threshold`` for ``run`` consecutive
    steps, moved ``back`` steps earlier (the attention moves slightly after the sound does)."""

    threshold: float = 0.5
    run: int = 3
    back: int = 10

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.run < 1 or self.back < 0:
            raise ValueError(f"run must be >= 1 and back >= 0, got run={self.run}, back={self.back}")


def attention_mass(attention: Any, span: Span) -> np.ndarray:
    """(T,) share of each step's cross-attention (T, S) on the source steps of ``span``."""
    weights = np.asarray(attention, np.float64)
    if weights.ndim != 2 or span.end > weights.shape[1]:
        raise ValueError(f"attention must be (T, S) with S >= {span.end}, got {weights.shape}")
    return weights[:, span.start:span.end].sum(axis=1)


def find_cut(attention: Any, second: Span, rule: CutRule = CutRule(), min_step: int = 0) -> int:
    """The step at which to cut a pair window's output (T steps, attention (T, S)): keep steps [0, cut) as
    the first system's audio. ``second``: the source span of the second system. With no step satisfying the
    rule, T (keep everything). Never below ``min_step`` (a forced prefix is kept whole)."""
    mass = attention_mass(attention, second)
    steps = len(mass)
    above = mass >= rule.threshold
    if steps >= rule.run:
        # runs[t]: all of above[t : t + run]
        runs = np.lib.stride_tricks.sliding_window_view(above, rule.run).all(axis=1)
        hits = np.flatnonzero(runs[min_step:]) + min_step if min_step < len(runs) else np.array([], int)
    else:
        hits = np.array([], int)
    if not len(hits):
        return steps
    return min(steps, max(int(hits[0]) - rule.back, min_step))


def prefix_length(rest: int, divisor: int = 5) -> int:
    """Frames of the next window's prefix: the first 1/``divisor`` of the ``rest`` frames cut off."""
    if rest < 0 or divisor < 1:
        raise ValueError(f"rest must be >= 0 and divisor >= 1, got {rest}, {divisor}")
    return rest // divisor


# alignment ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlignmentSpan:
    """Which audio belongs to which system: samples [start, end) of the output, system ``system`` (0-based,
    reading order) and, when known, its measures [first, last) (0-based, in page order)."""

    system: int
    measures: tuple[int, int] | None
    start: int
    end: int

    def to_json(self, sample_rate: int | None = None) -> dict[str, Any]:
        """A JSON-ready dict; with ``sample_rate``, the times in seconds as well."""
        data: dict[str, Any] = {"system": self.system,
                                "measures": None if self.measures is None else list(self.measures),
                                "start_sample": self.start, "end_sample": self.end}
        if sample_rate:
            data["start_s"] = self.start / sample_rate
            data["end_s"] = self.end / sample_rate
        return data


def alignment_spans(kept: Sequence[int], samples_per_frame: int,
                    measures: Sequence[tuple[int, int] | None] | None = None) -> list[AlignmentSpan]:
    """Contiguous sample spans of systems that kept ``kept[j]`` frames each, in order, without gaps or
    overlaps (a system that kept nothing gets an empty span)."""
    if measures is not None and len(measures) != len(kept):
        raise ValueError(f"{len(measures)} measure ranges for {len(kept)} systems")
    if any(k < 0 for k in kept):
        raise ValueError("kept frames must be >= 0")
    bounds = np.concatenate([[0], np.cumsum(kept, dtype=np.int64)]) * samples_per_frame
    return [AlignmentSpan(j, None if measures is None else measures[j], int(bounds[j]), int(bounds[j + 1]))
            for j in range(len(kept))]


# notation ----------------------------------------------------------------------------------------------
_ATTRIBUTE_PREFIXES = ("key:", "time", "beats:", "beat-type:", "clef:")


def measure_ranges(systems: Sequence[Sequence[str]]) -> list[tuple[int, int]]:
    """Measures [first, last) of each system's LMX in page order, counting ``measure`` tokens."""
    ranges, start = [], 0
    for tokens in systems:
        count = sum(t == "measure" for t in tokens)
        ranges.append((start, start + count))
        start += count
    return ranges


def join_system_lmx(systems: Sequence[Sequence[str]]) -> list[str]:
    """One LMX sequence for a page from its systems' LMX, in order. Every system starts by restating the key
    and clefs in force (``notation.slicing.SYSTEM_ATTRIBUTES``; a repeated time signature is not written):
    those restatements are dropped so the page has one attribute set where the music does not change;
    a key or clef that does change stays."""
    out: list[str] = []
    key: str | None = None
    clefs: dict[str, str] = {}
    for index, tokens in enumerate(systems):
        tokens = list(tokens)
        lead = _leading_attributes(tokens) if index and tokens[:1] == ["measure"] else 0
        i = 0
        while i < len(tokens):
            token = tokens[i]
            staff = tokens[i + 1] if i + 1 < len(tokens) and tokens[i + 1].startswith("staff:") else None
            if token.startswith("key:"):
                repeated = token == key
                key = token
                if i < lead and repeated:
                    i += 1
                    continue
            elif token.startswith("clef:"):
                number = staff or "staff:1"
                repeated = clefs.get(number) == token
                clefs[number] = token
                if i < lead and repeated:
                    i += 2 if staff else 1
                    continue
            out.append(token)
            i += 1
    return out


def _leading_attributes(tokens: list[str]) -> int:
    """End of the attribute tokens right after a system's first ``measure`` token."""
    i = 1
    while i < len(tokens):
        if tokens[i].startswith(_ATTRIBUTE_PREFIXES):
            i += 1
        elif tokens[i].startswith("staff:") and tokens[i - 1].startswith("clef:"):
            i += 1
        else:
            break
    return i
