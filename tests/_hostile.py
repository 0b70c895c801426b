"""Hostile inputs for the CLI, each written into a folder in milliseconds (nothing big lives in git), and a
runner that answers CLI commands in forked children under a memory cap and a time limit.

Generators take the folder and return the path they wrote. ``CliRunner`` keeps one driver process with the
heavy imports done; every command runs in a fork of it (cheap) with RLIMIT_AS raised only ``mem_mb`` above
the driver's own address space, ``alarm(timeout)``, its own TMPDIR and working folder, and reports the exit
status, stdout, stderr, its peak RSS and whether it ran out of time.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"


# MIDI ------------------------------------------------------------------------------------------------------
def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def midi_bytes(division: int, tempo: int, events: list[tuple[int, bytes]]) -> bytes:
    """A type-0 MIDI file: ``events`` are (delta ticks, message bytes) after one set_tempo."""
    track = b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big")
    track += b"".join(_vlq(delta) + msg for delta, msg in events) + b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, division) + b"MTrk" + struct.pack(">I", len(track)) + track


def midi_endless(folder: Path) -> Path:
    """The 44-byte MIDI: division 1, tempo 0xFFFFFF, one note of 9,999,999 ticks (pretty_midi: a float per tick)."""
    data = midi_bytes(1, 0xFFFFFF, [(0, b"\x90\x3c\x40"), (9_999_999, b"\x80\x3c\x40")])
    assert len(data) == 44
    return _write(folder / "endless.mid", data)


def midi_tempo0(folder: Path) -> Path:
    return _write(folder / "tempo0.mid", midi_bytes(480, 0, [(0, b"\x90\x3c\x40"), (480, b"\x80\x3c\x40")]))


def midi_division0(folder: Path) -> Path:
    return _write(folder / "division0.mid", midi_bytes(0, 500_000, [(0, b"\x90\x3c\x40"), (480, b"\x80\x3c\x40")]))


def midi_many_notes(folder: Path, notes: int = 2_500) -> Path:
    """Short notes, one every 60 ms: over the MIDI -> notation note limit, under every other."""
    events = []
    for i in range(notes):
        pitch = 48 + (i * 7) % 36
        events += [(0 if i == 0 else 12, bytes([0x90, pitch, 64])), (12, bytes([0x80, pitch, 0]))]
    return _write(folder / "many.mid", midi_bytes(480, 500_000, events))


def midi_long(folder: Path) -> Path:
    """Two notes an hour apart at a normal division: audio of an hour (over the synthesis limit)."""
    return _write(folder / "long.mid", midi_bytes(480, 500_000, [
        (0, b"\x90\x3c\x40"), (480, b"\x80\x3c\x40"), (480 * 2 * 3600, b"\x90\x3e\x40"), (480, b"\x80\x3e\x40")]))


def midi_truncated(folder: Path) -> Path:
    data = midi_bytes(480, 500_000, [(0, b"\x90\x3c\x40"), (480, b"\x80\x3c\x40")])
    return _write(folder / "cut.mid", data[:-6])


def midi_junk(folder: Path) -> Path:
    return _write(folder / "junk.mid", b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\xff\xff\xff\xff\x00\x90")


def midi_small(folder: Path) -> Path:
    """A valid two-note MIDI file (one second)."""
    return _write(folder / "small.mid", midi_bytes(480, 500_000, [
        (0, b"\x90\x3c\x40"), (480, b"\x80\x3c\x40"), (0, b"\x90\x40\x40"), (480, b"\x80\x40\x40")]))


# audio -----------------------------------------------------------------------------------------------------
def _wav(rate: int, samples: np.ndarray) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, 8_000, subtype="PCM_16", format="WAV")
    data = bytearray(buf.getvalue())
    data[24:28] = struct.pack("<I", rate)
    data[28:32] = struct.pack("<I", rate * 2)
    return bytes(data)


def _noise(seconds: float, rate: int = 8_000) -> np.ndarray:
    return (np.random.default_rng(0).standard_normal(int(seconds * rate)) * 0.1).astype(np.float32)


def wav_1hz(folder: Path) -> Path:
    """A WAV declaring 1 Hz: resampling it to the codec's rate would allocate tens of GB."""
    return _write(folder / "onehz.wav", _wav(1, _noise(2.0)))


