"""Score videos with known truth, made from score files, for tests and the benchmark.

A score is engraved by Verovio into pages, each page is shown while the timemap plays its measures (repeats
bring a page back), the audio is FluidSynth's rendering of Verovio's MIDI, and ffmpeg muxes it all into lossy
H.264 + AAC. Page changes alternate between hard cuts and crossfades; the page is letterboxed / pillarboxed in
the frame; a silent title card opens the video and a silent end card closes it. The truth (page times, system
boxes and staff heights in frame pixels) is written beside the video as ``<name>.truth.json``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.fileio import atomic_path, write_text
from scorebridge.pages.synthetic import engraved_page
from scorebridge.render.engrave import EngravedScore, EngraveOptions, engrave
from scorebridge.render.raster import svg_to_array
from scorebridge.render.synth import synthesize_bytes
from scorebridge.video.ffmpeg import encode_video

log = logging.getLogger(__name__)

FORMATS = ((640, 360, 25), (854, 480, 30), (1280, 720, 24))  # (width, height, fps) cycled by make_test_videos


@dataclass(frozen=True)
class SyntheticVideoOptions:
    width: int = 640
    height: int = 360
    fps: int = 25
    page_width: int = 1600  # Verovio page size (tenths of mm): a landscape page of two systems or so
    page_height: int = 900
    page_fill: float = 0.92  # share of the frame height the page takes; the rest is black bars
    transitions: tuple[str, ...] = ("cut", "crossfade")  # cycled over the screen changes
    crossfade_ms: int = 800
    intro_ms: int = 3000  # silent title card
    outro_ms: int = 3000  # silent end card
    crf: int = 30  # H.264 quality (lossy)
    soundfont: str = "fluidr3"

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2 or not 1 <= self.fps <= 60:
            raise ValueError("width and height must be even (yuv420p) and fps in 1..60")
        if not set(self.transitions) <= {"cut", "crossfade"} or not self.transitions:
            raise ValueError("transitions are 'cut' and/or 'crossfade'")
        if not 0.2 <= self.page_fill <= 1.0 or self.crossfade_ms < 40:
            raise ValueError("page_fill must be in 0.2..1 and crossfade_ms >= 40")


@dataclass(frozen=True)
class Screen:
    """What is on screen from ``start_ms`` to ``end_ms`` (video time): a score page or a card."""

    kind: str  # "page" | "title" | "end"
    page: int | None  # 0-based engraved page
    start_ms: int
    end_ms: int


def page_runs(engraved: EngravedScore) -> list[tuple[int, int, int]]:
    """(page, start_ms, end_ms) in score time: the page shown while each measure plays, runs merged."""
    plays = sorted((p.start_ms, p.end_ms, m.page - 1) for m in engraved.measures for p in m.plays)
    runs: list[list[int]] = []
    for start, end, page in plays:
        if runs and runs[-1][0] == page and start <= runs[-1][2] + 1:
            runs[-1][2] = max(runs[-1][2], end)
        else:
            runs.append([page, start, end])
    return [(p, a, b) for p, a, b in runs]


def screens(runs: Sequence[tuple[int, int, int]], music_ms: int, options: SyntheticVideoOptions) -> list[Screen]:
    """The timeline: title card, the page runs shifted by the intro, the last page until the music ends, then
    the end card."""
    out = [Screen("title", None, 0, options.intro_ms)]
    for k, (page, a, b) in enumerate(runs):
        end = max(b, music_ms) if k == len(runs) - 1 else runs[k + 1][1]
        out.append(Screen("page", page, options.intro_ms + a, options.intro_ms + end))
    out.append(Screen("end", None, out[-1].end_ms, out[-1].end_ms + options.outro_ms))
    return out


def _card(text: str, width: int, height: int, dark: bool) -> np.ndarray:
    img = Image.new("L", (width, height), 20 if dark else 245)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(10, height // 12))
    draw.text((width // 2, height // 2), text, fill=235 if dark else 30, font=font, anchor="mm")
    small = ImageFont.load_default(size=max(8, height // 24))
    draw.text((width // 2, height * 2 // 3), "scorebridge test video", fill=200 if dark else 90, font=small,
              anchor="mm")
    return np.asarray(img)


def _page_screen(engraved: EngravedScore, page: int, options: SyntheticVideoOptions) -> tuple[np.ndarray, list[dict]]:
    """A page letterboxed in a black frame, and its systems' truth in frame pixels."""
    base = svg_to_array(engraved.pages[page], 1.0).shape
    zoom = min(options.page_fill * options.height / base[0], options.width / base[1])
    synthetic = engraved_page(engraved, page, zoom)
    h, w = synthetic.image.shape
    h, w = min(h, options.height), min(w, options.width)
    dy, dx = (options.height - h) // 2, (options.width - w) // 2
    frame = np.zeros((options.height, options.width), np.uint8)
    frame[dy:dy + h, dx:dx + w] = synthetic.image[:h, :w]
    systems = [{"bbox": [s.bbox.x0 + dx, s.bbox.y0 + dy, s.bbox.x1 + dx, s.bbox.y1 + dy],
                "staff_height": round(s.staff_height, 3), "staves": s.staves} for s in synthetic.systems]
    return frame, systems


