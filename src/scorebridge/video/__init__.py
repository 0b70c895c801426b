"""Score videos (a recording shown as a slideshow of score pages) to aligned system-image / audio samples,
as the reference's YouTube Score Video dataset (u-must.md §4.1).

``build_videos`` / ``build_from_ids`` run the pipeline as a data-engine source (resumable, parallel, manifest,
WebDataset shards that ``codec bake`` reads); ``analyse_video`` is one video's segmentation, system detection
and cleaning; ``make_test_videos`` and ``score_video`` make synthetic videos with known truth and measure the
pipeline on them; ``show_page`` writes one page of a built dataset out to look at.
"""

from scorebridge.video.clean import CleanOptions, kept_range, sound_share
from scorebridge.video.detect import BoxDetector, FoundSystem, StaffLineDetector, SystemDetector, yolo_detector
from scorebridge.video.evaluate import VideoScore, score_video
from scorebridge.video.ffmpeg import VideoInfo, download, probe
from scorebridge.video.pipeline import VideoAnalysis, VideoOptions, VideoPage, analyse_video, video_samples
from scorebridge.video.segment import SegmentOptions, Slide, segment
from scorebridge.video.show import ShownPage, show_page
from scorebridge.video.source import (
    VideoSource,
    build_from_ids,
    build_videos,
    read_ids,
    read_metadata,
    video_split,
)
from scorebridge.video.synthetic import SyntheticVideoOptions, make_test_video, make_test_videos, truth_path

__all__ = [
    "BoxDetector", "CleanOptions", "FoundSystem", "SegmentOptions", "ShownPage", "Slide", "StaffLineDetector",
    "SystemDetector", "SyntheticVideoOptions", "VideoAnalysis", "VideoInfo", "VideoOptions", "VideoPage", "VideoScore",
    "VideoSource", "analyse_video", "build_from_ids", "build_videos", "download", "kept_range", "make_test_video",
    "make_test_videos", "probe", "read_ids", "read_metadata", "score_video", "segment", "show_page", "sound_share",
    "truth_path", "video_samples", "video_split", "yolo_detector",
]
