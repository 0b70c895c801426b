"""Uploads of the studio: the file type told by its content (magic bytes, then a parser), never by its name.

``sniff`` picks the suffix the server will store the upload under (the uploaded name never becomes a path);
``validate`` opens the stored file with the parser of its type, so a truncated or malformed upload is a
one-line ``UploadError`` (HTTP 4xx) before any job is queued.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from scorebridge.errors import ScorebridgeError

HEAD_BYTES = 1 << 20  # enough to tell every accepted type, XML past a long prolog (comments, DOCTYPE) included


class UploadError(ScorebridgeError):
    """A rejected upload: ``status`` is the HTTP status (413 too large, 415 unknown type, 422 malformed)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 64 * 1024 * 1024
    max_pixels: int = 60_000_000  # one page image (PIL refuses twice its own limit anyway)
    max_pdf_pages: int = 20
    max_audio_seconds: float = 600.0
    max_unzipped_bytes: int = 32 * 1024 * 1024  # a .mxl's MusicXML

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_pixels, self.max_pdf_pages, self.max_unzipped_bytes) < 1:
            raise ValueError("upload limits must be positive")
        if self.max_audio_seconds <= 0:
            raise ValueError("max_audio_seconds must be positive")


def sniff(head: bytes) -> str | None:
    """The stored suffix (``.png``, ``.wav``, ``.musicxml``, ...) of a file starting with ``head``, or None."""
    binary = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"II*\x00", ".tiff"),
              (b"MM\x00*", ".tiff"), (b"%PDF-", ".pdf"), (b"fLaC", ".flac"), (b"OggS", ".ogg"),
              (b"MThd", ".mid"), (b"PK\x03\x04", ".mxl"), (b"ID3", ".mp3"))
    for magic, suffix in binary:
        if head.startswith(magic):
            return suffix
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return ".wav"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) and _utf16_text(head):
        return _sniff_text(head)  # UTF-16 text: its byte-order mark also looks like an MPEG frame header
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG audio frame header
        return ".mp3"
    return _sniff_text(head)


def _utf16_text(head: bytes) -> bool:
    start = head[:64].decode("utf-16", errors="replace").lstrip("\ufeff \t\r\n")
    return bool(start) and start[0].isprintable() and start[0] != "\ufffd"


def _sniff_text(head: bytes) -> str | None:
    text = _decode_head(head)
    if text is None:
        return None
    start = text.lstrip("\ufeff \t\r\n")
    if start.startswith("<"):
        return {"score-partwise": ".musicxml", "score-timewise": ".musicxml", "mei": ".mei"}.get(
            first_element(start) or "")
    if start.startswith("!!") or start.startswith("**"):
        return ".krn"
    if re.match(r"X:\s*\d", start):
        return ".abc"
    first = start.split(None, 1)[0] if start.split() else ""
    if first in ("measure", "version:", "---") or start.startswith("#"):
        return ".lmx"
    return None


_NAME = re.compile(r"<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)")


def first_element(text: str) -> str | None:
    """The local name of the root element of the XML document starting ``text``, read past the prolog: the XML
    declaration, processing instructions, comments, a DOCTYPE (internal subset included) and whitespace. None
    when ``text`` ends first or is not XML."""
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t\r\n\ufeff":
            i += 1
        elif text.startswith("<?", i):
            end = text.find("?>", i + 2)
            if end < 0:
                return None
            i = end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return None
            i = end + 3
        elif text.startswith("<!DOCTYPE", i):
            i = _after_doctype(text, i)
            if i < 0:
                return None
        else:
            m = _NAME.match(text, i)
            return m.group(1).split(":")[-1] if m else None
    return None


def _after_doctype(text: str, i: int) -> int:
    """The index after the DOCTYPE declaration starting at ``i`` ([...] subset and quoted strings skipped); -1."""
    depth, quote = 0, ""
    for j in range(i + 2, len(text)):
        c = text[j]
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c == ">" and depth <= 0:
            return j + 1
    return -1


def _decode_head(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return head.decode("utf-8", errors="replace")  # XML: only the markup's ASCII matters here
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the head's end
            return head[:exc.start].decode("utf-8", errors="strict")
        return None


def display_name(name: str | None) -> str:
    """The uploaded name for display only: its last component, plain characters, at most 80 of them."""
    base = re.split(r"[\\/]", name or "")[-1]
    clean = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:80]
    return clean or "upload"


