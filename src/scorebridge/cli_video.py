"""The `scorebridge video` commands: score-following videos to a dataset (argument parsing and calls only)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scorebridge.errors import InputError

SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".krn", ".mei", ".abc")


def add_video_commands(sub: argparse._SubParsersAction, add_common) -> None:
    from scorebridge.cli import positive_int
    from scorebridge.engines.options import add_engine_arguments

    video = sub.add_parser("video", help="score-following videos to aligned system-image / audio samples",
                           description="Build a dataset from score videos (a recording shown as a slideshow of "
                           "score pages), as the reference's YouTube Score Video data: slides segmented, silent or "
                           "score-less pages dropped, systems found without learned weights, each page's systems "
                           "paired with its audio. The output is a data-engine dataset that `codec bake` reads.")
    vsub = video.add_subparsers(dest="video_command", required=True, metavar="VIDEO_COMMAND")
    p = vsub.add_parser("build", help="build (or resume) a dataset from a folder of videos or a list of ids")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--videos", metavar="DIR", help="a folder of video files (or one file)")
    src.add_argument("--ids", metavar="FILE", help="video ids/URLs, one per line or a CSV with an 'id' column "
                     "(downloaded with yt-dlp, an optional extra)")
    p.add_argument("--out", required=True)
    p.add_argument("--metadata", default=None, metavar="CSV", help="the reference's metadata CSV (id, title, ...)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--limit", type=positive_int, default=None, help="only the first N videos")
    add_engine_arguments(p)
    add_common(p)
    p = vsub.add_parser("make-test", help="synthetic score videos with known truth, from scores")
    p.add_argument("--source", required=True, metavar="PATH", help="a score file or a folder of scores")
    p.add_argument("--out", required=True)
    p.add_argument("--limit", type=positive_int, default=None, help="at most N pieces")
    add_common(p)
    p = vsub.add_parser("show", help="write one page of a built video dataset as PNG + WAV")
    p.add_argument("dataset", metavar="DIR")
    p.add_argument("page_id", metavar="PAGE_ID", help="a sample id or VIDEO_ID/PAGE_INDEX")
    p.add_argument("-o", "--output", default=".", metavar="DIR")
    add_common(p)


def score_files(path: str) -> list[Path]:
    """A score file, or the score files of a folder (recursively, sorted)."""
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError(root, "no such file or folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in SCORE_SUFFIXES)
    if not files:
        raise InputError(root, f"holds no score ({', '.join(SCORE_SUFFIXES)})")
    return files


def run_video(args: argparse.Namespace) -> int:
    from scorebridge import video

    if args.video_command == "build":
        from scorebridge.engines.options import engine_from_args

        common = {"metadata": args.metadata, "workers": args.workers, "limit": args.limit,
                  "progress": not args.quiet, "engine": engine_from_args(args)}
        report = (video.build_videos(args.videos, args.out, **common) if args.videos
                  else video.build_from_ids(args.ids, args.out, **common))
        print(f"{report.out}: {report.samples} pages from {report.pieces - report.rejected} videos "
              f"({report.rejected} rejected, {report.resumed} done before), {report.seconds:.0f} s")
        return 0
    if args.video_command == "make-test":
        made = video.make_test_videos(score_files(args.source), args.out, limit=args.limit)
        if not made:
            raise InputError(args.source, "no score could be made into a video")
        print(f"{args.out}: {len(made)} videos with their truth (.truth.json)")
        return 0
    if args.video_command == "show":
        from scorebridge.fileio import check_distinct, check_output_location

        check_output_location(args.output, folder=True)
        check_distinct(args.output, [args.dataset])
        shown = video.show_page(args.dataset, args.page_id, args.output)
        print(f"{shown.image}\n{shown.audio}\n{shown.sample_id}: {shown.start_ms}-{shown.end_ms} ms")
        return 0
    raise AssertionError(args.video_command)
