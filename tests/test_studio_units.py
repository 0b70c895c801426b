"""Studio pieces without a server: content sniffing, display names, measure times from alignment, CLI flags."""

from __future__ import annotations

import argparse

import pytest

from scorebridge.studio.cli import _is_loopback, add_serve_command
from scorebridge.studio.jobs import QueueLimits
from scorebridge.studio.uploads import display_name, sniff
from scorebridge.studio.work import measure_times_from_alignment, roll_json


@pytest.mark.parametrize(("head", "suffix"), [
    (b"\x89PNG\r\n\x1a\n....", ".png"), (b"\xff\xd8\xff\xe0", ".jpg"), (b"II*\x00", ".tiff"), (b"%PDF-1.7", ".pdf"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", ".wav"), (b"fLaC", ".flac"), (b"OggS", ".ogg"), (b"ID3\x04", ".mp3"),
    (b"\xff\xfb\x90", ".mp3"), (b"MThd\x00\x00\x00\x06", ".mid"), (b"PK\x03\x04", ".mxl"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE x>\n<score-partwise version="4.0">', ".musicxml"),
    ("\ufeff<score-timewise>".encode(), ".musicxml"), (b"<mei xmlns='x'>", ".mei"), (b"**kern\n4c\n*-", ".krn"),
    (b"X:1\nT:tune\nK:C\nCDEF|", ".abc"), (b"measure key:fifths:0 C4", ".lmx"),
    (b"<html><body>", None), (b"hello world", None), (b"\x00\x01\x02", None), (b"RIFF\x00\x00\x00\x00AVI ", None),
])
def test_sniff_tells_types_by_content(head, suffix):
    assert sniff(head) == suffix


def test_display_names_never_carry_paths():
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\scores\\my <b>score.musicxml") == "my _b_score.musicxml"
    assert display_name("") == display_name(None) == display_name("..") == "upload"
    assert len(display_name("x" * 500)) == 80


def test_measure_times_share_each_system_span():
    alignment = {"sample_rate": 1000, "systems": [
        {"system": 0, "measures": [0, 2], "start_sample": 0, "end_sample": 1000},
        {"system": 1, "measures": [2, 3], "start_sample": 1000, "end_sample": 1600}]}
    assert measure_times_from_alignment(3, alignment) == [(0, 500), (500, 1000), (1000, 1600)]
    assert measure_times_from_alignment(4, alignment) is None  # a measure left without time
    alignment["systems"][1]["measures"] = None
    assert measure_times_from_alignment(3, alignment) is None


def test_roll_json_keeps_notes_and_duration():
    from scorebridge.midi import Note

    roll = roll_json([Note(0, 500, 60, 80), Note(400, 400, 64)])
    assert roll == {"notes": [[0, 500, 60, 80], [400, 401, 64, 100]], "truncated": False, "duration_ms": 500}


def test_serve_flags_and_loopback():
    parser = argparse.ArgumentParser()
    add_serve_command(parser.add_subparsers(dest="command"), lambda p: p.add_argument("-q", action="store_true"))
    args = parser.parse_args(["serve"])
    assert (args.host, args.port, args.weights, args.max_queued) == ("127.0.0.1", 8000, None, 8)
    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("example.org")
    with pytest.raises(ValueError):
        QueueLimits(max_queued=0)
