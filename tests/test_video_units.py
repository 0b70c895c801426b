"""Pure parts of the video pipeline without video files: segmentation on arrays, cleaning rules, splits,
metadata and id lists, the detector interface and the optional extras' errors."""

from __future__ import annotations

import numpy as np
import pytest

from scorebridge.errors import InputError, MissingToolError
from scorebridge.render import PixelBox
from scorebridge.video import (
    BoxDetector,
    CleanOptions,
    SegmentOptions,
    kept_range,
    read_ids,
    read_metadata,
    segment,
    sound_share,
    video_split,
)
from scorebridge.video.detect import StaffLineDetector, letterbox
from scorebridge.video.evaluate import match_systems
from scorebridge.video.ffmpeg import Frame
from scorebridge.video.segment import audio_span, pooled, runs, same_page

SR = 8000


def _frames(screens: list[np.ndarray]) -> list[Frame]:
    return [Frame(i, round(i * 1000 / 3), img) for i, img in enumerate(screens)]


def _page(value: int, h: int = 60, w: int = 80) -> np.ndarray:
    img = np.full((h, w), 255, np.uint8)
    img[10:50, value:value + 10] = 0
    return img


def test_runs_of_flags():
    assert runs([False, False, True, False]) == [(False, 0, 1), (True, 2, 2), (False, 3, 3)]
    assert runs([]) == []


def test_segment_finds_static_sections_around_a_cut_and_a_fade():
    a, b, c = _page(5), _page(35), _page(60)
    fade = [np.rint((1 - t) * b + t * c).astype(np.uint8) for t in (0.25, 0.5, 0.75)]
    slides = list(segment(_frames([a] * 5 + [b] * 6 + fade + [c] * 4)))
    assert [(s.first_frame, s.last_frame, s.transition_end_frame) for s in slides] == [
        (0, 4, 5), (6, 10, 14), (15, 17, None)]
    assert slides[1].frame_index == 8 and np.array_equal(slides[1].image, b)
    assert slides[0].first_frame == 0


def test_segment_joins_sections_split_by_a_flicker():
    a = _page(5)
    flicker = a.copy()
    flicker[0:2, 0:2] = 120  # a few pixels past the threshold, as at a keyframe of lossy video
    options = SegmentOptions(blur_sigma=0.0)
    assert len(list(segment(_frames([a] * 4 + [flicker] * 4), options))) == 1
    assert len(list(segment(_frames([a] * 4 + [flicker] * 4), SegmentOptions(blur_sigma=0.0,
                                                                            same_page_share=0.0)))) == 2


def _notes(shifts: dict[int, int]) -> np.ndarray:
    """A staff of 40 note heads (5x4 px); ``shifts`` moves some of them by a few rows (another pitch)."""
    img = np.full((180, 320), 255, np.uint8)
    for row in range(60, 101, 10):
        img[row, 10:310] = 0
    for k in range(40):
        y = 70 + (k * 7) % 25 + shifts.get(k, 0)
        img[y:y + 4, 12 + 7 * k:17 + 7 * k] = 0
    return img


def test_segment_keeps_nearly_identical_pages_apart():
    # Repeated measures: the next page differs by a few notes, which the blur almost hides; the sharp frames
    # across the change tell the pages apart.
    a, b = _notes({}), _notes({k: 5 for k in range(0, 40, 5)})
    assert not same_page(a, b, SegmentOptions()) and same_page(a, a.copy(), SegmentOptions())
    slides = list(segment(_frames([a] * 4 + [b] * 4)))
    assert [(s.first_frame, s.last_frame) for s in slides] == [(0, 3), (5, 7)]  # frame 4 is the cut
    noisy = np.clip(a.astype(int) + np.random.default_rng(0).integers(-3, 4, a.shape), 0, 255).astype(np.uint8)
    noisy[0:3, 0:3] = 120  # compression noise and a blotch: the same page
    assert len(list(segment(_frames([a] * 4 + [noisy] * 4)))) == 1


def test_pooling_is_the_block_mean():
    frame = np.random.default_rng(1).integers(0, 256, (721, 1283), dtype=np.uint8)
    expected = frame[:720, :1281].astype(np.float64).reshape(240, 3, 427, 3).mean(axis=(1, 3))
    assert np.allclose(pooled(frame, 3), expected, atol=1e-4)
    assert np.array_equal(pooled(frame, 1), frame.astype(np.float32))


def test_segment_keeps_few_frames_of_a_long_section():
    a = _page(5)
    slides = list(segment(_frames([a] * 1001), SegmentOptions(keep_frames=4)))
    assert len(slides) == 1 and abs(slides[0].frame_index - 500) <= 64


def test_audio_span_rule():
    slides = list(segment(_frames([_page(5)] * 3 + [_page(40)] * 3)))
    options = SegmentOptions()
    first = audio_span(slides[0], False, options, 10_000)
    last = audio_span(slides[1], True, options, 10_000)
    assert first == (0, 1000 + 333 + 333)  # frames 0..2 then the cut at frame 3 (its interval ends at 4/3 s)
    assert last == (1333 - 333, 2000 + 333 + 2000)
    assert audio_span(slides[1], True, options, 3000)[1] == 3000


