"""A dense packing of a baked token folder for the 64 MiB that travel to a lent GPU, and its unpacking there.

A baked folder (``shards.bake``) holds per sample a tar record of npy arrays and JSON; ``tar -cJf`` of it took
~3.5 KB per sample at the shipped settings (issue 19). Here every field is stored column-wise across samples —
all metadata together, all LMX together, all image codes together — so that xz sees like beside like, with the
codes bit-packed at the codebook's width (10 bits for 1,024 codes, instead of int16) and, by default, only the
clean image variant (degraded variants are for the image as a *source*; the GPU machine cannot redraw them, so
a packing with ``clean_only`` trains OMR on clean images only — say so where it matters). The codebook vectors
(5 MB, which only initialise the embeddings of a *new* model) are left out unless asked for: a lease starts
from trained weights, and the codecs that hold them travel with the repository anyway.

    python -m scorebridge.shards.pack pack TOKENS gpu/tokens.sbpack [--all-variants]
    python -m scorebridge.shards.pack unpack gpu/tokens.sbpack OUT        # a baked folder again (the trainer's)

``unpack`` writes the same samples (codes, LMX, notes, metadata) into one shard per dataset and a manifest; a
round trip is tested against the original folder.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import lzma
import os
import struct
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, exit_status
from ..fileio import atomic_dir, atomic_path
from .format import CODEBOOKS_NAME, BakedSample, npy_bytes, read_baked_manifest
from .reader import iter_baked

log = logging.getLogger(__name__)

MAGIC = b"SBPACK1\n"
XZ_PRESET = 9 | lzma.PRESET_EXTREME


@dataclass(frozen=True)
class PackReport:
    out: Path
    samples: int
    bytes: int
    bits: int  # per code


def code_bits(codebook_size: int) -> int:
    """Bits that hold codes 0 .. codebook_size - 1."""
    return max(1, int(codebook_size - 1).bit_length())


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Non-negative integer codes (any shape) as a little-endian bit stream of ``bits`` per code."""
    flat = codes.astype(np.uint32).ravel()
    if flat.size and int(flat.max()) >= 1 << bits:
        raise ValueError(f"a code of {int(flat.max())} does not fit {bits} bits")
    planes = ((flat[:, None] >> np.arange(bits, dtype=np.uint32)) & 1).astype(np.uint8)
    return np.packbits(planes.ravel(), bitorder="little").tobytes()


def unpack_codes(data: bytes, count: int, bits: int) -> np.ndarray:
    """``count`` codes of ``bits`` each from ``pack_codes``' stream, as int16."""
    planes = np.unpackbits(np.frombuffer(data, np.uint8), count=count * bits, bitorder="little")
    weights = (1 << np.arange(bits, dtype=np.int32))
    return (planes.reshape(count, bits).astype(np.int32) @ weights).astype(np.int16)


def _packed_len(count: int, bits: int) -> int:
    return (count * bits + 7) // 8


class _Columns:
    """The column-wise streams of a packing (one bytes buffer each, then one tar member each)."""

    NAMES = ("meta.jsonl", "rows.jsonl", "lmx.txt", "notes.jsonl", "image.bin", "audio.bin")

    def __init__(self) -> None:
        self.buffers = {name: io.BytesIO() for name in self.NAMES}

    def write(self, name: str, data: bytes) -> None:
        self.buffers[name].write(data)


