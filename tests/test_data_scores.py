"""System samples from scores: kern and Lieder end to end, determinism, run budget, splits, folders, the check."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from scorebridge.constants import IMAGE_PATCH_PX
from scorebridge.data.checks import check_system_sample, lmx_pitches
from scorebridge.data.contract import BuildConfig, PieceRejected, PieceSpec
from scorebridge.data.cutting import cut_audio, cut_notes
from scorebridge.data.schema import from_record, ms_to_sample_floor, to_record
from scorebridge.data.sources.folder import FolderSource
from scorebridge.data.sources.kern import KernPianoSource
from scorebridge.data.sources.lieder import REJECT_KEY, LiederSource, lieder_split
from scorebridge.data.sources.music21_corpus import Music21CorpusSource
from scorebridge.data.splits import OlimpicSplit
from scorebridge.data.system_samples import image_patches, stack_images
from scorebridge.midi import Note
from scorebridge.notation import load_musicxml, select_part

KERN_PIECE = "chopin-preludes/prelude28-20"  # 13 measures
TIED_PIECE = "chopin-preludes/prelude28-07"  # chords tied across system breaks
LIEDER_PIECE = "6019054"  # a short song (train split)
CONFIG = BuildConfig(seed=3)


def _spec(source, piece: str) -> PieceSpec:
    return next(s for s in source.pieces() if s.piece == piece)


@pytest.fixture(scope="module")
def kern(corpora: Path):
    source = KernPianoSource(corpora)
    spec = _spec(source, KERN_PIECE)
    return source, spec, source.build_piece(spec, CONFIG)


@pytest.fixture(scope="module")
def lieder(corpora: Path):
    source = LiederSource(corpora)
    spec = _spec(source, LIEDER_PIECE)
    return source, spec, source.build_piece(spec, CONFIG)


def _assert_aligned(samples, spec: PieceSpec) -> None:
    assert samples
    previous_end = None
    for i, s in enumerate(samples):
        assert s.modalities == ("image", "lmx", "midi", "audio")
        assert (s.source, s.piece, s.split, s.kind, s.timeline) == (spec.source, spec.piece, spec.split, "system",
                                                                    "score")
        assert s.id.endswith(f"system-{i:04d}")
        assert len(s.audio) == s.audio_samples_expected == (ms_to_sample_floor(s.end_ms, s.sample_rate)
                                                            - ms_to_sample_floor(s.start_ms, s.sample_rate))
        assert np.abs(s.audio).max() > 1e-3, "audio is silent"
        assert s.notes and all(0 <= n.onset <= n.offset <= s.duration_ms for n in s.notes)
        assert s.image.dtype == np.uint8 and s.image.min() < 128 and s.image.max() == 255
        assert s.lmx[0] == "measure" and s.lmx.count("measure") == s.measure_end - s.measure_start
        assert s.soundfont in CONFIG.soundfonts and "engraving" in s.meta and s.meta["tempo_factor"] == 1.0
        result = check_system_sample(s)
        assert result.ok, result.reasons
        if previous_end is not None and s.measure_start == previous_end[0]:
            assert s.start_ms == previous_end[1]  # consecutive runs meet in time as in measures
        previous_end = (s.measure_end, s.end_ms)


def test_kern_piece_end_to_end(kern) -> None:
    _, spec, samples = kern
    _assert_aligned(samples, spec)
    assert samples[0].measure_start == 0
    # the record round trip keeps everything the check needs
    back = from_record(to_record(samples[0]))
    assert check_system_sample(back).ok and back.notes == samples[0].notes


def test_lieder_piece_end_to_end(lieder) -> None:
    _, spec, samples = lieder
    _assert_aligned(samples, spec)
    assert not any(t.startswith("staff:3") for s in samples for t in s.lmx)  # the piano's two staves, no voice


def test_same_seed_same_samples_other_seed_other_look(kern) -> None:
    source, spec, samples = kern
    again = source.build_piece(spec, CONFIG)
    assert [s.id for s in again] == [s.id for s in samples]
    for a, b in zip(samples, again, strict=True):
        assert a == b  # ids, spans, LMX, notes, soundfont
        assert np.array_equal(a.image, b.image) and np.array_equal(a.audio, b.audio) and a.meta == b.meta
    other = source.build_piece(spec, dataclasses.replace(CONFIG, seed=4))
    assert (other[0].meta["engraving"], other[0].soundfont) != (samples[0].meta["engraving"], samples[0].soundfont)
    assert other[0].image.shape != samples[0].image.shape or not np.array_equal(other[0].image, samples[0].image)


def test_runs_obey_system_and_patch_budget(kern) -> None:
    source, spec, single = kern
    budget = 1200
    config = dataclasses.replace(CONFIG, max_systems=3, max_image_patches=budget)
    runs = source.build_piece(spec, config)
    assert len(runs) < len(single)  # systems were grouped
    assert any(len(s.meta["systems"]) > 1 for s in runs)
    for s in runs:
        assert 1 <= len(s.meta["systems"]) <= 3
        assert image_patches(*s.image.shape) <= budget
        assert sum(s.meta["system_heights"]) == s.image.shape[0]
        assert check_system_sample(s).ok
    # the runs cover the same measures as the single systems
    assert [(s.measure_start, s.measure_end) for s in runs][0][0] == single[0].measure_start
    assert runs[-1].measure_end == single[-1].measure_end


def test_a_system_over_the_budget_rejects_the_piece(lieder) -> None:
    source, spec, _ = lieder
    with pytest.raises(PieceRejected, match="patches"):
        source.build_piece(spec, dataclasses.replace(CONFIG, max_image_patches=10))


def test_cut_notes_ties_in_and_cuts_at_the_end() -> None:
    notes = [Note(0, 1500, 60), Note(999, 1200, 62), Note(1200, 2500, 64), Note(2001, 2100, 65), Note(500, 900, 67)]
    cut = cut_notes(notes, 1000, 2000, snap_ms=2)
    assert cut.notes == (Note(0, 200, 62), Note(0, 500, 60), Note(200, 1000, 64))  # 999 counts as on the boundary
    assert cut.tied_in == (1,)  # 60 was struck before; 62 is struck on the boundary
    assert len(cut_audio(np.ones(10, np.float32), 0, 1000, 44_100)) == 44_100  # padded past the rendering


def test_stack_images_pads_white() -> None:
    a, b = np.zeros((3, 5), np.uint8), np.zeros((2, 8), np.uint8)
    out = stack_images([a, b])
    assert out.shape == (5, 8) and (out[:3, 5:] == 255).all() and (out[3:] == 0).all()
    assert image_patches(17, 16) == 2 * 1 and IMAGE_PATCH_PX == 16


def test_check_finds_a_wrong_note_and_a_wrong_patch_count(lieder) -> None:
    _, _, samples = lieder
    s = samples[0]
    n = s.notes[len(s.notes) // 2]
    wrong = dataclasses.replace(s, notes=tuple(sorted({*s.notes} - {n} | {dataclasses.replace(n, pitch=n.pitch + 1)})))
    result = check_system_sample(wrong)
    assert not result.ok and "pitches differ" in result.reasons[0]
    bad_meta = dataclasses.replace(s, meta={**s.meta, "image_patches": 1})
    assert any("patches" in r for r in check_system_sample(bad_meta).reasons)
    assert not check_system_sample(dataclasses.replace(s, lmx=("measure", "nonsense"))).ok
    assert sum(lmx_pitches(s.lmx).values()) > 0


def test_lieder_split_rules() -> None:
    split = OlimpicSplit({"1": "train", "2": "valid", "3": "test"}, frozenset({"4"}), frozenset({"Comp/SetB"}))
    assert lieder_split("1", split, "Comp/SetA") == ("train", None)
    assert lieder_split("2", split, "Comp/SetB") == ("valid", None)
    label, reason = lieder_split("4", split, "Comp/SetA")
    assert label == "test" and "ignored" in reason
    label, reason = lieder_split("5", split, "Comp/SetB")
    assert label == "test" and "held-out set Comp/SetB" in reason
    assert lieder_split("6", split, "Comp/SetA") == ("train", None)
    assert lieder_split("7", split, None)[1] is not None


def test_lieder_pieces_follow_olimpic(corpora: Path) -> None:
    source = LiederSource(corpora)
    pieces = source.pieces()
    assert len(pieces) == len({p.piece for p in pieces}) == 1460
    official = Counter(p.split for p in pieces if not p.extra)
    assert official["valid"] == 100 and official["test"] == 100  # OLiMPiC dev / test, none added
    rejected = [p for p in pieces if p.extra.get(REJECT_KEY)]
    assert rejected and all(p.split != "train" for p in rejected)
    with pytest.raises(PieceRejected, match="ignored|held-out"):
        source.build_piece(rejected[0], CONFIG)


def test_kern_pieces_and_multi_part_rejection(corpora: Path) -> None:
    source = KernPianoSource(corpora)
    pieces = source.pieces()
    assert len(pieces) == 333 and {p.piece.split("/")[0] for p in pieces} == {
        "beethoven-piano-sonatas", "chopin-preludes", "haydn-piano-sonatas", "joplin", "mozart-piano-sonatas",
        "scarlatti-keyboard-sonatas"}
    assert Counter(p.split for p in pieces)["test"] > 0
    # four kern spines on two staves read as two parts: an image with a staff missing is never written
    with pytest.raises(PieceRejected, match="parts"):
        source.build_piece(_spec(source, "chopin-preludes/prelude28-01"), CONFIG)
    # two unnamed kern spines (no *I line) are one grand staff
    from scorebridge.notation import list_parts, load_musicxml

    parts = list_parts(load_musicxml(_spec(source, "chopin-preludes/prelude28-05").path))
    assert [p.staves for p in parts] == [2]


def test_music21_pieces_exist() -> None:
    pieces = Music21CorpusSource().pieces()
    assert len(pieces) == 16 and all(Path(p.path).is_file() for p in pieces)
    assert [p.piece for p in pieces] == [p.piece for p in Music21CorpusSource().pieces()]


def test_folder_source_builds_good_files_and_rejects_broken(tmp_path: Path, example_score: Path) -> None:
    folder = tmp_path / "my-scores"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(example_score, folder / "sub" / "minuet.musicxml")
    (folder / "broken.musicxml").write_text("<score-partwise><part-list>", encoding="utf-8")
    (folder / "notes.txt").write_text("not a score", encoding="utf-8")
    source = FolderSource(folder)
    assert source.name == "my-scores"
    pieces = source.pieces()
    assert [p.piece for p in pieces] == ["broken", "sub/minuet"]
    with pytest.raises(PieceRejected, match="cannot read"):
        source.build_piece(pieces[0], CONFIG)
    samples = source.build_piece(pieces[1], CONFIG)
    assert samples and all(check_system_sample(s).ok for s in samples)
    measures = len(select_part(load_musicxml(example_score)).findall("measure"))
    assert samples[0].measure_start == 0 and samples[-1].measure_end == measures


def test_runs_failing_the_check_are_skipped_and_recorded(kern, lieder, monkeypatch: pytest.MonkeyPatch) -> None:
    import scorebridge.data.system_samples as systems
    from scorebridge.data.checks import CheckResult

    source, spec, samples = kern
    bad = samples[1].measure_start
    real = systems.check_system_sample
    monkeypatch.setattr(systems, "check_system_sample",
                        lambda s: CheckResult(False, ("planted",)) if s.measure_start == bad else real(s))
    built = source.build_piece(spec, CONFIG)
    assert bad not in [s.measure_start for s in built]
    assert [s.id for s in built] == [s.id for s in samples[:-1]]  # ids stay dense
    assert {"measure_start": bad, "measure_end": samples[1].measure_end, "reason": "check: planted"} in \
        built[0].meta["skipped_runs"]
    monkeypatch.setattr(systems, "check_system_sample", lambda s: CheckResult(False, ("planted",)))
    with pytest.raises(PieceRejected, match="alignment check"):
        lieder[0].build_piece(lieder[1], CONFIG)


def test_a_run_without_an_lmx_is_skipped_not_the_piece(kern, monkeypatch: pytest.MonkeyPatch) -> None:
    import scorebridge.data.system_samples as systems
    from scorebridge.notation import LinearizationError

    source, spec, samples = kern
    bad = samples[2].measure_start
    real = systems.lmx_for_measures

    def fake(part, start, end, **kw):
        if start == bad:
            raise LinearizationError(spec.path, "7", "'17in16' is not an LMX token")
        return real(part, start, end, **kw)

    monkeypatch.setattr(systems, "lmx_for_measures", fake)
    built = source.build_piece(spec, CONFIG)
    assert bad not in [s.measure_start for s in built] and len(built) == len(samples) - 1
    reasons = [r["reason"] for r in built[0].meta["skipped_runs"] if r["measure_start"] == bad]
    assert reasons == ["LMX: measure 7: '17in16' is not an LMX token"]


def test_notes_tied_in_across_a_system_break(corpora: Path) -> None:
    source = KernPianoSource(corpora)
    samples = source.build_piece(_spec(source, TIED_PIECE), BuildConfig(seed=4))
    tied = [s for s in samples if s.tied_in]
    assert tied, "this prelude ties chords across system breaks"
    s = tied[0]
    assert s.notes[s.tied_in[0]].onset == 0  # it sounds from the start of the sample
    assert check_system_sample(s).ok
    inferred = dataclasses.replace(s, tied_in=None)
    assert check_system_sample(inferred).ok  # without the builder's list, tie stops at 0 are recognised
    assert not check_system_sample(dataclasses.replace(s, tied_in=())).ok
    # Verovio plays some ties across voices as two strikes: those runs are skipped with the check's reason
    assert all(r["reason"].startswith(("check:", "a repeat")) for r in s.meta["skipped_runs"])
