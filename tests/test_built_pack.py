"""The dense pack of a built dataset (shards/built_pack.py): grey levels, a round trip to a built dataset the
trainer reads, audio made again from the notes, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _raw_fixtures import write_raw
from scorebridge.data.dataset import iter_samples, load_manifest
from scorebridge.data.schema import Sample
from scorebridge.errors import InputError
from scorebridge.midi import Note
from scorebridge.shards.built_pack import (
    PRE_ROLL_MS,
    dequantize,
    main,
    pack_built,
    quantize,
    resynthesize,
    unpack_built,
)

SOUNDFONT = "timgm6mb"


def test_grey_levels_round_trip_within_half_a_step():
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for bits in (1, 2, 4, 8):
        levels = quantize(grey, bits)
        assert levels.max() == (1 << bits) - 1 and levels.min() == 0
        back = dequantize(levels, bits)
        step = 255 / ((1 << bits) - 1)
        assert np.abs(back.astype(int) - grey).max() <= step / 2 + 0.5
        assert back[0, 0] == 0 and back[-1, -1] == 255
    assert (dequantize(quantize(grey, 8), 8) == grey).all()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return write_raw(tmp_path_factory.mktemp("built") / "toy", n_train=4, n_valid=2)


def _by_id(folder) -> dict[str, Sample]:
    return {s.id: s for s in iter_samples(folder)}


def test_a_pack_unpacks_to_a_dataset_the_trainer_reads(built, tmp_path):
    report = pack_built(built, tmp_path / "toy.sbbuilt")
    assert report.samples == 6 and report.bits == 4 and report.audio == "synth"
    assert report.bytes == (tmp_path / "toy.sbbuilt").stat().st_size
    assert unpack_built(tmp_path / "toy.sbbuilt", tmp_path / "back", soundfont=SOUNDFONT) == 6
    before, after = _by_id(built), _by_id(tmp_path / "back")
    assert set(before) == set(after)
    for sid, a in before.items():
        b = after[sid]
        assert (b.lmx, b.notes, b.tied_in, b.split, b.start_ms, b.end_ms) == \
               (a.lmx, a.notes, a.tied_in, a.split, a.start_ms, a.end_ms)
        assert b.image.shape == a.image.shape and np.abs(b.image.astype(int) - a.image).max() <= 9
        assert len(b.audio) == len(a.audio) and np.abs(b.audio).max() > 0.01  # made again from the notes
        assert b.meta["audio_resynthesized"]["soundfont"] == SOUNDFONT
    rows = load_manifest(tmp_path / "back")
    assert all(r["modalities"] == ["image", "lmx", "midi", "audio"] for r in rows)
    # the trainer's raw path reads it: pixels and mel frames
    from scorebridge.tokens.features import FeatureSpec
    from scorebridge.train.raw import raw_rows

    train = raw_rows(tmp_path / "back", FeatureSpec(image="pixels", audio="mel"), "train")
    assert len(train) == 4 and train[0].image_codes is not None and train[0].audio_codes is not None


def test_without_a_soundfont_the_samples_have_no_audio(built, tmp_path):
    pack_built(built, tmp_path / "toy.sbbuilt", bits=2, splits=["valid"])
    assert unpack_built(tmp_path / "toy.sbbuilt", tmp_path / "back") == 2
    after = list(iter_samples(tmp_path / "back"))
    assert all(s.audio is None and s.split == "valid" and s.image is not None for s in after)
    assert {tuple(r["modalities"]) for r in load_manifest(tmp_path / "back")} == {("image", "lmx", "midi")}


def test_carried_audio_comes_back_as_built(built, tmp_path):
    small = pack_built(built, tmp_path / "small.sbbuilt")
    full = pack_built(built, tmp_path / "full.sbbuilt", audio="flac")
    assert full.bytes > small.bytes
    unpack_built(tmp_path / "full.sbbuilt", tmp_path / "back", workers=2)
    before, after = _by_id(built), _by_id(tmp_path / "back")
    for sid, a in before.items():
        assert np.abs(after[sid].audio - a.audio).max() < 1e-3  # 16-bit FLAC
        assert "audio_resynthesized" not in after[sid].meta


def _sample(notes, tied_in=()) -> Sample:
    return Sample(id="t/p/system-0000", source="t", piece="p", split="train", kind="system", start_ms=0,
                  end_ms=1000, sample_rate=16_000, notes=tuple(notes), tied_in=tuple(tied_in))


def _level(audio, a_ms, b_ms, rate=16_000):
    return float(np.sqrt(np.mean(audio[a_ms * rate // 1000: b_ms * rate // 1000] ** 2)))


def test_resynthesized_audio_follows_the_notes():
    late = resynthesize(_sample([Note(500, 900, 69, 90)]), SOUNDFONT)
    assert len(late) == 16_000 and late.dtype == np.float32
    assert _level(late, 0, 450) < 1e-3 < _level(late, 520, 700)  # silent until the note
    tied = resynthesize(_sample([Note(0, 600, 69, 90)], tied_in=[0]), SOUNDFONT)
    assert _level(tied, 0, 50) > 1e-3  # a tied-in note already sounds at the start
    assert PRE_ROLL_MS > 0
    silent = resynthesize(_sample([]), SOUNDFONT)
    assert len(silent) == 16_000 and not silent.any()


def test_bad_input_is_a_one_line_error(built, tmp_path, capsys):
    (tmp_path / "junk.sbbuilt").write_bytes(b"not xz")
    with pytest.raises(InputError, match="unreadable built-dataset pack"):
        unpack_built(tmp_path / "junk.sbbuilt", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert main(["pack", str(tmp_path), str(tmp_path / "x.sbbuilt")]) == 2
    assert "manifest.jsonl" in capsys.readouterr().err
    (tmp_path / "baked").mkdir()
    (tmp_path / "baked" / "bake.json").write_text(json.dumps({"version": 1}))
    assert main(["pack", str(tmp_path / "baked"), str(tmp_path / "y.sbbuilt")]) == 2
    assert "baked token folder" in capsys.readouterr().err
    pack_built(built, tmp_path / "ok.sbbuilt")
    assert main(["unpack", str(tmp_path / "ok.sbbuilt"), str(tmp_path / "o"), "--soundfont", "/no/such.sf2"]) == 2
    assert "soundfont not found" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_a_lease_imports_nothing_the_gpu_machine_lacks():
    """The GPU machine has no Verovio (nor the other engraving tools): unpacking a pack and training must import
    without it, as scripts/gpu/rehearse.sh found they did not."""
    import subprocess
    import sys

    code = ("import sys\nfor name in ('verovio', 'music21', 'partitura'):\n    sys.modules[name] = None\n"
            "import scorebridge.shards.built_pack, scorebridge.train.loop, scorebridge.render.synth")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
