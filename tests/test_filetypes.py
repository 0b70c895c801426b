"""The one suffix table: roles and the subsets derived from it."""

from scorebridge.filetypes import AUDIO_FORMATS, BY_SUFFIX, FILE_TYPES, modality_of, readable, writable
from scorebridge.modality import Modality


def test_every_suffix_once_and_lower_case() -> None:
    assert len(BY_SUFFIX) == len(FILE_TYPES)
    assert all(t.suffix == t.suffix.lower() and t.suffix.startswith(".") for t in FILE_TYPES)


def test_roles() -> None:
    assert modality_of(".MP3") is Modality.AUDIO
    assert modality_of(".krn") is Modality.NOTATION and modality_of(".krn", write=True) is None
    assert modality_of(".jpg", write=True) is None and modality_of(".png", write=True) is Modality.IMAGE
    assert modality_of(".docx") is None
    assert set(readable(Modality.AUDIO)) == set(AUDIO_FORMATS) == set(writable(Modality.AUDIO))


def test_modality_index_is_the_enum_order() -> None:
    assert [m.index for m in Modality] == [0, 1, 2, 3]
