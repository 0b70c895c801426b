"""Studio pieces without a server: content sniffing, display names, measure times from alignment, CLI flags,
Host and origin checks, and messages scrubbed of server paths."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from scorebridge.cli.serve import _is_loopback, register
from scorebridge.studio.guard import allowed_names, host_problem, origin_problem, split_host
from scorebridge.studio.jobs import QueueLimits
from scorebridge.studio.uploads import display_name, first_element, sniff
from scorebridge.studio.work import measure_times_from_alignment, roll_json
from scorebridge.studio.workers import scrub


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


COMMENT = "<!-- " + "x" * 5000 + " -->"


@pytest.mark.parametrize(("text", "suffix"), [
    (f'<?xml version="1.0"?>\n{COMMENT}\n<score-partwise version="4.0">', ".musicxml"),
    (f'\ufeff<?xml version="1.0"?>{COMMENT}<!DOCTYPE score-partwise PUBLIC "-//x//DTD y//EN" "http://x/y.dtd">'
     "\n<score-timewise>", ".musicxml"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "<score-partwise>">]><html>', None),
    ("<!-- <score-partwise> in a comment only --><opus>", None),
    (f"{COMMENT}<mei:mei xmlns:mei='http://www.music-encoding.org/ns/mei'>", ".mei"),
    ("<?xml version='1.0'?><!-- never closed", None),
])
def test_sniff_reads_past_xml_prologs(text, suffix):
    assert sniff(text.encode()) == suffix
    assert sniff(text.encode("utf-16")) == suffix  # with its BOM


def test_first_element_of_xml():
    assert first_element('<?xml version="1.0"?>\n<!-- a > b -->\n<a:score-partwise x="1">') == "score-partwise"
    assert first_element("text") is None


@pytest.mark.parametrize(("value", "parsed"), [
    ("127.0.0.1:8000", ("127.0.0.1", 8000)), ("LocalHost", ("localhost", None)), ("[::1]:80", ("::1", 80)),
    ("[0:0:0:0:0:0:0:1]:8000", ("::1", 8000)), ("localhost.:8000", ("localhost", 8000)),
    ("::1", None), ("a@b", None), ("host:99999", None), ("host:x", None), ("", None), ("a/b", None),
])
def test_split_host(value, parsed):
    assert split_host(value) == parsed


def test_host_allow_list():
    names = allowed_names()
    assert host_problem("127.0.0.1:8000", names, "http", 8000) is None
    assert host_problem("[::1]:8000", names, "http", 8000) is None
    assert "rebind.example" in host_problem("rebind.example:8000", names, "http", 8000)
    assert host_problem("localhost:8001", names, "http", 8000) is not None  # another port
    assert host_problem("localhost", names, "http", 80) is None  # the scheme's default port
    assert host_problem(None, names, "http", 8000) is not None
    assert host_problem("studio.lan:8000", allowed_names(["studio.lan"]), "http", 8000) is None


@pytest.mark.parametrize(("headers", "refused"), [
    ({}, False), ({"origin": "http://127.0.0.1:8000"}, False), ({"referer": "http://127.0.0.1:8000/x?y"}, False),
    ({"origin": "http://127.0.0.1:8000", "sec-fetch-site": "same-origin"}, False),
    ({"origin": "http://localhost:8000"}, True), ({"origin": "https://127.0.0.1:8000"}, True),
    ({"origin": "null"}, True), ({"referer": "http://evil.example/"}, True), ({"sec-fetch-site": "same-site"}, True),
    ({"origin": "http://127.0.0.1:8000@evil.example"}, True),
])
def test_same_origin_check(headers, refused):
    assert (origin_problem(headers, "http", "127.0.0.1:8000") is not None) is refused


def test_scrub_removes_server_paths():
    folder = Path("/tmp/scorebridge-studio-abc/0123")
    text = f"cannot read {folder}/input.mid: see /usr/lib/python3/x.py line 3, C:\\Users\\me\\a.wav; 4/4 at 1/8"
    clean = scrub(text, folder)
    assert clean == "cannot read input.mid: see x.py line 3, a.wav; 4/4 at 1/8"
    assert scrub("two\nlines") == "two lines"


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
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve"])
    assert (args.host, args.port, args.weights, args.max_queued) == ("127.0.0.1", 8000, None, 8)
    assert (args.job_seconds, args.job_memory_mb, args.allow_host) == (600.0, 768, [])
    args = parser.parse_args(["serve", "--allow-host", "a.lan", "--allow-host", "b.lan", "--job-seconds", "5"])
    assert args.allow_host == ["a.lan", "b.lan"] and args.job_seconds == 5
    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("example.org")
    with pytest.raises(ValueError):
        QueueLimits(max_queued=0)
    with pytest.raises(ValueError):
        QueueLimits(job_seconds=0)
    with pytest.raises(ValueError):
        QueueLimits(job_memory_mb=1)


class _Result:
    engine = "model"
    problems = ("system 0: the music stopped early",)


class _Noted(_Result):
    notes = ["the built-in model cannot read scores reliably yet: check the result against the page"]


@pytest.mark.parametrize("result", [_Result, _Noted])
def test_results_notes_become_warnings_once_and_problems_name_the_target(monkeypatch, tmp_path, result):
    from scorebridge.modality import Modality
    from scorebridge.studio import work

    def fake(request, model=None, *, options=None, progress=True):
        request.output.write_bytes(b"made")
        progress(1, 1)
        return result()

    monkeypatch.setattr(work, "translate_file", fake)
    spec = work.JobSpec(tmp_path / "input.png", Modality.IMAGE, (Modality.MIDI, Modality.AUDIO), "page.png")
    job = work.run_job(spec, tmp_path / "out")
    assert job.warnings == tuple(getattr(result, "notes", ()))  # two targets, one note each: shown once
    assert {"MIDI: system 0: the music stopped early", "audio: system 0: the music stopped early"} <= set(job.problems)
    assert job.audio == "score.wav" and job.input_audio is None


def test_targets_per_source_and_refusals_in_words():
    from scorebridge.errors import ScorebridgeError
    from scorebridge.modality import Modality
    from scorebridge.studio.work import JobSpec, check_spec, default_targets, targets_for

    for source in Modality:
        assert set(default_targets(source)) <= set(targets_for(source)) and source not in default_targets(source)
    assert Modality.MIDI not in targets_for(Modality.MIDI)
    with pytest.raises(ScorebridgeError, match="already a MIDI file: choose what to make of it"):
        check_spec(JobSpec(Path("input.mid"), Modality.MIDI, (Modality.MIDI,), "song.mid"), True)
    with pytest.raises(ScorebridgeError, match="making MIDI from a page needs a trained model"):
        check_spec(JobSpec(Path("input.png"), Modality.IMAGE, (Modality.MIDI,), "page.png"), False)
    check_spec(JobSpec(Path("input.krn"), Modality.NOTATION, (Modality.NOTATION,), "tune.krn"), False)  # MusicXML
