"""OMR errors by kind: an edit-operation alignment of predicted against true LMX, and the tuplet-free variant.

u-must.md §6: SER = sum of Levenshtein distances / sum of truth lengths over the test set; the secondary
"SER without tuplets" drops ``tuplet:start``/``tuplet:stop`` and the ``NinM`` time-modification tokens from both
sides first. Each edit of an optimal alignment is given the kind of the token it concerns (the truth token of a
substitution or deletion, the predicted token of an insertion):

- ``pitch``: pitch names (C0..B9) and ``rest`` (what sounds, or that nothing does);
- ``duration``: note types (quarter, eighth, ...), ``rest:measure``, ``dot`` and tuplet ratios (``3in2``);
- ``accidental``: sharp, flat, natural and their doubles;
- ``structure``: everything else (measures, clefs, keys, time signatures, voices, staves, chords, stems, beams,
  ties, tuplet brackets, slurs, articulations, ornaments).

Token classes come from the LMX package's vocabulary lists, not from spelling, so a new token cannot fall into
the wrong class unnoticed (an unknown token counts as ``structure``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from lmx.linearization.vocabulary import (
    ACCIDENTAL_TOKENS,
    NOTE_TYPE_TOKENS,
    PITCH_TOKENS,
    TIME_MODIFICATION_TOKENS,
)

KINDS = ("pitch", "duration", "accidental", "structure")
TUPLET_TOKENS: frozenset[str] = frozenset(("tuplet:start", "tuplet:stop", *TIME_MODIFICATION_TOKENS))
_KIND_OF: dict[str, str] = {
    **{t: "pitch" for t in (*PITCH_TOKENS, "rest")},
    **{t: "duration" for t in (*NOTE_TYPE_TOKENS, "rest:measure", "dot", *TIME_MODIFICATION_TOKENS)},
    **{t: "accidental" for t in ACCIDENTAL_TOKENS},
}
OPS = ("substitute", "delete", "insert")  # delete: a truth token missing; insert: a predicted token too many


def token_kind(token: str) -> str:
    """The error kind of one LMX token (see the module notes)."""
    return _KIND_OF.get(token, "structure")


def drop_tuplets(tokens: Sequence[str]) -> list[str]:
    """The tokens without ``tuplet:start``/``tuplet:stop`` and ``NinM`` ratios (the reference's secondary SER)."""
    return [t for t in tokens if t not in TUPLET_TOKENS]


@dataclass(frozen=True)
class EditOp:
    """One edit turning the truth into the prediction: ``truth_index``/``predicted_index`` are positions in
    each sequence (None for the side an insertion or deletion lacks)."""

    op: str
    truth_index: int | None
    predicted_index: int | None


def edit_ops(truth: Sequence[str], predicted: Sequence[str]) -> list[EditOp]:
    """An optimal Levenshtein alignment's edits (matches left out), in sequence order; ``len`` equals the
    edit distance. Among the optimal alignments, one with the fewest substitutions across kinds is chosen (a
    wrong pitch is a pitch error, not a pitch deleted and a duration turned into a pitch); remaining ties prefer
    a substitution (or match), then a deletion, then an insertion.

    The cost of an edit is ``scale`` and a substitution across kinds costs one more: with ``scale`` above the
    number of possible substitutions, the extra can never buy an edit more. A numpy DP, row by row: within a row
    the insertion chain is a running minimum of ``D[j] - j * scale``, so each row is vectorised; memory is
    (len(truth) + 1) x (len(predicted) + 1) int64, 8 MB for two 1,000-token systems."""
    ids: dict[str, int] = {}
    a = np.array([ids.setdefault(t, len(ids)) for t in truth], dtype=np.int64)
    b = np.array([ids.setdefault(t, len(ids)) for t in predicted], dtype=np.int64)
    kind_a = np.array([KINDS.index(token_kind(t)) for t in truth], dtype=np.int64)
    kind_b = np.array([KINDS.index(token_kind(t)) for t in predicted], dtype=np.int64)
    scale = min(len(a), len(b)) + 1
    n, m = len(a), len(b)
    steps = np.arange(m + 1, dtype=np.int64) * scale
    table = np.empty((n + 1, m + 1), dtype=np.int64)
    table[0] = steps
    for i in range(1, n + 1):
        prev = table[i - 1]
        substitute = (b != a[i - 1]) * scale + (kind_b != kind_a[i - 1])
        row = np.empty(m + 1, dtype=np.int64)
        row[0] = i * scale
        row[1:] = np.minimum(prev[1:] + scale, prev[:-1] + substitute)  # deletion, or substitution / match
        table[i] = np.minimum.accumulate(row - steps) + steps  # then insertions along the row
    return _trace(table, a, b, kind_a, kind_b, scale)


def _trace(table: np.ndarray, a: np.ndarray, b: np.ndarray, kind_a: np.ndarray, kind_b: np.ndarray,
           scale: int) -> list[EditOp]:
    ops: list[EditOp] = []
    i, j = len(a), len(b)
    while i > 0 or j > 0:
        here = table[i, j]
        if i > 0 and j > 0:
            same = a[i - 1] == b[j - 1]
            cost = 0 if same else scale + int(kind_a[i - 1] != kind_b[j - 1])
            if table[i - 1, j - 1] + cost == here:
                if not same:
                    ops.append(EditOp("substitute", i - 1, j - 1))
                i, j = i - 1, j - 1
                continue
        if i > 0 and table[i - 1, j] + scale == here:
            ops.append(EditOp("delete", i - 1, None))
            i -= 1
        else:
            ops.append(EditOp("insert", None, j - 1))
            j -= 1
    return ops[::-1]


@dataclass(frozen=True)
class KindErrors:
    """Edits of one kind, and how many truth tokens are of that kind (the denominator of its rate)."""

    truth_tokens: int = 0
    substitute: int = 0
    delete: int = 0
    insert: int = 0

    @property
    def edits(self) -> int:
        return self.substitute + self.delete + self.insert

    @property
    def rate(self) -> float | None:
        """Edits of this kind per truth token of this kind; None when the truth has none."""
        return self.edits / self.truth_tokens if self.truth_tokens else None

    def __add__(self, other: KindErrors) -> KindErrors:
        return KindErrors(self.truth_tokens + other.truth_tokens, self.substitute + other.substitute,
                          self.delete + other.delete, self.insert + other.insert)


@dataclass(frozen=True)
class ErrorBreakdown:
    """Edits by kind (keys: ``KINDS``); the kinds' edits sum to the edit distance."""

    by_kind: Mapping[str, KindErrors]

    @property
    def edits(self) -> int:
        return sum(k.edits for k in self.by_kind.values())

    @property
    def truth_tokens(self) -> int:
        return sum(k.truth_tokens for k in self.by_kind.values())

    def __add__(self, other: ErrorBreakdown) -> ErrorBreakdown:
        return ErrorBreakdown({k: self.by_kind[k] + other.by_kind[k] for k in KINDS})

    def to_dict(self) -> dict[str, dict[str, float | int | None]]:
        return {k: {"truth_tokens": e.truth_tokens, "substitute": e.substitute, "delete": e.delete,
                    "insert": e.insert, "edits": e.edits, "rate": e.rate} for k, e in self.by_kind.items()}


def empty_breakdown() -> ErrorBreakdown:
    return ErrorBreakdown({k: KindErrors() for k in KINDS})


def classify_errors(truth: Sequence[str], predicted: Sequence[str]) -> ErrorBreakdown:
    """The edits of ``edit_ops(truth, predicted)`` counted by token kind and operation."""
    counts = {k: {"truth_tokens": 0, **dict.fromkeys(OPS, 0)} for k in KINDS}
    for token in truth:
        counts[token_kind(token)]["truth_tokens"] += 1
    for op in edit_ops(truth, predicted):
        token = truth[op.truth_index] if op.truth_index is not None else predicted[op.predicted_index or 0]
        counts[token_kind(token)][op.op] += 1
    return ErrorBreakdown({k: KindErrors(**v) for k, v in counts.items()})
