"""Slide segmentation of a score video (the reference's rule, u-must.md §4.1).

Frames sampled at ~3 fps are blurred (Gaussian, sigma 5) and compared with the previous sample; a frame is
"changed" when any pixel differs by more than 10 gray levels. Runs of unchanged frames are static sections (a
page on screen), runs of changed frames are transitions (cuts, crossfades, wipes). Two static sections separated by a
"transition" that changed almost nothing (a compression flicker) are joined. Frames stream through
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
    # Two static sections whose frames across the transition differ in fewer pixels than this share are one
    # page: lossy video flickers at keyframes (a few pixels past the threshold), a page turn changes >= 2%.
    same_page_share: float = 0.005

    def __post_init__(self) -> None:
        if not (0.1 <= self.fps <= 30 and self.blur_sigma >= 0 and 0 <= self.diff_threshold < 255):
            raise ValueError("fps must be in 0.1..30, blur_sigma >= 0 and diff_threshold in 0..254")
        if self.analysis_height < 16 or self.keep_frames < 2 or self.pad_ms < 0 or self.last_page_extra_ms < 0:
            raise ValueError("analysis_height >= 16, keep_frames >= 2, pad_ms and last_page_extra_ms >= 0")


@dataclass(frozen=True, eq=False)
class Slide:
    """One static section: a page on screen, with the transition that follows it."""

    index: int  # 0-based among the static sections of the video
    first_frame: int  # sampled-frame indices, inclusive
    last_frame: int
    transition_end_frame: int | None  # last frame of the following transition; None when the video ends first
    frame_index: int  # the (near-)middle frame, whose pixels are ``image``
    image: np.ndarray  # uint8 (H, W)


def analysis_image(frame: np.ndarray, options: SegmentOptions) -> np.ndarray:
    """The blurred (and, for tall frames, pooled) float32 image that consecutive samples are compared on."""
    factor = max(1, round(frame.shape[0] / options.analysis_height))
    img = frame.astype(np.float32)
    if factor > 1:
        h, w = (frame.shape[0] // factor) * factor, (frame.shape[1] // factor) * factor
        img = img[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    sigma = options.blur_sigma / factor
    return gaussian_filter(img, sigma, mode="nearest") if sigma > 0 else img


def is_changed(previous: np.ndarray | None, current: np.ndarray, threshold: int) -> bool:
    """Any pixel of the blurred images differs by more than ``threshold`` (a new size counts as a change)."""
    if previous is None:
        return False
    if previous.shape != current.shape:
        return True
    return bool(np.any(np.abs(current - previous) > threshold))


def changed_share(a: np.ndarray, b: np.ndarray, threshold: int) -> float:
    """Share of pixels of two blurred images that differ by more than ``threshold`` (1.0 for other sizes)."""
    return float(np.mean(np.abs(a - b) > threshold)) if a.shape == b.shape else 1.0


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
    keeper: _Keeper | None = None  # the static section being read
    # a static section awaiting the end of its transition: (first, last, keeper, blurred last frame)
    pending: tuple[int, int, _Keeper, np.ndarray] | None = None
    run_first = last_frame = 0
    last_changed: int | None = None
    count = 0
    for frame in frames:
        current = analysis_image(frame.image, options)
        changed = is_changed(previous, current, options.diff_threshold)
        if changed:
            if keeper is not None:  # a static section ends: wait for its transition to end
                assert previous is not None
                pending, keeper = (run_first, frame.index - 1, keeper, previous), None
            last_changed = frame.index
        else:
            if keeper is None:
                if pending is not None and changed_share(pending[3], current, options.diff_threshold) \
                        < options.same_page_share:
                    run_first, _, keeper, _ = pending  # a flicker, not a page turn: the section goes on
                else:
                    if pending is not None:
                        yield _slide(count, pending, last_changed)
                        count += 1
                    keeper, run_first = _Keeper(options.keep_frames), frame.index
                pending = None
            keeper.add(frame)
            last_frame = frame.index
        previous = current
    if keeper is not None:
        yield _slide(count, (run_first, last_frame, keeper, previous), None)
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