def _tone(seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (level * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_sound_share_counts_only_long_silences():
    options = CleanOptions()
    assert sound_share(_tone(2.0), SR, options) == pytest.approx(1.0)
    assert sound_share(np.zeros(SR * 2, np.float32), SR, options) == 0.0
    half = np.concatenate([np.zeros(SR, np.float32), _tone(1.0)])
    assert sound_share(half, SR, options) == pytest.approx(0.5, abs=0.01)
    gaps = np.concatenate([_tone(0.99), np.zeros(SR // 200, np.float32), _tone(1.0)])  # 5 ms < 1/100 of 2 s
    assert sound_share(gaps, SR, options) == pytest.approx(1.0)
    assert sound_share(_tone(1.0, level=10 ** (-60 / 20)), SR, options) == 0.0  # below -50 dBFS
    assert sound_share(np.zeros(3, np.float32), SR, options) == 0.0


def test_cleaning_rules():
    assert kept_range([0.0, 0.5, 0.7, 0.9, 0.2, 0.1, 0.0]) == (2, 5)
    assert kept_range([0.9, 0.15]) == (0, 1)
    assert kept_range([0.1, 0.2]) == (2, 2)
    assert kept_range([]) == (0, 0)


def test_video_split_is_stable_and_near_85_7_8():
    labels = [video_split(f"vid{i}") for i in range(4000)]
    assert labels == [video_split(f"vid{i}") for i in range(4000)]
    share = {k: labels.count(k) / len(labels) for k in ("train", "valid", "test")}
    assert share["train"] == pytest.approx(0.85, abs=0.02) and share["valid"] == pytest.approx(0.07, abs=0.015)
    assert [video_split(f"vid{i}", seed=1) for i in range(50)] != labels[:50]


def test_metadata_and_id_lists(tmp_path):
    csv = tmp_path / "meta.csv"
    csv.write_text("id,title,uploader,duration,composer,piece,instrumentation,staff_count,extra\n"
                   "abc,T,U,61,Bach,BWV 1,piano,2,x\n,skipped,,,,,,,\n")
    rows = read_metadata(csv)
    assert list(rows) == ["abc"] and rows["abc"]["composer"] == "Bach" and rows["abc"]["extra"] == "x"
    assert read_ids(csv) == ["abc"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,title\nx,y\n")
    with pytest.raises(InputError, match="'id' column"):
        read_metadata(bad)
    ids = tmp_path / "ids.txt"
    ids.write_text("# wanted\nabc\n\nhttps://example.org/watch?v=def\n")
    assert read_ids(ids) == ["abc", "https://example.org/watch?v=def"]
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(InputError, match="no video ids"):
        read_ids(tmp_path / "empty.txt")


def test_box_detector_measures_staff_height_inside_learned_boxes(example_score):
    from scorebridge.pages.synthetic import engraved_page
    from scorebridge.render.engrave import EngraveOptions, engrave

    page = engraved_page(engrave(example_score, EngraveOptions(page_width=1600, page_height=900)), 0, 1.0)
    truth = [s.bbox for s in page.systems]
    padded = [PixelBox(b.x0 - 10, b.y0 - 25, b.x1 + 10, b.y1 + 25) for b in truth]
    detector = BoxDetector(lambda img: list(reversed(padded)) + [PixelBox(0, 0, 5, 5)])
    found = detector.detect(page.image)
    assert len(found) == len(truth)  # the empty box has no staves and is dropped; order is top to bottom
    assert [f.bbox.y0 for f in found] == sorted(f.bbox.y0 for f in found)
    for f, t in zip(found, page.systems, strict=True):
        assert abs(f.staff_height - t.staff_height) <= 1.0
        assert f.image.dtype == np.uint8 and f.image.shape[0] > 18


def test_match_systems_is_one_to_one_at_iou_half():
    truth = [PixelBox(0, 0, 100, 20), PixelBox(0, 40, 100, 60)]
    found = [PixelBox(0, 2, 100, 22), PixelBox(0, 0, 100, 21), PixelBox(0, 70, 100, 90)]
    assert sorted(match_systems(truth, found)) == [(0, 1)]


def test_optional_extras_fail_with_one_line(tmp_path, monkeypatch):
    import builtins

    from scorebridge.video import download, yolo_detector

    real_import = builtins.__import__

    def no_extras(name, *args, **kwargs):
        if name in ("yt_dlp", "ultralytics"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_extras)
    with pytest.raises(MissingToolError, match="yt-dlp"):
        download(["abc"], tmp_path)
    with pytest.raises(InputError, match="weights not found"):
        yolo_detector(tmp_path / "missing.pt")
    weights = tmp_path / "systems.pt"
    weights.write_bytes(b"x")
    with pytest.raises(MissingToolError, match="ultralytics"):
        yolo_detector(weights).detect(np.full((50, 50), 255, np.uint8))


def _letterboxed_system(touching: bool) -> np.ndarray:
    """Two 5-line staves (spacing 8 px) joined by a barline, on a page letterboxed in a black 360x640 frame; a
    stem from the lower staff reaches the page's bottom edge when ``touching`` (an engraving cut off there)."""
    page = np.full((300, 560), 255, np.uint8)
    for top in (100, 180):
        for k in range(5):
            page[top + 8 * k, 40:520] = 0
    page[100:213, 40] = 0  # the system's barline
    if touching:
        page[212:300, 300] = 0
    frame = np.zeros((360, 640), np.uint8)
    frame[30:330, 40:600] = page
    return frame


@pytest.mark.parametrize("touching", [False, True])
def test_staff_detector_reads_inside_letterbox_bars(touching):
    found = StaffLineDetector().detect(_letterboxed_system(touching))
    assert len(found) == 1
    box = found[0].bbox
    assert abs(box.y0 - 130) <= 1 and abs(box.y1 - 243) <= 2 and abs(box.x0 - 80) <= 16 and abs(box.x1 - 560) <= 16
    assert found[0].staff_height == pytest.approx(32, abs=1)
    assert letterbox(_letterboxed_system(touching)) == PixelBox(40, 30, 600, 330)
