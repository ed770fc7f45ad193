"""The Sphinx docs build with warnings as errors, and the CLI reference in them is current."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MISSING = [m for m in ("sphinx", "myst_nb", "pydata_sphinx_theme") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(
    bool(MISSING), reason=f"docs dependencies not installed: {MISSING} (pip install -e '.[docs]')"
)
def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-E",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    for page in (
        "index",
        "getting-started",
        "data",
        "model",
        "datawall",
        "cli",
        "api",
        "notebooks/01_chinchilla_replication",
        "notebooks/02_pooling_backtest",
        "notebooks/03_data_wall",
    ):
        assert (out / f"{page}.html").exists(), page
    api = (out / "api.html").read_text()
    # autodoc found the docstrings, not just the headings
    for name in (
        "data.Observations",
        "model.ScalingModel",
        "fit.load_fit",
        "predict.predict",
        "frontier.compute_optimal",
        "cli.parse_numbers",
    ):
        assert f'id="forecast.{name}"' in api, name


def test_cli_reference_is_current(tmp_path):
    """docs/cli-reference.md is generated from the typer app: regenerate it when options change."""
    from typer.cli import app as typer_app

    out = tmp_path / "cli-reference.md"
    result = CliRunner().invoke(
        typer_app, ["forecast.cli", "utils", "docs", "--name", "forecast", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == (DOCS / "cli-reference.md").read_text(), (
        "docs/cli-reference.md is stale: run `.venv/bin/typer forecast.cli utils docs --name forecast "
        "--output docs/cli-reference.md`"
    )
