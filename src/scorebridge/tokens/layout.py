"""The translator's sequence layout: every modality as a run of 4-slot steps with (x, y) positions.

A step is ``n_slots`` ids of the unified vocabulary (``tokens.vocabulary``):

- LMX and MIDI fill slot 0 and leave PAD in the others; x = step index, y = 0.
- Audio frames hold codebook k's id in slot k; x = frame index, y = 0.
- Image systems are read column by column (``tokens.image_grid``): slot k holds codebook k's id, x = column,
  y = row. As a **source** (encoder) several systems are padded to the tallest (padding cells are PAD in
  every slot) and joined by SEP; as a **target** (generated) each system starts with its height token and has
  no padding. Marker steps (SEP, height, SOS, EOS) hold their special in slot 0, PAD in the other slots, and
  sit at x = y = 0 (the reference gives specials position 0).

Targets get an SOS step in front and an EOS step at the end (``with_sos_eos``), both slot-0 specials with
PAD elsewhere, like SEP and height steps. Why not EOS in every slot: every marker step then has one shape
(special in slot 0, PAD after it), the loss that ignores PAD learns the end from slot 0 alone, and the
output masks of slots 1..3 stay "this codebook, or PAD after a marker" for every target. Decoding stops when
slot 0 of a step is the target's EOS (``decoding.search.generate``); the issue's "all slots are
the end token" reads "slot 0 is the end token" in this layout. MIDI windows already end with the
tokenizer's EOS, which maps to ``eos(MIDI)`` in place: they get no second one, and ``strip_sos_eos`` keeps it.

Length limits (``LengthLimits``) count the steps the model sees: a source as encoded, a target including
its SOS and EOS steps (the reference's image limit of 1,000 counts them too). Longer raises ValueError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scorebridge.modality import Modality
from scorebridge.tokens.features import FeatureSpec, audio_feature_steps, image_feature_steps
from scorebridge.tokens.image_grid import PAD_CODE, ImageSequence, StepKind, join_systems, split_systems
from scorebridge.tokens.vocabulary import Vocabulary


@dataclass(frozen=True)
class LengthLimits:
    """Maximum steps per modality (the reference's data configs), and the image width in columns.

    midi: the reference used 1,000 for image->audio and 1,400 for audio->image; the larger is the default.
    The model's position tables need x < ``max_x(modality)`` and, for images, y < max_image_height.
    """

    image: int = 1000
    notation: int = 1000
    midi: int = 1400
    audio: int = 1750
    image_columns: int = 150

    def __post_init__(self) -> None:
        for name in ("image", "notation", "midi", "audio", "image_columns"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 3:
                raise ValueError(f"{name} limit must be an integer >= 3, got {value!r}")

    def max_steps(self, modality: Modality) -> int:
        return int(getattr(self, Modality(modality).value))

    def max_x(self, modality: Modality) -> int:
        """An upper bound (exclusive) of x positions of a modality."""
        return self.image_columns if Modality(modality) is Modality.IMAGE else self.max_steps(modality)


DEFAULT_LIMITS = LengthLimits()


@dataclass(frozen=True, eq=False)
class Steps:
    """One sequence: ``tokens`` (T, n_slots) int64 ids, ``x`` and ``y`` (T,) int64 positions, its modality, and
    for a source read as signal (``tokens.features``) its ``features`` (T, F) float32 (tokens PAD there)."""

    tokens: np.ndarray
    x: np.ndarray
    y: np.ndarray
    modality: Modality
    features: np.ndarray | None = None

    def __post_init__(self) -> None:
        tokens = np.asarray(self.tokens, np.int64)
        x, y = np.asarray(self.x, np.int64), np.asarray(self.y, np.int64)
        if tokens.ndim != 2 or x.shape != (len(tokens),) or y.shape != (len(tokens),):
            raise ValueError(f"Steps need tokens (T, slots) and x, y (T,), got {tokens.shape}, {x.shape}, {y.shape}")
        if self.features is not None:
            features = np.asarray(self.features, np.float32)
            if features.ndim != 2 or len(features) != len(tokens):
                raise ValueError(f"Steps features must be (T, F) with T = {len(tokens)}, got {features.shape}")
            object.__setattr__(self, "features", features)
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "modality", Modality(self.modality))

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Steps) and self.modality == other.modality
                and np.array_equal(self.tokens, other.tokens)
                and np.array_equal(self.x, other.x) and np.array_equal(self.y, other.y)
                and (self.features is None) == (other.features is None)
                and (self.features is None or np.array_equal(self.features, other.features)))

    __hash__ = None  # type: ignore[assignment]  # holds mutable arrays


def _check_limit(n: int, modality: Modality, limits: LengthLimits, what: str = "") -> None:
    if n > limits.max_steps(modality):
        raise ValueError(f"{modality} sequence of {n} steps{what} is longer than the limit of "
                         f"{limits.max_steps(modality)}")


def _single_stream(ids: np.ndarray, modality: Modality, vocab: Vocabulary, limits: LengthLimits) -> Steps:
    _check_limit(len(ids), modality, limits)
    tokens = np.full((len(ids), vocab.n_slots), vocab.pad, np.int64)
    tokens[:, 0] = ids
    x, y = target_positions(ids, modality, vocab)
    return Steps(tokens, x, y, modality)


def _slot0(steps: Steps, modality: Modality, vocab: Vocabulary) -> np.ndarray:
    if steps.modality is not modality:
        raise ValueError(f"expected {modality} steps, got {steps.modality}")
    if steps.tokens.shape[1] != vocab.n_slots:
        raise ValueError(f"steps have {steps.tokens.shape[1]} slots, the vocabulary {vocab.n_slots}")
    if (steps.tokens[:, 1:] != vocab.pad).any():
        raise ValueError(f"{modality} steps must hold PAD in slots 1..{vocab.n_slots - 1}")
    return steps.tokens[:, 0]


# LMX ---------------------------------------------------------------------------------------------------
def encode_lmx(tokens: Sequence[str], vocab: Vocabulary, limits: LengthLimits = DEFAULT_LIMITS) -> Steps:
    """LMX tokens -> steps (slot 0); an unknown token raises ValueError."""
    return _single_stream(vocab.lmx_ids(list(tokens)), Modality.NOTATION, vocab, limits)


def decode_lmx(steps: Steps, vocab: Vocabulary) -> list[str]:
    return vocab.lmx_tokens(_slot0(steps, Modality.NOTATION, vocab))


# MIDI --------------------------------------------------------------------------------------------------
def encode_midi(tokens: Sequence[int], vocab: Vocabulary, limits: LengthLimits = DEFAULT_LIMITS) -> Steps:
    """``MidiTokenizer`` ids (one window, usually ending with its EOS) -> steps (slot 0).

    The tokenizer's EOS becomes ``vocab.eos(MIDI)`` in place, so a window's tokens as a target already end
    with the end token; ``with_sos_eos`` adds another only if the last step is not one (see there)."""
    return _single_stream(vocab.midi_ids(tokens), Modality.MIDI, vocab, limits)


def decode_midi(steps: Steps, vocab: Vocabulary) -> list[int]:
    return vocab.midi_tokens(_slot0(steps, Modality.MIDI, vocab))


# audio -------------------------------------------------------------------------------------------------
def encode_audio(codes: Any, vocab: Vocabulary, limits: LengthLimits = DEFAULT_LIMITS) -> Steps:
    """Audio codes (n_slots, frames) in [0, codebook_size) -> one step per frame."""
    codes = np.asarray(codes.detach().cpu() if hasattr(codes, "detach") else codes, np.int64)
    if codes.ndim != 2 or codes.shape[0] != vocab.n_slots:
        raise ValueError(f"expected audio codes of shape ({vocab.n_slots}, frames), got {codes.shape}")
    frames = codes.shape[1]
    _check_limit(frames, Modality.AUDIO, limits)
    tokens = vocab.code_ids(Modality.AUDIO, codes.T)
    return Steps(tokens, np.arange(frames, dtype=np.int64), np.zeros(frames, np.int64), Modality.AUDIO)


def decode_audio(steps: Steps, vocab: Vocabulary) -> np.ndarray:
    """Inverse of ``encode_audio``: codes (n_slots, frames) int64."""
    if steps.modality is not Modality.AUDIO:
        raise ValueError(f"expected audio steps, got {steps.modality}")
    return np.ascontiguousarray(vocab.code_values(Modality.AUDIO, steps.tokens).T)


# images ------------------------------------------------------------------------------------------------
def encode_image(systems: Sequence[Any], vocab: Vocabulary, *, as_target: bool,
                 limits: LengthLimits = DEFAULT_LIMITS) -> Steps:
    """Systems' code grids [(h_i, w_i, n_slots)] -> steps: source layout (padded, SEP-joined) or, with
    ``as_target``, target layout (height token before each system, no padding)."""
    seq = join_systems(list(systems), pad_to_tallest=not as_target, max_columns=limits.image_columns,
                       max_rows=vocab.config.max_image_height)
    _check_limit(len(seq), Modality.IMAGE, limits)
    code = seq.kinds == StepKind.CODE
    tokens = np.full((len(seq), vocab.n_slots), vocab.pad, np.int64)
    tokens[code] = vocab.code_ids(Modality.IMAGE, seq.steps[code], pad_code=PAD_CODE)
    tokens[seq.kinds == StepKind.SEP, 0] = vocab.sep
    for i in np.flatnonzero(seq.kinds == StepKind.HEIGHT):
        tokens[i, 0] = vocab.height(int(seq.height[i]))
    return Steps(tokens, seq.x, seq.y, Modality.IMAGE)


def decode_image(steps: Steps, vocab: Vocabulary, *, as_target: bool) -> list[np.ndarray]:
    """Inverse of ``encode_image`` (same ``as_target``): the systems' (h_i, w_i, n_slots) code grids.

    The target layout needs only the ids (positions are implied by the height tokens); the source layout
    reads each system's padded height from y."""
    if steps.modality is not Modality.IMAGE:
        raise ValueError(f"expected image steps, got {steps.modality}")
    first = steps.tokens[:, 0]
    heights = _heights(first, vocab)
    kinds = np.full(len(steps), StepKind.CODE, np.int64)
    kinds[first == vocab.sep] = StepKind.SEP
    kinds[heights > 0] = StepKind.HEIGHT
    marker = kinds != StepKind.CODE
    if (steps.tokens[marker, 1:] != vocab.pad).any():
        raise ValueError("SEP and height steps must hold PAD in slots 1..")
    codes = np.full((len(steps), vocab.n_slots), PAD_CODE, np.int64)
    codes[~marker] = vocab.code_values(Modality.IMAGE, steps.tokens[~marker],
                                       pad_code=None if as_target else PAD_CODE)
    seq = ImageSequence(codes, steps.x, steps.y, kinds, heights, padded=not as_target)
    if not as_target and (kinds == StepKind.HEIGHT).any():
        raise ValueError("a source (padded) image sequence holds no height tokens")
    return split_systems(seq)


# continuous sources ------------------------------------------------------------------------------------
def encode_features(modality: Modality, data: Any, vocab: Vocabulary, spec: FeatureSpec,
                    limits: LengthLimits = DEFAULT_LIMITS) -> Steps:
    """A source read as signal (``tokens.features``): image patch grids [(h_i, w_i, 256)] or audio mel frames
    (frames, bins) -> steps holding PAD tokens (SEP between systems) and the feature vectors."""
    modality = Modality(modality)
    if modality is Modality.IMAGE:
        sep, x, y, features = image_feature_steps(list(data), spec, max_columns=limits.image_columns,
                                                  max_rows=vocab.config.max_image_height)
    elif modality is Modality.AUDIO:
        x, y, features = audio_feature_steps(data, spec)
        sep = np.zeros(len(x), bool)
    else:
        raise ValueError(f"{modality} sources are tokens, not features")
    _check_limit(len(x), modality, limits)
    tokens = np.full((len(x), vocab.n_slots), vocab.pad, np.int64)
    tokens[sep, 0] = vocab.sep
    return Steps(tokens, x, y, modality, features)


# any modality ------------------------------------------------------------------------------------------
def encode(modality: Modality, data: Any, vocab: Vocabulary, *, as_target: bool = False,
           limits: LengthLimits = DEFAULT_LIMITS) -> Steps:
    """Dispatch: LMX tokens, MIDI token ids, image system grids or audio codes -> steps (no SOS/EOS)."""
    modality = Modality(modality)
    if modality is Modality.IMAGE:
        return encode_image(data, vocab, as_target=as_target, limits=limits)
    return {Modality.NOTATION: encode_lmx, Modality.MIDI: encode_midi,
            Modality.AUDIO: encode_audio}[modality](data, vocab, limits)


def decode(steps: Steps, vocab: Vocabulary, *, as_target: bool = False) -> Any:
    """Inverse of ``encode`` for ``steps.modality`` (strip SOS/EOS first)."""
    if steps.modality is Modality.IMAGE:
        return decode_image(steps, vocab, as_target=as_target)
    return {Modality.NOTATION: decode_lmx, Modality.MIDI: decode_midi,
            Modality.AUDIO: decode_audio}[steps.modality](steps, vocab)


# SOS / EOS ---------------------------------------------------------------------------------------------
def _marker_step(token: int, vocab: Vocabulary) -> np.ndarray:
    step = np.full((1, vocab.n_slots), vocab.pad, np.int64)
    step[0, 0] = token
    return step


def with_sos_eos(steps: Steps, target: Modality, vocab: Vocabulary, limits: LengthLimits = DEFAULT_LIMITS) -> Steps:
    """A target sequence: an SOS step in front and an EOS step at the end (slot-0 specials, PAD elsewhere,
    position 0). MIDI windows already end with the EOS (the tokenizer's, mapped in place) and get no second
    one. Raises ValueError when ``target`` is not the steps' modality or the result exceeds its limit."""
    m = Modality(target)
    if steps.modality is not m:
        raise ValueError(f"{steps.modality} steps cannot be a {m} target")
    ends = len(steps) > 0 and steps.tokens[-1, 0] == vocab.eos(m)
    extra = 1 if ends else 2
    _check_limit(len(steps) + extra, m, limits, " with SOS/EOS")
    parts = [_marker_step(vocab.sos(m), vocab), steps.tokens]
    if not ends:
        parts.append(_marker_step(vocab.eos(m), vocab))
    zeros = np.zeros(extra - 1, np.int64)
    return Steps(np.concatenate(parts), np.concatenate([[0], steps.x, zeros]),
                 np.concatenate([[0], steps.y, zeros]), m)


def strip_sos_eos(steps: Steps, vocab: Vocabulary) -> Steps:
    """Inverse of ``with_sos_eos``, also for generated sequences: drops a leading SOS step and cuts at the
    first EOS step (a sequence that hit the length limit has none). A MIDI EOS step is kept: the tokenizer's
    window tokens end with it. A leading SOS of another modality raises ValueError."""
    m = steps.modality
    first = steps.tokens[:, 0]
    start = 0
    if len(first) and int(first[0]) in {vocab.sos(other) for other in Modality}:
        if first[0] != vocab.sos(m):
            raise ValueError(f"{m} steps start with another modality's SOS (id {int(first[0])})")
        start = 1
    ends = np.flatnonzero(first[start:] == vocab.eos(m))
    stop = start + int(ends[0]) + (m is Modality.MIDI) if len(ends) else len(first)
    return Steps(steps.tokens[start:stop], steps.x[start:stop], steps.y[start:stop], m)


# positions of generated targets ------------------------------------------------------------------------
def target_positions(first_slot: Any, modality: Modality, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a target sequence from its slot-0 ids alone (with or without SOS/EOS), as ``encode`` and
    ``with_sos_eos`` set them: what a decoder needs for the step it is about to feed back.

    Specials (SOS, EOS, SEP, height) sit at x = y = 0. LMX/MIDI/audio: x counts the other steps from 0.
    Images: a height token h starts a system; its i-th code step sits at x = i // h, y = i % h.
    """
    ids = np.asarray(first_slot, np.int64).reshape(-1)
    content = ids >= vocab.specials.stop
    x = np.zeros(len(ids), np.int64)
    y = np.zeros(len(ids), np.int64)
    count = np.cumsum(content) - content  # content steps before each step
    if Modality(modality) is not Modality.IMAGE:
        x[content] = count[content]
        return x, y
    heights = _heights(ids, vocab)
    marker = np.maximum.accumulate(np.where(heights > 0, np.arange(len(ids)), -1))  # last height step
    known = marker >= 0
    rows = np.where(known, heights[np.maximum(marker, 0)], 1)
    i = count - np.where(known, count[np.maximum(marker, 0)], 0)
    x[content], y[content] = np.divmod(i[content], rows[content])
    return x, y


def _heights(ids: np.ndarray, vocab: Vocabulary) -> np.ndarray:
    """Rows of each height token, 0 for any other id."""
    rows = ids - vocab.heights.start + 1
    return np.where((ids >= vocab.heights.start) & (ids < vocab.heights.stop), rows, 0)
