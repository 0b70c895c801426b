"""Windows of a performance joined back for evaluation give the piece's notes exactly (issue 17, item 4).

A note sounding across a window boundary appears in both windows: cut at the end of the first, tied in at
onset 0 of the next. ``eval.runs.truth_window`` joins the two only when the window records which of its notes
are tied in; a note struck again exactly at the boundary, right after one of the same key ended there, must stay
two notes.
"""

from __future__ import annotations

from pathlib import Path

from scorebridge.data.adapters import MaestroSource
from scorebridge.data.contract import BuildConfig
from scorebridge.eval.pieces import join_truth_windows
from scorebridge.eval.runs import truth_window
from scorebridge.midi import Note, read_midi
from test_data_adapters_audio import midi, tone

SR = 16_000
CONFIG = BuildConfig(window_ms=1000, sample_rate=SR)
NOTES = [
    Note(100, 600, 60, 80),
    Note(700, 1000, 62, 70),  # ends exactly at the boundary ...
    Note(1000, 1300, 62, 75),  # ... and is struck again there: two notes, not one
    Note(800, 1500, 64, 90),  # tied across the boundary at 1000
    Note(1200, 2300, 67, 60),  # tied across 2000
    Note(2000, 2200, 72, 65),  # struck at a boundary with nothing before it
]


def maestro_piece(root: Path) -> Path:
    midi(root / "2004/piece.midi", NOTES)
    tone(root / "2004/piece.wav", 2.5)
    (root / "maestro-v3.0.0.csv").write_text(
        "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n"
        "Bach,Prelude,train,2004,2004/piece.midi,2004/piece.wav,2.5\n")
    return root


def test_maestro_windows_join_back_to_the_piece(tmp_path: Path) -> None:
    source = MaestroSource(maestro_piece(tmp_path))
    (spec,) = source.pieces()
    windows = source.build_piece(spec, CONFIG)
    assert [(w.start_ms, w.end_ms) for w in windows] == [(0, 1000), (1000, 2000), (2000, 2500)]
    joined = join_truth_windows([truth_window(w) for w in windows])
    assert joined == sorted(read_midi(spec.path)) == sorted(NOTES)


def test_one_window_builder_for_asap_and_the_adapters() -> None:
    from scorebridge.data.contract import PieceSpec
    from scorebridge.data.cutting import window_samples

    spec = PieceSpec("s", "p", "/x", "train")
    notes = [Note(100, 1500, 60), Note(3100, 3200, 62)]  # nothing sounds in [2000, 3000); the piece ends at 3200
    adapter = window_samples(spec, notes, None, CONFIG)  # silent windows skipped, any last window kept
    assert [(w.start_ms, w.end_ms) for w in adapter] == [(0, 1000), (1000, 2000), (3000, 3200)]
    assert [w.id for w in adapter] == [f"s/p/window-{k:04d}" for k in range(3)]
    asap = window_samples(spec, notes, None, CONFIG, keep_silent=True, min_last_ms=500)
    assert [(w.start_ms, w.end_ms) for w in asap] == [(0, 1000), (1000, 2000), (2000, 3000)]
    assert asap[1].tied_in == (0,) and asap[2].notes == () and asap[2].tied_in == ()
    assert join_truth_windows([truth_window(w) for w in adapter]) == sorted(notes)


def test_a_record_read_without_its_notes_has_no_ties() -> None:
    """The trainer reads only the members a direction needs (image -> LMX: no notes); the ties go with them."""
    import numpy as np

    from scorebridge.data.schema import Sample, from_record, to_record

    sample = Sample(id="t/p/system-0001", source="t", piece="p", split="train", kind="system", start_ms=0,
                    end_ms=1000, image=np.full((8, 8), 255, np.uint8), lmx=("measure",),
                    notes=(Note(0, 500, 60, 80), Note(600, 900, 62, 80)), tied_in=(0,))
    record = to_record(sample)
    assert from_record(record).tied_in == (0,)
    partial = {k: v for k, v in record.items() if k in ("__key__", "json", "png", "lmx")}
    read = from_record(partial)
    assert read.notes is None and read.tied_in is None and read.lmx == ("measure",)
