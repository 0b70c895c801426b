"""The LMX token vocabulary (224 tokens, core + extended flavour) and strict token checking.

A token outside the vocabulary is always an error naming the token and its position: silently dropping it (as the
package's delinearizer does) would turn a model's mistake or a corrupt file into a different, valid-looking score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lmx.linearization.vocabulary import ALL_TOKENS

from scorebridge.errors import ScorebridgeError

VOCABULARY: tuple[str, ...] = tuple(ALL_TOKENS)
TOKEN_SET: frozenset[str] = frozenset(VOCABULARY)
assert len(VOCABULARY) == len(TOKEN_SET) == 224


class UnknownTokenError(ScorebridgeError, ValueError):
    """A token that is not in the LMX vocabulary; ``position`` is 0-based in the token sequence."""

    def __init__(self, token: str, position: int, where: str | None = None):
        self.token = token
        self.position = position
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}unknown LMX token {token!r} at position {position}")


def check_tokens(tokens: Iterable[str], where: str | None = None) -> list[str]:
    """Return the tokens as a list; raise UnknownTokenError at the first one outside the vocabulary."""
    out = list(tokens)
    for i, token in enumerate(out):
        if token not in TOKEN_SET:
            raise UnknownTokenError(token, i, where)
    return out


def split_tokens(tokens: Sequence[str] | str) -> list[str]:
    """Accept either a whitespace-separated LMX string or a sequence of tokens."""
    return tokens.split() if isinstance(tokens, str) else list(tokens)
