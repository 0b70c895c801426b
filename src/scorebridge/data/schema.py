"""The sample schema: one system (or a run of systems) or one long window, with up to four aligned modalities.

A sample is stored as one WebDataset record: files that share the key ``sample.id`` inside a tar shard,
one per modality, in formats any tool opens (PNG, text, JSON, FLAC). Times are integer milliseconds
(notes) and integer samples (audio) inside the engine.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.midi import Note

SPLITS = ("train", "valid", "test")
KINDS = ("system", "window")  # a system sample (score-aligned) or a long (performance MIDI, audio) window
SCHEMA_VERSION = 2  # 2: ``tied_in`` is a field (note indices); 1 kept it in ``meta`` (see ``_legacy_tied_in``)
READABLE_SCHEMAS = (1, 2)  # from_record reads these; a build begun under one of them resumes


@dataclass(frozen=True)
class Sample:
    """One aligned sample.

    - ``image``: normalized system crop, uint8 (H, W), 255 = white; several systems are stacked vertically
      in reading order (``meta['system_heights']`` gives the cut rows).
    - ``lmx``: LMX tokens of exactly the measures and staves in the image.
    - ``notes``: notes sounding in [start_ms, end_ms) of the source timeline, times relative to start_ms
      (a note tied in from before starts at 0; one still sounding at the end is cut at end_ms - start_ms).
    - ``tied_in``: indices into ``notes`` of the notes tied in from before the sample (struck earlier, still
      sounding at start_ms, so onset 0 here); None when the data did not record them (``data.cutting``).
    - ``audio``: float32 mono at ``sample_rate``, exactly the samples of [start_ms, end_ms).
    - ``timeline``: 'score' (score time at the score's or a sampled tempo) or 'performance' (a human one).
    """

    id: str  # "<source>/<piece>/<kind>-<index>" (contract.sample_id): unique, a valid WebDataset key
    source: str
    piece: str
    split: str
    kind: str
    start_ms: int | None  # None for both: an untimed sample (image + LMX of a dataset without timing)
    end_ms: int | None
    timeline: str = "score"
    measure_start: int | None = None  # 0-based positions of <measure> in the part, end exclusive
    measure_end: int | None = None
    soundfont: str | None = None
    sample_rate: int = AUDIO_SAMPLE_RATE
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    lmx: tuple[str, ...] | None = None
    notes: tuple[Note, ...] | None = None
    tied_in: tuple[int, ...] | None = None
    audio: np.ndarray | None = field(default=None, repr=False, compare=False)
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"{self.id}: split must be one of {SPLITS}, not {self.split!r}")
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.start_ms is None or self.end_ms is None:
            if self.start_ms != self.end_ms or self.notes is not None or self.audio is not None:
                raise ValueError(f"{self.id}: only an untimed sample without MIDI or audio may lack a time span")
        elif not 0 <= self.start_ms < self.end_ms:
            raise ValueError(f"{self.id}: bad time span [{self.start_ms}, {self.end_ms}) ms")
        if self.timeline not in ("score", "performance"):
            raise ValueError(f"{self.id}: timeline must be 'score' or 'performance'")
        if self.image is not None and (self.image.dtype != np.uint8 or self.image.ndim != 2):
            raise ValueError(f"{self.id}: image must be uint8 (H, W), got {self.image.dtype} {self.image.shape}")
        if self.audio is not None:
            if self.audio.ndim != 1:
                raise ValueError(f"{self.id}: audio must be mono (N,), got shape {self.audio.shape}")
            if len(self.audio) != self.audio_samples_expected:
                raise ValueError(
                    f"{self.id}: audio has {len(self.audio)} samples, expected {self.audio_samples_expected} "
                    f"for [{self.start_ms}, {self.end_ms}) ms at {self.sample_rate} Hz"
                )
        if self.notes is not None:
            span = self.end_ms - self.start_ms
            bad = [n for n in self.notes if n.offset > span]
            if bad:
                raise ValueError(f"{self.id}: {len(bad)} notes end after the sample ({bad[0]})")
        if self.tied_in is not None:
            notes = self.notes or ()
            if any(not 0 <= i < len(notes) or notes[i].onset != 0 for i in self.tied_in) or \
                    list(self.tied_in) != sorted(set(self.tied_in)):
                raise ValueError(f"{self.id}: tied_in {list(self.tied_in)} must be sorted indices of notes at onset 0")

    @property
    def timed(self) -> bool:
        return self.start_ms is not None

    @property
    def duration_ms(self) -> int:
        return 0 if self.start_ms is None or self.end_ms is None else self.end_ms - self.start_ms

    @property
    def audio_samples_expected(self) -> int:
        if self.start_ms is None or self.end_ms is None:
            return 0
        return ms_to_sample_floor(self.end_ms, self.sample_rate) - ms_to_sample_floor(self.start_ms, self.sample_rate)

    @property
    def modalities(self) -> tuple[str, ...]:
        present = {"image": self.image, "lmx": self.lmx, "midi": self.notes, "audio": self.audio}
        return tuple(k for k, v in present.items() if v is not None)

    def row(self) -> dict[str, Any]:
        """The manifest row: everything but the payloads, plus their sizes."""
        return {
            "id": self.id, "source": self.source, "piece": self.piece, "split": self.split, "kind": self.kind,
            "timeline": self.timeline, "measure_start": self.measure_start, "measure_end": self.measure_end,
            "start_ms": self.start_ms, "end_ms": self.end_ms, "soundfont": self.soundfont,
            "modalities": list(self.modalities),
            "image_hw": list(self.image.shape) if self.image is not None else None,
            "lmx_tokens": len(self.lmx) if self.lmx is not None else None,
            "notes": len(self.notes) if self.notes is not None else None,
            "audio_samples": len(self.audio) if self.audio is not None else None,
            "sample_rate": self.sample_rate,
        }


def ms_to_sample_floor(ms: int, sample_rate: int) -> int:
    """Sample index of a millisecond time, rounded down, exact in integers: 44,100 / 1000 is not an integer.
    (``inference.windows.ms_to_samples`` instead raises where the time is not a whole number of samples.)"""
    return ms * sample_rate // 1000


def to_record(sample: Sample, audio_subtype: str = "PCM_24") -> dict[str, Any]:
    """The WebDataset record of a sample: key plus one entry per file extension. ``audio_subtype``: the FLAC
    sample format (PCM_16 for smaller copies, as `scripts/subset_dataset.py` makes)."""
    import soundfile as sf
    from PIL import Image

    meta = {**sample.row(), "schema": SCHEMA_VERSION, "meta": dict(sample.meta),
            "tied_in": None if sample.tied_in is None else list(sample.tied_in)}
    record: dict[str, Any] = {"__key__": sample.id, "json": json.dumps(meta, sort_keys=True).encode()}
    if sample.image is not None:
        buf = io.BytesIO()
        Image.fromarray(sample.image, mode="L").save(buf, format="PNG", optimize=False)
        record["png"] = buf.getvalue()
    if sample.lmx is not None:
        record["lmx"] = (" ".join(sample.lmx) + "\n").encode()
    if sample.notes is not None:
        record["notes.json"] = json.dumps([_note_row(n) for n in sample.notes]).encode()
    if sample.audio is not None:
        buf = io.BytesIO()
        # FLAC 24-bit: lossless for what a 16-bit renderer produces and a third of float WAV's size.
        sf.write(buf, sample.audio, sample.sample_rate, format="FLAC", subtype=audio_subtype)
        record["flac"] = buf.getvalue()
    return record


def from_record(record: Mapping[str, Any]) -> Sample:
    """Inverse of ``to_record`` (accepts the dicts that ``webdataset.WebDataset`` yields); reads schema 1 too."""
    import soundfile as sf
    from PIL import Image

    meta = json.loads(_bytes(record["json"]))
    image = None
    if "png" in record:
        image = np.asarray(Image.open(io.BytesIO(_bytes(record["png"]))).convert("L"), dtype=np.uint8)
    lmx = tuple(_bytes(record["lmx"]).decode().split()) if "lmx" in record else None
    notes = None
    if "notes.json" in record:
        notes = tuple(Note(*row) for row in json.loads(_bytes(record["notes.json"])))
    audio = None
    if "flac" in record:
        audio, _ = sf.read(io.BytesIO(_bytes(record["flac"])), dtype="float32")
    extra = dict(meta["meta"])
    if notes is None:  # a record read without its notes (e.g. a trainer's image -> LMX example): no ties either
        extra.pop("tied_in", None)
        tied = None
    elif "tied_in" in meta:
        tied = None if meta["tied_in"] is None else tuple(meta["tied_in"])
    else:
        tied = _legacy_tied_in(meta["kind"], notes, extra.pop("tied_in", None))
    return Sample(
        id=meta["id"], source=meta["source"], piece=meta["piece"], split=meta["split"], kind=meta["kind"],
        start_ms=meta["start_ms"], end_ms=meta["end_ms"], timeline=meta["timeline"],
        measure_start=meta["measure_start"], measure_end=meta["measure_end"], soundfont=meta["soundfont"],
        sample_rate=meta["sample_rate"], image=image, lmx=lmx, notes=notes, tied_in=tied, audio=audio, meta=extra,
    )


def _legacy_tied_in(kind: str, notes: tuple[Note, ...] | None, value: Any) -> tuple[int, ...] | None:
    """Schema 1 kept ``meta['tied_in']`` in three forms: the pitches tied in (score systems), their indices (ASAP
    windows), or their count (dataset adapters). Indices are recovered where the form allows it, else None (not
    recorded: a join then infers ties, as before)."""
    if value is None or notes is None:
        return None
    at_zero = [i for i, n in enumerate(notes) if n.onset == 0]
    if isinstance(value, int):  # a count: exact when it is none or all of the notes at 0
        return () if value == 0 else tuple(at_zero) if value == len(at_zero) else None
    if not isinstance(value, list):
        return None
    if kind == "window":
        indices = sorted({int(i) for i in value})
        return tuple(indices) if all(i in at_zero for i in indices) and len(indices) == len(value) else None
    free, out = list(at_zero), []  # pitches: each takes a note at 0 of that pitch
    for pitch in value:
        match = next((i for i in free if notes[i].pitch == int(pitch)), None)
        if match is None:
            return None
        free.remove(match)
        out.append(match)
    return tuple(sorted(out))


def _note_row(n: Note) -> list[Any]:
    return [n.onset, n.offset, n.pitch, n.velocity, n.program, n.is_drum]


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else bytes(value)


