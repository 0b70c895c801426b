"""The package's import graph: no circles and no import from a lower layer to a higher one (docs/layout.md).

Every import counts, including the ones inside functions: a lazy import that only dodges a circle is still a
circle. The layers below are the picture docs/layout.md draws; a new top-level module or package must be placed
in one, so the picture stays true."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import scorebridge

ROOT = Path(scorebridge.__file__).parent

# Bottom to top. A unit is a top-level module or sub-package of scorebridge. Imports may go down or sideways
# (within one layer) but never up.
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer.split()) for layer in (
    "constants errors modality filetypes fileio limits runtime deadline extras shipped wording scorefile "
    "checkpoint",                             # foundation: names, files, limits, checkpoints, the shipped weights
    "notation midi render pages",             # the four forms read and written with the field's libraries
    "tokens model",                           # the shared vocabulary and the network (tokens -> logits)
    "engines",                                # where data jobs run (local processes, Ray) and store files
    "data",                                   # the data engine: sources -> aligned samples
    "codecs",                                 # image/audio codecs, trained on built datasets
    "shards",                                 # samples baked to codec tokens
    "decoding",                               # search over the network's logits
    "inference",                              # one window, then long-form over windows
    "api train eval convert quality",         # the library face; training; evaluation; score conversions; how
                                              # far the model's held-out figures let a user trust it
    "routes translate",                       # who translates what; routing between file types
    "cli studio video demo __main__ __init__",  # what users run
))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """module -> the scorebridge modules it imports (``a.b.__init__`` for packages)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                # `from pkg import sub` imports the submodule when there is one
                targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules
                           or f"{mod}.{a.name}.__init__" in modules else mod for a in node.names]
            else:
                continue
            for t in targets:
                if not t.startswith("scorebridge"):
                    continue
                t = t if t in modules else f"{t}.__init__"
                if t in modules and t != name:
                    graph[name].add(t)
    return graph


def _unit(module: str) -> str:
    return module.split(".")[1]


def _layer(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"scorebridge.{unit} is in no layer of tests/test_layers.py: place it (docs/layout.md)")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def _package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without the edges from a package's __init__ to its own submodules: a face that re-exports is
    not a circle; a submodule importing its own package's face is (and is kept)."""
    return {a: {b for b in bs if not (a.endswith(".__init__") and b.startswith(a[: -len("__init__")]))}
            for a, bs in graph.items()}


def test_every_unit_has_a_layer() -> None:
    for module in _imports():
        _layer(_unit(module))


def test_no_import_goes_up_a_layer() -> None:
    up = sorted(f"{a} -> {b}" for a, bs in _imports().items() for b in bs
                if _layer(_unit(b)) > _layer(_unit(a)))
    assert not up, "imports from a lower layer to a higher one:\n" + "\n".join(up)


def test_no_import_circle() -> None:
    cycles = _cycles(_package_inits(_imports()))
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
