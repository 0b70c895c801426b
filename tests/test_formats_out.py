"""Output formats read back by other tools: PDF of the engraved pages, compressed .mxl, FLAC/OGG/MP3 audio."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import soundfile as sf
from music21 import converter

import _hostile as H
from scorebridge.cli import main
from scorebridge.scorefile import MXL_MIMETYPE, read_mxl_rootfile
from scorebridge.translate import TranslateRequest, translate_file

needs_rsvg = pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert not installed")
needs_fluidsynth = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def pdf_pages(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


# PDF ----------------------------------------------------------------------------------------------------
@needs_rsvg
def test_render_to_pdf_by_suffix_writes_every_page(tmp_path: Path, capsys) -> None:
    score = tmp_path / "long.musicxml"
    score.write_text(H.musicxml(120, 120, 4))  # 120 measures of quarters: several pages
    pages = tmp_path / "pages"
    assert run_cli(capsys, "render", str(score), "--to", "pages", "-o", str(pages))[0] == 0
    n_pages = len(list(pages.glob("page-*.svg")))
    assert n_pages >= 2
    out = tmp_path / "score.pdf"
    code, stdout, _ = run_cli(capsys, "render", str(score), "-o", str(out))
    assert code == 0 and "pdf" in stdout
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_pages(out)
    assert len(text) == n_pages
    assert "Piano" in text[0]  # vector text, not a raster
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


@needs_rsvg
def test_pages_target_with_a_pdf_name_is_the_pdf(tmp_path: Path, capsys, example_score: Path) -> None:
    out = tmp_path / "x.pdf"
    assert run_cli(capsys, "render", str(example_score), "--to", "pages", "-o", str(out))[0] == 0
    assert out.is_file() and len(pdf_pages(out)) >= 1


def test_render_without_to_and_an_unknown_suffix_is_one_line(tmp_path: Path, capsys, example_score: Path) -> None:
    code, _, err = run_cli(capsys, "render", str(example_score), "-o", str(tmp_path / "x.docx"))
    assert code != 0 and "--to" in err and "Traceback" not in err
    assert not (tmp_path / "x.docx").exists()


@needs_rsvg
def test_translate_notation_and_midi_to_pdf(tmp_path: Path, example_score: Path) -> None:
    out = tmp_path / "minuet.pdf"
    result = translate_file(TranslateRequest(example_score, out), progress=False)
    assert result.output == out and len(pdf_pages(out)) >= 1
    mid = tmp_path / "m.mid"
    translate_file(TranslateRequest(example_score, mid), progress=False)
    translate_file(TranslateRequest(mid, tmp_path / "from-midi.pdf"), progress=False)
    assert len(pdf_pages(tmp_path / "from-midi.pdf")) >= 1


# .mxl ---------------------------------------------------------------------------------------------------
def _pitches(score) -> list[int]:
    return [p.midi for n in score.parts[0].flatten().notes for p in n.pitches]


def _check_mxl(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[0] == "mimetype"
        assert archive.read("mimetype").decode() == MXL_MIMETYPE
        assert archive.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        assert "META-INF/container.xml" in archive.namelist()
    assert b"<score-partwise" in read_mxl_rootfile(path)


def test_lmx_to_mxl_reads_back_in_music21(tmp_path: Path, capsys, example_score: Path) -> None:
    lmx = tmp_path / "minuet.lmx"
    assert run_cli(capsys, "lmx", str(example_score), "-o", str(lmx))[0] == 0
    mxl = tmp_path / "minuet.mxl"
    assert run_cli(capsys, "lmx", "--to-musicxml", str(lmx), "-o", str(mxl))[0] == 0
    _check_mxl(mxl)
    back = converter.parse(str(mxl))
    original = converter.parse(str(example_score))
    assert _pitches(back) == _pitches(original)


def test_translate_writes_mxl_from_midi_and_from_notation(tmp_path: Path, example_score: Path) -> None:
    copy = tmp_path / "copy.mxl"
    translate_file(TranslateRequest(example_score, copy), progress=False)
    _check_mxl(copy)
    assert _pitches(converter.parse(str(copy))) == _pitches(converter.parse(str(example_score)))
    mid = tmp_path / "m.mid"
    translate_file(TranslateRequest(example_score, mid), progress=False)
    from_midi = tmp_path / "from-midi.mxl"
    translate_file(TranslateRequest(mid, from_midi), progress=False)
    _check_mxl(from_midi)
    assert len(converter.parse(str(from_midi)).flatten().notes) > 20


def test_mxl_round_trips_through_our_own_reader(tmp_path: Path, capsys, example_score: Path) -> None:
    mxl = tmp_path / "a.mxl"
    translate_file(TranslateRequest(example_score, mxl), progress=False)
    code, stdout, _ = run_cli(capsys, "lmx", str(mxl))
    assert code == 0
    assert stdout == run_cli(capsys, "lmx", str(example_score))[1]


# audio by suffix ----------------------------------------------------------------------------------------
@needs_fluidsynth
@pytest.mark.parametrize("suffix,fmt", [(".flac", "FLAC"), (".ogg", "OGG"), (".mp3", "MP3")])
def test_translate_notation_to_compressed_audio_reads_back(tmp_path: Path, example_score: Path, suffix: str,
                                                           fmt: str) -> None:
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    out = tmp_path / f"minuet{suffix}"
    translate_file(TranslateRequest(example_score, out), progress=False)
    audio, rate = sf.read(str(out))
    assert sf.info(str(out)).format == fmt
    assert len(audio) / rate > 10 and abs(audio).max() > 0.01
    if shutil.which("ffprobe"):  # a second, independent reader
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                str(out)], capture_output=True, text=True, check=True)
        assert abs(float(probe.stdout.strip()) - len(audio) / rate) < 0.2


def test_long_audio_result_saves_ogg(tmp_path: Path) -> None:
    import numpy as np

    from scorebridge.inference.results import LongAudio

    if "OGG" not in sf.available_formats():
        pytest.skip("no OGG in this libsndfile")
    tone = (0.3 * np.sin(np.arange(16_000) * 2 * np.pi * 440 / 16_000)).astype(np.float32)
    path = LongAudio(tone, 16_000, windows=1).save(tmp_path / "a.ogg")
    audio, rate = sf.read(str(path))
    assert rate == 16_000 and abs(len(audio) - 16_000) < 100
