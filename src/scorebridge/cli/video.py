"""`scorebridge video build|make-test|show`: score-following videos to a dataset (``scorebridge.video``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scorebridge.cli.common import add_common, add_runner_arguments, positive_int, runner_from_args
from scorebridge.errors import InputError
from scorebridge.filetypes import VEROVIO_INPUTS

SCORE_SUFFIXES = tuple(VEROVIO_INPUTS)  # the scores a video is engraved from


def register(sub: argparse._SubParsersAction) -> None:
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
    add_runner_arguments(p)
    add_common(p)
    p.set_defaults(func=run_build)
    p = vsub.add_parser("make-test", help="synthetic score videos with known truth, from scores")
    p.add_argument("--source", required=True, metavar="PATH", help="a score file or a folder of scores")
    p.add_argument("--out", required=True)
    p.add_argument("--limit", type=positive_int, default=None, help="at most N pieces")
    add_common(p)
    p.set_defaults(func=run_make_test)
    p = vsub.add_parser("show", help="write one page of a built video dataset as PNG + WAV")
    p.add_argument("dataset", metavar="DIR")
    p.add_argument("page_id", metavar="PAGE_ID", help="a sample id or VIDEO_ID/PAGE_INDEX")
    p.add_argument("-o", "--output", default=".", metavar="DIR")
    add_common(p)
    p.set_defaults(func=run_show)


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


def run_build(args: argparse.Namespace) -> int:
    from scorebridge import video

    common = {"metadata": args.metadata, "workers": args.workers, "limit": args.limit,
              "progress": not args.quiet, "engine": runner_from_args(args)}
    report = (video.build_videos(args.videos, args.out, **common) if args.videos
              else video.build_from_ids(args.ids, args.out, **common))
    print(f"{report.out}: {report.samples} pages from {report.pieces - report.rejected} videos "
          f"({report.rejected} rejected, {report.resumed} done before), {report.seconds:.0f} s")
    return 0


def run_make_test(args: argparse.Namespace) -> int:
    from scorebridge import video

    made = video.make_test_videos(score_files(args.source), args.out, limit=args.limit)
    if not made:
        raise InputError(args.source, "no score could be made into a video")
    print(f"{args.out}: {len(made)} videos with their truth (.truth.json)")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from scorebridge import video
    from scorebridge.fileio import check_distinct, check_output_location

    check_output_location(args.output, folder=True)
    check_distinct(args.output, [args.dataset])
    shown = video.show_page(args.dataset, args.page_id, args.output)
    print(f"{shown.image}\n{shown.audio}\n{shown.sample_id}: {shown.start_ms}-{shown.end_ms} ms")
    return 0
