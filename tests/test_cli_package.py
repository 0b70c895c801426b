"""The command line's shape: every command module registers the same way, `--runner` (with `--engine` as its old,
hidden name) picks the data engine, and nothing below the CLI imports it."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from scorebridge.cli import build_parser, main
from scorebridge.cli.common import add_runner_arguments, runner_from_args
from scorebridge.engines import Engine
from scorebridge.errors import ScorebridgeError

SRC = Path(__file__).resolve().parents[1] / "src" / "scorebridge"


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, (*path, name))


def test_every_command_runs_through_func_and_takes_the_common_flags() -> None:
    leaves = list(_leaves(build_parser()))
    assert len(leaves) == 18  # lmx render demo, data x4, codec x4, train translate, video x3, serve eval
    for path, parser in leaves:
        assert callable(parser.get_default("func")), path
        flags = {s for a in parser._actions for s in a.option_strings}
        assert {"--debug", "-v", "-q"} <= flags, path


@pytest.fixture
def runner_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_runner_arguments(parser)
    return parser


def test_runner_picks_the_data_engine(runner_parser) -> None:
    assert runner_from_args(runner_parser.parse_args([])) == Engine("local")
    assert runner_from_args(runner_parser.parse_args(["--runner", "ray", "--address", "auto"])) == Engine(
        "ray", address="auto")
    with pytest.raises(ScorebridgeError, match="use it with --runner ray"):
        runner_from_args(runner_parser.parse_args(["--address", "auto"]))


def test_engine_is_a_hidden_deprecated_alias(runner_parser, caplog) -> None:
    with caplog.at_level("WARNING", logger="scorebridge"):
        assert runner_from_args(runner_parser.parse_args(["--engine", "ray"])) == Engine("ray")
    assert [r.getMessage() for r in caplog.records] == ["--engine ray is now --runner ray here (--engine will go)"]
    with pytest.raises(ScorebridgeError, match="disagree"):
        runner_from_args(runner_parser.parse_args(["--engine", "ray", "--runner", "local"]))
    assert "--engine" not in runner_parser.format_help()


def test_old_engine_flag_still_works_from_the_command_line(tmp_path, capsys) -> None:
    code = main(["data", "build", "--source", str(tmp_path), "--out", str(tmp_path / "ds"), "--engine", "local",
                 "--address", "auto", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "--engine local is now --runner local" in err and "use it with --runner ray" in err


def test_translate_engine_is_still_the_translation_engine() -> None:
    args = build_parser().parse_args(["translate", "in.mid", "-o", "out.wav", "--engine", "fluidsynth"])
    assert args.engine == "fluidsynth"


def test_nothing_below_the_cli_imports_it() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if rel.parts[0] == "cli" or rel.name == "__main__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            if any(n == "scorebridge.cli" or n.startswith("scorebridge.cli.") for n in names):
                offenders.append(str(rel))
    assert offenders == []
