"""`scorebridge codec train|encode|decode|bake`: the image and audio codecs (learned tokenizers) and baking
datasets into token shards."""

from __future__ import annotations

import argparse
from dataclasses import replace

from scorebridge.cli.common import add_common, add_runner_arguments, positive_int, runner_from_args
from scorebridge.errors import ScorebridgeError


def register(sub: argparse._SubParsersAction) -> None:
    codec = sub.add_parser("codec", help="train, use and bake the image and audio codecs (learned tokenizers)",
                           description="The image RQ-VAE and the DAC-style audio codec: training, encoding files "
                           "to codes and back, and baking datasets into token shards.")
    csub = codec.add_subparsers(dest="codec_command", required=True, metavar="CODEC_COMMAND")
    p = csub.add_parser("train", help="train (or resume training) a codec on the train split of datasets",
                        description="Train a codec; rerun the same command to resume. Only train-split samples "
                        "are read.")
    p.add_argument("kind", choices=("image", "audio"))
    p.add_argument("--data", action="append", required=True, metavar="DIR",
                   help="a dataset built by `data build` (repeat for several)")
    p.add_argument("--preset", default="small", help="image: tiny/small/paper; audio: tiny/small24k/dac44-4 "
                   "(default: small, small24k for audio)")
    p.add_argument("--out", required=True, help="run folder (checkpoint + training state)")
    p.add_argument("--steps", type=int, default=None, help="total steps (default: the recipe's)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--adversarial", action="store_true", help="audio: train with the discriminators")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-minutes", type=float, default=None, metavar="MIN",
                   help="checkpoint and stop after this much wall time (rerun to resume)")
    add_common(p)
    p.set_defaults(func=run_train)
    for name, what in (("encode", "an image (PNG) or a recording to a .npz of codes"),
                       ("decode", "a .npz of codes back to an image (PNG) or audio (WAV/FLAC)")):
        p = csub.add_parser(name, help=what)
        p.add_argument("kind", choices=("image", "audio"))
        p.add_argument("input", metavar="INPUT")
        p.add_argument("--codec", required=True, metavar="DIR", help="codec checkpoint or training-run folder")
        p.add_argument("-o", "--output", required=True)
        add_common(p)
        p.set_defaults(func=run_encode_decode)
    p = csub.add_parser("bake", help="tokenize datasets at every shift into token shards for the translator",
                        description="Bake datasets into token shards (32 image shifts, 9 audio shifts, degraded "
                        "image variants for training). Rerun the same command to resume.")
    p.add_argument("--data", action="append", required=True, metavar="DIR", help="a built dataset (repeatable)")
    p.add_argument("--codecs", required=True, metavar="DIR", help="folder with image/ and/or audio/ codecs")
    p.add_argument("--out", required=True, help="token folder")
    p.add_argument("--degraded", type=int, default=5, help="degraded copies per training image (default 5)")
    p.add_argument("--image-shifts", choices=("all", "centre"), default="all")
    p.add_argument("--audio-shifts", choices=("all", "centre"), default="all")
    p.add_argument("--splits", default="train,valid,test")
    p.add_argument("--limit", type=positive_int, default=None, help="only the first N input shards")
    p.add_argument("--device", default="cpu", help="where the codecs encode: cpu, cuda ...")
    p.add_argument("--workers", type=int, default=0, help="shards baked at once in worker processes (default 0)")
    add_runner_arguments(p)
    add_common(p)
    p.set_defaults(func=run_bake)


def run_train(args: argparse.Namespace) -> int:
    from scorebridge.deadline import Deadline

    overrides = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size), ("lr", args.lr),
                                   ("seed", args.seed)) if v is not None}
    try:
        deadline = Deadline.minutes(args.max_minutes)
        if args.kind == "image":
            from scorebridge.codecs.image import ImageTrainConfig
            from scorebridge.train.codecs import train_image_codec

            result = train_image_codec(replace(ImageTrainConfig(preset=args.preset), **overrides), args.data,
                                       args.out, device=args.device, deadline=deadline)
            print(f"image codec: step {result.step} in {args.out} ({result.seconds:.0f} s this run)")
        else:
            from scorebridge.codecs.audio import AudioTrainConfig
            from scorebridge.train.codecs import train_audio_codec

            preset = "small24k" if args.preset == "small" else args.preset
            config = replace(AudioTrainConfig(preset=preset, adversarial=args.adversarial), **overrides)
            result = train_audio_codec(config, args.data, args.out, device=args.device, progress=not args.quiet,
                                       deadline=deadline)
            print(f"audio codec: step {result.steps} in {result.checkpoint} ({result.seconds:.0f} s this run)")
    except ValueError as exc:
        raise ScorebridgeError(f"codec train: {exc}") from exc
    return 0


def run_encode_decode(args: argparse.Namespace) -> int:
    from scorebridge.codecs import files

    run = files.encode_file if args.codec_command == "encode" else files.decode_file
    info = run(args.kind, args.codec, args.input, args.output)
    print(f"{info.output} ({args.kind} codes {'x'.join(map(str, info.shape))})")
    return 0


def run_bake(args: argparse.Namespace) -> int:
    from scorebridge.shards.bake import BakeOptions, bake

    try:
        options = BakeOptions(degraded=args.degraded, image_shifts=args.image_shifts,
                              audio_shifts=args.audio_shifts, splits=tuple(args.splits.split(",")))
    except ValueError as exc:
        raise ScorebridgeError(f"codec bake: {exc}") from exc
    runner = runner_from_args(args)
    report = bake(args.data, args.codecs, args.out, options, limit=args.limit, progress=not args.quiet,
                  device=args.device, workers=args.workers, engine=runner)
    print(f"{report.out}: {report.samples} samples in {report.shards} shards ({report.baked_shards} baked now)")
    return 0
