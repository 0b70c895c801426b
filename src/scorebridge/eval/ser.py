"""Symbol error rate of notation: token edit distance over the reference length (u-must.md §6, OMR)."""

from __future__ import annotations

from collections.abc import Sequence

import editdistance


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (insertions, deletions, substitutions cost 1)."""
    return int(editdistance.eval(list(reference), list(hypothesis)))


def corpus_ser(pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> float:
    """Total edit distance over total reference length of (reference, hypothesis) pairs (not a mean of rates,
    so long systems weigh by their length)."""
    total = sum(len(r) for r, _ in pairs)
    if total == 0:
        raise ValueError("SER needs at least one non-empty reference")
    return sum(edit_distance(r, h) for r, h in pairs) / total
