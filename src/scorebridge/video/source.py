"""Score videos as a data-engine source: one video is one piece, so ``data.build`` gives resumability,
parallelism, the manifest and rejections with reasons; splits are drawn per video (85 / 7 / 8 %, seeded).

Metadata follows the reference's CSV schema (id, title, uploader, duration, composer, piece, instrumentation,
staff count, ...): a row whose id is a video's file stem is carried into every sample's ``meta['video']``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from scorebridge.data.build import BuildReport, build
from scorebridge.data.contract import BuildConfig, PieceSpec
from scorebridge.data.schema import Sample
from scorebridge.engines import Engine, is_url
from scorebridge.errors import InputError
from scorebridge.video.detect import SystemDetector
from scorebridge.video.pipeline import VideoOptions, video_samples

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".flv", ".ts")
METADATA_COLUMNS = ("id", "title", "uploader", "duration", "composer", "piece", "instrumentation", "staff_count")
SPLIT_SEED = 20261127
SPLIT_FRACTIONS = {"train": 0.85, "valid": 0.07}  # the rest (8%) is test
EXPECTED_MODALITIES = {"system": ("image", "audio")}


def video_split(video_id: str, seed: int = SPLIT_SEED) -> str:
    """A stable split for a video: 85% train, 7% valid, 8% test (all pages of a video share it)."""
    value = int.from_bytes(hashlib.sha256(f"{seed}\0video\0{video_id}".encode()).digest()[:8], "little") / 2**64
    if value < SPLIT_FRACTIONS["train"]:
        return "train"
    return "valid" if value < SPLIT_FRACTIONS["train"] + SPLIT_FRACTIONS["valid"] else "test"


def read_metadata(path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """id -> row of a metadata CSV (an ``id`` column is required; other columns are kept as they are)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or "id" not in reader.fieldnames:
                raise InputError(path, f"metadata CSV needs an 'id' column (schema: {', '.join(METADATA_COLUMNS)})")
            return {row["id"].strip(): {k: (v or "").strip() for k, v in row.items() if k} for row in reader
                    if row.get("id")}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"cannot read the metadata CSV ({exc})") from exc


def list_videos(videos: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Video files of a folder (recursively, by suffix) or of an explicit list, sorted and absolute."""
    if isinstance(videos, (str, os.PathLike)):
        root = Path(videos)
        if not root.is_dir():
            raise InputError(root, "not a folder of videos")
        return sorted(p.resolve() for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    return sorted(Path(v).resolve() for v in videos)


class VideoSource:
    """Pieces are video files, keyed by their stem (the video id); see the module docstring."""

    name = "video"

    def __init__(self, videos: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                 metadata: str | os.PathLike[str] | None = None, options: VideoOptions | None = None,
                 detector: SystemDetector | None = None, split_seed: int = SPLIT_SEED):
        self.files = list_videos(videos)
        self.metadata = read_metadata(metadata) if metadata is not None else {}
        self.options, self.detector, self.split_seed = options or VideoOptions(), detector, split_seed

    def pieces(self) -> list[PieceSpec]:
        specs = []
        for path in self.files:
            video_id = path.stem
            row = self.metadata.get(video_id, {})
            specs.append(PieceSpec(self.name, video_id, str(path), video_split(video_id, self.split_seed),
                                   {"metadata": json.dumps(row, sort_keys=True)}))
        return specs

    def build_piece(self, spec: PieceSpec, config: BuildConfig) -> list[Sample]:
        row = json.loads(spec.extra.get("metadata", "{}"))
        return video_samples(spec, config, self.options, self.detector, {"video": {"id": spec.piece, **row}})


def build_videos(videos: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], out: str | os.PathLike[str],
                 metadata: str | os.PathLike[str] | None = None, workers: int = 1,
                 options: VideoOptions | None = None, config: BuildConfig | None = None,
                 detector: SystemDetector | None = None, limit: int | None = None,
                 progress: bool = False, engine: Engine | None = None) -> BuildReport:
    """Build (or resume) a dataset from score videos: ``scorebridge video build --videos DIR`` (``engine``: the
    local pool or Ray, as ``data.build.build``)."""
    source = VideoSource(videos, metadata, options, detector)
    return build(source, out, config, workers=workers, limit=limit, progress=progress,
                 expected_modalities=EXPECTED_MODALITIES, engine=engine)


def read_ids(path: str | os.PathLike[str]) -> list[str]:
    """Video ids or URLs, one a line ('#' comments and blank lines skipped), or the ``id`` column of a CSV."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return list(read_metadata(path))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the id list ({exc})") from exc
    ids = [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]
    if not ids:
        raise InputError(path, "no video ids in the file")
    return ids


def build_from_ids(ids_file: str | os.PathLike[str], out: str | os.PathLike[str],
                   download_dir: str | os.PathLike[str] | None = None, **kwargs) -> BuildReport:
    """Download the listed videos with yt-dlp (optional extra) into ``download_dir`` (default OUT/videos), then
    ``build_videos`` over them: ``scorebridge video build --ids FILE``."""
    from scorebridge.video.ffmpeg import download

    if download_dir is None and is_url(out):
        raise InputError(str(out), "--ids downloads the videos beside the dataset: with a URL --out, download "
                                   "them first and build with --videos")
    folder = Path(download_dir) if download_dir is not None else Path(out) / "videos"
    files = download(read_ids(ids_file), folder)
    return build_videos(files, out, **kwargs)
