"""forecast: Bayesian forecasting of neural scaling laws.

Read runs (:class:`Observations`), fit a hierarchical scaling law
(:class:`ScalingModel` -> :class:`Fit`), forecast loss at new scales
(:meth:`Fit.predict`), find the compute-optimal frontier
(:meth:`Fit.frontier`) and the data wall (:func:`data_wall`), and report it
(:func:`write_report`). Real public data ship in :mod:`forecast.datasets`.

``import forecast`` is light: each name below is imported from its room on
first use, so PyMC, matplotlib and the sampler load only when a fit, a plot or
a report needs them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from forecast._version import __version__ as __version__

# public name -> the room (module) that defines it; submodules map to themselves
_LAZY: dict[str, str] = {
    "datasets": "forecast.datasets",
    "laws": "forecast.laws",
    "plots": "forecast.plots",
    "Backtest": "forecast.backtest",
    "backtest": "forecast.backtest",
    "cross_validate": "forecast.backtest",
    "PointFit": "forecast.baselines",
    "fit_baseline": "forecast.baselines",
    "CapabilityBacktest": "forecast.capabilities",
    "CapabilityFit": "forecast.capabilities",
    "CapabilityForecast": "forecast.capabilities",
    "CapabilityModel": "forecast.capabilities",
    "capability_backtest": "forecast.capabilities",
    "load_capability_fit": "forecast.capabilities",
    "BenchmarkScores": "forecast.capability_data",
    "load_obsscaling": "forecast.capability_data",
    "compare": "forecast.compare",
    "clear_compile_cache": "forecast.compile_cache",
    "DEFAULT_CI": "forecast.config",
    "GATE": "forecast.config",
    "INTERVAL_KIND": "forecast.config",
    "DataValidationError": "forecast.data",
    "DataWarning": "forecast.data",
    "Observations": "forecast.data",
    "WallForecast": "forecast.datawall",
    "compare_text": "forecast.datawall",
    "data_wall": "forecast.datawall",
    "ConvergenceWarning": "forecast.fit",
    "Diagnostics": "forecast.fit",
    "Fit": "forecast.fit",
    "FitFileError": "forecast.fit",
    "load_fit": "forecast.fit",
    "Frontier": "forecast.frontier",
    "IdentifiabilityWarning": "forecast.identify",
    "Law": "forecast.laws",
    "get_law": "forecast.laws",
    "ScalingModel": "forecast.model",
    "FitJob": "forecast.parallel",
    "fit_many": "forecast.parallel",
    "Extrapolation": "forecast.predict",
    "Forecast": "forecast.predict",
    "grid": "forecast.predict",
    "Prior": "forecast.priors",
    "write_report": "forecast.report",
    "write_capability_report": "forecast.report",
    "Scenario": "forecast.scenarios",
    "growth_from_history": "forecast.scenarios",
}

__all__ = [  # the same names as _LAZY (tests/test_import.py checks)
    "DEFAULT_CI",
    "GATE",
    "INTERVAL_KIND",
    "Backtest",
    "BenchmarkScores",
    "CapabilityBacktest",
    "CapabilityFit",
    "CapabilityForecast",
    "CapabilityModel",
    "ConvergenceWarning",
    "DataValidationError",
    "DataWarning",
    "Diagnostics",
    "Extrapolation",
    "Fit",
    "FitFileError",
    "FitJob",
    "Forecast",
    "Frontier",
    "IdentifiabilityWarning",
    "Law",
    "Observations",
    "PointFit",
    "Prior",
    "ScalingModel",
    "Scenario",
    "WallForecast",
    "backtest",
    "capability_backtest",
    "clear_compile_cache",
    "compare",
    "compare_text",
    "cross_validate",
    "data_wall",
    "datasets",
    "fit_baseline",
    "fit_many",
    "get_law",
    "grid",
    "growth_from_history",
    "laws",
    "load_capability_fit",
    "load_fit",
    "load_obsscaling",
    "plots",
    "write_capability_report",
    "write_report",
]


_SUBMODULES = ("datasets", "laws", "plots")
# functions named like the room that defines them: `fc.backtest` is the function, as before
_SHADOWED = ("backtest", "compare")


def __getattr__(name: str) -> Any:
    """Import a public name from its room on first use (PEP 562), then keep it here."""
    room = _LAZY.get(name)
    if room is None:
        raise AttributeError(f"module 'forecast' has no attribute {name!r}")
    module = importlib.import_module(room)
    value = module if name in _SUBMODULES else getattr(module, name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # Importing the room forecast.compare binds the submodule as `forecast.compare`;
        # keep the public function of that name there instead.
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


if TYPE_CHECKING:  # for type checkers and IDEs; nothing here runs
    from forecast import datasets, laws, plots
    from forecast.backtest import Backtest, backtest, cross_validate
    from forecast.baselines import PointFit, fit_baseline
    from forecast.capabilities import (
        CapabilityBacktest,
        CapabilityFit,
        CapabilityForecast,
        CapabilityModel,
        capability_backtest,
        load_capability_fit,
    )
    from forecast.capability_data import BenchmarkScores, load_obsscaling
    from forecast.compare import compare
    from forecast.config import DEFAULT_CI, GATE, INTERVAL_KIND
    from forecast.data import DataValidationError, DataWarning, Observations
    from forecast.datawall import WallForecast, compare_text, data_wall
    from forecast.fit import ConvergenceWarning, Diagnostics, Fit, FitFileError, load_fit
    from forecast.frontier import Frontier
    from forecast.identify import IdentifiabilityWarning
    from forecast.laws import Law, get_law
    from forecast.model import ScalingModel
    from forecast.parallel import FitJob, fit_many
    from forecast.predict import Extrapolation, Forecast, grid
    from forecast.priors import Prior
    from forecast.report import write_capability_report, write_report
    from forecast.scenarios import Scenario, growth_from_history