def _frames(timeline: Sequence[Screen], images: Sequence[np.ndarray], boundaries: Sequence[dict],
            options: SyntheticVideoOptions) -> Iterator[np.ndarray]:
    """Frame k shows time k / fps: the screen of that time, blended across a crossfade centred on its change."""
    total = timeline[-1].end_ms
    starts = [s.start_ms for s in timeline]
    for k in range(total * options.fps // 1000):
        t = k * 1000 / options.fps
        i = max(0, int(np.searchsorted(starts, t, side="right")) - 1)
        frame = images[i]
        for b in boundaries:  # boundary j separates screens j and j + 1
            half = b["duration_ms"] / 2
            if b["kind"] == "crossfade" and abs(t - b["time_ms"]) < half:
                alpha = (t - b["time_ms"] + half) / b["duration_ms"]
                j = b["index"]
                frame = np.rint((1 - alpha) * images[j] + alpha * images[j + 1]).astype(np.uint8)
        yield frame


def make_test_video(score: str | os.PathLike[str], out: str | os.PathLike[str],
                    options: SyntheticVideoOptions = SyntheticVideoOptions(), title: str | None = None) -> dict:
    """Write ``out`` (an .mp4) and ``<out stem>.truth.json`` beside it; returns the truth."""
    out = Path(out)
    engraved = engrave(score, EngraveOptions(page_width=options.page_width, page_height=options.page_height))
    audio = synthesize_bytes(engraved.midi, options.soundfont, AUDIO_SAMPLE_RATE)
    music_ms = len(audio) * 1000 // AUDIO_SAMPLE_RATE
    timeline = screens(page_runs(engraved), music_ms, options)
    pages = {s.page for s in timeline if s.page is not None}
    rendered = {p: _page_screen(engraved, p, options) for p in sorted(pages)}
    name = title or Path(score).stem
    images = [_card(name, options.width, options.height, dark=False) if s.kind == "title"
              else _card("Thank you for listening", options.width, options.height, dark=True) if s.kind == "end"
              else rendered[s.page][0] for s in timeline]
    boundaries = [{"index": j, "time_ms": timeline[j + 1].start_ms, "kind": options.transitions[j % len(
        options.transitions)], "duration_ms": options.crossfade_ms} for j in range(len(timeline) - 1)]
    total = timeline[-1].end_ms
    track = np.zeros(total * AUDIO_SAMPLE_RATE // 1000, np.float32)
    first = options.intro_ms * AUDIO_SAMPLE_RATE // 1000
    track[first:first + len(audio)] = audio[: len(track) - first]
    with tempfile.TemporaryDirectory(prefix="scorebridge-testvideo-") as tmp:
        import soundfile as sf

        wav = Path(tmp) / "audio.wav"
        sf.write(wav, track, AUDIO_SAMPLE_RATE, subtype="PCM_16")
        with atomic_path(out) as part:
            encode_video(_frames(timeline, images, boundaries, options), options.width, options.height,
                         options.fps, part, wav, options.crf)
    truth = {
        "video": out.name, "score": str(score), "options": asdict(options), "duration_ms": total,
        "music_ms": [options.intro_ms, options.intro_ms + music_ms],
        "screens": [{**asdict(s), "systems": rendered[s.page][1] if s.page is not None else []} for s in timeline],
        "boundaries": boundaries,
    }
    write_text(truth_path(out), json.dumps(truth, indent=1) + "\n")
    log.info("%s: %d screens, %.1f s", out, len(timeline), total / 1000)
    return truth


def truth_path(video: str | os.PathLike[str]) -> Path:
    video = Path(video)
    return video.with_name(video.stem + ".truth.json")


def make_test_videos(scores: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str],
                     limit: int | None = None, formats: Sequence[tuple[int, int, int]] = FORMATS,
                     by_stem: Mapping[str, Mapping[str, Any]] | None = None, **overrides) -> list[Path]:
    """One test video per score (up to ``limit``), cycling the frame sizes and rates of ``formats``:
    ``scorebridge video make-test``. ``by_stem`` adds options for some scores (by file stem), after
    ``overrides``. A video already there is kept when its truth was made with the same options. Scores that
    cannot be engraved are skipped with a warning."""
    from scorebridge.errors import ScorebridgeError

    out = Path(out_dir)
    made = []
    for k, score in enumerate(list(scores)[:limit]):
        width, height, fps = formats[k % len(formats)]
        extra = {**overrides, **(by_stem or {}).get(Path(score).stem, {})}
        options = SyntheticVideoOptions(width=width, height=height, fps=fps, **extra)
        target = out / f"{k:03d}-{Path(score).stem}.mp4"
        if target.exists() and _made_with(target, options):
            made.append(target)
            continue
        try:
            make_test_video(score, target, options)
        except ScorebridgeError as exc:
            log.warning("skipped %s: %s", score, exc)
            continue
        made.append(target)
    return made


def _made_with(video: Path, options: SyntheticVideoOptions) -> bool:
    """The video's truth exists and records these options."""
    try:
        truth = json.loads(truth_path(video).read_text())
    except (OSError, ValueError):
        return False
    return truth.get("options") == json.loads(json.dumps(asdict(options)))