def wav_truncated(folder: Path) -> Path:
    data = _wav(8_000, _noise(2.0))
    return _write(folder / "cut.wav", data[: len(data) // 2])


def flac_truncated(folder: Path) -> Path:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, _noise(3.0), 8_000, format="FLAC")
    data = buf.getvalue()
    return _write(folder / "cut.flac", data[: len(data) // 2])


def mp3_truncated(folder: Path) -> Path:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, _noise(3.0), 8_000, format="MP3")
    data = buf.getvalue()
    return _write(folder / "cut.mp3", data[: len(data) // 2])


def wav_long(folder: Path) -> Path:
    """A header declaring five hours of 8 kHz audio over a file that holds it (sparse: no disk used)."""
    path = folder / "long.wav"
    frames = 5 * 3600 * 8_000
    header = bytearray(_wav(8_000, _noise(0.01))[:44])
    header[40:44] = struct.pack("<I", frames * 2)
    header[4:8] = struct.pack("<I", 36 + frames * 2)
    with path.open("wb") as f:
        f.write(header)
        f.truncate(44 + frames * 2)
    return path


def wav_junk(folder: Path) -> Path:
    return _write(folder / "junk.wav", b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\xff")


# scores ----------------------------------------------------------------------------------------------------
def musicxml(measures: int, tempo: float, notes_per_measure: int = 1) -> str:
    """A one-part piano score of whole notes (or ``notes_per_measure`` equal notes) at ``tempo`` bpm."""
    kinds = {1: ("whole", 4), 2: ("half", 2), 4: ("quarter", 1)}
    kind, duration = kinds[notes_per_measure]
    body = []
    for m in range(1, measures + 1):
        head = ('<attributes><divisions>1</divisions><key><fifths>0</fifths></key><time><beats>4</beats>'
                '<beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>'
                f'<sound tempo="{tempo:g}"/>') if m == 1 else ""
        notes = "".join(f'<note><pitch><step>{"CDEFGAB"[(m + i) % 7]}</step><octave>4</octave></pitch>'
                        f'<duration>{duration}</duration><type>{kind}</type></note>' for i in range(notes_per_measure))
        body.append(f'<measure number="{m}">{head}{notes}</measure>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="4.0"><part-list><score-part id="P1">'
            '<part-name>Piano</part-name></score-part></part-list><part id="P1">' + "".join(body) + "</part>"
            "</score-partwise>\n")


def score_small(folder: Path, name: str = "small.musicxml") -> Path:
    """A valid two-measure score (4 s at 120 bpm): quick to engrave and to synthesize."""
    return _write(folder / name, musicxml(2, 120, 4).encode())


def score_slow(folder: Path) -> Path:
    """50 measures at 4 bpm: 50 minutes of audio from a 5 KB file (FluidSynth wrote a 1 GB temporary WAV)."""
    return _write(folder / "slow.musicxml", musicxml(50, 4).encode())


def score_truncated(folder: Path) -> Path:
    data = EXAMPLE.read_bytes()
    return _write(folder / "cut.musicxml", data[: len(data) // 2])


def score_xxe(folder: Path) -> Path:
    text = musicxml(1, 120).replace('<score-partwise', '<!DOCTYPE score-partwise [<!ENTITY x SYSTEM '
                                    '"file:///etc/passwd">]>\n<score-partwise', 1)
    return _write(folder / "xxe.musicxml", text.replace("<part-name>Piano", "<part-name>&x;Piano").encode())


def score_laughs(folder: Path) -> Path:
    ents = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    text = musicxml(1, 120).replace('<score-partwise', f'<!DOCTYPE score-partwise [{ents}]>\n<score-partwise', 1)
    return _write(folder / "laughs.musicxml", text.replace("<part-name>Piano", "<part-name>&a9;Piano").encode())


def mxl_inflating(folder: Path, unpacked: int = 40 * 1024 * 1024, forged: bool = True) -> Path:
    """A .mxl whose MusicXML inflates to ``unpacked`` bytes (over the 32 MiB limit) from ~40 KB; ``forged``
    also writes a small uncompressed size into the headers, which a reader must not trust."""
    path = folder / ("forged.mxl" if forged else "big.mxl")
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b" " * (1 << 20)
    deflated = b"".join(comp.compress(block) for _ in range(unpacked >> 20)) + comp.flush()
    crc = 0
    for _ in range(unpacked >> 20):
        crc = zlib.crc32(block, crc)
    declared = 1000 if forged else unpacked
    name = b"score.xml"
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(deflated), declared, len(name), 0)
    central = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(deflated), declared,
                          len(name), 0, 0, 0, 0, 0, 0)
    body = local + name + deflated
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 1, 1, len(central) + len(name), len(body), 0)
    return _write(path, body + central + name + end)


def mxl_traversal(folder: Path) -> Path:
    path = folder / "traversal.mxl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="../../etc/passwd"/>'
                                             "</rootfiles></container>")
        z.writestr("../../evil.xml", musicxml(1, 120))
    return path


def kern_truncated(folder: Path) -> Path:
    """A kern file cut at a line boundary: every line is well formed, the spines are never terminated."""
    lines = ["**kern\t**kern", "*clefF4\t*clefG2", "*M4/4\t*M4/4", "=1\t=1"]
    lines += ["4C\t4c", "4D\t4d", "4E\t4e", "4F\t4f"] * 4
    return _write(folder / "cut.krn", ("\n".join(lines) + "\n").encode())


def abc_long(folder: Path) -> Path:
    """5 KB of ABC (music21's ABC reader is quadratic in the bars: 8 KB took 74 s)."""
    body = "|\n".join("|".join(["CDEF GABc"] * 4) for _ in range(125))
    return _write(folder / "long.abc", f"X:1\nT:t\nM:4/4\nL:1/8\nK:C\n{body}|\n".encode())


# pages -----------------------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(folder: Path) -> Path:
    """A PNG header declaring 100,000 x 100,000 pixels over a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _png_chunk(b"IEND", b""))
    return _write(folder / "bomb.png", data)


def tiff_frames(folder: Path, sizes: list[tuple[int, int]], name: str = "frames.tiff") -> Path:
    """A multi-frame 8-bit gray TIFF whose frames declare ``sizes``; the pixel data is shared and short (the
    frames are never meant to be decoded: their sizes alone must be refused)."""
    pixels = bytes(range(256)) * 4
    ifds, offset = [], 8 + len(pixels)
    entries_per_ifd = 8
    ifd_len = 2 + entries_per_ifd * 12 + 4
    for i, (w, h) in enumerate(sizes):
        next_ifd = offset + ifd_len if i + 1 < len(sizes) else 0
        tags = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8), (278, 4, h),
                (279, 4, w * h)]
        ifd = struct.pack("<H", len(tags))
        for tag, typ, value in tags:
            ifd += struct.pack("<HHI", tag, typ, 1) + (struct.pack("<HH", value, 0) if typ == 3
                                                       else struct.pack("<I", value))
        ifds.append(ifd + struct.pack("<I", next_ifd))
        offset += ifd_len
    return _write(folder / name, b"II*\x00" + struct.pack("<I", 8 + len(pixels)) + pixels + b"".join(ifds))


def tiff_big_second_frame(folder: Path) -> Path:
    """The first frame is 32 x 32, the second 12,000 x 12,000 (144 Mpx)."""
    return tiff_frames(folder, [(32, 32), (12_000, 12_000)], "second.tiff")


def pdf_pages(folder: Path, pages: int, size_pt: float = 600.0, name: str = "pages.pdf") -> Path:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(size_pt, size_pt)
    path = folder / name
    pdf.save(str(path))
    pdf.close()
    return path


def pdf_junk(folder: Path) -> Path:
    return _write(folder / "junk.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%EOF\n")


def tiff_junk(folder: Path) -> Path:
    return _write(folder / "junk.tiff", b"II*\x00\xff\xff\xff\x7f" + b"\x00" * 32)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# the runner ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CliAnswer:
    rc: int
    stdout: str
    stderr: str
    maxrss_mb: float  # the child's peak RSS, including what it shares with the driver
    base_rss_mb: float  # the driver's RSS when it forked
    timed_out: bool


_DRIVER = r'''
import json, os, resource, signal, sys, traceback
os.environ["OMP_NUM_THREADS"] = "1"
import scorebridge.cli, scorebridge.convert, scorebridge.translate  # the heavy imports, once
import music21, verovio, soundfile, pretty_midi, mido, PIL.Image, pypdfium2  # noqa
def vm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
for line in sys.stdin:
    req = json.loads(line)
    out, err = req["stdout"], req["stderr"]
    base = rss_mb()
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(req["cwd"])
            os.environ["TMPDIR"] = req["tmpdir"]
            import tempfile; tempfile.tempdir = None
            os.umask(req["umask"])
            limit = vm_bytes() + req["mem_mb"] * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            fo, fe = os.open(out, os.O_WRONLY | os.O_CREAT, 0o600), os.open(err, os.O_WRONLY | os.O_CREAT, 0o600)
            os.dup2(fo, 1); os.dup2(fe, 2)
            sys.stdout = os.fdopen(1, "w", buffering=1); sys.stderr = os.fdopen(2, "w", buffering=1)
            signal.alarm(int(req["timeout"]))
            try:
                rc = scorebridge.cli.main(req["argv"])
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(rc)
        except BaseException:
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(99)
    _, status, usage = os.wait4(pid, 0)
    timed_out = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM
    rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    print(json.dumps({"rc": rc, "maxrss_mb": usage.ru_maxrss / 1024, "base_rss_mb": base,
                      "timed_out": timed_out}), flush=True)
'''


class CliRunner:
    """One driver process; ``run`` answers one CLI command in a fork of it."""

    def __init__(self) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}
        self.proc = subprocess.Popen([sys.executable, "-c", _DRIVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)

    def run(self, argv: list[str], cwd: Path, tmpdir: Path, *, timeout: int = 60, mem_mb: int = 1536,
            umask: int = 0o022) -> CliAnswer:
        out, err = tmpdir.parent / f"{tmpdir.name}.stdout", tmpdir.parent / f"{tmpdir.name}.stderr"
        for f in (out, err):
            f.unlink(missing_ok=True)
        request = {"argv": argv, "cwd": str(cwd), "tmpdir": str(tmpdir), "timeout": timeout, "mem_mb": mem_mb,
                   "umask": umask, "stdout": str(out), "stderr": str(err)}
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the CLI driver process died")
        reply = json.loads(line)
        text = [f.read_text(errors="replace") if f.exists() else "" for f in (out, err)]
        for f in (out, err):
            f.unlink(missing_ok=True)
        return CliAnswer(reply["rc"], text[0], text[1], reply["maxrss_mb"], reply["base_rss_mb"], reply["timed_out"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
