"""The lean install: the core commands run with every optional extra made unimportable, commands that need an
extra say which in one line, pyproject's extras agree with scorebridge.extras, and the wheel carries the
package data (shipped weights, the studio's static files, the bundled examples)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import pytest

from scorebridge import extras
from scorebridge.errors import ScorebridgeError

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "src" / "scorebridge" / "data" / "examples"
# every optional package and the heavy ones they bring (librosa: numba, scikit-learn)
OPTIONAL = ("fastapi", "starlette", "uvicorn", "multipart", "python_multipart", "tensorboard", "webdataset", "yaml",
            "librosa", "numba", "llvmlite", "sklearn", "mir_eval", "editdistance", "onnxruntime", "basic_pitch",
            "httpx", "playwright")

# A child python in which the modules named in argv[1] cannot be imported, as if their packages were not
# installed; the rest of argv is scorebridge's.
CHILD = """
import sys
blocked = set(sys.argv[1].split(","))

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
from scorebridge.cli import main
code = main(sys.argv[2:])
leaked = sorted(m for m in blocked if m in sys.modules)
if leaked:
    print("imported although blocked:", leaked, file=sys.stderr)
    code = 99
sys.exit(code)
"""


def run_without(blocked: tuple[str, ...], *argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", CHILD, ",".join(blocked), *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_render_and_translate_need_no_extra(tmp_path):
    commands = [
        ("render", str(EXAMPLES / "minuet-in-g.musicxml"), "--to", "pages", "-o", "pages"),
        ("render", str(EXAMPLES / "minuet-in-g.musicxml"), "--to", "midi", "-o", "minuet.mid"),
        ("translate", str(EXAMPLES / "minuet-in-g.musicxml"), "-o", "minuet.wav"),
        ("translate", str(EXAMPLES / "excerpt.mid"), "-o", "excerpt.musicxml"),
        # the shipped model, a few steps per system: torch, the codecs and the page reader without any extra
        ("translate", str(EXAMPLES / "page.png"), "-o", "page.lmx", "--max-steps", "8"),
    ]
    for argv in commands:
        proc = run_without(OPTIONAL, *argv, "-q", cwd=tmp_path)
        assert proc.returncode == 0, (argv, proc.stderr)
    assert any((tmp_path / "pages").glob("*.png"))
    for name in ("minuet.mid", "minuet.wav", "excerpt.musicxml", "page.lmx"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "<score-partwise" in (tmp_path / "excerpt.musicxml").read_text(encoding="utf-8")


def test_serve_without_the_studio_extra_names_it(tmp_path):
    proc = run_without(("fastapi", "uvicorn", "starlette", "multipart"), "serve", "--no-model", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "pip install 'scorebridge[studio]'" in lines[0] and "fastapi" in lines[0]
    assert proc.stdout == ""  # nothing started


@pytest.mark.parametrize(("argv", "extra"), [
    (("eval", "omr", "--data", "nowhere", "-o", "report.json"), "eval"),
    (("train", "--config", "none.toml", "--out", "run"), "train"),
    (("data", "stats", "nowhere"), "train"),
    (("codec", "bake", "--data", "nowhere", "--codecs", "c", "--out", "o"), "train"),
])
def test_commands_that_need_an_extra_say_which_before_any_work(tmp_path, argv, extra):
    proc = run_without(("webdataset", "librosa", "mir_eval", "editdistance", "tensorboard", "yaml"), *argv,
                       cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and f"pip install 'scorebridge[{extra}]'" in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []  # refused before writing anything


def test_codec_encode_and_video_make_test_need_no_extra():
    for argv in (["codec", "encode", "image"], ["video", "make-test"]):
        args = argparse.Namespace(command=argv[0], **{f"{argv[0]}_command": argv[1]})
        extras.require_for_command(args)  # no error even where the extras are missing: they are not consulted
    assert ("codec", "encode") not in extras.COMMAND_EXTRA and ("video", "make-test") not in extras.COMMAND_EXTRA


def test_a_package_missing_mid_command_names_its_extra():
    err = extras.from_import_error(ModuleNotFoundError("No module named 'mir_eval'", name="mir_eval.transcription"),
                                   "scorebridge eval")
    assert str(err) == "scorebridge eval needs: pip install 'scorebridge[eval]' (missing: mir_eval)"
    err = extras.from_import_error(ModuleNotFoundError("No module named 'verovio'", name="verovio"))
    assert isinstance(err, ScorebridgeError) and str(err).startswith("No module named 'verovio': ")


def test_require_finds_packages_without_importing_them(monkeypatch):
    extras.require("studio", "the studio")  # the test environment has every extra
    monkeypatch.setitem(extras.EXTRA_MODULES, "studio", ("fastapi", "no_such_module_here"))
    with pytest.raises(extras.MissingExtraError, match=r"^the studio needs: pip install 'scorebridge\[studio\]' "
                       r"\(missing: no_such_module_here\)$"):
        extras.require("studio", "the studio")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _names(requirements: list[str]) -> set[str]:
    """Requirement strings -> lower-case distribution names (self-references to scorebridge[...] expanded)."""
    project = _pyproject()
    names: set[str] = set()
    for req in requirements:
        name = req.split(";")[0].split("[")[0]
        for sep in "<>=!~ ":
            name = name.split(sep)[0]
        name = name.strip().lower().replace("_", "-")
        if name == "scorebridge":
            for extra in req.split("[")[1].split("]")[0].split(","):
                names |= _names(project["optional-dependencies"][extra.strip()])
        else:
            names.add(name)
    return names


def test_pyproject_extras_match_the_modules_that_the_errors_name():
    project = _pyproject()
    core = _names(project["dependencies"])
    dists = packages_distributions()  # import name -> distributions (the dev environment has every extra)
    for extra, modules in extras.EXTRA_MODULES.items():
        declared = _names(project["optional-dependencies"][extra])
        for module in modules:
            provided = {d.lower().replace("_", "-") for d in dists.get(module, [])}
            assert provided, f"{module} is not installed in the test environment"
            assert provided & declared, f"[{extra}] lacks the distribution of {module} ({provided})"
            assert not provided & core, f"{module} is optional but in the core dependencies"
    for module, extra in extras.MODULE_EXTRA.items():
        assert extra in project["optional-dependencies"], (module, extra)
    assert {"studio", "eval", "train", "bench", "test", "all"} <= set(project["optional-dependencies"])
    assert "torch" in core and "librosa" not in core and "fastapi" not in core


def test_wheel_carries_weights_static_files_and_examples(tmp_path):
    # no build isolation: the dev environment's setuptools builds it without the network
    try:
        setuptools_major = int(version("setuptools").split(".")[0])
    except PackageNotFoundError:
        setuptools_major = 0
    if setuptools_major < 77:
        pytest.skip("building without the network needs setuptools >= 77 here (see build-system in pyproject)")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and "No module named" in proc.stderr:
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("scorebridge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(REPO / "src").as_posix() for p in (REPO / "src" / "scorebridge").rglob("*")
               if p.is_file() and p.suffix != ".pyc" and "__pycache__" not in p.parts}
    assert shipped <= names, sorted(shipped - names)[:10]
    for must in ("scorebridge/weights/model/model.safetensors", "scorebridge/studio/static/index.html",
                 "scorebridge/data/examples/page.png"):
        assert must in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "scorebridge = scorebridge.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