def pack(folder: str | os.PathLike[str], out: str | os.PathLike[str], clean_only: bool = True,
         codebooks: bool = False) -> PackReport:
    """Pack the baked ``folder`` into the single xz file ``out`` (written atomically); ``codebooks`` keeps the
    codebook vectors."""
    root = Path(folder)
    settings_file = root / "bake.json"
    if not settings_file.is_file():
        raise InputError(root, "not a baked token folder (no bake.json)")
    settings = json.loads(settings_file.read_text())
    sizes = [c["codebook_size"] for c in (settings.get("image_codec"), settings.get("audio_codec")) if c]
    bits = code_bits(max(sizes)) if sizes else 1
    rows = {r["id"]: r for r in read_baked_manifest(root)}
    cols = _Columns()
    n = 0
    for sample in iter_baked(root):
        meta, row = dict(sample.meta), dict(rows[sample.id])
        if sample.image is not None:
            image = sample.image[:, :1] if clean_only else sample.image
            meta["image_codes"] = row["image_codes"] = list(image.shape)
            cols.write("image.bin", pack_codes(image, bits))
        if sample.audio is not None:
            cols.write("audio.bin", pack_codes(sample.audio, bits))
        cols.write("meta.jsonl", json.dumps(meta, sort_keys=True).encode() + b"\n")
        cols.write("rows.jsonl", json.dumps(row, sort_keys=True).encode() + b"\n")
        cols.write("lmx.txt", (" ".join(sample.lmx) if sample.lmx is not None else "\0").encode() + b"\n")
        notes = sample.notes_json if sample.notes_json is not None else b"null"
        if b"\n" in notes:  # one line per sample: the same notes, without the line breaks
            notes = json.dumps(json.loads(notes)).encode()
        cols.write("notes.jsonl", notes + b"\n")
        n += 1
    header = json.dumps({"bits": bits, "samples": n, "clean_only": clean_only}).encode()
    keep = codebooks and (root / CODEBOOKS_NAME).is_file()
    members = {"pack.json": header, "bake.json": settings_file.read_bytes(),
               CODEBOOKS_NAME: (root / CODEBOOKS_NAME).read_bytes() if keep else b""}
    members.update({name: buf.getvalue() for name, buf in cols.buffers.items()})
    target = Path(out)
    write_members(target, MAGIC, members)
    size = target.stat().st_size
    log.info("packed %d samples into %s: %d bytes (%.0f per sample)", n, target, size, size / max(n, 1))
    return PackReport(target, n, size, bits)


def write_members(target: Path, magic: bytes, members: dict[str, bytes]) -> None:
    """One xz stream: ``magic``, then each member as (name length, size, name, bytes); written atomically."""
    with atomic_path(target) as tmp:
        with lzma.open(tmp, "wb", preset=XZ_PRESET) as xz:
            xz.write(magic)
            for name, data in members.items():
                encoded = name.encode()
                xz.write(struct.pack("<HQ", len(encoded), len(data)) + encoded + data)


def read_members(packed: Path, magic: bytes = MAGIC, what: str = "token pack") -> dict[str, bytes]:
    """The members ``write_members`` wrote; an InputError naming the file when it is not such a pack."""
    try:
        with lzma.open(packed, "rb") as xz:
            if xz.read(len(magic)) != magic:
                raise InputError(packed, f"not a scorebridge {what}")
            members = {}
            while head := xz.read(10):
                name_len, size = struct.unpack("<HQ", head)
                name = xz.read(name_len).decode()
                members[name] = xz.read(size)
                if len(members[name]) != size:
                    raise InputError(packed, f"{what} is truncated")
    except (lzma.LZMAError, EOFError, struct.error) as exc:
        raise InputError(packed, f"unreadable {what} ({exc})") from None
    return members


def _samples(members: dict[str, bytes]) -> Iterator[tuple[dict[str, Any], BakedSample]]:
    bits = json.loads(members["pack.json"])["bits"]
    images, audios = memoryview(members["image.bin"]), memoryview(members["audio.bin"])
    columns = [members[name].split(b"\n")[:-1] for name in ("meta.jsonl", "rows.jsonl", "lmx.txt", "notes.jsonl")]
    at_image = at_audio = 0
    for meta_line, row_line, lmx_line, notes_line in zip(*columns, strict=True):
        meta, row = json.loads(meta_line), json.loads(row_line)
        image = audio = None
        if meta.get("image_codes"):
            shape = tuple(meta["image_codes"])
            length = _packed_len(int(np.prod(shape)), bits)
            image = unpack_codes(bytes(images[at_image:at_image + length]), int(np.prod(shape)), bits).reshape(shape)
            at_image += length
        if meta.get("audio_codes"):
            shape = tuple(meta["audio_codes"])
            length = _packed_len(int(np.prod(shape)), bits)
            audio = unpack_codes(bytes(audios[at_audio:at_audio + length]), int(np.prod(shape)), bits).reshape(shape)
            at_audio += length
        lmx = None if lmx_line == b"\0" else tuple(lmx_line.decode().split())
        notes = None if notes_line == b"null" else bytes(notes_line)
        yield row, BakedSample(row["id"], row["split"], meta, image, audio, lmx, notes)


