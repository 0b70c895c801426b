"""Codec work on ordinary files: an image or a recording to a `.npz` of codes and back (`scorebridge codec`).

A codes file holds ``codes`` (int16; image (h, w, Q), audio (Q, frames)), ``kind`` and the original size
(``height``/``width`` or ``num_samples`` + ``sample_rate``) so decoding gives back an output of the input's size.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fileio import atomic_path, check_distinct, check_output_location
from ..filetypes import AUDIO_FORMATS
from ..limits import LIMITS, Limits, check_audio_file, check_page
from .loading import load_codec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodesInfo:
    kind: str
    shape: tuple[int, ...]
    output: Path


def read_image(path: str | os.PathLike[str], limits: Limits = LIMITS) -> np.ndarray:
    """A grayscale uint8 (H, W) image from any format Pillow reads (its first frame), at most
    ``limits.max_page_pixels`` pixels (checked from the header, before decoding)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # damaged EXIF: no warning on stderr, the error stays one line
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                check_page(path, 0, *im.size, limits=limits)
                return np.asarray(im.convert("L"), dtype=np.uint8)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(path, f"not a readable image ({exc})") from None


def read_audio(path: str | os.PathLike[str], max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate from any format libsndfile reads (WAV, FLAC, OGG, MP3).

    Measured first (``limits.check_audio_file``): a truncated file, an absurd sample rate or more than
    ``max_seconds`` (default: the general audio limit) is an InputError before the samples are read.
    """
    import soundfile as sf

    check_audio_file(path, max_seconds=max_seconds)
    try:
        audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise InputError(path, f"not a readable audio file ({exc})") from None
    if audio.shape[0] == 0:
        raise InputError(path, "holds no samples")
    return audio.mean(axis=1), int(sr)


def encode_file(kind: str, codec_path: str | os.PathLike[str], source: str | os.PathLike[str],
                output: str | os.PathLike[str]) -> CodesInfo:
    """Encode an image (a normalized system crop: 18-px staff height, white paper) or a recording to codes.

    The input is read and bounded (at most ``LIMITS.max_codec_audio_seconds`` of audio: it is encoded in one
    piece) before the codec loads."""
    out = Path(output)
    if out.suffix != ".npz":  # checked before any work
        raise InputError(out, "codes are written as .npz")
    check_distinct(out, [source])
    check_output_location(out)
    if kind == "image":
        img = read_image(source)
    else:
        audio, sr = read_audio(source, max_seconds=LIMITS.max_codec_audio_seconds)
    codec = load_codec(kind, codec_path)
    if kind == "image":
        from .image import image_to_codes

        codes = image_to_codes(codec, img)
        extra = {"height": img.shape[0], "width": img.shape[1]}
    else:
        from .audio import prepare_audio

        wav = prepare_audio(audio, sr, codec.config.sample_rate)
        codes = codec.encode(wav)[0].numpy()
        extra = {"num_samples": wav.shape[-1], "sample_rate": codec.config.sample_rate}
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, codes=codes.astype(np.int16), kind=np.array(kind), **{k: np.array(v) for k, v in extra.items()})
    return CodesInfo(kind, tuple(codes.shape), out)


def decode_file(kind: str, codec_path: str | os.PathLike[str], source: str | os.PathLike[str],
                output: str | os.PathLike[str]) -> CodesInfo:
    """Decode a `.npz` of codes to an image (PNG) or audio (WAV/FLAC) of the encoded input's size."""
    import torch

    out = Path(output)
    fmt = _image_format(out) if kind == "image" else _audio_format(out)  # checked before any work
    check_distinct(out, [source])
    check_output_location(out)
    data = _read_codes(source, kind)
    codec = load_codec(kind, codec_path)
    codes = data["codes"].astype(np.int64)
    try:
        if kind == "image":
            from PIL import Image

            from .image import codes_to_image

            img = codes_to_image(codec, codes, (int(data["height"]), int(data["width"])))
            with atomic_path(out) as tmp:
                Image.fromarray(img, mode="L").save(tmp, format=fmt)
        else:
            import soundfile as sf

            if int(data["sample_rate"]) != codec.config.sample_rate:
                raise InputError(source, f"codes of a {int(data['sample_rate'])} Hz codec, this codec runs at "
                                         f"{codec.config.sample_rate} Hz")
            wav = codec.decode(torch.from_numpy(codes)[None])[0, 0, : int(data["num_samples"])].numpy()
            with atomic_path(out) as tmp:
                sf.write(str(tmp), np.clip(wav, -1, 1), codec.config.sample_rate, format=fmt)
    except ValueError as exc:  # codes outside the codebooks, wrong codebook count
        raise InputError(source, str(exc)) from None
    return CodesInfo(kind, tuple(codes.shape), out)


def _read_codes(path: str | os.PathLike[str], kind: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a codes file ({exc})") from None
    if "codes" not in data or "kind" not in data:
        raise InputError(path, "not a codes file written by `scorebridge codec encode`")
    if str(data["kind"]) != kind:
        raise InputError(path, f"holds {data['kind']} codes, not {kind} codes")
    return data


def _image_format(out: Path) -> str:
    fmt = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}.get(out.suffix.lower())
    if fmt is None:
        raise InputError(out, "write images as .png or .tif (lossless)")
    return fmt


def _audio_format(out: Path) -> str:
    return audio_format(out)


def audio_format(out: str | os.PathLike[str]) -> str:
    """The libsndfile format an audio output's suffix asks for (WAV, FLAC, OGG Vorbis, MP3 where this
    libsndfile writes it); InputError for any other suffix."""
    import soundfile as sf

    suffix = Path(out).suffix.lower()
    fmt = AUDIO_FORMATS.get(suffix)
    if fmt is None:
        raise InputError(out, f"write audio as {', '.join(AUDIO_FORMATS)}")
    if fmt not in sf.available_formats():
        raise InputError(out, f"this libsndfile ({sf.__libsndfile_version__}) cannot write {suffix} files")
    return fmt


def write_audio(out: str | os.PathLike[str], audio: np.ndarray, sample_rate: int, subtype: str | None = None) -> Path:
    """Write samples in the format the suffix of ``out`` names, atomically (16-bit PCM for WAV and FLAC)."""
    import soundfile as sf

    fmt = audio_format(out)
    if subtype is None:
        subtype = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}[fmt]
    with atomic_path(out) as tmp:
        sf.write(str(tmp), np.clip(audio, -1, 1), sample_rate, subtype=subtype, format=fmt)
    return Path(out)
