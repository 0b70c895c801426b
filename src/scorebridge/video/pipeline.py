"""One score video to aligned samples: page images (their systems stacked) paired with the page's audio.

``analyse_video`` streams the frames once (segmentation and system detection per page as it closes) and reads
the audio span by span from a temporary WAV, so memory stays bounded; ``video_samples`` adds the cleaning rules
and the reference's filters and returns samples in the data engine's format (kind 'system', timeline
'performance', image + audio).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scorebridge.constants import AUDIO_SAMPLE_RATE, IMAGE_PATCH_PX
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec, sample_id
from scorebridge.data.schema import Sample, ms_to_sample_floor
from scorebridge.data.system_samples import image_patches, stack_images
from scorebridge.errors import InputError
from scorebridge.video.clean import CleanOptions, kept_range, sound_share
from scorebridge.video.detect import FoundSystem, StaffLineDetector, SystemDetector
from scorebridge.video.ffmpeg import DecodeClock, VideoInfo, extract_audio, probe, read_audio_span, stream_frames
from scorebridge.video.segment import SegmentOptions, Slide, audio_span, frame_ms, segment

log = logging.getLogger(__name__)

KEPT = "kept"


@dataclass(frozen=True)
class VideoOptions:
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    clean: CleanOptions = field(default_factory=CleanOptions)
    max_audio_ms: int = 20_000  # the reference's filters: page audio under 20 s ...
    max_image_pixels: int = 256_000  # ... and the stacked image under 256,000 pixels (1,000 16x16 patches)
    max_duration_ms: int | None = None  # skip longer videos (None: any length, processed in bounded memory)

    def __post_init__(self) -> None:
        if self.max_audio_ms < 1000 or self.max_image_pixels < IMAGE_PATCH_PX ** 2:
            raise ValueError("max_audio_ms must be >= 1000 and max_image_pixels >= one patch")


@dataclass(frozen=True, eq=False)
class VideoPage:
    """One static section of the video and what became of it."""

    index: int  # 0-based among the static sections
    shown_ms: tuple[int, int]  # first and last sampled frame of the section
    frame_ms: int  # the frame the systems were read from
    start_ms: int  # the page's audio span [start, end)
    end_ms: int
    systems: tuple[FoundSystem, ...]
    sound: float  # share of the span that is not silent
    status: str  # "kept" or why the page was dropped


@dataclass(frozen=True, eq=False)
class VideoAnalysis:
    path: str
    info: VideoInfo
    audio_ms: int
    pages: tuple[VideoPage, ...]
    seconds: float  # wall time of the analysis
    decode_seconds: float  # of which waiting for ffmpeg's frames or audio

    @property
    def kept(self) -> tuple[VideoPage, ...]:
        return tuple(p for p in self.pages if p.status == KEPT)


def analyse_video(path: str | os.PathLike[str], wav: str | os.PathLike[str],
                  options: VideoOptions = VideoOptions(), detector: SystemDetector | None = None,
                  sample_rate: int = AUDIO_SAMPLE_RATE) -> VideoAnalysis:
    """Segment, detect, measure and clean the pages of one video; ``wav`` receives its audio (a scratch file).

    Raises InputError for an unreadable video or one without an audio track.
    """
    started = time.perf_counter()
    detector = detector or StaffLineDetector()
    info = probe(path)
    if not info.has_audio:
        raise InputError(path, "no audio track")
    if options.max_duration_ms is not None and info.duration_ms > options.max_duration_ms:
        raise InputError(path, f"video is {info.duration_ms / 60000:.0f} min, over the limit of "
                               f"{options.max_duration_ms / 60000:.0f} min")
    extract_audio(path, wav, sample_rate)
    clock = DecodeClock(time.perf_counter() - started)
    audio_ms = _wav_ms(wav)
    found: list[tuple[Slide, tuple[FoundSystem, ...]]] = []
    for slide in segment(stream_frames(path, info, options.segment.fps, clock), options.segment):
        found.append((_light(slide), tuple(detector.detect(slide.image))))  # the frame itself is let go here
    pages = _pages(found, wav, audio_ms, options, sample_rate)
    log.info("%s: %d static sections, %d pages kept", path, len(pages), sum(p.status == KEPT for p in pages))
    return VideoAnalysis(str(path), info, audio_ms, tuple(pages), time.perf_counter() - started, clock.seconds)


def _light(slide: Slide) -> Slide:
    return Slide(slide.index, slide.first_frame, slide.last_frame, slide.transition_end_frame, slide.frame_index,
                 np.zeros((0, 0), np.uint8))


def _wav_ms(wav: str | os.PathLike[str]) -> int:
    import soundfile as sf

    with sf.SoundFile(str(wav)) as f:
        return f.frames * 1000 // f.samplerate


def _pages(found: list[tuple[Slide, tuple[FoundSystem, ...]]], wav: str | os.PathLike[str], audio_ms: int,
           options: VideoOptions, sample_rate: int) -> list[VideoPage]:
    fps = options.segment.fps
    spans = [audio_span(s, i == len(found) - 1, options.segment, audio_ms) for i, (s, _) in enumerate(found)]
    shares = [sound_share(read_audio_span(wav, ms_to_sample_floor(a, sample_rate), ms_to_sample_floor(b, sample_rate)),
                          sample_rate, options.clean) if b > a else 0.0 for a, b in spans]
    first, end = kept_range(shares, options.clean)
    pages = []
    for i, ((slide, systems), (a, b), share) in enumerate(zip(found, spans, shares, strict=True)):
        status = _status(i, first, end, systems, a, b, options)
        pages.append(VideoPage(slide.index, (frame_ms(slide.first_frame, fps), frame_ms(slide.last_frame, fps)),
                               frame_ms(slide.frame_index, fps), a, b, systems, round(share, 4), status))
    return pages


def _status(i: int, first: int, end: int, systems: tuple[FoundSystem, ...], a: int, b: int,
            options: VideoOptions) -> str:
    if i < first:
        return "silent intro"
    if i >= end:
        return "silent outro"
    if not systems:
        return "no staves"
    if b - a >= options.max_audio_ms:
        return f"audio {b - a} ms, over {options.max_audio_ms} ms"
    h, w = page_image_shape(systems)
    if image_patches(h, w) * IMAGE_PATCH_PX ** 2 > options.max_image_pixels:
        return f"image {h}x{w} over {options.max_image_pixels} pixels"
    return KEPT


def page_image_shape(systems: tuple[FoundSystem, ...]) -> tuple[int, int]:
    """(height, width) of the systems stacked top to bottom."""
    return sum(s.image.shape[0] for s in systems), max(s.image.shape[1] for s in systems)


def page_sample(spec: PieceSpec, page: VideoPage, audio: np.ndarray, sample_rate: int, max_patches: int,
                extra: Mapping[str, Any]) -> Sample:
    """The sample of one kept page: its systems stacked (``meta['system_heights']`` gives the cuts) and its audio."""
    image = stack_images([s.image for s in page.systems])
    return Sample(
        id=sample_id(spec, "system", page.index), source=spec.source, piece=spec.piece, split=spec.split,
        kind="system", start_ms=page.start_ms, end_ms=page.end_ms, timeline="performance",
        sample_rate=sample_rate, image=image, audio=audio,
        meta={
            **extra,
            "video_page": page.index, "frame_ms": page.frame_ms, "shown_ms": list(page.shown_ms),
            "system_heights": [int(s.image.shape[0]) for s in page.systems],
            "staff_heights_px": [round(s.staff_height, 2) for s in page.systems],
            "system_boxes": [[s.bbox.x0, s.bbox.y0, s.bbox.x1, s.bbox.y1] for s in page.systems],
            "sound": page.sound, "image_patches": image_patches(*image.shape), "max_image_patches": max_patches,
        },
    )


def video_samples(spec: PieceSpec, config: BuildConfig, options: VideoOptions = VideoOptions(),
                  detector: SystemDetector | None = None, extra: Mapping[str, Any] | None = None) -> list[Sample]:
    """All samples of the video ``spec.path``; raises PieceRejected with the reason when it gives none."""
    detector = detector or StaffLineDetector(config.staff_height)
    with tempfile.TemporaryDirectory(prefix="scorebridge-video-") as tmp:
        wav = Path(tmp) / "audio.wav"
        try:
            analysis = analyse_video(spec.path, wav, options, detector, config.sample_rate)
        except InputError as exc:
            raise PieceRejected(exc.problem) from exc
        if not any(p.systems for p in analysis.pages):
            raise PieceRejected(f"no staves on any of its {len(analysis.pages)} pages (not a score video?)")
        if not analysis.kept:
            reasons = sorted({p.status for p in analysis.pages})
            raise PieceRejected(f"no page left after cleaning and filters ({'; '.join(reasons)})")
        max_patches = min(config.max_image_patches, options.max_image_pixels // IMAGE_PATCH_PX ** 2)
        meta = {**(extra or {}), "detector": detector.name, "dropped": _dropped(analysis)}
        return [page_sample(spec, p, read_audio_span(wav, ms_to_sample_floor(p.start_ms, config.sample_rate),
                                                     ms_to_sample_floor(p.end_ms, config.sample_rate)),
                            config.sample_rate, max_patches, meta) for p in analysis.kept]


def _dropped(analysis: VideoAnalysis) -> dict[str, str]:
    """Page index -> why it was dropped, carried in every sample's meta so the manifest's shards tell it."""
    return {str(p.index): p.status for p in analysis.pages if p.status != KEPT}

