"""Audio + MIDI dataset adapters (MAESTRO, MusicNetEM, Slakh2100, BPSD, ASAP+MAESTRO) on tiny generated folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from scorebridge.data.adapters import AsapMaestroSource, BpsdSource, MaestroSource, MusicNetSource
from scorebridge.data.adapters.asap_maestro import cut_maestro_audio
from scorebridge.data.adapters.bpsd import group_measures, measure_spans
from scorebridge.data.contract import BuildConfig
from scorebridge.data.registry import SOURCES
from scorebridge.data.schema import ms_to_sample_floor
from scorebridge.data.splits import load_split_file
from scorebridge.errors import InputError
from scorebridge.midi import Note, write_midi

SR = 16_000
CONFIG = BuildConfig(window_ms=1000, sample_rate=SR)


def tone(path: Path, seconds: float, sr: int = 22_050, stereo: bool = False,
         burst: tuple[float, float] | None = None) -> None:
    """A quiet 440 Hz tone (or silence with one loud burst at ``burst`` seconds) as WAV or FLAC."""
    t = np.arange(int(seconds * sr)) / sr
    if burst is None:
        y = 0.1 * np.sin(2 * np.pi * 440 * t)
    else:
        y = np.where((t >= burst[0]) & (t < burst[1]), 0.8 * np.sin(2 * np.pi * 440 * t), 0.0)
    y = np.stack([y, y], axis=1) if stereo else y
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y.astype(np.float32), sr)


def midi(path: Path, notes: list[Note]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_midi(notes, path)


NOTES = [Note(100, 600, 60, 80), Note(800, 1400, 64, 90), Note(2100, 2400, 67, 70)]


def maestro(root: Path) -> Path:
    rows = ["canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration"]
    for i, split in enumerate(["train", "validation", "test"]):
        name = f"2004/MIDI-Unprocessed_{i}"
        midi(root / f"{name}.midi", NOTES)
        tone(root / f"{name}.wav", 2.5, stereo=True)
        rows.append(f"Bach,\"Prelude, no. {i}\",{split},2004,{name}.midi,{name}.wav,2.5")
    (root / "maestro-v3.0.0.csv").write_text("\n".join(rows) + "\n")
    return root


def check_windows(samples, total_ms: int) -> None:
    assert [s.kind for s in samples] == ["window"] * len(samples)
    for s in samples:
        assert s.timeline == "performance" and s.modalities == ("midi", "audio")
        assert len(s.audio) == ms_to_sample_floor(s.end_ms, SR) - ms_to_sample_floor(s.start_ms, SR)
        assert all(0 <= n.onset <= n.offset <= s.duration_ms for n in s.notes)
    assert samples[-1].end_ms <= total_ms


def test_maestro(tmp_path: Path) -> None:
    src = SOURCES["maestro"].open(str(maestro(tmp_path)))
    specs = src.pieces()
    assert [(s.piece, s.split) for s in specs] == [("2004/MIDI-Unprocessed_0", "train"),
                                                   ("2004/MIDI-Unprocessed_1", "valid"),
                                                   ("2004/MIDI-Unprocessed_2", "test")]
    samples = src.build_piece(specs[0], CONFIG)
    check_windows(samples, 2500)
    assert [(s.start_ms, s.end_ms) for s in samples] == [(0, 1000), (1000, 2000), (2000, 2500)]
    assert samples[0].notes == (Note(100, 600, 60, 80), Note(800, 1000, 64, 90))
    assert samples[1].notes == (Note(0, 400, 64, 90),) and samples[1].tied_in == (0,)
    assert samples[2].notes == (Note(100, 400, 67, 70),)
    assert abs(float(np.abs(samples[0].audio).max()) - 0.1) < 0.02  # resampled tone, channels averaged
    assert src.build_piece(specs[0], CONFIG)[1].audio.tobytes() == samples[1].audio.tobytes()  # deterministic


def test_maestro_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"expected maestro-v3\.0\.0\.csv \(MAESTRO v3 metadata\)"):
        MaestroSource(tmp_path).pieces()
    (tmp_path / "maestro-v3.0.0.csv").write_text("title,year\nx,2004\n")
    with pytest.raises(InputError, match="split, midi_filename, audio_filename"):
        MaestroSource(tmp_path).pieces()
    root = maestro(tmp_path / "m")
    (root / "2004/MIDI-Unprocessed_0.wav").unlink()
    src = MaestroSource(root)
    with pytest.raises(InputError, match="cannot read the audio"):
        src.build_piece(src.pieces()[0], CONFIG)


def test_musicnet_em(tmp_path: Path) -> None:
    strings = [Note(0, 900, 67, 80, program=40), Note(500, 1500, 48, 80, program=42)]
    midi(tmp_path / "musicnet_em/1819.mid", strings)
    midi(tmp_path / "musicnet_em/2500.mid", strings)
    midi(tmp_path / "musicnet_em/9999.mid", strings)  # labels without a recording are left out
    tone(tmp_path / "test_data/1819.wav", 1.6)
    tone(tmp_path / "train_data/2500.wav", 1.6)
    src = MusicNetSource(tmp_path)
    specs = src.pieces()
    assert [(s.piece, s.split) for s in specs] == [("1819", "test"), ("2500", "train")]
    samples = src.build_piece(specs[0], CONFIG)
    check_windows(samples, 1600)
    assert {n.program for n in samples[0].notes} == {40, 42}
    with pytest.raises(InputError, match="musicnet_em/"):
        MusicNetSource(tmp_path / "test_data").pieces()


def slakh(root: Path) -> Path:
    for split, track in (("train", "Track00001"), ("validation", "Track00002"), ("omitted", "Track00003")):
        folder = root / split / track
        midi(folder / "MIDI/S00.mid", [Note(0, 700, 40, 90), Note(1000, 1300, 43, 90)])
        midi(folder / "MIDI/S01.mid", [Note(0, 100, 36, 100)])
        midi(folder / "MIDI/S02.mid", [Note(200, 300, 72, 100)])
        (folder / "metadata.yaml").write_text(
            "UUID: abc\nstems:\n"
            "  S00: {inst_class: Bass, program_num: 33, is_drum: false, audio_rendered: true}\n"
            "  S01: {inst_class: Drums, program_num: 0, is_drum: true, audio_rendered: true}\n"
            "  S02: {inst_class: Piano, program_num: 0, is_drum: false, audio_rendered: false}\n")
        tone(folder / "mix.flac", 1.4, sr=44_100)
    return root


def test_slakh(tmp_path: Path) -> None:
    src = SOURCES["slakh"].open(str(slakh(tmp_path)))
    specs = src.pieces()
    assert [(s.piece, s.split) for s in specs] == [("Track00001", "train"), ("Track00002", "valid")]
    samples = src.build_piece(specs[0], CONFIG)
    check_windows(samples, 1400)
    first = samples[0].notes
    assert Note(0, 100, 36, 100, 0, True) in first  # the drum stem, flagged from metadata.yaml
    assert all(n.pitch != 72 for s in samples for n in s.notes)  # not rendered: not in the mix
    assert {n.program for n in first if not n.is_drum} == {33}
    with pytest.raises(InputError, match="train/, validation/ and test/"):
        SOURCES["slakh"].open(str(tmp_path / "train")).pieces()
    (tmp_path / "train/Track00001/metadata.yaml").write_text("UUID: abc\n")
    with pytest.raises(InputError, match="cannot read the stems"):
        src.build_piece(specs[0], CONFIG)


def bpsd(root: Path, with_score: bool = True) -> Path:
    from scorebridge.notation import lmx_to_musicxml

    name = "Beethoven_Op002No1-01_XX01"
    notes_dir = root / "2_Annotations/ann_audio_note"
    notes_dir.mkdir(parents=True)
    (notes_dir / f"{name}.csv").write_text(
        "start;end;pitch;pitchclass;instrument\n0.100;0.900;60;0;piano\n1.050;1.950;64;4;piano\n"
        "2.000;2.800;67;7;piano\n")
    measures = root / "2_Annotations/ann_audio_measure"
    measures.mkdir(parents=True)
    (measures / f"{name}.csv").write_text("start;measure\n0.000;1\n1.000;2\n2.000;3\n")
    tone(root / f"1_Audio/{name}.wav", 3.0)
    if with_score:
        bar = "measure {}C4 whole"
        tokens = " ".join(bar.format("key:fifths:0 time beats:4 beat-type:4 clef:G2 " if i == 0 else "")
                          for i in range(3))
        score = root / "0_RawData/score_xml_unfolded/Beethoven_Op002No1-01.xml"
        score.parent.mkdir(parents=True)
        score.write_text(lmx_to_musicxml(tokens))
    return root


def test_bpsd_measure_windows_with_lmx(tmp_path: Path) -> None:
    src = BpsdSource(bpsd(tmp_path))
    specs = src.pieces()
    assert [(s.piece, s.split) for s in specs] == [("Beethoven_Op002No1-01_XX01", "test")]
    samples = src.build_piece(specs[0], BuildConfig(window_ms=2000, sample_rate=SR))
    assert [(s.measure_start, s.measure_end, s.start_ms, s.end_ms) for s in samples] == [(0, 2, 0, 2000),
                                                                                         (2, 3, 2000, 3000)]
    assert samples[0].modalities == ("lmx", "midi", "audio")
    assert samples[0].lmx.count("measure") == 2 and samples[1].lmx.count("measure") == 1
    assert "clef:G2" in samples[1].lmx  # the slice carries the clef
    assert [n.pitch for n in samples[0].notes] == [60, 64]


def test_bpsd_without_score_or_audio(tmp_path: Path) -> None:
    root = bpsd(tmp_path, with_score=False)
    (root / "1_Audio/Beethoven_Op002No1-01_XX01.wav").unlink()
    src = SOURCES["bpsd"].open(str(root))
    samples = src.build_piece(src.pieces()[0], CONFIG)
    assert samples[0].modalities == ("midi",)
    with pytest.raises(InputError, match="ann_audio_note"):
        BpsdSource(tmp_path / "1_Audio").pieces()


def test_measure_spans_and_groups() -> None:
    assert measure_spans([0, 1000, 2000], 2500, None) == [(0, 1000), (1000, 2000), (2000, 2500)]
    assert measure_spans([0, 1000, 2000], 2500, 2) == [(0, 1000), (1000, 2000)]  # last row closes the piece
    assert measure_spans([0, 1000, 2000], 2500, 5) is None
    assert group_measures([(0, 900), (900, 1800), (1800, 4000)], 2000) == [(0, 2), (2, 3)]


def asap(root: Path, maestro_root: Path, precut: bool = False) -> Path:
    folder = "Bach/Prelude/bwv_846"
    midi(root / folder / "Shi05M.mid", [Note(700, 800, 69, 90)])
    midi(root / folder / "Other.mid", [Note(0, 100, 60, 90)])
    header = ("composer,title,folder,xml_score,midi_score,midi_performance,performance_annotations,"
              "midi_score_annotations,maestro_midi_performance,maestro_audio_performance,start,end,audio_performance")
    rows = [header,
            f"Bach,Prelude_bwv_846,{folder},{folder}/xml_score.musicxml,{folder}/midi_score.mid,{folder}/Shi05M.mid,"
            f"{folder}/Shi05M_annotations.txt,{folder}/midi_score_annotations.txt,{{maestro}}/2006/rec.midi,"
            f"{{maestro}}/2006/rec.wav,1.5,3.5,{folder}/Shi05M.wav",
            f"Bach,Prelude_bwv_846,{folder},{folder}/xml_score.musicxml,{folder}/midi_score.mid,{folder}/Other.mid,"
            f"{folder}/Other_annotations.txt,{folder}/midi_score_annotations.txt,,,,,"]
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    # the MAESTRO recording: silence with a burst at 1.7 s = performance time 1.7 - 1.5 + 0.5 = 0.7 s
    tone(maestro_root / "2006/rec.wav", 4.0, burst=(1.7, 1.8))
    (maestro_root / "maestro-v3.0.0.csv").write_text("split\n")
    if precut:
        tone(root / folder / "Shi05M.wav", 2.5, burst=(0.7, 0.8))
    return root


def burst_ms(sample) -> int:
    """Where the burst starts: the first loud sample."""
    return int(np.argmax(np.abs(sample.audio) > 0.4) * 1000 // SR) + sample.start_ms


def test_asap_maestro_cuts_like_initialize_dataset(tmp_path: Path) -> None:
    root = asap(tmp_path / "asap", tmp_path / "maestro")
    src = SOURCES["asap-maestro"].open(Path(f"{root},{tmp_path / 'maestro'}"))  # the CLI passes a Path
    specs = src.pieces()
    split = load_split_file("asap")["Bach/Prelude/bwv_846"]  # the repository's work-level split
    assert [(s.piece, s.split) for s in specs] == [("Bach/Prelude/bwv_846/Shi05M", split)]  # Other has no audio
    samples = src.build_piece(specs[0], CONFIG)
    assert samples[0].notes == (Note(700, 800, 69, 90),)
    assert abs(burst_ms(samples[0]) - 700) <= 5  # the audio lines up with the performance MIDI
    assert len(samples) == 1  # windows where nothing sounds are skipped
    cut = cut_maestro_audio(tmp_path / "maestro/2006/rec.wav", "1.5", "3.5", SR)
    assert len(cut) == ms_to_sample_floor(2500, SR)  # [1.5 s, 3.5 s) plus the 0.5 s of padding


def test_asap_maestro_precut_audio_and_errors(tmp_path: Path) -> None:
    root = asap(tmp_path / "asap", tmp_path / "maestro", precut=True)
    src = AsapMaestroSource(root)  # no MAESTRO folder: the audio made by initialize_dataset.py is used
    samples = src.build_piece(src.pieces()[0], CONFIG)
    assert abs(burst_ms(samples[0]) - 700) <= 5
    (root / "Bach/Prelude/bwv_846/Shi05M.wav").unlink()
    with pytest.raises(InputError, match="MAESTRO folder"):
        AsapMaestroSource(root).pieces()
    with pytest.raises(InputError, match=r"maestro-v3\.0\.0\.csv or maestro-v2\.0\.0\.csv"):
        AsapMaestroSource(root, tmp_path / "asap")
    with pytest.raises(InputError, match=r"expected metadata\.csv \(ASAP metadata\)"):
        AsapMaestroSource(tmp_path / "maestro").pieces()
