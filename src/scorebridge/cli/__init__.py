"""The `scorebridge` command line: one module per command (``score`` for lmx and render, ``demo``, ``data``,
``codec``, ``train``, ``translate``, ``video``, ``serve``, ``evaluate`` for eval), each with ``register(sub)``
adding its parsers and setting ``func=``; ``main`` builds the parser and owns logging, errors and exit codes;
``common`` holds the flags several commands share. Parsing and calls only: the work is in the library below.

The top layer: nothing in scorebridge imports this package (``python -m scorebridge`` and the ``scorebridge``
entry point call ``main``).
"""

from scorebridge.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
