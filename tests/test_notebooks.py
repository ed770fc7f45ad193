"""The notebooks run top to bottom (quick settings), and their stored outputs come from a full run.

Every notebook and the getting-started page read only data bundled with the
package, so they run from a fresh clone: each is executed with
``FORECAST_DATA`` pointing at a folder that does not exist. ``FORECAST_NB_QUICK=1``
cuts the sampler's draws so the execution stays short; the copy that is
executed here is thrown away, and the stored notebook (rendered in the docs)
keeps the outputs of the full run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
GETTING_STARTED = ROOT / "docs" / "getting-started.ipynb"  # runs on the bundled demo data only
MISSING = [m for m in ("nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(m) is None]

needs_runner = pytest.mark.skipif(bool(MISSING), reason=f"notebook runner not installed: {MISSING}")


def test_the_notebooks_exist():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01_chinchilla_replication", "02_pooling_backtest", "03_data_wall", "04_capabilities"]


@needs_runner
@pytest.mark.parametrize("path", [*NOTEBOOKS, GETTING_STARTED], ids=lambda p: p.stem)
def test_reads_no_data_outside_the_package(path):
    """A fresh clone has no ``../shared`` beside it: no code cell may read from there or from FORECAST_DATA."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for outside in ("shared/data", "FORECAST_DATA", "read_csv(\"../"):
        assert outside not in code, f"{path.name} reads data from outside the package ({outside!r})"


@needs_runner
@pytest.mark.parametrize("path", [*NOTEBOOKS, GETTING_STARTED], ids=lambda p: p.stem)
def test_stored_outputs_come_from_a_full_top_to_bottom_run(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: not executed top to bottom ({counts})"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: stored outputs contain an error: {errors[0].get('ename')}"
    first = "".join(o.get("text", "") for o in code[0].outputs if o.output_type == "stream")
    assert "full run" in first, (
        f"{path.name}: stored outputs are from a quick run; re-execute without FORECAST_NB_QUICK"
    )
    images = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert images >= 2, f"{path.name}: expected figures in the stored outputs"
    shown = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for c in code for o in c.outputs)
    for failed in ("Convergence gate: FAIL", "-> FAIL", "gate FAIL", "FAILS the convergence gate"):
        assert failed not in shown, f"{path.name}: a stored fit fails the convergence gate ({failed!r})"


@needs_runner
@pytest.mark.parametrize(
    "path",
    [*NOTEBOOKS, GETTING_STARTED],
    ids=lambda p: p.stem,
)
def test_notebook_runs_top_to_bottom(path, monkeypatch):
    import nbclient
    import nbformat

    monkeypatch.setenv("FORECAST_NB_QUICK", "1")
    # a fresh clone has no shared data folder beside it: point the override nowhere
    monkeypatch.setenv("FORECAST_DATA", str(ROOT / "no-such-folder"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    setup = next(c for c in nb.cells if c.cell_type == "code")
    first = "".join(o.get("text", "") for o in setup.outputs if o.output_type == "stream")
    assert "quick mode" in first
