"""The bounds every job is held to, and the cheap measurements that check them before any heavy work.

Each ``check_*`` function measures an input in its own units (MIDI end time at its tempi and note count, audio
seconds and sample rate, score bytes and notes, pages and pixels) without the heavy library that would
otherwise read it, and raises a one-line ``InputError`` beyond a limit of ``Limits``. The CLI and the studio
call the same functions; ``docs/limits.md`` lists the values a user meets.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scorebridge.errors import InputError

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Limits:
    """Documented bounds (see docs/limits.md). Times in seconds, sizes in bytes."""

    # MIDI files (any use). pretty_midi keeps one float per tick up to the last event, so ticks are bounded too.
    max_midi_bytes: int = 16 * 1024 * 1024
    max_midi_seconds: float = 4 * 3600.0
    max_midi_ticks: int = 50_000_000
    max_notes: int = 200_000
    # audio we synthesize (FluidSynth, or the model's MIDI -> audio): fluidsynth writes float stereo, ~21 MB/min
    max_render_seconds: float = 30 * 60.0
    # MIDI -> notation (music21 quantizer): time grows faster than the notes (2,000 notes: 23 s on 2 cores)
    max_quantize_notes: int = 2_000
    max_quantize_seconds: float = 20 * 60.0
    # recordings read (translate streams them in windows; codec encode holds one whole in memory)
    min_sample_rate: int = 4_000
    max_sample_rate: int = 384_000
    max_channels: int = 16
    max_audio_seconds: float = 4 * 3600.0
    max_codec_audio_seconds: float = 120.0
    # scores
    max_score_bytes: int = 32 * 1024 * 1024  # a MusicXML file, or the MusicXML unpacked from a .mxl
    max_score_notes: int = 100_000
    max_music21_bytes: tuple[tuple[str, int], ...] = ((".abc", 4 * 1024), (".krn", 128 * 1024),
                                                       (".mei", 512 * 1024))
    # pages (images, PDFs)
    max_pages: int = 100
    max_page_pixels: int = 40_000_000  # every frame of a TIFF; a PDF page is rendered at a lower dpi instead

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            values = [v for _, v in value] if isinstance(value, tuple) else [value]
            if any(not v > 0 for v in values):
                raise ValueError(f"limit {f.name} must be positive, not {value!r}")
        if self.min_sample_rate > self.max_sample_rate:
            raise ValueError("min_sample_rate is above max_sample_rate")

    def music21_bytes(self, suffix: str) -> int | None:
        return dict(self.max_music21_bytes).get(suffix.lower())


LIMITS = Limits()


def _over(name: PathLike | None, what: str, value: float, limit: float, unit: str, hint: str = "") -> InputError:
    return InputError(name, f"{what} of {value:,.6g} {unit} is over the limit of {limit:,.6g} {unit}{hint}")


def check_file_size(path: PathLike, limit: int, what: str = "the file") -> int:
    """The size of ``path`` in bytes; InputError when missing or over ``limit``."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not Path(path).is_file():
        raise InputError(path, "not a regular file")
    if size > limit:
        raise _over(path, what, size, limit, "bytes")
    return size


# MIDI ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MidiMeasure:
    """A MIDI file measured at its own tempi: ``seconds`` and ``ticks`` of its last event, sounding notes."""

    notes: int
    ticks: int
    seconds: float
    division: int


