"""Every file suffix scorebridge reads or writes, in one table: which modality it holds, whether `translate`
reads it, whether it writes it, and the name its library knows it by (soundfile's format, Verovio's input
format). Every other suffix list in the package is derived from this one, so a format is added in one place."""

from __future__ import annotations

from dataclasses import dataclass

from scorebridge.modality import Modality


@dataclass(frozen=True)
class FileType:
    suffix: str  # lower case, with the dot
    modality: Modality
    read: bool  # accepted as a translation input
    write: bool  # written as a translation output
    library_name: str = ""  # soundfile's format name for audio; Verovio's input format for scores


FILE_TYPES: tuple[FileType, ...] = (
    FileType(".png", Modality.IMAGE, read=True, write=True),
    FileType(".jpg", Modality.IMAGE, read=True, write=False),
    FileType(".jpeg", Modality.IMAGE, read=True, write=False),
    FileType(".tif", Modality.IMAGE, read=True, write=False),
    FileType(".tiff", Modality.IMAGE, read=True, write=False),
    FileType(".pdf", Modality.IMAGE, read=True, write=True),
    FileType(".musicxml", Modality.NOTATION, read=True, write=True, library_name="musicxml"),
    FileType(".xml", Modality.NOTATION, read=True, write=True, library_name="musicxml"),
    FileType(".mxl", Modality.NOTATION, read=True, write=True, library_name="musicxml"),
    FileType(".krn", Modality.NOTATION, read=True, write=False, library_name="humdrum"),
    FileType(".abc", Modality.NOTATION, read=True, write=False, library_name="abc"),
    FileType(".mei", Modality.NOTATION, read=True, write=False, library_name="mei"),
    FileType(".lmx", Modality.NOTATION, read=True, write=True),
    FileType(".mid", Modality.MIDI, read=True, write=True),
    FileType(".midi", Modality.MIDI, read=True, write=True),
    FileType(".wav", Modality.AUDIO, read=True, write=True, library_name="WAV"),
    FileType(".flac", Modality.AUDIO, read=True, write=True, library_name="FLAC"),
    FileType(".ogg", Modality.AUDIO, read=True, write=True, library_name="OGG"),
    FileType(".mp3", Modality.AUDIO, read=True, write=True, library_name="MP3"),
)
BY_SUFFIX: dict[str, FileType] = {t.suffix: t for t in FILE_TYPES}
DEFAULT_SUFFIX: dict[Modality, str] = {Modality.IMAGE: ".png", Modality.NOTATION: ".musicxml",
                                       Modality.MIDI: ".mid", Modality.AUDIO: ".wav"}


def suffixes(modality: Modality | None = None, *, read: bool | None = None, write: bool | None = None,
             ) -> tuple[str, ...]:
    """The suffixes in table order that match every given filter (None: any)."""
    return tuple(t.suffix for t in FILE_TYPES
                 if (modality is None or t.modality is modality) and (read is None or t.read == read)
                 and (write is None or t.write == write))


def readable(modality: Modality | None = None) -> tuple[str, ...]:
    return suffixes(modality, read=True)


def writable(modality: Modality | None = None) -> tuple[str, ...]:
    return suffixes(modality, write=True)


def modality_of(suffix: str, *, write: bool = False) -> Modality | None:
    """The modality a suffix holds when read (or written, with ``write=True``); None when it has no such role."""
    t = BY_SUFFIX.get(suffix.lower())
    if t is None or not (t.write if write else t.read):
        return None
    return t.modality


# Named subsets the readers and writers use.
AUDIO_FORMATS: dict[str, str] = {t.suffix: t.library_name for t in FILE_TYPES if t.modality is Modality.AUDIO}
MUSICXML_SUFFIXES: tuple[str, ...] = tuple(t.suffix for t in FILE_TYPES if t.library_name == "musicxml")
VEROVIO_INPUTS: dict[str, str] = {t.suffix: t.library_name for t in FILE_TYPES
                                  if t.modality is Modality.NOTATION and t.library_name}
PDF_SUFFIX = ".pdf"
PAGE_SUFFIXES: tuple[str, ...] = readable(Modality.IMAGE)
RASTER_SUFFIXES: tuple[str, ...] = tuple(s for s in PAGE_SUFFIXES if s != PDF_SUFFIX)
