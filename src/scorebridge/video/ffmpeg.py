"""The one adapter around Debian's ``ffmpeg``/``ffprobe`` (and the optional ``yt-dlp``) for score videos.

Frames are streamed as gray raw video through a pipe, one frame in memory at a time; audio goes to a temporary
mono WAV that is read span by span, so a 3-hour video is processed in bounded memory.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorebridge.errors import InputError, MissingToolError, ScorebridgeError

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 60
AUDIO_TIMEOUT_S = 3600


@dataclass(frozen=True)
class VideoInfo:
    """What ffprobe says about a file; ``duration_ms`` is the container's (0 when unknown)."""

    width: int
    height: int
    fps: float
    duration_ms: int
    has_audio: bool


@dataclass(frozen=True, eq=False)
class Frame:
    """One sampled frame: its index at the sampling rate, its time in integer ms and its gray pixels."""

    index: int
    time_ms: int
    image: np.ndarray  # uint8 (H, W), the video's own resolution


@dataclass
class DecodeClock:
    """Seconds spent waiting for ffmpeg (decoding) while streaming frames; filled in as frames are read."""

    seconds: float = 0.0


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise MissingToolError(name, "Debian: apt-get install ffmpeg")
    return exe


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Size, frame rate, duration and whether there is an audio track; InputError for an unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    cmd = [_tool("ffprobe"), "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InputError(path, "ffprobe timed out") from exc
    if proc.returncode != 0:
        raise InputError(path, f"not a readable video ({_last_line(proc.stderr)})")
    info = json.loads(proc.stdout or b"{}")
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    if video is None or not video.get("width"):
        raise InputError(path, "no video stream")
    duration = float(info.get("format", {}).get("duration") or video.get("duration") or 0.0)
    return VideoInfo(int(video["width"]), int(video["height"]), _rate(video.get("avg_frame_rate", "0/1")),
                     round(duration * 1000), any(s.get("codec_type") == "audio" for s in streams))


def _rate(text: str) -> float:
    num, _, den = text.partition("/")
    try:
        return float(num) / float(den or 1) if float(den or 1) else 0.0
    except ValueError:
        return 0.0


def _last_line(stderr: bytes) -> str:
    lines = [x.strip() for x in stderr.decode(errors="replace").splitlines() if x.strip()]
    return lines[-1] if lines else "no message"


def stream_frames(path: str | os.PathLike[str], info: VideoInfo, fps: float,
                  clock: DecodeClock | None = None) -> Iterator[Frame]:
    """Gray frames sampled at ``fps`` (ffmpeg's fps filter: frame k shows time k / fps), one at a time.

    A truncated file yields the frames ffmpeg could decode; a file that gives none raises InputError.
    """
    size = info.width * info.height
    cmd = [_tool("ffmpeg"), "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0", "-an", "-sn",
           "-vf", f"fps={fps:g},format=gray", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=size * 2)
    assert proc.stdout is not None and proc.stderr is not None
    count = 0
    try:
        while True:
            started = time.perf_counter()
            data = _read_exactly(proc.stdout, size)
            if clock is not None:
                clock.seconds += time.perf_counter() - started
            if len(data) < size:
                break
            image = np.frombuffer(data, dtype=np.uint8).reshape(info.height, info.width)
            yield Frame(count, round(count * 1000 / fps), image)  # the fps filter's grid
            count += 1
    finally:
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.stderr.close()
        code = proc.wait()
    if count == 0:
        raise InputError(path, f"no frame could be decoded ({_last_line(stderr) if code else 'empty video'})")
    if code != 0:
        log.warning("%s: ffmpeg stopped after %d frames (%s)", path, count, _last_line(stderr))


def _read_exactly(pipe, size: int) -> bytes:
    chunks = []
    left = size
    while left > 0:
        chunk = pipe.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def extract_audio(path: str | os.PathLike[str], wav: str | os.PathLike[str], sample_rate: int) -> None:
    """The first audio track as mono 16-bit WAV at ``sample_rate``; InputError when there is none."""
    cmd = [_tool("ffmpeg"), "-v", "error", "-nostdin", "-y", "-i", str(path), "-map", "0:a:0", "-vn",
           "-ac", "1", "-ar", str(sample_rate), "-c:a", "pcm_s16le", "-f", "wav", str(wav)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=AUDIO_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InputError(path, "ffmpeg timed out extracting the audio") from exc
    if proc.returncode != 0 or not Path(wav).is_file() or Path(wav).stat().st_size <= 44:
        raise InputError(path, f"no readable audio track ({_last_line(proc.stderr)})")


def read_audio_span(wav: str | os.PathLike[str], start: int, stop: int) -> np.ndarray:
    """float32 samples [start, stop) of a WAV, zero-padded past its end."""
    import soundfile as sf

    with sf.SoundFile(str(wav)) as f:
        first = min(max(0, start), f.frames)
        f.seek(first)
        data = f.read(max(0, min(stop, f.frames) - first), dtype="float32", always_2d=True)[:, 0]
    out = np.zeros(max(0, stop - start), dtype=np.float32)
    offset = first - start
    out[offset:offset + len(data)] = data
    return out


def encode_video(frames: Iterator[np.ndarray], width: int, height: int, fps: int, out: str | os.PathLike[str],
                 audio_wav: str | os.PathLike[str] | None, crf: int = 30) -> None:
    """Write gray frames (uint8 (height, width)) as lossy H.264 (yuv420p) with AAC audio from a WAV."""
    cmd = [_tool("ffmpeg"), "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "gray",
           "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0"]
    if audio_wav is not None:
        cmd += ["-i", str(audio_wav), "-c:a", "aac", "-b:a", "96k"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p", "-shortest",
            str(out)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        for frame in frames:
            proc.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
    finally:
        proc.stdin.close()
        stderr = proc.stderr.read()
        proc.stderr.close()
    if proc.wait() != 0:
        raise ScorebridgeError(f"ffmpeg could not encode {out}: {_last_line(stderr)}")


def download(ids: list[str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Download videos by id or URL with yt-dlp (an optional extra) into ``out_dir/<id>.<ext>``.

    Videos already there are kept. Raises MissingToolError without yt-dlp and ScorebridgeError (one line) when
    a download fails, e.g. offline.
    """
    try:
        import yt_dlp
    except ImportError as exc:
        raise MissingToolError("yt-dlp", "pip install yt-dlp; or pass local files with --videos") from exc
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    options = {"outtmpl": str(out / "%(id)s.%(ext)s"), "format": "best[height<=720]/best", "quiet": True,
               "noprogress": True, "ignoreerrors": False, "nooverwrites": True}
    paths = []
    with yt_dlp.YoutubeDL(options) as ydl:
        for item in ids:
            try:
                info = ydl.extract_info(item, download=True)
            except Exception as exc:  # yt-dlp raises its own DownloadError for network trouble
                raise ScorebridgeError(f"yt-dlp could not get {item}: {str(exc).splitlines()[0]}") from exc
            paths.append(Path(ydl.prepare_filename(info)))
    return paths
