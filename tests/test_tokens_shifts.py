from dataclasses import dataclass

import numpy as np
import pytest

from scorebridge.tokens.shifts import (
    AUDIO_CENTRE,
    AUDIO_SHIFTS,
    IMAGE_CENTRE,
    IMAGE_SHIFTS,
    pick_shift,
    shift_and_pad_image,
    shift_audio,
    shifted_image_size,
)


# Every variant of one source, as the reference enumerates them; the package draws one at a time (pick_shift),
# so only these tests need the whole set.
@dataclass(frozen=True)
class ShiftedImage:
    dx: int
    dy: int
    image: np.ndarray


@dataclass(frozen=True)
class ShiftedAudio:
    offset: int
    audio: np.ndarray


def image_shift_variants(img: np.ndarray) -> list[ShiftedImage]:
    return [ShiftedImage(dx, dy, shift_and_pad_image(img, dx, dy)) for dx, dy in IMAGE_SHIFTS]


def audio_shift_variants(audio: np.ndarray) -> list[ShiftedAudio]:
    return [ShiftedAudio(offset, shift_audio(audio, offset)) for offset in AUDIO_SHIFTS]


def _image(h: int = 37, w: int = 50) -> np.ndarray:
    rng = np.random.default_rng(0)
    img = np.full((h, w), 255, np.uint8)
    img[1:-1, 1:-1] = rng.integers(0, 200, size=(h - 2, w - 2), dtype=np.uint8)  # ink up to one px from the edge
    img[0, 0] = 0  # a marker at the image's own corner
    return img


def _ink_box(img: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(img < 255)
    return int(ys.min()), int(xs.min()), int(ys.max()), int(xs.max())


def test_counts_and_centres():
    assert len(IMAGE_SHIFTS) == 32 and len(set(IMAGE_SHIFTS)) == 32
    assert len(AUDIO_SHIFTS) == 9
    assert IMAGE_SHIFTS[IMAGE_CENTRE] == (0, 0) and IMAGE_CENTRE == 4 * 4 + 2
    assert AUDIO_SHIFTS == (-20, -15, -10, -5, 0, 5, 10, 15, 20) and AUDIO_CENTRE == 4
    assert sorted({dx for dx, _ in IMAGE_SHIFTS}) == list(range(-4, 4))
    assert sorted({dy for _, dy in IMAGE_SHIFTS}) == list(range(-2, 2))


def test_image_variants_same_size_multiple_of_16_and_content_moved_exactly():
    img = _image()
    variants = image_shift_variants(img)
    assert len(variants) == 32
    assert {v.image.shape for v in variants} == {shifted_image_size(37, 50)} == {(48, 64)}
    for v in variants:
        top, left = 2 + v.dy, 4 + v.dx
        assert _ink_box(v.image)[:2] == (top, left)
        np.testing.assert_array_equal(v.image[top:top + 37, left:left + 50], img)
        assert (v.image < 255).sum() == (img < 255).sum()  # nothing cropped, only white added
    centre = variants[IMAGE_CENTRE]
    assert (centre.dx, centre.dy) == (0, 0)
    np.testing.assert_array_equal(centre.image, shift_and_pad_image(img))


def test_image_shift_margins_are_the_references():
    img = _image(32, 41)  # 41 + 7 = 48: the right edge is hit exactly by the largest dx
    assert shifted_image_size(32, 41) == (48, 48)
    right = shift_and_pad_image(img, dx=3, dy=1)
    assert right[2 + 1, 4 + 3] == 0 and right.shape == (48, 48)
    np.testing.assert_array_equal(right[3:35, 7:], img)  # the image reaches the right edge: 3 px of margin used
    left = shift_and_pad_image(img, dx=-4, dy=-2)
    assert left[0, 0] == 0


def test_image_bad_inputs():
    with pytest.raises(ValueError, match="dx"):
        shift_and_pad_image(_image(), dx=4)
    with pytest.raises(ValueError, match="dy"):
        shift_and_pad_image(_image(), dy=-3)
    with pytest.raises(ValueError, match="uint8"):
        shift_and_pad_image(_image().astype(np.float32))


def test_shift_audio_moves_by_exactly_the_offset_and_keeps_length():
    audio = np.arange(1, 101, dtype=np.float32)
    delayed = shift_audio(audio, 5)
    assert delayed.dtype == np.float32 and delayed.shape == (100,)
    np.testing.assert_array_equal(delayed[:5], 0)
    np.testing.assert_array_equal(delayed[5:], audio[:95])
    advanced = shift_audio(audio, -20)
    np.testing.assert_array_equal(advanced[:80], audio[20:])
    np.testing.assert_array_equal(advanced[80:], 0)
    np.testing.assert_array_equal(shift_audio(audio, 0), audio)
    np.testing.assert_array_equal(shift_audio(audio[:3], 20), 0)  # shorter than the offset: all zeros


def test_audio_variants():
    audio = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    variants = audio_shift_variants(audio)
    assert [v.offset for v in variants] == list(AUDIO_SHIFTS)
    assert all(v.audio.shape == audio.shape for v in variants)
    np.testing.assert_array_equal(variants[AUDIO_CENTRE].audio, audio)
    np.testing.assert_array_equal(variants[-1].audio[20:], audio[:-20])
    with pytest.raises(ValueError):
        shift_audio(audio.reshape(2, 500), 5)


def test_pick_shift():
    rng = np.random.default_rng(0)
    assert pick_shift(None, 32, train=False) == IMAGE_CENTRE
    assert pick_shift(None, 9, train=False) == AUDIO_CENTRE
    assert pick_shift(None, 5, train=False, centre=2) == 2
    drawn = {pick_shift(rng, 9, train=True) for _ in range(300)}
    assert drawn == set(range(9))
    with pytest.raises(ValueError):
        pick_shift(None, 7, train=False)
    with pytest.raises(ValueError):
        pick_shift(None, 9, train=True)
