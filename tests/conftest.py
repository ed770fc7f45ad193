"""Shared fixtures: where the real data live, small datasets, fake fits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# compiled models go to a fresh disk cache for each test session (worker processes inherit it), never the
# user's ~/.cache/forecast
if "FORECAST_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["FORECAST_CACHE_DIR"] = tempfile.mkdtemp(prefix="forecast-test-cache-")
    atexit.register(shutil.rmtree, os.environ["FORECAST_CACHE_DIR"], ignore_errors=True)

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