def measure_midi_bytes(data: bytes, name: PathLike | None = None, limits: Limits = LIMITS) -> MidiMeasure:
    """Parse a Standard MIDI File with mido (cheap: no tick tables) and measure it.

    InputError for a file that is not MIDI, is truncated, has division 0 or SMPTE timing, a tempo of 0, or
    whose size, end tick, length in seconds or note count is over ``limits``.
    """
    import mido

    if len(data) > limits.max_midi_bytes:
        raise _over(name, "the MIDI file", len(data), limits.max_midi_bytes, "bytes")
    if data[:4] != b"MThd":
        raise InputError(name, "not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise InputError(name, "corrupt or truncated MIDI file (the header is cut short)")
    division = struct.unpack(">H", data[12:14])[0]
    if division & 0x8000:
        raise InputError(name, "SMPTE time division is not supported (ticks per quarter note only)")
    if division == 0:
        raise InputError(name, "bad MIDI header: division of 0 ticks per quarter note")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except (EOFError, OSError, ValueError, KeyError, IndexError, TypeError, struct.error) as exc:
        raise InputError(name, f"corrupt or truncated MIDI file ({type(exc).__name__}: {exc})") from None
    tracks = [midi.tracks] if midi.type != 2 else [[t] for t in midi.tracks]  # type 2: independent sequences
    notes, end_ticks, end_seconds = 0, 0, 0.0
    for group in tracks:
        tempo, ticks, seconds = 500_000, 0, 0.0
        for msg in mido.merge_tracks(group):
            ticks += msg.time
            seconds += msg.time * tempo / division / 1e6
            if msg.type == "set_tempo":
                if msg.tempo <= 0:
                    raise InputError(name, f"bad MIDI tempo: {msg.tempo} microseconds per quarter note at tick "
                                           f"{ticks}")
                tempo = msg.tempo
            elif msg.type == "note_on" and msg.velocity > 0:
                notes += 1
        end_ticks, end_seconds = max(end_ticks, ticks), max(end_seconds, seconds)
    if end_ticks > limits.max_midi_ticks:
        raise _over(name, "the MIDI file's end", end_ticks, limits.max_midi_ticks, "ticks")
    if end_seconds > limits.max_midi_seconds:
        raise _over(name, "the MIDI file's length", end_seconds, limits.max_midi_seconds, "s")
    if notes > limits.max_notes:
        raise _over(name, "the MIDI file", notes, limits.max_notes, "notes")
    return MidiMeasure(notes, end_ticks, end_seconds, division)


def measure_midi_file(path: PathLike, limits: Limits = LIMITS) -> MidiMeasure:
    """``measure_midi_bytes`` of a file (its size is checked before it is read)."""
    check_file_size(path, limits.max_midi_bytes, "the MIDI file")
    return measure_midi_bytes(Path(path).read_bytes(), path, limits)


def check_render_length(measure: MidiMeasure, name: PathLike | None, limits: Limits = LIMITS) -> None:
    """InputError when audio rendered from this MIDI would be longer than ``limits.max_render_seconds``."""
    if measure.seconds > limits.max_render_seconds:
        raise _over(name, "the music's length at its tempi", measure.seconds, limits.max_render_seconds, "s",
                    " of audio to render")


def check_quantize(measure: MidiMeasure, name: PathLike | None, limits: Limits = LIMITS) -> None:
    """InputError when turning this MIDI into notation (the music21 quantizer) would take too long."""
    if measure.notes > limits.max_quantize_notes:
        raise _over(name, "MIDI -> notation input", measure.notes, limits.max_quantize_notes, "notes")
    if measure.seconds > limits.max_quantize_seconds:
        raise _over(name, "MIDI -> notation input", measure.seconds, limits.max_quantize_seconds, "s")


# audio -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AudioMeasure:
    sample_rate: int
    frames: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def check_audio_file(path: PathLike, *, max_seconds: float | None = None, limits: Limits = LIMITS) -> AudioMeasure:
    """Measure a recording from its header and refuse what cannot be read whole or is absurd.

    InputError for an unreadable file, a sample rate outside ``min_sample_rate..max_sample_rate``, too many
    channels, no samples, more than ``max_seconds`` (default ``limits.max_audio_seconds``), or frames that end
    before the header says (a truncated WAV, FLAC, OGG or MP3).
    """
    import soundfile as sf

    if not Path(path).is_file():
        raise InputError(path, "no such file")
    quiet = _quiet_stderr() if Path(path).suffix.lower() == ".mp3" else contextlib.nullcontext()
    try:
        with quiet:
            info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise InputError(path, f"not a readable audio file ({exc})") from None
    rate, frames, channels = int(info.samplerate), int(info.frames), int(info.channels)
    if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
        raise InputError(path, f"sample rate of {rate:,} Hz is outside {limits.min_sample_rate:,}.."
                               f"{limits.max_sample_rate:,} Hz")
    if not 1 <= channels <= limits.max_channels:
        raise InputError(path, f"{channels} channels (at most {limits.max_channels})")
    if frames <= 0:
        raise InputError(path, "holds no samples")
    bound = limits.max_audio_seconds if max_seconds is None else max_seconds
    if frames / rate > bound:
        raise _over(path, "the recording's length", frames / rate, bound, "s")
    if info.format == "WAV":
        _check_wav_chunks(Path(path))
    _check_tail(path, frames, rate)
    return AudioMeasure(rate, frames, channels)


def _check_wav_chunks(path: Path) -> None:
    """libsndfile quietly shortens a WAV whose data chunk runs past the end of the file: compare them here."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return  # RF64 and friends: left to libsndfile
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            chunk_id, length = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                if length in (0, 0xFFFFFFFF):  # written by a stream that never knew its length
                    return
                if offset + 8 + length > size:
                    raise InputError(path, f"truncated WAV: the header declares {length:,} bytes of audio, the file "
                                           f"holds {size - offset - 8:,}")
                return
            offset += 8 + length + (length & 1)


def _check_tail(path: PathLike, frames: int, rate: int) -> None:
    """Seek to the last frames the header declares and read them: a cut FLAC/MP3 fails or comes up short.
    MP3 lengths can be estimates (VBR without a Xing header): there the last 10 s must yield at least half."""
    import soundfile as sf

    mp3 = Path(path).suffix.lower() == ".mp3"
    want = min(frames, 10 * rate if mp3 else 4096)
    try:
        with _quiet_stderr() if mp3 else contextlib.nullcontext(), sf.SoundFile(str(path)) as f:
            f.seek(frames - want)
            got = len(f.read(want, dtype="float32", always_2d=True))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise InputError(path, f"truncated or corrupt audio: its frames end before the header says ({exc})") \
            from None
    if got < (want // 2 if mp3 else want):
        raise InputError(path, f"truncated audio: {frames - want + got:,} of the {frames:,} frames the header "
                               f"declares")


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """libmpg123 prints seek warnings on a cut MP3 straight to file descriptor 2; the error that follows is
    ours, in one line."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_sample_rate(rate: int, what: str = "--sample-rate", low: int = 8_000, high: int = 96_000) -> int:
    """A synthesis sample rate FluidSynth accepts (8,000..96,000 Hz); ValueError otherwise."""
    if not low <= rate <= high:
        raise ValueError(f"{what} must be in {low:,}..{high:,} Hz, not {rate:,}")
    return rate


# scores ----------------------------------------------------------------------------------------------------
def check_music21_input(path: PathLike, limits: Limits = LIMITS) -> None:
    """Files read through music21 (ABC, kern, MEI) are bounded by size: its ABC reader takes time growing with
    the square of the bars (4 KB: 21 s, 8 KB: 74 s on a shared 2-core VM)."""
    limit = limits.music21_bytes(Path(path).suffix)
    if limit is not None:
        check_file_size(path, limit, f"a {Path(path).suffix.lower()} score read through music21")


def check_score_counts(name: PathLike | None, notes: int, limits: Limits = LIMITS) -> None:
    if notes > limits.max_score_notes:
        raise _over(name, "the score", notes, limits.max_score_notes, "notes")


# pages -----------------------------------------------------------------------------------------------------
def check_page(name: PathLike | None, index: int, width: int, height: int, limits: Limits = LIMITS) -> None:
    """InputError for a page beyond ``max_pages`` or a frame of more than ``max_page_pixels`` pixels."""
    if index >= limits.max_pages:
        raise InputError(name, f"more than {limits.max_pages} pages")
    if width * height > limits.max_page_pixels:
        raise InputError(name, f"page {index + 1} of {width}x{height} = {width * height:,} pixels is over the "
                               f"limit of {limits.max_page_pixels:,} pixels")
