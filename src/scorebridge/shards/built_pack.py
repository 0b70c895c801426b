"""A dense packing of a built dataset for a pixels + log-mel lease, and its unpacking on the GPU machine.

A recipe that reads images as pixels and audio as mel frames (``train.raw``) trains on a *built* dataset, whose
samples are a PNG (~1.8 KB for a one-staff system) and a FLAC (~150 KB for four seconds at 44.1 kHz) each: a
few hundred fit what travels to a lent GPU. This packing keeps what cannot be made again there and drops what
can: every field column-wise across samples in one xz stream (``shards.pack``'s container), the grey images at
``bits`` per pixel (4 by default: 16 levels, at most 8 of 255 off, engravings are almost two-level), the LMX,
the notes and the metadata exactly — and **no audio**: ``unpack`` synthesizes each sample's audio from its own
notes with a soundfont that travels once (``render.synthesize``; tinysoundfont where FluidSynth is missing).

That audio is a stand-in, not the built audio: the build synthesized each piece once and cut the sample out
of it, so a sample also held the release of notes that ended just before it; here only the sample's notes
sound. Notes tied in from before the sample start ``PRE_ROLL_MS`` early, so they enter sounding, not struck.
Each resynthesized sample records how in ``meta['audio_resynthesized']``. ``--audio flac`` carries the built
audio instead (FLAC, 16-bit) for small packs that must be exact.

    python -m scorebridge.shards.built_pack pack DATA gpu/data.sbbuilt [--split train] [--bits 4] [--audio flac]
    python -m scorebridge.shards.built_pack unpack gpu/data.sbbuilt OUT [--soundfont SF2] [--workers N]

``unpack`` writes a built dataset again (config.json, one shard per piece, manifest.jsonl) that the trainer
reads unchanged; without ``--soundfont`` (and without carried audio) its samples have no audio.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.cutting import cut_audio
from ..data.dataset import iter_samples, load_manifest
from ..data.schema import Sample, from_record, to_record
from ..errors import InputError, exit_status
from ..fileio import atomic_dir, atomic_path, work_dir
from ..midi import write_midi
from .pack import pack_codes, read_members, unpack_codes, write_members

log = logging.getLogger(__name__)

MAGIC = b"SBBUILT1\n"
WHAT = "built-dataset pack"
PRE_ROLL_MS = 250  # tied-in notes start this much before the sample: they enter sounding, not struck
COLUMNS = ("meta.jsonl", "lmx.txt", "notes.jsonl", "image.bin", "audio.bin")
AUDIO_MODES = ("synth", "flac")


@dataclass(frozen=True)
class BuiltPackReport:
    out: Path
    samples: int
    bytes: int
    bits: int
    audio: str  # "synth" (none carried: made again on unpack) or "flac" (carried)


def quantize(image: np.ndarray, bits: int) -> np.ndarray:
    """A uint8 grey image as levels 0 .. 2**bits - 1 (rounded: 255 -> the top level, 0 -> 0)."""
    top = (1 << bits) - 1
    return ((image.astype(np.uint32) * top + 127) // 255).astype(np.uint8)


def dequantize(levels: np.ndarray, bits: int) -> np.ndarray:
    """Levels back to uint8 grey, spread over 0 .. 255 (rounded)."""
    top = (1 << bits) - 1
    return ((levels.astype(np.uint32) * 255 + top // 2) // top).astype(np.uint8)


def pack_built(folder: str | os.PathLike[str], out: str | os.PathLike[str], bits: int = 4,
               splits: Sequence[str] | None = None, audio: str = "synth") -> BuiltPackReport:
    """Pack the built dataset ``folder`` (samples of ``splits``, all if None) into the xz file ``out``."""
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be 1..8, not {bits}")
    if audio not in AUDIO_MODES:
        raise ValueError(f"audio must be one of {AUDIO_MODES}, not {audio!r}")
    root = Path(folder)
    if (root / "bake.json").is_file():
        raise InputError(root, "a baked token folder, not a built dataset: use `python -m scorebridge.shards.pack`")
    config = root / "config.json"
    buffers = {name: io.BytesIO() for name in COLUMNS}
    from tqdm import tqdm

    rows = [r for r in load_manifest(root) if splits is None or r["split"] in splits]
    n = 0
    for sample in tqdm(_samples_of(root, splits), total=len(rows), desc="pack", unit="sample", disable=None):
        record = to_record(dataclasses.replace(sample, image=None, audio=None))
        meta = json.loads(record["json"])
        meta["row"] = sample.row()  # the manifest row as built (image size, audio length, modalities)
        if sample.image is not None:
            buffers["image.bin"].write(pack_codes(quantize(sample.image, bits), bits))
        if sample.audio is not None and audio == "flac":
            import soundfile as sf

            flac = io.BytesIO()
            sf.write(flac, sample.audio, sample.sample_rate, format="FLAC", subtype="PCM_16")
            meta["flac_bytes"] = len(flac.getvalue())
            buffers["audio.bin"].write(flac.getvalue())
        buffers["meta.jsonl"].write(json.dumps(meta, sort_keys=True).encode() + b"\n")
        buffers["lmx.txt"].write(record.get("lmx", b"\0\n"))
        buffers["notes.jsonl"].write(record.get("notes.json", b"null") + b"\n")
        n += 1
    header = {"bits": bits, "samples": n, "audio": audio, "dataset": root.resolve().name}
    members = {"pack.json": json.dumps(header).encode(),
               "config.json": config.read_bytes() if config.is_file() else b"{}"}
    members.update({name: buf.getvalue() for name, buf in buffers.items()})
    target = Path(out)
    write_members(target, MAGIC, members)
    size = target.stat().st_size
    log.info("packed %d samples into %s: %d bytes (%.0f per sample)", n, target, size, size / max(n, 1))
    return BuiltPackReport(target, n, size, bits, audio)


def _samples_of(root: Path, splits: Sequence[str] | None) -> Iterator[Sample]:
    if splits is None:
        yield from iter_samples(root)
        return
    for split in splits:
        yield from iter_samples(root, split)


def resynthesize(sample: Sample, soundfont: str | os.PathLike[str]) -> np.ndarray:
    """The audio of ``sample`` made from its own notes: mono float32, exactly ``audio_samples_expected`` long.
    Tied-in notes start ``PRE_ROLL_MS`` before the sample, every other note at its time."""
    from ..render import synthesize

    length = sample.audio_samples_expected
    if not sample.notes:
        return np.zeros(length, np.float32)
    tied = set(sample.tied_in or ())
    notes = [dataclasses.replace(n, onset=0 if i in tied else n.onset + PRE_ROLL_MS, offset=n.offset + PRE_ROLL_MS)
             for i, n in enumerate(sample.notes)]
    with work_dir("resynth") as tmp:
        path = Path(tmp) / "notes.mid"
        write_midi(notes, path)
        audio = synthesize(path, soundfont, sample.sample_rate)
    cut = cut_audio(audio, PRE_ROLL_MS, PRE_ROLL_MS + sample.duration_ms, sample.sample_rate)
    out = np.zeros(length, np.float32)
    out[: min(length, len(cut))] = cut[:length]
    return out


def _entries(members: dict[str, bytes]) -> Iterator[dict[str, Any]]:
    """Each packed sample as a dict: meta (the record's JSON + the row), lmx, notes, image levels, flac."""
    bits = json.loads(members["pack.json"])["bits"]
    images, audios = memoryview(members["image.bin"]), memoryview(members["audio.bin"])
    columns = [members[name].split(b"\n")[:-1] for name in ("meta.jsonl", "lmx.txt", "notes.jsonl")]
    at_image = at_audio = 0
    for meta_line, lmx_line, notes_line in zip(*columns, strict=True):
        meta = json.loads(meta_line)
        entry: dict[str, Any] = {"meta": meta, "lmx": None if lmx_line == b"\0" else bytes(lmx_line) + b"\n",
                                 "notes": None if notes_line == b"null" else bytes(notes_line),
                                 "image": None, "flac": None, "bits": bits}
        hw = meta["row"].get("image_hw")
        if hw:
            count = int(hw[0]) * int(hw[1])
            length = (count * bits + 7) // 8
            entry["image"] = bytes(images[at_image:at_image + length])
            at_image += length
        if meta.get("flac_bytes"):
            entry["flac"] = bytes(audios[at_audio:at_audio + meta["flac_bytes"]])
            at_audio += meta["flac_bytes"]
        yield entry


def _sample_of(entry: dict[str, Any], soundfont: str | None) -> Sample:
    meta = dict(entry["meta"])
    row = meta.pop("row")
    meta.pop("flac_bytes", None)
    record: dict[str, Any] = {"json": json.dumps(meta).encode()}
    if entry["lmx"] is not None:
        record["lmx"] = entry["lmx"]
    if entry["notes"] is not None:
        record["notes.json"] = entry["notes"]
    if entry["flac"] is not None:
        record["flac"] = entry["flac"]
    sample = from_record(record)
    image = None
    if entry["image"] is not None:
        h, w = row["image_hw"]
        levels = unpack_codes(entry["image"], h * w, entry["bits"]).reshape(h, w)
        image = dequantize(levels, entry["bits"])
    audio = sample.audio
    extra = dict(sample.meta)
    if audio is None and soundfont is not None and "audio" in row["modalities"]:
        audio = resynthesize(sample, soundfont)
        extra["audio_resynthesized"] = {"soundfont": Path(soundfont).name, "pre_roll_ms": PRE_ROLL_MS}
    return dataclasses.replace(sample, image=image, audio=audio, meta=extra)


def _write_piece(args: tuple[Path, str, list[dict[str, Any]], str | None]) -> list[dict[str, Any]]:
    """One shard (a piece's samples, in order), written atomically; returns its manifest rows."""
    import webdataset as wds

    folder, rel, entries, soundfont = args
    rows = []
    with atomic_path(folder / rel) as tmp, wds.TarWriter(str(tmp)) as sink:
        for entry in entries:
            sample = _sample_of(entry, soundfont)
            sink.write(to_record(sample))
            rows.append({**sample.row(), "shard": rel})
    return rows


def unpack_built(packed: str | os.PathLike[str], out: str | os.PathLike[str],
                 soundfont: str | os.PathLike[str] | None = None, workers: int = 1) -> int:
    """A built dataset from a pack; returns the number of samples. The folder appears only when complete.
    ``soundfont``: the .sf2 (or preset name) that makes the audio again; None leaves samples without audio
    unless the pack carried it."""
    packed = Path(packed)
    if not packed.is_file():
        raise InputError(packed, f"{WHAT} not found")
    members = read_members(packed, MAGIC, WHAT)
    missing = [name for name in ("pack.json", "config.json", *COLUMNS) if name not in members]
    if missing:
        raise InputError(packed, f"{WHAT} lacks {', '.join(missing)}")
    if soundfont is not None and str(soundfont).endswith(".sf2") and not Path(soundfont).is_file():
        raise InputError(soundfont, "soundfont not found")
    pieces: dict[str, list[dict[str, Any]]] = {}
    for entry in _entries(members):
        key = entry["meta"]["piece"]
        source = entry["meta"]["source"]
        pieces.setdefault(f"shards/{source}-{key}.tar", []).append(entry)
    from tqdm import tqdm

    sf = None if soundfont is None else str(soundfont)
    rows: list[dict[str, Any]] = []
    with atomic_dir(out) as tmp:
        (tmp / "shards").mkdir()
        (tmp / "config.json").write_bytes(members["config.json"])
        jobs = [(tmp, rel, entries, sf) for rel, entries in pieces.items()]
        bar = tqdm(total=sum(len(e) for e in pieces.values()), desc="unpack", unit="sample", disable=None)
        with bar, ProcessPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
            for done in (pool.map(_write_piece, jobs, chunksize=4) if pool else map(_write_piece, jobs)):
                rows.extend(done)
                bar.update(len(done))
        (tmp / "manifest.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    log.info("unpacked %d samples of %d pieces into %s", len(rows), len(pieces), out)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("pack")
    a.add_argument("folder", help="a built dataset (scorebridge data build)")
    a.add_argument("out")
    a.add_argument("--bits", type=int, default=4, help="grey bits per pixel (default 4: 16 levels)")
    a.add_argument("--split", default=None, help="comma-separated splits to keep (default: all)")
    a.add_argument("--audio", choices=AUDIO_MODES, default="synth",
                   help="synth: carry no audio, make it again on unpack (default); flac: carry it")
    b = sub.add_parser("unpack")
    b.add_argument("packed")
    b.add_argument("out")
    b.add_argument("--soundfont", default=None, help="the .sf2 (or preset name) that makes the audio again")
    b.add_argument("--workers", type=int, default=1)
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    def command() -> None:
        if args.command == "pack":
            splits = None if args.split is None else [s for s in args.split.split(",") if s]
            r = pack_built(args.folder, args.out, bits=args.bits, splits=splits, audio=args.audio)
            print(f"{r.out}: {r.samples} samples, {r.bytes:,} bytes ({r.bytes / max(r.samples, 1):,.0f} per sample)")
        else:
            n = unpack_built(args.packed, args.out, soundfont=args.soundfont, workers=max(1, args.workers))
            print(f"{args.out}: {n} samples")

    return exit_status(command, args.debug)

if __name__ == "__main__":
    sys.exit(main())
