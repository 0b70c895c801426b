"""Image + notation dataset adapters (GrandStaff, OLiMPiC, PrIMuS) on tiny folders that mimic the real layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scorebridge.constants import STAFF_HEIGHT_PX
from scorebridge.data.adapters import GrandStaffSource, OlimpicSource, PrimusSource
from scorebridge.data.adapters.common import chunked_pieces, estimate_staff_height
from scorebridge.data.contract import BuildConfig
from scorebridge.data.cutting import cut_notes
from scorebridge.data.registry import CORPORA, DATASETS, SOURCES, open_source, parse_source
from scorebridge.errors import InputError
from scorebridge.midi import Note

CONFIG = BuildConfig()
LMX = "measure key:fifths:0 time beats:4 beat-type:4 clef:G2 C4 quarter D4 quarter E4 half\n"
KERN = "**kern\t**kern\n*clefF4\t*clefG2\n*k[]\t*k[]\n*M4/4\t*M4/4\n=1\t=1\n1C\t1c\n==\t==\n*-\t*-\n"
MEI = """<?xml version="1.0" encoding="UTF-8"?>
<mei xmlns="http://www.music-encoding.org/ns/mei" meiversion="3.0.0">
<meiHead><fileDesc><titleStmt><title/></titleStmt><pubStmt/></fileDesc></meiHead>
<music><body><mdiv><score><scoreDef meter.count="4" meter.unit="4" key.sig="0">
<staffGrp><staffDef n="1" lines="5" clef.shape="G" clef.line="2"/></staffGrp></scoreDef>
<section><measure n="1"><staff n="1"><layer n="1">
<note pname="c" oct="4" dur="4"/><note pname="d" oct="4" dur="4"/><note pname="e" oct="4" dur="2"/>
</layer></staff></measure></section></score></mdiv></body></music></mei>
"""


def system_image(path: Path, staves: int = 2, space: int = 7, line: int = 1, width: int = 300) -> None:
    """A system image: ``staves`` five-line staves (staff height 4 * (space + line)) and a few note heads."""
    height = staves * 12 * (space + line) + 20
    img = np.full((height, width), 250, np.uint8)
    for s in range(staves):
        top = 10 + s * 12 * (space + line)
        for k in range(5):
            y = top + k * (space + line)
            img[y:y + line, 10:width - 10] = 20
        img[top + space:top + 2 * space, 60:60 + space] = 20
    Image.fromarray(img).convert("RGB").save(path)


def write_item(base: Path, image_suffix: str, notation: dict[str, str]) -> None:
    base.parent.mkdir(parents=True, exist_ok=True)
    system_image(base.parent / (base.name + image_suffix))
    for suffix, text in notation.items():
        (base.parent / (base.name + suffix)).write_text(text, encoding="utf-8")


def grandstaff_lmx(root: Path) -> Path:
    """GrandStaff-LMX: samples.{train,dev,test}.txt listing stems; .jpg + .lmx + .musicxml beside each."""
    items = {"train": ["beethoven/piano-sonatas/sonata01-1/maj2_up_m-0-4", "beethoven/piano-sonatas/sonata01-1/"
                       "min3_down_m-4-8"],
             "dev": ["chopin/mazurkas/mazurka06-1/maj2_down_m-1-5"],
             "test": ["beethoven/piano-sonatas/sonata01-1/original_m-0-4"]}
    for split, stems in items.items():
        (root / f"samples.{split}.txt").write_text("\n".join(stems) + "\n")
        for stem in stems:
            write_item(root / stem, ".jpg", {".lmx": LMX})
    return root


def grandstaff_partitions(root: Path) -> Path:
    """GrandStaff (grfia): grandstaff_dataset/<...>/<name>.krn + .jpg + _distorted.jpg, partitions_grandstaff/types."""
    data = root / "grandstaff_dataset"
    parts = root / "partitions_grandstaff" / "types"
    parts.mkdir(parents=True)
    stems = {"train": "mozart/piano-sonatas/sonata10-1/maj3_up_m-1-6", "val": "mozart/piano-sonatas/sonata10-1/"
             "min2_down_m-1-6", "test": "mozart/piano-sonatas/sonata10-1/original_m-1-6"}
    for split, stem in stems.items():
        (parts / f"{split}.txt").write_text(f"grandstaff_dataset/{stem}.ekrn\n")
        write_item(data / stem, ".jpg", {".krn": KERN, ".ekrn": KERN})
        system_image(data / (stem + "_distorted.jpg"))
    return root


def olimpic(root: Path, scanned: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lists = {"dev": ["samples/5000001/p1-s1", "samples/5000001/p1-s2"], "test": ["samples/5000002/p1-s1"]}
    if not scanned:
        lists["train"] = ["samples/4904021/p1-s1", "samples/4904021/p2-s1"]
    for split, stems in lists.items():
        (root / f"samples.{split}.txt").write_text("\n".join(stems) + "\n")
        for stem in stems:
            write_item(root / stem, ".png", {".lmx": LMX, ".musicxml": "<score-partwise/>"})
    return root


def primus(root: Path, n: int = 6) -> Path:
    for i in range(n):
        iid = f"000051{i:03d}-1_1_{i}"
        write_item(root / "package_aa" / iid / iid, ".png", {".mei": MEI, ".semantic": "clef-G2\n", ".agnostic": ""})
        system_image(root / "package_aa" / iid / f"{iid}_distorted.jpg", staves=1)
    return root


def assert_system_samples(samples, n: int) -> None:
    assert len(samples) == n
    for s in samples:
        assert s.kind == "system" and s.modalities == ("image", "lmx")
        assert s.image.dtype == np.uint8 and s.image.ndim == 2
        assert not s.timed and s.start_ms is None and s.lmx[0] == "measure"


def test_staff_height_estimate_and_normalization(tmp_path: Path) -> None:
    system_image(tmp_path / "a.png", space=7, line=1)
    from scorebridge.data.adapters.common import load_gray

    img = load_gray(tmp_path / "a.png")
    assert estimate_staff_height(img) == 32.0  # 4 * (7 + 1)
    assert estimate_staff_height(np.full((40, 40), 255, np.uint8)) is None
    system_image(tmp_path / "b.png", space=4, line=2)
    assert estimate_staff_height(load_gray(tmp_path / "b.png")) == 24.0


def test_grandstaff_lmx_layout(tmp_path: Path) -> None:
    src = SOURCES["grandstaff-lmx"].open(str(grandstaff_lmx(tmp_path)))
    specs = src.pieces()
    splits = {(s.piece, s.split) for s in specs}
    assert splits == {("beethoven/piano-sonatas/sonata01-1/train-0000", "train"),
                      ("beethoven/piano-sonatas/sonata01-1/test-0000", "test"),
                      ("chopin/mazurkas/mazurka06-1/valid-0000", "valid")}
    train = next(s for s in specs if s.split == "train")
    samples = src.build_piece(train, CONFIG)
    assert_system_samples(samples, 2)
    assert samples[0].source == "grandstaff-lmx" and samples[0].meta["item"].endswith("maj2_up_m-0-4")
    # normalized to the 18 px staff: a 32 px staff of a 2-staff image of 212 px becomes about 212 * 18 / 32
    assert abs(samples[0].image.shape[0] - round(212 * STAFF_HEIGHT_PX / 32)) <= 1
    assert src.pieces() == specs  # fixed order


def test_grandstaff_partitions_with_kern_and_camera(tmp_path: Path) -> None:
    root = grandstaff_partitions(tmp_path)
    src = GrandStaffSource(root)
    specs = src.pieces()
    assert sorted(s.split for s in specs) == ["test", "train", "valid"]
    samples = src.build_piece(next(s for s in specs if s.split == "test"), CONFIG)
    assert_system_samples(samples, 1)
    assert "staff:2" in samples[0].lmx  # the two kern spines became one grand-staff part
    camera = SOURCES["camera-grandstaff"].open(str(root))
    cam = camera.build_piece(camera.pieces()[0], CONFIG)
    assert cam[0].source == "camera-grandstaff" and cam[0].image is not None


def test_olimpic_synthetic_and_scanned(tmp_path: Path) -> None:
    synth = OlimpicSource(olimpic(tmp_path / "olimpic-1.0-synthetic"), name="olimpic-synthetic")
    specs = synth.pieces()
    assert {(s.piece, s.split) for s in specs} == {("samples/4904021/train-0000", "train"),
                                                   ("samples/5000001/valid-0000", "valid"),
                                                   ("samples/5000002/test-0000", "test")}
    assert_system_samples(synth.build_piece(specs[0], CONFIG), 2)
    scanned = SOURCES["olimpic-scanned"].open(str(olimpic(tmp_path / "olimpic-1.0-scanned", scanned=True)))
    assert {s.split for s in scanned.pieces()} == {"valid", "test"}


def test_primus_hash_split_and_mei(tmp_path: Path) -> None:
    src = PrimusSource(primus(tmp_path))
    specs = src.pieces()
    assert sum(len(s.extra["items"].split("\n")) for s in specs) == 6
    assert all(s.piece.startswith("package_aa/") for s in specs)
    assert specs == PrimusSource(tmp_path).pieces()
    samples = src.build_piece(specs[0], CONFIG)
    assert samples[0].lmx == ("measure", "key:fifths:0", "time", "beats:4", "beat-type:4", "clef:G2", "C4", "quarter",
                              "D4", "quarter", "E4", "half")
    cam = SOURCES["camera-primus"].open(str(tmp_path))
    assert cam.build_piece(cam.pieces()[0], CONFIG)[0].image is not None
    one_package = PrimusSource(tmp_path / "package_aa").pieces()  # the folder of one package works too
    assert sum(len(s.extra["items"].split("\n")) for s in one_package) == 6


def test_items_missing_files_are_skipped_or_rejected(tmp_path: Path) -> None:
    from scorebridge.data.contract import PieceRejected

    root = grandstaff_lmx(tmp_path)
    (root / "beethoven/piano-sonatas/sonata01-1/maj2_up_m-0-4.lmx").unlink()
    src = GrandStaffSource(root)
    train = next(s for s in src.pieces() if s.split == "train")
    assert len(src.build_piece(train, CONFIG)) == 1  # the other item of the piece still builds
    (root / "beethoven/piano-sonatas/sonata01-1/min3_down_m-4-8.jpg").unlink()
    with pytest.raises(PieceRejected, match="no usable item .*no notation file"):
        src.build_piece(train, CONFIG)


@pytest.mark.parametrize("name, expected", [
    ("grandstaff", "samples.train.txt"), ("grandstaff-lmx", "partitions_grandstaff"),
    ("olimpic-synthetic", "samples.dev.txt"), ("primus", "<id>.mei"),
])
def test_image_adapters_name_what_is_missing(tmp_path: Path, name: str, expected: str) -> None:
    (tmp_path / "stray.txt").write_text("not a dataset")
    with pytest.raises(InputError, match=expected) as info:
        SOURCES[name].open(str(tmp_path)).pieces()
    assert str(tmp_path) in str(info.value)
    with pytest.raises(InputError, match="does not exist"):
        SOURCES[name].open(str(tmp_path / "nowhere"))


def test_one_parser_of_source_values(tmp_path: Path) -> None:
    assert open_source(f"olimpic-scanned:{olimpic(tmp_path, scanned=True)}").name == "olimpic-scanned"
    assert parse_source("maestro:/data/m") == ("maestro", Path("/data/m"))
    assert parse_source("kern-piano") == ("kern-piano", None)
    with pytest.raises(InputError, match="NAME:PATH"):
        open_source("nonsense:/x")
    with pytest.raises(InputError, match="NAME:PATH"):
        open_source("maestro")  # a dataset needs its path
    with pytest.raises(InputError, match="built-in corpus"):
        open_source("kern-piano:/x")
    with pytest.raises(InputError, match="unknown source"):
        open_source(str(tmp_path / "nowhere"))
    assert type(open_source(str(tmp_path))).__name__ == "FolderSource"  # a folder of scores
    assert set(CORPORA) | set(DATASETS) == set(SOURCES)


def test_cut_notes_and_chunking(tmp_path: Path) -> None:
    notes = [Note(0, 1500, 60), Note(900, 1000, 62), Note(1000, 1200, 64), Note(2500, 2600, 65)]
    cut = cut_notes(notes, 1000, 2000)
    assert cut.notes == (Note(0, 200, 64), Note(0, 500, 60)) and cut.tied_in == (1,)
    specs = chunked_pieces("x", {("g", "train"): [f"i{k}" for k in range(5)]}, tmp_path, 2)
    assert [s.piece for s in specs] == ["g/train-0000", "g/train-0001", "g/train-0002"]
    assert specs[2].extra["items"] == "i4"
