"""forecast: Bayesian forecasting of neural scaling laws.

Read runs (:class:`Observations`), fit a hierarchical scaling law
(:class:`ScalingModel` -> :class:`Fit`), forecast loss at new scales
(:meth:`Fit.predict`), find the compute-optimal frontier
(:meth:`Fit.frontier`) and the data wall (:func:`data_wall`), and report it.
"""

from forecast import datasets, laws
from forecast.config import DEFAULT_CI, GATE, INTERVAL_KIND
from forecast.data import DataValidationError, DataWarning, Observations
from forecast.fit import ConvergenceWarning, Diagnostics, Fit, FitFileError, load_fit
from forecast.laws import Law, get_law
from forecast.model import ScalingModel
from forecast.priors import Prior

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_CI",
    "GATE",
    "INTERVAL_KIND",
    "ConvergenceWarning",
    "DataValidationError",
    "DataWarning",
    "Diagnostics",
    "Fit",
    "FitFileError",
    "Law",
    "Observations",
    "Prior",
    "ScalingModel",
    "datasets",
    "get_law",
    "laws",
    "load_fit",
]
