"""Reading score files as text, shared by notation (LMX) and render (Verovio): .mxl containers, UTF-16
MusicXML, and a structural check of **kern files (music21 accepts broken ones silently and Verovio aborts
the whole process on some of them). Writing MusicXML as text or as a compressed .mxl, by the suffix."""

from __future__ import annotations

import io
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from scorebridge.errors import InputError
from scorebridge.fileio import write_bytes, write_text
from scorebridge.filetypes import MUSICXML_SUFFIXES
from scorebridge.limits import LIMITS, Limits, check_score_counts

MXL_MIMETYPE = "application/vnd.recordare.musicxml"
_MXL_ROOT = "score.musicxml"
_CONTAINER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<container>\n  <rootfiles>\n'
    f'    <rootfile full-path="{_MXL_ROOT}" media-type="application/vnd.recordare.musicxml+xml"/>\n'
    "  </rootfiles>\n</container>\n"
)


def mxl_bytes(xml: str) -> bytes:
    """A compressed MusicXML (.mxl) archive holding ``xml``: the ``mimetype`` member first and stored, as the
    MusicXML 3/4 container rules ask, then META-INF/container.xml naming the root file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), MXL_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", _CONTAINER, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(_MXL_ROOT, xml.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def write_musicxml(path: str | os.PathLike[str], xml: str) -> Path:
    """Write MusicXML text atomically as the suffix of ``path`` asks: .mxl compressed, .musicxml/.xml plain."""
    suffix = Path(path).suffix.lower()
    if suffix not in MUSICXML_SUFFIXES:
        raise InputError(path, f"write MusicXML as {', '.join(MUSICXML_SUFFIXES)}")
    if suffix == ".mxl":
        write_bytes(path, mxl_bytes(xml))
    else:
        write_text(path, xml)
    return Path(path)


def read_mxl_rootfile(path: Path, max_bytes: int | None = None) -> bytes:
    """The MusicXML inside a .mxl zip: the rootfile named by META-INF/container.xml, else the first .xml.

    Members are inflated in blocks and counted as they come, never trusting the sizes the archive declares:
    more than ``max_bytes`` (default ``LIMITS.max_score_bytes``) is an InputError before it is all in memory.
    """
    limit = LIMITS.max_score_bytes if max_bytes is None else max_bytes
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            target = None
            if "META-INF/container.xml" in names:
                container = ET.fromstring(_read_member(archive, "META-INF/container.xml", limit, path))
                for element in container.iter():
                    if element.tag.split("}")[-1] == "rootfile" and element.get("full-path"):
                        target = element.get("full-path")
                        break
            if target is None:
                candidates = [
                    n for n in names if not n.startswith("META-INF") and n.endswith((".xml", ".musicxml"))
                ]
                if not candidates:
                    raise InputError(path, "corrupt .mxl: no MusicXML file inside the archive")
                target = candidates[0]
            if target not in names:
                raise InputError(path, f"corrupt .mxl: container names {target!r}, which is not in the archive")
            return _read_member(archive, target, limit, path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ET.ParseError, OSError, NotImplementedError,
            RuntimeError, ValueError) as exc:
        raise InputError(path, f"corrupt .mxl ({exc})") from exc


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    parts, total = [], 0
    with archive.open(name) as member:
        while block := member.read(1 << 20):
            total += len(block)
            if total > limit:
                raise InputError(path, f".mxl member {name!r} unpacks to more than the limit of {limit:,} bytes")
            parts.append(block)
    return b"".join(parts)


def parse_score_xml(path: Path, data: bytes | str, limits: Limits = LIMITS) -> ET.Element:
    """Parse MusicXML strictly to its end (a truncated file is an error, not a shorter score) and bound it.

    Entity declarations are refused outright (no score needs them: they are how XXE and entity-expansion
    attacks start); expat refuses external entities and caps expansion besides. Also bounded: bytes and notes.
    """
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > limits.max_score_bytes:
        raise InputError(path, f"the score of {size:,} bytes is over the limit of {limits.max_score_bytes:,} bytes")
    text = decode_score_bytes(data) if isinstance(data, bytes) else data
    # The declaration may still claim UTF-16 after we decoded the text; expat refuses that for str input.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    if re.search(r"<!ENTITY", text[: text.find("<score-") if "<score-" in text else len(text)]):
        raise InputError(path, "the XML declares entities (not allowed in a score)")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError(path, f"not valid XML ({exc})") from exc
    check_score_counts(path, sum(1 for el in root.iter() if el.tag == "note"), limits)
    return root


def decode_score_bytes(data: bytes) -> str:
    """Decode a score file honouring a BOM, UTF-16 without BOM (several real MusicXML files are UTF-16) and
    the XML declaration's encoding; other text (older Humdrum / ABC files) falls back to Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if len(data) > 1 and data[0] == 0 and data[1] != 0:
        return data.decode("utf-16-be", errors="replace")
    if len(data) > 1 and data[1] == 0 and data[0] != 0:
        return data.decode("utf-16-le", errors="replace")
    match = re.match(rb"\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", data)
    if match:
        try:
            return data.decode(match.group(1).decode("ascii"), errors="replace")
        except LookupError:
            return data.decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # every byte decodes


def check_kern_spines(path: Path) -> None:
    """Reject Humdrum files whose data lines do not match the active spine count."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    spines: int | None = None
    for number, line in enumerate(lines, start=1):
        if not line or line.startswith("!!"):
            continue
        fields = line.split("\t")
        if spines is None:
            if not line.startswith("**"):
                raise InputError(
                    path, f"line {number}: a Humdrum file must start with exclusive interpretations (**kern)"
                )
            spines = len(fields)
            continue
        if len(fields) != spines:
            raise InputError(path, f"line {number}: {len(fields)} fields but {spines} spines are active")
        if line.startswith("*"):
            spines = _spines_after(fields)
    if spines is None:
        raise InputError(path, "no **kern data found")
    if spines:  # a complete Humdrum file ends every spine with *-; Verovio aborts on some cut ones
        raise InputError(path, f"truncated Humdrum file: {spines} spine(s) not terminated by *-")


def _spines_after(fields: list[str]) -> int:
    """Number of spines after a line of spine manipulators (*^ split, *v join, *- end, *+ add)."""
    count, i = 0, 0
    while i < len(fields):
        field = fields[i]
        if field == "*v":
            while i < len(fields) and fields[i] == "*v":
                i += 1
            count += 1
            continue
        count += {"*^": 2, "*-": 0, "*+": 2}.get(field, 1)
        i += 1
    return count
