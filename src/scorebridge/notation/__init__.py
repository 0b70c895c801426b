"""Notation: MusicXML/kern/ABC/MEI reading, LMX (linearized MusicXML) ⇄ MusicXML, slicing by measure."""

from scorebridge.notation.api import LmxResult, read_lmx_file, score_to_lmx
from scorebridge.notation.codec import LinearizationError, delinearize, linearize_part, lmx_to_musicxml
from scorebridge.notation.formats import NoPianoPartError, PartInfo, list_parts, load_musicxml, select_part
from scorebridge.notation.vocabulary import VOCABULARY, UnknownTokenError, check_tokens

__all__ = [
    "VOCABULARY",
    "LinearizationError",
    "LmxResult",
    "NoPianoPartError",
    "PartInfo",
    "UnknownTokenError",
    "check_tokens",
    "delinearize",
    "linearize_part",
    "list_parts",
    "lmx_to_musicxml",
    "load_musicxml",
    "read_lmx_file",
    "score_to_lmx",
    "select_part",
]
