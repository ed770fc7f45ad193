"""`import forecast` is light: PyMC and matplotlib's pyplot load only when a fit or a plot needs them."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import forecast

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pymc", "pytensor", "nutpie", "matplotlib.pyplot", "arviz")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return out.stdout.split()


def test_import_forecast_leaves_pymc_and_pyplot_unloaded():
    assert _loaded_after("import forecast") == []


def test_loading_and_describing_data_and_the_cli_help_stay_light():
    assert _loaded_after("import forecast as fc; fc.datasets.load('chinchilla'); fc.datasets.describe()") == []
    assert _loaded_after("import forecast.cli") == []


def test_public_names_resolve_lazily_to_the_objects_of_their_rooms():
    from forecast.backtest import backtest
    from forecast.data import Observations
    from forecast.model import ScalingModel

    assert sorted(forecast.__all__) == sorted(forecast._LAZY)
    assert forecast.Observations is Observations and forecast.ScalingModel is ScalingModel
    # importing the room forecast.backtest must not replace the function of the same name
    importlib.import_module("forecast.backtest")

    assert forecast.backtest is backtest and callable(forecast.compare)
    assert {"plots", "datasets", "Observations"} <= set(dir(forecast))
    try:
        forecast.no_such_name  # noqa: B018
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
