"""Every CLI command against hostile input: a one-line error and exit 2 within a time and memory bound, the
input untouched, nothing written and no temporary file left. And outputs that never destroy.

Bounds: each command runs in a fork of one driver process (tests/_hostile.py) under ``alarm(60)`` and an
address-space cap of 1.5 GB above the driver's (512 MB for the inflating archive); a command that runs out
of either fails the test (timed out, or a MemoryError reported as an internal error).
"""

from __future__ import annotations

import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

import _hostile as H

TIMEOUT_S = 60
MEM_MB = 1536


@pytest.fixture(scope="module")
def runner():
    r = H.CliRunner()
    yield r
    r.close()


@pytest.fixture()
def case(tmp_path: Path) -> tuple[Path, Path]:
    """(working folder, TMPDIR) of one command."""
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    return work, tmp


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*")) if not p.name.endswith(".wav") or p.stat().st_size < 1 << 20}


def _leftovers(tmp: Path) -> list[str]:
    """What a command left in its TMPDIR (torch's compile cache folder, made on import, is not ours)."""
    return [p.name for p in tmp.iterdir() if not p.name.startswith("torchinductor_")]


def _refused(answer: H.CliAnswer, pattern: str) -> None:
    assert not answer.timed_out, f"ran past {TIMEOUT_S} s"
    assert answer.rc == 2, f"rc {answer.rc}: {answer.stderr[-2000:]}"
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scorebridge: error: "), answer.stderr[-2000:]
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in answer.stderr


def _bigger(folder: Path) -> Path:
    return H.mxl_inflating(folder, unpacked=400 * 1024 * 1024, forged=True)