def validate(path: Path, suffix: str, limits: UploadLimits) -> None:
    """Open the stored upload with its type's parser; UploadError(422 or 413) when it cannot serve as input."""
    check = {".png": _image, ".jpg": _image, ".tiff": _image, ".pdf": _pdf, ".wav": _audio, ".flac": _audio,
             ".ogg": _audio, ".mp3": _audio, ".mid": _midi, ".musicxml": _musicxml, ".mxl": _mxl,
             ".mei": _xml, ".krn": _kern, ".abc": _text, ".lmx": _lmx}[suffix]
    try:
        check(path, limits)
    except UploadError:
        raise
    except ScorebridgeError as exc:
        raise UploadError(422, getattr(exc, "problem", str(exc))) from None
    except Exception as exc:  # parsers of broken files raise assorted exceptions; all mean "malformed"
        raise UploadError(422, f"not a readable {suffix[1:]} file ({type(exc).__name__}: {_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or "no detail"


def _image(path: Path, limits: UploadLimits) -> None:
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
        if width * height > limits.max_pixels:
            raise UploadError(413, f"the image is {width}x{height} pixels; the limit is {limits.max_pixels:,}")
        for frame in range(min(getattr(image, "n_frames", 1), limits.max_pdf_pages)):
            image.seek(frame)
            image.load()  # decodes every byte: a truncated file raises here


def _pdf(path: Path, limits: UploadLimits) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        count = len(pdf)
    finally:
        pdf.close()
    if count < 1:
        raise UploadError(422, "the PDF has no pages")
    if count > limits.max_pdf_pages:
        raise UploadError(413, f"the PDF has {count} pages; the limit is {limits.max_pdf_pages}")


def _audio(path: Path, limits: UploadLimits) -> None:
    import soundfile as sf

    info = sf.info(str(path))
    if info.frames < 1 or info.samplerate < 1:
        raise UploadError(422, "the recording holds no samples")
    seconds = info.frames / info.samplerate
    if seconds > limits.max_audio_seconds:
        raise UploadError(413, f"the recording lasts {seconds:.0f} s; the limit is {limits.max_audio_seconds:.0f} s")
    if path.suffix == ".wav":
        _check_wav_length(path, info)
    with sf.SoundFile(str(path)) as f:  # decode it all: corrupt compressed frames raise here
        for _block in f.blocks(blocksize=1 << 18, dtype="float32"):
            pass


def _check_wav_length(path: Path, info) -> None:
    """libsndfile reads a cut WAV up to where it ends; a data chunk shorter than its header says is truncation."""
    data = path.read_bytes()[:1 << 16]
    at = data.find(b"data")
    if at < 0:
        return
    declared = int.from_bytes(data[at + 4:at + 8], "little")
    available = path.stat().st_size - (at + 8)
    if declared not in (0, 0xFFFFFFFF) and available < declared:
        raise UploadError(422, f"the WAV file is truncated ({available:,} of {declared:,} data bytes)")


def _midi(path: Path, limits: UploadLimits) -> None:
    from scorebridge.midi import read_midi

    read_midi(path)  # InputError for corrupt, truncated or note-less files


def _xml(path: Path, limits: UploadLimits) -> None:
    ET.parse(path)


def _musicxml(path: Path, limits: UploadLimits) -> None:
    root = ET.parse(path).getroot()
    if root.tag not in ("score-partwise", "score-timewise"):
        raise UploadError(422, f"the XML root is <{root.tag}>, not a MusicXML score")
    if root.find(".//part") is None:
        raise UploadError(422, "the MusicXML score has no parts")


def _mxl(path: Path, limits: UploadLimits) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            target = None
            if "META-INF/container.xml" in names:
                container = ET.fromstring(_inflate(archive, "META-INF/container.xml", limits.max_unzipped_bytes))
                target = next((e.get("full-path") for e in container.iter()
                               if e.tag.split("}")[-1] == "rootfile" and e.get("full-path")), None)
            if target is None:
                target = next((n for n in names if not n.startswith("META-INF") and
                               n.endswith((".xml", ".musicxml"))), None)
            if target is None or target not in names:
                raise UploadError(422, "corrupt .mxl: no MusicXML file inside the archive")
            root = ET.fromstring(_inflate(archive, target, limits.max_unzipped_bytes))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise UploadError(422, f"corrupt .mxl ({exc})") from None
    if root.tag not in ("score-partwise", "score-timewise"):
        raise UploadError(422, f"the .mxl holds <{root.tag}>, not a MusicXML score")


def _inflate(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """One member, counted as it inflates (the sizes an archive declares can lie): UploadError(413) past
    ``limit`` bytes, with at most one block beyond it ever held."""
    parts, size = [], 0
    with archive.open(name) as member:
        while block := member.read(1 << 20):
            size += len(block)
            if size > limit:
                raise UploadError(413, f"the .mxl unpacks to more than {limit:,} bytes")
            parts.append(block)
    return b"".join(parts)


def _kern(path: Path, limits: UploadLimits) -> None:
    from scorebridge.scorefile import check_kern_spines

    _text(path, limits)
    check_kern_spines(path)


def _text(path: Path, limits: UploadLimits) -> None:
    path.read_text(encoding="utf-8")


def _lmx(path: Path, limits: UploadLimits) -> None:
    from scorebridge.notation import read_lmx_file

    if not read_lmx_file(path):
        raise UploadError(422, "no LMX tokens in the file")
