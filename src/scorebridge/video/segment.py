"""Slide segmentation of a score video (the reference's rule, u-must.md §4.1).

Frames sampled at ~3 fps are blurred (Gaussian, sigma 5) and compared with the previous sample; a frame is
"changed" when any pixel differs by more than 10 gray levels. Runs of unchanged frames are static sections (a
page on screen), runs of changed frames are transitions (cuts, crossfades, wipes). Two static sections separated by a
"transition" that left no symbol changed (a compression flicker: small or diffuse differences, no stroke appearing
or vanishing) are joined; the test looks at the sharp frames, since the blur hides what tells two nearly identical
pages apart (repeated measures differing in a bar number and a few notes). Frames stream through
``segment`` one at a time: only a few frames of the current static section are held, so memory is bounded
whatever the video's length.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from scorebridge.video.ffmpeg import Frame


@dataclass(frozen=True)
class SegmentOptions:
    fps: float = 3.0  # frames sampled per second
    blur_sigma: float = 5.0  # Gaussian blur before differencing, in pixels of the video
    diff_threshold: int = 10  # a pixel changed when the blurred frames differ by more than this
    # Frames taller than this are mean-pooled by an integer factor (sigma divided by it) before the blur: a
    # sigma-5 Gaussian passes almost nothing finer than the pooling, and the blur costs a tenth at 1080p.
    analysis_height: int = 400
    pad_ms: int = 333  # a third of a second of audio each side of a page
    last_page_extra_ms: int = 2000
    keep_frames: int = 16  # frames held per static section to pick its middle one
    # Two static sections are one page when fewer than this share of pixels of the sharp frames across the
    # transition (pooled, sigma-1 blur) differ by more than ``stroke_diff``: lossy video flickers at keyframes
    # (H.264 at crf 51 with keyframes every 5 frames: <= 0.03%), while two pages of repeated measures that differ
    # only in bar numbers and a few notes still change 0.4% (Chopin op. 28/3, 640x360).
    same_page_share: float = 0.001
    stroke_diff: int = 64

    def __post_init__(self) -> None:
        if not (0.1 <= self.fps <= 30 and self.blur_sigma >= 0 and 0 <= self.diff_threshold < 255):
            raise ValueError("fps must be in 0.1..30, blur_sigma >= 0 and diff_threshold in 0..254")
        if self.analysis_height < 16 or self.keep_frames < 2 or self.pad_ms < 0 or self.last_page_extra_ms < 0:
            raise ValueError("analysis_height >= 16, keep_frames >= 2, pad_ms and last_page_extra_ms >= 0")
        if not (0 <= self.same_page_share < 1 and 0 < self.stroke_diff < 255):
            raise ValueError("same_page_share must be in [0, 1) and stroke_diff in 1..254")


@dataclass(frozen=True, eq=False)
class Slide:
    """One static section: a page on screen, with the transition that follows it."""

    index: int  # 0-based among the static sections of the video
    first_frame: int  # sampled-frame indices, inclusive
    last_frame: int
    transition_end_frame: int | None  # last frame of the following transition; None when the video ends first
    frame_index: int  # the (near-)middle frame, whose pixels are ``image``
    image: np.ndarray  # uint8 (H, W)


def pool_factor(height: int, options: SegmentOptions) -> int:
    return max(1, round(height / options.analysis_height))


def pooled(frame: np.ndarray, factor: int) -> np.ndarray:
    """float32 mean of ``factor`` x ``factor`` blocks (the frame itself for 1).

    Summed from strided views in uint16: ten times faster than a float reshape-mean, which was half the
    analysis time of 720p video.
    """
    if factor == 1:
        return frame.astype(np.float32)
    h, w = (frame.shape[0] // factor) * factor, (frame.shape[1] // factor) * factor
    total = np.zeros((h // factor, w // factor), np.uint16 if factor <= 16 else np.uint32)  # 255 * 16 ** 2 fits
    for dy in range(factor):
        for dx in range(factor):
            total += frame[dy:h:factor, dx:w:factor]
    out = total.astype(np.float32)
    out *= 1.0 / (factor * factor)
    return out


def analysis_image(frame: np.ndarray, options: SegmentOptions) -> np.ndarray:
    """The blurred (and, for tall frames, pooled) float32 image that consecutive samples are compared on."""
    factor = pool_factor(frame.shape[0], options)
    return _blurred(pooled(frame, factor), options.blur_sigma / factor)


def _blurred(img: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(img, sigma, mode="nearest") if sigma > 0 else img


def same_page(a: np.ndarray, b: np.ndarray, options: SegmentOptions) -> bool:
    """Two frames (uint8, as decoded) show the same page: no stroke appeared or vanished between them, only
    compression noise (see ``SegmentOptions.same_page_share``)."""
    if a.shape != b.shape:
        return False
    factor = pool_factor(a.shape[0], options)
    sharp_a, sharp_b = (_blurred(pooled(x, factor), 1.0) for x in (a, b))
    return float(np.mean(np.abs(sharp_a - sharp_b) > options.stroke_diff)) < options.same_page_share


def is_changed(previous: np.ndarray | None, current: np.ndarray, threshold: int) -> bool:
    """Any pixel of the blurred images differs by more than ``threshold`` (a new size counts as a change)."""
    if previous is None:
        return False
    if previous.shape != current.shape:
        return True
    return bool(np.any(np.abs(current - previous) > threshold))


def runs(flags: Sequence[bool]) -> list[tuple[bool, int, int]]:
    """(changed, first, last) runs of equal flags, indices inclusive."""
    out: list[tuple[bool, int, int]] = []
    for i, flag in enumerate(flags):
        if out and out[-1][0] == flag:
            out[-1] = (flag, out[-1][1], i)
        else:
            out.append((flag, i, i))
    return out


class _Keeper:
    """Holds at most ``cap`` frames of a growing run at a doubling stride, to return the one nearest its middle."""

    def __init__(self, cap: int):
        self.cap, self.stride, self.kept = cap, 1, []  # kept: (position in run, frame index, image)
        self.length = 0

    def add(self, frame: Frame) -> None:
        if self.length % self.stride == 0:
            self.kept.append((self.length, frame.index, frame.image))
            if len(self.kept) > self.cap:
                self.stride *= 2
                self.kept = [k for k in self.kept if k[0] % self.stride == 0]
        self.length += 1

    def middle(self) -> tuple[int, np.ndarray]:
        mid = (self.length - 1) // 2
        _, index, image = min(self.kept, key=lambda k: abs(k[0] - mid))
        return index, image


def segment(frames: Iterable[Frame], options: SegmentOptions = SegmentOptions()) -> Iterator[Slide]:
    """Static sections of a stream of sampled frames, each yielded once its following transition has ended."""
    previous: np.ndarray | None = None
    previous_frame: np.ndarray | None = None
    keeper: _Keeper | None = None  # the static section being read
    # a static section awaiting the end of its transition: (first, last, keeper, its last frame as decoded)
    pending: tuple[int, int, _Keeper, np.ndarray] | None = None
    run_first = last_frame = 0
    last_changed: int | None = None
    count = 0
    for frame in frames:
        current = analysis_image(frame.image, options)
        changed = is_changed(previous, current, options.diff_threshold)
        if changed:
            if keeper is not None:  # a static section ends: wait for its transition to end
                assert previous_frame is not None
                pending, keeper = (run_first, frame.index - 1, keeper, previous_frame), None
            last_changed = frame.index
        else:
            if keeper is None:
                if pending is not None and same_page(pending[3], frame.image, options):
                    run_first, _, keeper, _ = pending  # a flicker, not a page turn: the section goes on
                else:
                    if pending is not None:
                        yield _slide(count, pending, last_changed)
                        count += 1
                    keeper, run_first = _Keeper(options.keep_frames), frame.index
                pending = None
            keeper.add(frame)
            last_frame = frame.index
        previous, previous_frame = current, frame.image
    if keeper is not None:
        yield _slide(count, (run_first, last_frame, keeper, previous_frame), None)
    elif pending is not None:
        yield _slide(count, pending, last_changed)


def _slide(count: int, section: tuple[int, int, _Keeper, np.ndarray | None], transition_end: int | None) -> Slide:
    first, last, keeper, _ = section
    index, image = keeper.middle()
    return Slide(count, first, last, transition_end, index, image)


def frame_ms(index: int, fps: float) -> int:
    """Time of sampled frame ``index`` in integer ms."""
    return round(index * 1000 / fps)


def audio_span(slide: Slide, is_last: bool, options: SegmentOptions, audio_ms: int) -> tuple[int, int]:
    """A page's audio [start, end) ms: from its section's start to the end of the following transition, padded
    by ``pad_ms`` each side (the last page gets ``last_page_extra_ms`` more), within [0, audio_ms]."""
    start = frame_ms(slide.first_frame, options.fps) - options.pad_ms
    last = slide.transition_end_frame if slide.transition_end_frame is not None else slide.last_frame
    end = frame_ms(last + 1, options.fps) + options.pad_ms  # a frame stands for the interval up to the next one
    if is_last:
        end += options.last_page_extra_ms
    return max(0, start), min(audio_ms, end)

