"""`scorebridge lmx` and `scorebridge render`: the deterministic, non-learned conversions of a score
(``scorebridge.convert`` does the work)."""

from __future__ import annotations

import argparse
import logging
import sys

from scorebridge.cli.common import add_common, print_written
from scorebridge.constants import AUDIO_SAMPLE_RATE, STAFF_HEIGHT_PX
from scorebridge.errors import ScorebridgeError

log = logging.getLogger("scorebridge")

RENDER_TARGETS = ("systems", "pages", "pdf", "midi", "audio", "lmx")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lmx",
        help="print the LMX (linearized MusicXML) of a score, or turn LMX back into MusicXML",
        description="Print the LMX of a score's piano part (or --part N). With --to-musicxml, read an .lmx "
        "file and write MusicXML.",
    )
    p.add_argument("input", metavar="SCORE", help="MusicXML/MXL/kern/ABC/MEI score, or an .lmx file with --to-musicxml")
    p.add_argument("--part", type=int, default=None, help="1-based part index (default: the piano part)")
    p.add_argument("--to-musicxml", action="store_true", help="INPUT is LMX; write MusicXML to -o")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    add_common(p)
    p.set_defaults(func=run_lmx)

    p = sub.add_parser(
        "render",
        help="engrave a score to system images or pages, or render it to MIDI, audio or LMX",
        description="Deterministic, non-learned renderings of a score: system crops (PNG + systems.json), "
        "page images, MIDI (Verovio's, aligned with the engraving), audio (FluidSynth) or LMX.",
    )
    p.add_argument("input", metavar="SCORE", help="MusicXML/MXL/kern/ABC/MEI score (or a MIDI file for --to audio)")
    p.add_argument("--to", default=None, choices=RENDER_TARGETS,
                   help="what to render (default: told by the output file's suffix, e.g. score.pdf); systems: one "
                        "PNG per system as the model reads it (staves scaled to --staff-height px, 18 by default: "
                        "small for a person; add --raw for crops at the engraving's full size), pages: whole pages")
    p.add_argument("-o", "--output", required=True,
                   help="output folder (systems, pages; an existing one keeps its files) or file (pdf: .pdf, midi: "
                        ".mid, audio: .wav .flac .ogg .mp3, lmx: .lmx); never the input")
    p.add_argument("--soundfont", default="fluidr3", help="fluidr3, timgm6mb or a .sf2 path (audio)")
    p.add_argument("--sample-rate", type=int, default=AUDIO_SAMPLE_RATE,
                   help="audio sample rate in Hz, 8000..96000 (audio)")
    p.add_argument("--force", action="store_true",
                   help="systems, pages: overwrite files of the same names in an existing output folder")
    p.add_argument("--font", default="Leipzig", help="music font: Leipzig, Bravura, Gootville, Leland, Petaluma")
    p.add_argument("--page-width", type=int, default=None, help="Verovio page width (tenths of mm)")
    p.add_argument("--staff-height", type=int, default=STAFF_HEIGHT_PX,
                   help=f"systems: staff height in px of the model's input crops (default: {STAFF_HEIGHT_PX})")
    p.add_argument("--raw", action="store_true",
                   help="systems: crops at the engraving's size, readable by a person, not the model's input size")
    p.add_argument("--part", type=int, default=None, help="1-based part index for --to lmx")
    add_common(p)
    p.set_defaults(func=run_render)


def run_lmx(args: argparse.Namespace) -> int:
    # Imported here so that `--help` stays fast and argument errors need no heavy imports.
    from scorebridge import convert
    from scorebridge.fileio import write_text

    if args.to_musicxml:
        if not args.output:
            raise ScorebridgeError("lmx --to-musicxml needs -o OUT.musicxml")
        convert.lmx_file_to_musicxml(args.input, args.output)
        log.info("wrote %s", args.output)
        return 0
    from scorebridge.notation import score_to_lmx

    if args.output:
        convert.check_output(args.output, convert.LMX_SUFFIXES, "LMX", [args.input])
    text = score_to_lmx(args.input, part=args.part).text
    if args.output:
        write_text(args.output, text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


def run_render(args: argparse.Namespace) -> int:
    from scorebridge import convert

    request = convert.RenderRequest(soundfont=args.soundfont, sample_rate=args.sample_rate, font=args.font,
                                    page_width=args.page_width, staff_height=args.staff_height,
                                    normalize=not args.raw, part=args.part, progress=not args.quiet,
                                    force=args.force)
    target = args.to or convert.target_for_output(args.output)
    print_written(convert.render(args.input, target, args.output, request), sys.stdout)
    return 0
