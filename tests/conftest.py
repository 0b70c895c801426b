"""Shared fixtures: where the repository, the shared corpora and the bundled example live."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
CORPORA = SHARED / "corpora"
EXAMPLE_SCORE = REPO_ROOT / "src" / "scorebridge" / "data" / "examples" / "minuet-in-g.musicxml"


@pytest.fixture(scope="session")
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"shared corpora not found at {CORPORA}")
    return CORPORA


@pytest.fixture(scope="session")
def example_score() -> Path:
    return EXAMPLE_SCORE


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tests run tiny models: on a 2-core machine one thread is several times faster than two busy ones."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
