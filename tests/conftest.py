"""Shared fixtures: where the real data live, small datasets, fake fits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# FORECAST_SHARED_DATA points elsewhere (e.g. from a git worktree, whose parent holds no shared/)
SHARED_DATA = Path(
    os.environ.get("FORECAST_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real public scaling data (``../shared/data`` beside the repo)."""
    if not SHARED_DATA.exists():
        pytest.skip(f"real data folder {SHARED_DATA} not present")
    return SHARED_DATA
