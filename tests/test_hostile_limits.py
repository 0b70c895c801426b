"""The measuring functions of scorebridge.limits on their own: right measures of valid input, refusals of bad."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from scorebridge.errors import InputError
from scorebridge.limits import (
    LIMITS,
    Limits,
    check_audio_file,
    check_quantize,
    check_render_length,
    measure_midi_bytes,
)
from scorebridge.pages.load import check_page_file
from scorebridge.scorefile import parse_score_xml

sys.path.insert(0, str(Path(__file__).parent))
import _hostile as H  # noqa: E402


def test_midi_is_measured_at_its_own_tempi() -> None:
    data = H.midi_bytes(480, 500_000, [(0, b"\x90\x3c\x40"), (480, b"\x80\x3c\x40"), (0, b"\xff\x51\x03\x0f\x42\x40"),
                                       (0, b"\x90\x3e\x40"), (480, b"\x80\x3e\x40")])
    measure = measure_midi_bytes(data)
    assert measure.notes == 2 and measure.ticks == 960 and measure.division == 480
    assert measure.seconds == pytest.approx(0.5 + 1.0)


def test_midi_bounds_and_their_errors(tmp_path: Path) -> None:
    endless = H.midi_endless(tmp_path).read_bytes()
    with pytest.raises(InputError, match=r"length of 1.67772e\+08 s is over the limit of 14,400 s"):
        measure_midi_bytes(endless)
    small = Limits(max_midi_seconds=0.5)
    with pytest.raises(InputError, match="length of 1 s is over the limit of 0.5 s"):
        measure_midi_bytes(H.midi_small(tmp_path).read_bytes(), "small.mid", small)
    measure = measure_midi_bytes(H.midi_many_notes(tmp_path).read_bytes())
    with pytest.raises(InputError, match="2,500 notes is over the limit of 2,000 notes"):
        check_quantize(measure, "many.mid")
    check_render_length(measure, "many.mid")  # 150 s of audio is fine
    with pytest.raises(InputError, match="SMPTE"):
        measure_midi_bytes(H.midi_bytes(0xE728, 500_000, [(0, b"\x90\x3c\x40")]))


@pytest.mark.parametrize("fmt,suffix", [("WAV", ".wav"), ("FLAC", ".flac"), ("OGG", ".ogg"), ("MP3", ".mp3")])
def test_valid_recordings_pass_and_cut_ones_do_not(tmp_path: Path, fmt: str, suffix: str) -> None:
    import soundfile as sf

    audio = (np.random.default_rng(0).standard_normal(3 * 22_050) * 0.1).astype(np.float32)
    path = tmp_path / f"ok{suffix}"
    sf.write(str(path), audio, 22_050, format=fmt)
    measure = check_audio_file(path)
    assert measure.sample_rate == 22_050 and abs(measure.seconds - 3.0) < 0.1
    if fmt == "OGG":
        return  # an OGG stream declares no length: a cut one is just a shorter recording
    data = path.read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        check_audio_file(tmp_path / f"cut{suffix}")
    with pytest.raises(InputError, match="over the limit of 1 s"):
        check_audio_file(path, max_seconds=1.0)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_notes"):
        Limits(max_notes=0)
    with pytest.raises(ValueError, match="max_music21_bytes"):
        Limits(max_music21_bytes=((".abc", 0),))
    assert LIMITS.music21_bytes(".ABC") == 4 * 1024 and LIMITS.music21_bytes(".musicxml") is None


def test_score_xml_is_strict_and_entity_free(tmp_path: Path) -> None:
    root = parse_score_xml(H.EXAMPLE, H.EXAMPLE.read_bytes())  # a DOCTYPE without entities is fine
    assert root.tag == "score-partwise"
    with pytest.raises(InputError, match="declares entities"):
        parse_score_xml(Path("x.musicxml"), H.score_laughs(tmp_path).read_bytes())
    with pytest.raises(InputError, match="not valid XML"):
        parse_score_xml(Path("cut.musicxml"), H.score_truncated(tmp_path).read_bytes())
    with pytest.raises(InputError, match="3 notes is over the limit of 2 notes"):
        parse_score_xml(Path("s.musicxml"), H.musicxml(3, 120).encode(), Limits(max_score_notes=2))


def test_every_frame_of_a_page_file_is_checked(tmp_path: Path) -> None:
    assert check_page_file(H.tiff_frames(tmp_path, [(32, 32), (40, 30), (20, 20)])) == 3
    with pytest.raises(InputError, match="page 2 of 12000x12000"):
        check_page_file(H.tiff_big_second_frame(tmp_path))
    assert check_page_file(H.pdf_pages(tmp_path, 3)) == 3
