"""Reading page files: images and multi-frame TIFFs through Pillow, PDFs through pypdfium2, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from scorebridge.errors import InputError
from scorebridge.pages import Page, file_systems, iter_pages, load_pages
from scorebridge.pages import synthetic as sy


def _page(h: int = 120, w: int = 90, value: int = 0) -> np.ndarray:
    img = np.full((h, w), 255, np.uint8)
    img[h // 3: h // 3 + 4, 10: w - 10] = value  # a dark bar to tell pages apart and check orientation
    return img


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif"])
def test_single_images_load_as_gray_pages(tmp_path, suffix):
    path = tmp_path / f"page{suffix}"
    Image.fromarray(_page()).convert("RGB").save(path)
    pages = load_pages(path)
    assert len(pages) == 1
    page = pages[0]
    assert isinstance(page, Page) and page.index == 0 and page.source == str(path)
    assert page.image.dtype == np.uint8 and page.image.shape == (120, 90)
    assert page.image[0, 0] > 240 and page.image[41, 45] < 20


def test_transparent_png_is_white_paper(tmp_path):
    rgba = np.zeros((50, 60, 4), np.uint8)
    rgba[20:24, :, 3] = 255  # only a black bar is opaque
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    img = load_pages(path)[0].image
    assert img[0, 0] == 255 and img[21, 30] == 0


def test_16_bit_png_is_scaled_to_8_bits(tmp_path):
    arr = (_page().astype(np.uint16) * 257)
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    img = load_pages(path)[0].image
    assert img.dtype == np.uint8 and img[0, 0] == 255 and img[41, 45] == 0


def test_multi_frame_tiff_gives_one_page_per_frame(tmp_path):
    frames = [Image.fromarray(_page(value=v)) for v in (0, 60, 120)]
    path = tmp_path / "scan.tiff"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    pages = load_pages(path)
    assert [p.index for p in pages] == [0, 1, 2]
    assert [int(p.image[41, 45]) for p in pages] == [0, 60, 120]


def test_two_page_pdf_loads_as_two_pages_at_the_dpi(tmp_path):
    frames = [Image.fromarray(_page(200, 150, value=v)).convert("RGB") for v in (0, 100)]
    path = tmp_path / "score.pdf"
    frames[0].save(path, save_all=True, append_images=frames[1:], resolution=72.0)
    pages = load_pages(path, dpi=144)
    assert len(pages) == 2 and [p.index for p in pages] == [0, 1]
    for page in pages:
        assert page.dpi == pytest.approx(144)
        assert page.image.dtype == np.uint8 and page.image.shape == (400, 300)  # 72-dpi page at 144 dpi
    assert pages[0].image[135, 150] < 40 and 70 < pages[1].image[135, 150] < 130
    assert pages[0].image[5, 5] > 240


def test_pdf_pages_are_rendered_one_at_a_time(tmp_path):
    frames = [Image.fromarray(_page()).convert("RGB") for _ in range(3)]
    path = tmp_path / "three.pdf"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    it = iter_pages(path, dpi=72)
    first = next(it)
    assert first.index == 0
    assert [p.index for p in it] == [1, 2]


def test_file_systems_reads_an_engraved_pdf(corpora, tmp_path, monkeypatch):
    from scorebridge.render import engrave

    monkeypatch.setenv("SCOREBRIDGE_CACHE", str(tmp_path / "cache"))
    page = sy.engraved_page(engrave(corpora / "kern/joplin/antoinette.krn"), 0, 1.5)
    path = tmp_path / "joplin.pdf"
    Image.fromarray(page.image).save(path, resolution=150.0)
    systems = list(file_systems(path, dpi=150))
    assert len(systems) == len(page.systems)
    assert all(s.page == 0 and s.staves == 2 for s in systems)


@pytest.mark.parametrize("name,data,problem", [
    ("broken.png", b"\x89PNG\r\n\x1a\nnot really a png", "not a readable image"),
    ("empty.jpg", b"", "not a readable image"),
    ("broken.pdf", b"%PDF-1.4\nthis is not a pdf at all", "not a readable PDF"),
    ("text.tiff", b"hello", "not a readable image"),
])
def test_corrupt_files_raise_input_error(tmp_path, name, data, problem):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError, match=problem) as info:
        load_pages(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_truncated_png_raises_input_error(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(InputError, match="not a readable image"):
        load_pages(path)


def test_pdf_without_pages_raises_input_error(tmp_path):
    path = tmp_path / "empty.pdf"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"]
    body = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(body)
    with pytest.raises(InputError, match="no pages|not a readable PDF"):  # pdfium refuses to open some
        load_pages(path)


def test_unknown_suffix_and_missing_file_raise_input_error(tmp_path):
    odd = tmp_path / "score.bmpx"
    odd.write_bytes(b"x")
    with pytest.raises(InputError, match="not a page image or PDF"):
        load_pages(odd)
    with pytest.raises(InputError, match="no such file"):
        load_pages(tmp_path / "missing.png")