# (id, generator, argv after the input is named {in}, expected message, memory cap in MB)
HOSTILE: list[tuple[str, Callable[[Path], Path], list[str], str, int]] = [
    ("midi-endless->notation", H.midi_endless, ["translate", "{in}", "-o", "out.musicxml"], r"over the limit", MEM_MB),
    ("midi-endless->audio", H.midi_endless, ["render", "{in}", "--to", "audio", "-o", "out.wav"], r"over the limit",
     MEM_MB),
    ("midi-endless->model", H.midi_endless, ["translate", "{in}", "-o", "out.wav"], r"over the limit", MEM_MB),
    ("midi-tempo0", H.midi_tempo0, ["translate", "{in}", "-o", "out.musicxml"], r"bad MIDI tempo: 0", MEM_MB),
    ("midi-tempo0->audio", H.midi_tempo0, ["render", "{in}", "--to", "audio", "-o", "out.wav"], r"bad MIDI tempo",
     MEM_MB),
    ("midi-division0", H.midi_division0, ["render", "{in}", "--to", "audio", "-o", "out.wav"], r"division of 0",
     MEM_MB),
    ("midi-division0->notation", H.midi_division0, ["translate", "{in}", "-o", "out.musicxml"], r"division of 0",
     MEM_MB),
    ("midi-many-notes->notation", H.midi_many_notes, ["translate", "{in}", "-o", "out.musicxml"],
     r"2,500 notes is over the limit", MEM_MB),
    ("midi-many-notes->image", H.midi_many_notes, ["translate", "{in}", "-o", "out.png"], r"notes is over the limit",
     MEM_MB),
    ("midi-hour->audio", H.midi_long, ["render", "{in}", "--to", "audio", "-o", "out.wav"], r"of audio to render",
     MEM_MB),
    ("midi-truncated", H.midi_truncated, ["translate", "{in}", "-o", "out.musicxml"], r"corrupt or truncated", MEM_MB),
    ("midi-junk", H.midi_junk, ["render", "{in}", "--to", "audio", "-o", "out.wav"], r"corrupt or truncated", MEM_MB),
    ("wav-1hz->codec", H.wav_1hz, ["codec", "encode", "audio", "{in}", "--codec", "nosuch", "-o", "out.npz"],
     r"sample rate of 1 Hz", MEM_MB),
    ("wav-1hz->translate", H.wav_1hz, ["translate", "{in}", "-o", "out.mid"], r"sample rate of 1 Hz", MEM_MB),
    ("wav-truncated->translate", H.wav_truncated, ["translate", "{in}", "-o", "out.mid"], r"truncated WAV", MEM_MB),
    ("wav-truncated->codec", H.wav_truncated, ["codec", "encode", "audio", "{in}", "--codec", "nosuch", "-o",
                                               "out.npz"], r"truncated WAV", MEM_MB),
    ("flac-truncated->translate", H.flac_truncated, ["translate", "{in}", "-o", "out.mid"], r"truncated", MEM_MB),
    ("flac-truncated->codec", H.flac_truncated, ["codec", "encode", "audio", "{in}", "--codec", "nosuch", "-o",
                                                 "out.npz"], r"truncated", MEM_MB),
    ("mp3-truncated->translate", H.mp3_truncated, ["translate", "{in}", "-o", "out.mid"], r"truncated", MEM_MB),
    ("wav-5h->codec", H.wav_long, ["codec", "encode", "audio", "{in}", "--codec", "nosuch", "-o", "out.npz"],
     r"over the limit of 120 s", MEM_MB),
    ("wav-5h->translate", H.wav_long, ["translate", "{in}", "-o", "out.mid"], r"over the limit", MEM_MB),
    ("wav-junk", H.wav_junk, ["translate", "{in}", "-o", "out.mid"], r"not a readable audio file", MEM_MB),
    ("score-4bpm->audio", H.score_slow, ["render", "{in}", "--to", "audio", "-o", "out.wav"], r"of audio to render",
     MEM_MB),
    ("score-4bpm->translate", H.score_slow, ["translate", "{in}", "-o", "out.flac"], r"of audio to render", MEM_MB),
    ("score-truncated->translate", H.score_truncated, ["translate", "{in}", "-o", "out.mid"], r"not valid XML",
     MEM_MB),
    ("score-truncated->systems", H.score_truncated, ["render", "{in}", "--to", "systems", "-o", "out"],
     r"not valid XML", MEM_MB),
    ("score-truncated->lmx", H.score_truncated, ["lmx", "{in}"], r"not valid XML", MEM_MB),
    ("score-xxe->lmx", H.score_xxe, ["lmx", "{in}"], r"declares entities", MEM_MB),
    ("score-xxe->midi", H.score_xxe, ["render", "{in}", "--to", "midi", "-o", "out.mid"], r"declares entities",
     MEM_MB),
    ("score-laughs->pages", H.score_laughs, ["render", "{in}", "--to", "pages", "-o", "out"], r"declares entities",
     MEM_MB),
    ("mxl-40MB->lmx", lambda d: H.mxl_inflating(d, forged=False), ["lmx", "{in}"], r"more than the limit", 512),
    ("mxl-forged-400MB->midi", _bigger, ["render", "{in}", "--to", "midi", "-o", "out.mid"], r"corrupt \.mxl", 512),
    ("mxl-traversal", H.mxl_traversal, ["lmx", "{in}"], r"not in the archive", MEM_MB),
    ("kern-truncated->midi", H.kern_truncated, ["render", "{in}", "--to", "midi", "-o", "out.mid"],
     r"truncated Humdrum", MEM_MB),
    ("kern-truncated->lmx", H.kern_truncated, ["lmx", "{in}"], r"truncated Humdrum", MEM_MB),
    ("abc-5KB->lmx", H.abc_long, ["lmx", "{in}"], r"read through music21 .* over the limit", MEM_MB),
    ("png-bomb->translate", H.png_bomb, ["translate", "{in}", "-o", "out.musicxml"], r"not a readable image", MEM_MB),
    ("png-bomb->codec", H.png_bomb, ["codec", "encode", "image", "{in}", "--codec", "nosuch", "-o", "out.npz"],
     r"not a readable image", MEM_MB),
    ("tiff-144Mpx-frame2", H.tiff_big_second_frame, ["translate", "{in}", "-o", "out.musicxml"],
     r"page 2 of 12000x12000 = 144,000,000 pixels is over the limit", MEM_MB),
    ("tiff-junk", H.tiff_junk, ["translate", "{in}", "-o", "out.mid"], r"not a readable image", MEM_MB),
    ("pdf-150-pages", lambda d: H.pdf_pages(d, 150), ["translate", "{in}", "-o", "out.musicxml"],
     r"150 pages is over the limit of 100", MEM_MB),
    ("pdf-junk", H.pdf_junk, ["translate", "{in}", "-o", "out.musicxml"], r"not a readable PDF", MEM_MB),
]


