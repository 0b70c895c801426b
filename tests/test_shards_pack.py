"""The dense token pack (shards/pack.py): bit packing, a round trip to a baked folder the trainer reads, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _baked_fixtures import write_baked
from scorebridge.errors import InputError
from scorebridge.shards import iter_baked
from scorebridge.shards.pack import code_bits, main, pack, pack_codes, unpack, unpack_codes


def test_codes_round_trip_at_their_bit_width():
    rng = np.random.default_rng(0)
    assert (code_bits(1024), code_bits(16), code_bits(1025)) == (10, 4, 11)
    for bits, count in ((10, 1), (10, 7), (4, 33), (11, 1000)):
        codes = rng.integers(0, 1 << bits, count).astype(np.int16)
        data = pack_codes(codes, bits)
        assert len(data) == (count * bits + 7) // 8
        assert (unpack_codes(data, count, bits) == codes).all()
    with pytest.raises(ValueError, match="does not fit"):
        pack_codes(np.array([16]), 4)


@pytest.mark.parametrize("clean_only", [True, False])
def test_a_pack_unpacks_to_the_same_samples(tmp_path, clean_only):
    baked = write_baked(tmp_path / "toy", n_train=5, n_valid=2)
    report = pack(baked, tmp_path / "toy.sbpack", clean_only=clean_only, codebooks=True)
    assert report.samples == 7 and report.bits == 4 and report.bytes == (tmp_path / "toy.sbpack").stat().st_size
    assert unpack(tmp_path / "toy.sbpack", tmp_path / "back") == 7
    before = {s.id: s for s in iter_baked(baked)}
    after = {s.id: s for s in iter_baked(tmp_path / "back")}
    assert set(before) == set(after)
    for sid, a in before.items():
        b = after[sid]
        image = a.image[:, :1] if clean_only else a.image
        assert (b.image == image).all() and b.image.dtype == np.int16 and (b.audio == a.audio).all()
        assert b.lmx == a.lmx and json.loads(b.notes_json) == json.loads(a.notes_json) and b.split == a.split
        assert b.meta["image_codes"] == list(image.shape)
    assert (tmp_path / "back" / "bake.json").read_text() == (baked / "bake.json").read_text()
    assert (tmp_path / "back" / "codebooks.safetensors").read_bytes() == (baked / "codebooks.safetensors").read_bytes()
    # the trainer reads the unpacked folder
    from scorebridge.shards import ShardReader
    from scorebridge.train.rows import read_rows

    rows = read_rows([tmp_path / "back"], "train")
    assert len(rows) == 5 and rows[0].image_codes == after[rows[0].id].image.shape
    assert ShardReader().read(rows[0]).id == rows[0].id


def test_bad_packs_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "junk.sbpack").write_bytes(b"not xz")
    with pytest.raises(InputError, match="unreadable token pack"):
        unpack(tmp_path / "junk.sbpack", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert main(["pack", str(tmp_path), str(tmp_path / "x.sbpack")]) == 2
    assert "bake.json" in capsys.readouterr().err
    assert main(["unpack", str(tmp_path / "missing.sbpack")]) == 2


def test_codebooks_are_left_out_unless_asked_for(tmp_path):
    baked = write_baked(tmp_path / "toy", n_train=2, n_valid=0)
    pack(baked, tmp_path / "toy.sbpack")
    unpack(tmp_path / "toy.sbpack", tmp_path / "back")
    assert not (tmp_path / "back" / "codebooks.safetensors").exists()
    from scorebridge.train.rows import read_bake_info

    assert not read_bake_info([tmp_path / "back"]).codebooks.is_file()  # a new model then skips the init
