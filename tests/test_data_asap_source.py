"""AsapSource on the shared corpus: the piece list, and one short performance built end to end."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from scorebridge.data.contract import BuildConfig, PieceSpec
from scorebridge.data.cutting import cut_notes
from scorebridge.data.performance import check_performance_sample
from scorebridge.data.sources.asap import AsapSource, load_score
from scorebridge.data.splits import load_split_file

SHORT = "Bach/Prelude/bwv_856/LuoJ01M"  # 16 measures, 58 s


@pytest.fixture(scope="module")
def source(corpora: Path) -> AsapSource:
    if not (corpora / "asap" / "metadata.csv").is_file():
        pytest.skip("ASAP not in the shared corpora")
    return AsapSource(corpora)


@pytest.fixture(scope="module")
def spec(source: AsapSource) -> PieceSpec:
    return next(s for s in source.pieces() if s.piece == SHORT)


@pytest.fixture(scope="module")
def built(source: AsapSource, spec: PieceSpec) -> list:
    return source.build_piece(spec, BuildConfig(window_ms=10_000))


def test_pieces_are_performances_with_the_score_split(source: AsapSource) -> None:
    specs = source.pieces()
    assert len(specs) == 1067
    assert len({s.piece for s in specs}) == len(specs)
    splits = load_split_file("asap")
    for s in specs:
        folder = s.piece.rsplit("/", 1)[0]
        assert s.split == splits[folder]
        assert Path(s.extra["performance"]).name == s.piece.rsplit("/", 1)[1] + ".mid"
    firsts = Counter(s.piece.rsplit("/", 1)[0] for s in specs if s.extra["score_time"] == "yes")
    assert set(firsts.values()) == {1} and len(firsts) == len({s.path for s in specs})
    assert source.pieces() == specs  # fixed order


def test_performance_systems_have_all_modalities_aligned(built: list, spec: PieceSpec) -> None:
    perf = [s for s in built if s.kind == "system" and s.timeline == "performance"]
    score = {s.id: s for s in built if s.kind == "system" and s.timeline == "score"}
    assert perf and score  # the first performance of its score keeps the score-time samples
    assert spec.extra["score_time"] == "yes"
    midi_score = load_score(spec)
    for s in perf:
        assert s.modalities == ("image", "lmx", "midi", "audio")
        twin = score[s.meta["score_sample"]]
        assert np.array_equal(s.image, twin.image) and s.lmx == twin.lmx
        assert (s.measure_start, s.measure_end) == (twin.measure_start, twin.measure_end)
        assert len(s.audio) == s.audio_samples_expected and np.abs(s.audio).max() > 0.001
        assert all(0 <= n.onset < s.duration_ms for n in s.notes)
        a, b = s.meta["score_midi_span_ms"]
        assert check_performance_sample(s, cut_notes(midi_score.notes, a, b, tied=False).notes).ok
    # performed spans follow each other in time as the measures do
    starts = [s.start_ms for s in sorted(perf, key=lambda s: s.measure_start)]
    assert starts == sorted(starts)


def test_windows_cover_the_performance(built: list) -> None:
    windows = [s for s in built if s.kind == "window"]
    assert [w.start_ms for w in windows] == list(range(0, 10_000 * len(windows), 10_000))
    assert all(w.duration_ms == 10_000 for w in windows[:-1]) and windows[-1].duration_ms >= 1000
    for w in windows:
        assert w.modalities == ("midi", "audio") and w.timeline == "performance"
        assert len(w.audio) == w.audio_samples_expected
        assert all(w.notes[i].onset == 0 for i in w.tied_in)
    assert sum(len(w.notes) - len(w.tied_in) for w in windows) == 824  # every note struck once


def test_build_is_deterministic_and_second_performers_skip_score_time(source: AsapSource, spec: PieceSpec,
                                                                     built: list) -> None:
    again = source.build_piece(spec, BuildConfig(window_ms=10_000))
    assert [s.id for s in again] == [s.id for s in built]
    for a, b in zip(again, built, strict=True):
        assert a == b and np.array_equal(a.audio, b.audio)
    other = PieceSpec(spec.source, spec.piece, spec.path, spec.split, {**spec.extra, "score_time": "no"})
    samples = source.build_piece(other, BuildConfig(window_ms=30_000))
    assert not [s for s in samples if s.timeline == "score"]
    assert len([s for s in samples if s.kind == "window"]) == 2


def test_every_built_sample_passes_the_dataset_check(built: list) -> None:
    from scorebridge.data.check_all import check_sample

    categories = set()
    for sample in built:
        category, reasons = check_sample(sample)
        categories.add(category)
        assert reasons == (), (sample.id, reasons)
    assert {"system/performance", "window"} <= categories
