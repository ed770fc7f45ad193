"""forecast: Bayesian forecasting of neural scaling laws.

Read runs (:class:`Observations`), fit a hierarchical scaling law
(:class:`ScalingModel` -> :class:`Fit`), forecast loss at new scales
(:meth:`Fit.predict`), find the compute-optimal frontier
(:meth:`Fit.frontier`) and the data wall (:func:`data_wall`), and report it
(:func:`write_report`).
"""

__version__ = "0.1.0"

from forecast import datasets, laws, plots
from forecast.backtest import Backtest, backtest
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
from forecast.laws import Law, get_law
from forecast.model import ScalingModel
from forecast.parallel import FitJob, fit_many
from forecast.predict import Forecast, grid
from forecast.priors import Prior
from forecast.report import write_capability_report, write_report
from forecast.scenarios import Scenario, growth_from_history

__all__ = [
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
    "Fit",
    "FitFileError",
    "FitJob",
    "Forecast",
    "Frontier",
    "Law",
    "Observations",
    "PointFit",
    "Prior",
    "ScalingModel",
    "Scenario",
    "WallForecast",
    "backtest",
    "capability_backtest",
    "compare",
    "compare_text",
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