def unpack(packed: str | os.PathLike[str], out: str | os.PathLike[str]) -> int:
    """A baked folder (bake.json, codebooks, one shard per dataset, manifest.jsonl) from a pack; returns the
    number of samples. The folder appears only when complete."""
    import webdataset as wds

    packed = Path(packed)
    if not packed.is_file():
        raise InputError(packed, "token pack not found")
    members = read_members(packed)
    missing = [name for name in ("pack.json", "bake.json", *_Columns.NAMES) if name not in members]
    if missing:
        raise InputError(packed, f"token pack lacks {', '.join(missing)}")
    rows = []
    with atomic_dir(out) as tmp:
        (tmp / "bake.json").write_bytes(members["bake.json"])
        if members.get(CODEBOOKS_NAME):
            (tmp / CODEBOOKS_NAME).write_bytes(members[CODEBOOKS_NAME])
        sinks: dict[str, Any] = {}
        try:
            for row, sample in _samples(members):
                shard = f"shards/{row['dataset']}/000000.tar"
                if shard not in sinks:
                    (tmp / shard).parent.mkdir(parents=True, exist_ok=True)
                    sinks[shard] = wds.TarWriter(str(tmp / shard))
                record = {"__key__": sample.id, "json": json.dumps(sample.meta, sort_keys=True).encode()}
                if sample.image is not None:
                    record["image.npy"] = npy_bytes(sample.image)
                if sample.audio is not None:
                    record["audio.npy"] = npy_bytes(sample.audio)
                if sample.lmx is not None:
                    record["lmx"] = " ".join(sample.lmx).encode()
                if sample.notes_json is not None:
                    record["notes.json"] = sample.notes_json
                sinks[shard].write(record)
                rows.append({**row, "shard": shard})
        finally:
            for sink in sinks.values():
                sink.close()
        (tmp / "manifest.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return len(rows)


def tar_xz_size(folder: str | os.PathLike[str], exclude: tuple[str, ...] = ()) -> int:
    """Bytes of ``tar -cJf`` of a folder (how baked tokens travelled before this packing), for comparison;
    members named in ``exclude`` are left out."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz", preset=XZ_PRESET) as tar:
        tar.add(str(folder), arcname=Path(folder).name,
                filter=lambda info: None if Path(info.name).name in exclude else info)
    return len(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("pack")
    a.add_argument("folder")
    a.add_argument("out")
    a.add_argument("--all-variants", action="store_true", help="keep the degraded image variants too")
    a.add_argument("--codebooks", action="store_true", help="keep the codebook vectors (a new model's init)")
    b = sub.add_parser("unpack")
    b.add_argument("packed")
    b.add_argument("out", nargs="?", default=None, help="default: the pack's name without its suffix")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    def command() -> None:
        if args.command == "pack":
            r = pack(args.folder, args.out, clean_only=not args.all_variants, codebooks=args.codebooks)
            print(f"{r.out}: {r.samples} samples, {r.bytes:,} bytes ({r.bytes / max(r.samples, 1):,.0f} per sample)")
        else:
            out = args.out or str(Path(args.packed).with_suffix(""))
            print(f"{out}: {unpack(args.packed, out)} samples")

    return exit_status(command)

if __name__ == "__main__":
    sys.exit(main())
