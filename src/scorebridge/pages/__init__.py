"""Pages and PDFs to normalized system images, without learned weights (classic staff-line OMR).

``load_pages`` reads PNG/JPEG/TIFF/PDF files into grayscale pages, ``detect_layout`` finds the staves
and systems of a page (after undoing a slight skew), and ``page_systems`` cuts each system out and
normalizes it as the training data is (18-px staff height, white paper). The suffixes a page may have are
``filetypes.PAGE_SUFFIXES``.
"""

from scorebridge.pages.layout import DetectedSystem, PageLayout, Staff, analyse_page, detect_layout
from scorebridge.pages.load import DEFAULT_DPI, Page, iter_pages, load_pages
from scorebridge.pages.systems import PageSystem, file_systems, page_systems

__all__ = [
    "DEFAULT_DPI", "DetectedSystem", "Page", "PageLayout", "PageSystem", "Staff",
    "analyse_page", "detect_layout", "file_systems", "iter_pages", "load_pages", "page_systems",
]