@pytest.mark.parametrize("name,make,argv,pattern,mem", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_input_is_refused_in_bounds(runner, case, name, make, argv, pattern, mem) -> None:
    work, tmp = case
    source = make(work)
    before = _snapshot(work)
    answer = runner.run([a.replace("{in}", source.name) for a in argv], work, tmp, timeout=TIMEOUT_S, mem_mb=mem)
    _refused(answer, pattern)
    assert _snapshot(work) == before  # the input untouched, no output, no temporary file
    assert _leftovers(tmp) == []
    assert answer.maxrss_mb - answer.base_rss_mb < mem


# outputs that are inputs, contradict --to, or cannot be written ---------------------------------------------
MISUSE: list[tuple[str, list[str], str]] = [
    ("lmx onto its score", ["render", "small.musicxml", "--to", "lmx", "-o", "small.musicxml"], r"written as \.lmx"),
    ("audio onto its MIDI", ["render", "small.mid", "--to", "audio", "-o", "small.mid"], r"written as \.wav"),
    ("systems onto its score", ["render", "small.musicxml", "--to", "systems", "-o", "small.musicxml"],
     r"is a file; a folder output cannot replace it"),
    ("pages onto a file", ["render", "small.musicxml", "--to", "pages", "-o", "small.mid"], r"is a file"),
    ("lmx command onto its score", ["lmx", "small.musicxml", "-o", "small.musicxml"], r"written as \.lmx"),
    ("lmx back onto its LMX", ["lmx", "--to-musicxml", "small.lmx", "-o", "small.lmx"], r"written as \.musicxml"),
    ("translate onto its input", ["translate", "small.musicxml", "-o", "./small.musicxml"], r"is the input"),
    ("midi suffix for audio", ["render", "small.musicxml", "--to", "midi", "-o", "m.wav"], r"written as \.mid"),
    ("unknown audio suffix", ["render", "small.musicxml", "--to", "audio", "-o", "a.aiff"], r"written as \.wav"),
    ("parent is a file", ["render", "small.musicxml", "--to", "midi", "-o", "small.mid/x.mid"],
     r"is a file, not a folder"),
    ("under /proc", ["render", "small.musicxml", "--to", "midi", "-o", "/proc/self/x.mid"], r"system folder"),
    ("sample rate 0", ["render", "small.musicxml", "--to", "audio", "--sample-rate", "0", "-o", "a.wav"],
     r"--sample-rate must be in 8,000\.\.96,000 Hz"),
    ("soundfont nosuch", ["data", "build", "--source", "scores", "--out", "ds", "--soundfonts", "nosuch"],
     r"unknown soundfont"),
]


def _small_inputs(work: Path) -> None:
    H.score_small(work)
    H.midi_small(work)
    (work / "small.lmx").write_text("measure key:fifths:0 time beats:4 beat-type:4 clef:G2 quarter C4\n")
    (work / "scores").mkdir()
    H.score_small(work / "scores")


@pytest.mark.parametrize("name,argv,pattern", MISUSE, ids=[c[0] for c in MISUSE])
def test_misused_outputs_are_refused_and_nothing_changes(runner, case, name, argv, pattern) -> None:
    work, tmp = case
    _small_inputs(work)
    before = _snapshot(work)
    _refused(runner.run(argv, work, tmp, timeout=TIMEOUT_S), pattern)
    assert _snapshot(work) == before
    assert _leftovers(tmp) == []


@pytest.mark.parametrize("argv,pattern", [
    (["data", "build", "--source", "scores", "--out", "ds", "--limit", "-3"], r"--limit: must be at least 1"),
    (["codec", "bake", "--data", "d", "--codecs", "c", "--out", "o", "--limit", "0"], r"--limit: must be at least 1"),
    (["serve", "--port", "70000"], r"--port: must be in 1\.\.65535"),
])
def test_bad_numbers_are_usage_errors(runner, case, argv, pattern) -> None:
    work, tmp = case
    answer = runner.run(argv, work, tmp, timeout=TIMEOUT_S)
    assert answer.rc == 2 and re.search(pattern, answer.stderr) and "Traceback" not in answer.stderr
    assert list(work.iterdir()) == [] and _leftovers(tmp) == []


# outputs that never destroy ---------------------------------------------------------------------------------
def test_pages_into_an_existing_folder_keep_its_files(runner, case) -> None:
    work, tmp = case
    H.score_small(work)
    (work / "out").mkdir()
    (work / "out" / "mine.txt").write_text("keep me")
    answer = runner.run(["render", "small.musicxml", "--to", "pages", "-o", "out"], work, tmp)
    assert answer.rc == 0, answer.stderr
    assert (work / "out" / "mine.txt").read_text() == "keep me"
    assert (work / "out" / "page-001.png").is_file()
    first = (work / "out" / "page-001.png").read_bytes()
    _refused(runner.run(["render", "small.musicxml", "--to", "pages", "-o", "out"], work, tmp), r"--force")
    assert (work / "out" / "page-001.png").read_bytes() == first
    assert runner.run(["render", "small.musicxml", "--to", "pages", "-o", "out", "--force"], work, tmp).rc == 0
    assert sorted(p.name for p in (work / "out").iterdir()) == ["mine.txt", "page-001.png", "page-001.svg"]
    assert _leftovers(tmp) == []


def test_pages_into_the_current_folder(runner, case) -> None:
    work, tmp = case
    H.score_small(work)
    (work / "notes.txt").write_text("mine")
    answer = runner.run(["render", "small.musicxml", "--to", "pages", "-o", "."], work, tmp)
    assert answer.rc == 0, answer.stderr
    assert sorted(p.name for p in work.iterdir()) == ["notes.txt", "page-001.png", "page-001.svg", "small.musicxml"]
    assert (work / "small.musicxml").read_bytes() == H.musicxml(2, 120, 4).encode()


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_outputs_follow_the_umask(runner, case, mask) -> None:
    work, tmp = case
    H.score_small(work)
    assert runner.run(["render", "small.musicxml", "--to", "systems", "-o", "sys"], work, tmp, umask=mask).rc == 0
    assert runner.run(["render", "small.musicxml", "--to", "midi", "-o", "a/b.mid"], work, tmp, umask=mask).rc == 0
    assert stat.S_IMODE((work / "sys").stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((work / "sys" / "system-001.png").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((work / "a").stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((work / "a" / "b.mid").stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("suffix,fmt", [(".flac", "FLAC"), (".ogg", "OGG"), (".mp3", "MP3"), (".wav", "WAV")])
def test_the_suffix_decides_the_audio_format(runner, case, suffix, fmt) -> None:
    import soundfile as sf

    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed")
    work, tmp = case
    H.midi_small(work)
    answer = runner.run(["render", "small.mid", "--to", "audio", "--soundfont", "timgm6mb", "-o", f"a{suffix}"],
                        work, tmp)
    assert answer.rc == 0, answer.stderr
    info = sf.info(str(work / f"a{suffix}"))
    assert info.format == fmt and info.duration > 0.9
    assert _leftovers(tmp) == []
