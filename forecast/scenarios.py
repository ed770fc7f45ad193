"""Scenarios for the data wall: frontier compute and the stock of usable text, with their uncertainty.

A :class:`Scenario` holds the assumptions behind a data-wall forecast: how much
compute the largest training run uses in a base year and how fast that grows,
how many tokens of usable human text exist and how fast that grows, how far
runs are over-trained, how many epochs of repetition are allowed, how fast
algorithms make compute and data worth more (efficiency), how growth rates
change at given years (slowdowns) and whether compute is capped. Each
uncertain input may be

* a fixed number (``5e25``),
* a 90% interval ``(low, high)``, read as a log-normal whose 5% and 95%
  quantiles are ``low`` and ``high`` (so the median is ``sqrt(low * high)``),
* a frozen :mod:`scipy.stats` distribution (``scipy.stats.lognorm(...)``), or
* an array of samples (numpy, or an xarray ``DataArray``, possibly dask-backed).

Every default names its source; :meth:`Scenario.assumptions` prints them, and
reports reuse that table. :meth:`Scenario.epoch2024` reproduces the
assumptions of Villalobos et al. (2024), and :func:`growth_from_history`
re-derives growth rates from Epoch AI's table of notable models.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

Z90 = float(stats.norm.ppf(0.95))
"""z-score of the 95% quantile: a 90% interval spans +-Z90 standard deviations."""

VILLALOBOS_2024 = (
    'Villalobos et al. 2024, "Will we run out of data? Limits of LLM scaling based on '
    'human-generated data" (Epoch AI, ICML 2024)'
)
MUENNIGHOFF_2023 = 'Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", C4 fit'
HOFFMANN_2022 = 'Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models"'
HO_2024 = 'Ho et al. 2024, "Algorithmic progress in language models" (arXiv:2403.05812)'


def interval_from_ci(low: float, high: float, *, mass: float) -> tuple[float, float]:
    """The 90% interval of the log-normal whose central ``mass`` interval is ``(low, high)``.

    Published intervals come at other masses (95% is common); scenario inputs
    are read as 90% intervals, so a 95% interval is narrowed in log space.

    Examples
    --------
    >>> lo, hi = interval_from_ci(1.0, 100.0, mass=0.95)
    >>> round(lo, 2), round(hi, 1)
    (1.45, 69.1)
    """
    if not (0 < low <= high) or not (0 < mass < 1):
        raise ValueError(
            f"interval_from_ci needs 0 < low <= high and 0 < mass < 1; got {low}, {high}, {mass}"
        )
    mid = 0.5 * (math.log(low) + math.log(high))
    half = 0.5 * (math.log(high) - math.log(low)) * Z90 / float(stats.norm.ppf(0.5 + mass / 2))
    return math.exp(mid - half), math.exp(mid + half)


EFFICIENCY_HO_2024: tuple[float, float] = interval_from_ci(2 ** (12 / 14), 2 ** (12 / 5), mass=0.95)
"""Yearly growth of algorithmic compute efficiency from Ho et al. (2024), as a 90% interval.

The compute needed for a given loss halves every ~8 months (95% CI 5-14
months), a yearly multiplier ``2**(12/months)`` of x2.8 (95%: x1.81 to x5.28).
Read as a log-normal with those 2.5% and 97.5% quantiles, its 90% interval is
about (1.97, 4.85), median x3.09 (halving every 7.4 months).
"""

DATA_EFFICIENCY_RANGE: tuple[float, float] = (1.0, 1.5)
"""A range for ``data_efficiency_growth`` spanning the published evidence (see its source)."""

COMPUTE_SLOWDOWN_2030: Mapping[int, tuple[float, float]] = MappingProxyType({2030: (1.3, 3.2)})
"""Frontier compute growth from 2030 on, for ``growth_changes={"compute_growth": ...}``.

Epoch AI (Sevilla et al. 2024, "Can AI scaling continue through 2030?") find
4x a year feasible through 2030, power being the first binding constraint.
Past it we take the growth of compute per dollar alone (FLOP/s per $ doubles
every ~2.5 years, x1.3 a year; Hobbhahn & Besiroglu 2022) as the low end, and
that times spending still growing as in 2016-2024 (amortized cost of frontier
runs x2.4 a year; Cottier et al. 2024) as the high end: x1.3 to x3.2 a year.
"""

_PRESET_SOURCES: dict[str, list[tuple[Any, str]]] = {
    "efficiency_growth": [
        (
            EFFICIENCY_HO_2024,
            "compute for a given loss halves every ~8 months, 95% CI 5-14 months (" + HO_2024 + "): "
            "x1.81-x5.28 a year, read as a log-normal with those 2.5% and 97.5% quantiles",
        )
    ],
    "data_efficiency_growth": [
        (
            DATA_EFFICIENCY_RANGE,
            "our reading of the published one-off gains (repetition, quality filtering: see "
            "DATA_EFFICIENCY_RANGE) as a sustained rate: from none to a several-fold gain every 4-5 years",
        )
    ],
}
_CHANGE_PRESETS: dict[str, list[tuple[Mapping[int, Any], str]]] = {
    "compute_growth": [
        (
            COMPUTE_SLOWDOWN_2030,
            "4x a year is feasible to 2030 (Epoch AI, Sevilla et al. 2024); afterwards compute per "
            "dollar alone (x1.3 a year, Hobbhahn & Besiroglu 2022) to that times spending growing as in "
            "2016-2024 (x2.4 a year, Cottier et al. 2024)",
        )
    ]
}
GROWTH_FIELDS = ("compute_growth", "stock_growth", "efficiency_growth", "data_efficiency_growth")
"""Inputs that are yearly growth factors; each may change at given years (``Scenario.growth_changes``)."""

# Each field: (constraint, reference value, source of that value, unit/description).
# ``positive``: > 0; ``factor``: >= 1 (growth factors per year, epochs).
_SPEC: dict[str, tuple[str, Any, str, str]] = {
    "compute": (
        "positive",
        5e25,
        "~5e25 FLOP for the largest runs around 2024 (Epoch AI, 'Data on Notable AI Models': Gemini 1.0 "
        "Ultra ~5e25 FLOP; Llama 3.1-405B 3.8e25 FLOP, the largest 2024 run in epoch_language_models.csv)",
        "FLOP of the largest training run in the base year",
    ),
    "compute_growth": (
        "factor",
        (4.0, 5.0),
        "frontier training compute grows 4-5x a year (Epoch AI, Sevilla & Roldan 2024, used by "
        "Villalobos et al. 2024); read here as a 90% interval",
        "yearly growth factor of frontier training compute",
    ),
    "stock": (
        "positive",
        (1e14, 1e15),
        "effective stock of public human text ~3e14 tokens, 90% CI 1e14-1e15, quality-filtered and "
        "allowing for multi-epoch training (" + VILLALOBOS_2024 + ")",
        "tokens of usable human text in the base year",
    ),
    "stock_growth": (
        "factor",
        (1.03, 1.04),
        "the stock of public text grows ~3-4% a year (" + VILLALOBOS_2024 + "); read as a 90% interval",
        "yearly growth factor of the stock (1.035 = +3.5% a year)",
    ),
    "overtraining": (
        "positive",
        1.0,
        "1 = compute-optimal, the headline case of " + VILLALOBOS_2024 + " (5x over-training brings "
        "their median to ~2027)",
        "multiplier on compute-optimal tokens per parameter",
    ),
    "epochs": (
        "factor",
        1.0,
        "1: the effective stock of " + VILLALOBOS_2024 + " already allows for multi-epoch training, so "
        "repeating it again would count repetition twice",
        "passes over the stock a run may make",
    ),
    "tokens_per_param": (
        "positive",
        20.0,
        "~20 tokens per parameter at compute-optimum ("
        + HOFFMANN_2022
        + "), the rule "
        + VILLALOBOS_2024
        + " use for compute-based demand",
        "fixed demand rule D = sqrt(C * tokens_per_param / 6), used when data_wall(fit=None)",
    ),
    "r_star": (
        "positive",
        15.387756,
        "R_D* = 15.4: repeated tokens lose value with this decay constant (" + MUENNIGHOFF_2023 + ")",
        "decay constant of the value of repeated tokens",
    ),
    # Appended after the original inputs so that each keeps its random stream (seeded by position).
    "efficiency_growth": (
        "factor",
        1.0,
        "1 = off, as in " + VILLALOBOS_2024 + ", who do not model algorithmic progress. Measured: compute "
        "for a given loss halves every ~8 months, 95% CI 5-14 months (" + HO_2024 + "); pass "
        "efficiency_growth=EFFICIENCY_HO_2024 to use it",
        "yearly multiplier on effective compute from better algorithms (loss uses C x this^years)",
    ),
    "data_efficiency_growth": (
        "factor",
        1.0,
        "1 = off: no study measures a sustained yearly rate. Published gains are one-off: up to ~4 epochs "
        "of repetition cost little (" + MUENNIGHOFF_2023 + "; see epochs), and quality filtering reaches "
        "a baseline's benchmark scores with several times fewer tokens (FineWeb-Edu, Penedo et al. 2024; "
        "DCLM, Li et al. 2024); DATA_EFFICIENCY_RANGE = (1, 1.5) reads them as a rate",
        "yearly multiplier on what a token of the stock is worth (the effective stock grows by it)",
    ),
    "compute_cap": (
        "positive",
        None,
        "no cap. Power is the first limit Epoch AI see (Sevilla et al. 2024: 1-5 GW campuses allow "
        "1e28-3e29 FLOP runs by 2030)",
        "largest training run possible in any year (FLOP; power, money)",
    ),
}
UNCERTAIN_FIELDS = tuple(_SPEC)
OPTIONAL_FIELDS = ("tokens_per_param", "compute_cap")
"""Inputs that may be ``None`` (not used)."""


# --------------------------------------------------------------------- inputs
def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bad"
    if isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return "fixed"
    if isinstance(value, tuple):
        return "interval"
    if hasattr(value, "rvs") and hasattr(value, "ppf") and hasattr(value, "support"):
        return "distribution"
    if isinstance(value, (np.ndarray, xr.DataArray, list)):
        return "samples"
    return "bad"


def _check_input(name: str, value: Any, *, label: str | None = None) -> None:
    """Raise a ValueError naming ``name`` (or ``label``) and the fix when ``value`` is not a valid input."""
    constraint = _SPEC[name][0]
    need = "> 0" if constraint == "positive" else ">= 1"
    hint = {
        "compute_growth": " (a yearly factor: 4.5 means x4.5 a year; frontier compute may not shrink)",
        "stock_growth": " (a yearly factor: 1.035 means +3.5% a year, not 0.035; the stock may not shrink)",
        "epochs": " (1 = each token seen once; 4 = up to four passes)",
        "efficiency_growth": (
            " (a yearly multiplier on effective compute: 2.8 means compute for a given loss halves every "
            "8 months, 1 = no progress; algorithms do not get worse)"
        ),
        "data_efficiency_growth": (
            " (a yearly multiplier on what a token is worth: 1.2 means +20% a year, 1 = off)"
        ),
    }.get(name, "")
    if label is not None:
        name = label

    def ok(x: float) -> bool:
        return bool(np.isfinite(x) and (x > 0 if constraint == "positive" else x >= 1))

    kind = _kind(value)
    if kind == "bad":
        raise ValueError(
            f"Scenario.{name}: got {value!r} of type {type(value).__name__}; give a number, a 90% "
            f"interval (low, high), a frozen scipy.stats distribution or an array of samples"
        )
    if kind == "fixed":
        if not ok(float(value)):
            raise ValueError(f"Scenario.{name} must be {need}{hint}; got {value!r}")
    elif kind == "interval":
        if len(value) != 2:
            raise ValueError(
                f"Scenario.{name}: a tuple is read as a 90% interval (low, high) and needs two numbers; "
                f"got {len(value)}. Pass samples as a numpy array instead"
            )
        low, high = (float(v) for v in value)
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError(f"Scenario.{name}: the interval {value!r} must be finite")
        if low > high:
            raise ValueError(
                f"Scenario.{name}: the 90% interval has low > high ({low:g} > {high:g}); write it as "
                f"({high:g}, {low:g})"
            )
        if not (ok(low) and ok(high)):
            raise ValueError(
                f"Scenario.{name}: both ends of the 90% interval must be {need}{hint} (it is read as "
                f"a log-normal); got ({low:g}, {high:g})"
            )
    elif kind == "distribution":
        lo_support = float(value.support()[0])
        q05 = float(value.ppf(0.05))
        if constraint == "positive" and lo_support < 0:
            raise ValueError(
                f"Scenario.{name}: the distribution can give negative values (support starts at "
                f"{lo_support:g}); use one on positive numbers, e.g. scipy.stats.lognorm"
            )
        if not ok(q05) and not (constraint == "positive" and q05 == 0):
            raise ValueError(f"Scenario.{name}: the distribution's 5% quantile {q05:g} is not {need}{hint}")
    else:
        arr = np.asarray(value.values if isinstance(value, xr.DataArray) else value, dtype=float)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"Scenario.{name}: samples must be a non-empty 1-D array; got shape {arr.shape}")
        bad = ~(np.isfinite(arr) & ((arr > 0) if constraint == "positive" else (arr >= 1)))
        if bad.any():
            raise ValueError(
                f"Scenario.{name}: {int(bad.sum())} of {arr.size} samples are not {need}{hint} "
                f"(first: {arr[bad][0]:g})"
            )


def _describe(name: str, value: Any) -> str:
    kind = _kind(value)
    if value is None:
        return "not used"
    if kind == "fixed":
        return f"{float(value):.4g}"
    if kind == "interval":
        low, high = (float(v) for v in value)
        return f"{math.sqrt(low * high):.4g} (90%: {low:.4g} to {high:.4g}, log-normal)"
    if kind == "distribution":
        q = value.ppf([0.05, 0.5, 0.95])
        dist_name = getattr(getattr(value, "dist", None), "name", "distribution")
        return f"{q[1]:.4g} (90%: {q[0]:.4g} to {q[2]:.4g}, scipy {dist_name})"
    arr = np.asarray(value.values if isinstance(value, xr.DataArray) else value, dtype=float)
    q = np.quantile(arr, [0.05, 0.5, 0.95])
    return f"{q[1]:.4g} (90%: {q[0]:.4g} to {q[2]:.4g}, {arr.size} samples)"


def _sample(name: str, value: Any, n: int, rng: np.random.Generator) -> xr.DataArray:
    """``n`` draws of an input as a DataArray over ``sample`` (a 0-d DataArray when fixed).

    Draws below a ``factor`` field's bound of 1 (possible in a log-normal's lower
    tail) are set to 1, so a growth factor never turns into a decline.
    """
    kind = _kind(value)
    if kind == "fixed":
        return xr.DataArray(float(value))
    if kind == "interval":
        low, high = (float(v) for v in value)
        mu = 0.5 * (math.log(low) + math.log(high))
        sd = (math.log(high) - math.log(low)) / (2.0 * Z90)
        out = np.exp(mu + sd * rng.standard_normal(n))
    elif kind == "distribution":
        out = np.asarray(value.rvs(size=n, random_state=rng), dtype=float)
    else:
        arr = value if isinstance(value, xr.DataArray) else xr.DataArray(np.asarray(value, dtype=float))
        arr = arr.rename({arr.dims[0]: "sample"})
        arr = arr.drop_vars(list(arr.coords))
        # Arrays as long as n_samples are used in order, so joint samples given for several
        # inputs keep their correlation; other lengths are resampled with replacement.
        if arr.sizes["sample"] != n:
            arr = arr.isel(sample=rng.integers(0, arr.sizes["sample"], size=n))
        arr = arr.astype(float)
        if _SPEC[name][0] == "factor":
            arr = np.maximum(arr, 1.0)
        return arr
    if _SPEC[name][0] == "factor":
        out = np.maximum(out, 1.0)
    return xr.DataArray(out, dims="sample")


def _same(a: Any, b: Any) -> bool:
    if _kind(a) == _kind(b) and _kind(a) in ("fixed", "interval"):
        return bool(np.all(np.asarray(a, dtype=float) == np.asarray(b, dtype=float)))
    return a is b


def _quantile(value: Any, q: float) -> float:
    """The ``q`` quantile of an input (checked already): the number itself when fixed."""
    kind = _kind(value)
    if kind == "fixed":
        return float(value)
    if kind == "interval":
        low, high = (math.log(float(v)) for v in value)
        z = float(stats.norm.ppf(q))
        return math.exp(0.5 * (low + high) + z * (high - low) / (2.0 * Z90))
    if kind == "distribution":
        return float(value.ppf(q))
    arr = np.asarray(value.values if isinstance(value, xr.DataArray) else value, dtype=float)
    return float(np.quantile(arr, q))


def _same_changes(a: Mapping[int, Any], b: Mapping[int, Any]) -> bool:
    return set(a) == set(b) and all(_same(a[y], b[y]) for y in a)


# ------------------------------------------------------------------- Scenario
@dataclass(frozen=True, eq=False, repr=False)
class Scenario:
    """Assumptions of a data-wall forecast, each a number, a 90% interval, a distribution or samples.

    The defaults are those of Villalobos et al. (2024); :meth:`epoch2024` names them.

    Parameters
    ----------
    compute : uncertain, default 5e25
        FLOP of the largest training run in ``base_year``.
    compute_growth : uncertain, default (4, 5)
        Yearly growth factor of that compute (4.5 = x4.5 a year; must be >= 1).
        Frontier compute in year ``y`` is ``compute * compute_growth ** (y - base_year)``.
    stock : uncertain, default (1e14, 1e15)
        Tokens of usable human text in ``base_year`` (median ~3.2e14).
    stock_growth : uncertain, default (1.03, 1.04)
        Yearly growth factor of the stock (1.035 = +3.5% a year; must be >= 1).
    overtraining : uncertain, default 1
        Multiplier k on compute-optimal tokens per parameter. At fixed compute
        C with optimal ratio r = D*/N*: ``N = sqrt(C / (6 k r))``, ``D = k r N
        = sqrt(k) D*``.
    epochs : uncertain, default 1
        Passes over the stock a run may make (>= 1): the wall is hit when
        demand exceeds ``stock * epochs``.
    tokens_per_param : uncertain or None, default None
        Fixed demand rule used by ``data_wall(fit=None)``: ``D = sqrt(C *
        tokens_per_param * overtraining / 6)`` (Epoch's method). Ignored when a
        fit supplies the frontier.
    r_star : uncertain, default 15.387756
        R_D*, how fast repeated tokens lose value (Muennighoff et al. 2023):
        ``D' = U + U R_D* (1 - exp(-(D/U - 1) / R_D*))``.
    base_year : int, default 2024
        Year of ``compute`` and ``stock``.
    efficiency_growth : uncertain, default 1 (off)
        Yearly multiplier on effective compute from better algorithms (>= 1).
        The loss reachable in year ``y`` is that of compute ``C_y *
        efficiency_growth ** (y - base_year)``; the tokens a run consumes
        (and so the wall) follow physical compute. :data:`EFFICIENCY_HO_2024`
        is Ho et al. (2024)'s measurement.
    data_efficiency_growth : uncertain, default 1 (off)
        Yearly multiplier on what a token of the stock is worth (>= 1): the
        effective stock is ``stock * stock_growth ** t * data_efficiency_growth ** t``.
        :data:`DATA_EFFICIENCY_RANGE` spans the published evidence.
    growth_changes : dict, optional
        Growth rates that change at given years: ``{field: {year: factor}}``
        for any of ``compute_growth, stock_growth, efficiency_growth,
        data_efficiency_growth``; the factor (uncertain, >= 1) applies from
        the start of ``year`` (after ``base_year``) until the next change.
        :data:`COMPUTE_SLOWDOWN_2030` is a sourced compute slowdown.
    compute_cap : uncertain or None, default None
        Largest training run possible in any year (FLOP; a limit of power or
        money): frontier compute grows until it reaches the cap, then stays.
        Must not lie below ``compute``; a sample below its own base-year
        compute is raised to it.
    name : str
        Label used in text and reports.
    sources : dict, optional
        Sources of inputs you set yourself, by field name (shown by
        :meth:`assumptions`); an input left at its default cites the default's
        source, and one you changed without a source says "set by the user".

    Raises
    ------
    ValueError
        Naming the field and the fix, for a non-positive stock or compute, a
        growth factor, efficiency multiplier or epochs below 1, an interval
        with low > high, samples that break these bounds, a growth change at or
        before the base year, a compute cap below the base year's compute, or
        an unknown source key.

    Examples
    --------
    >>> from forecast.scenarios import Scenario
    >>> s = Scenario.epoch2024(tokens_per_param=20, stock=(2e14, 6e14))
    >>> s.assumptions().set_index("assumption").loc["stock", "source"]
    'set by the user'
    >>> Scenario(stock=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: Scenario.stock must be > 0; got -1.0
    """

    compute: Any = _SPEC["compute"][1]
    compute_growth: Any = _SPEC["compute_growth"][1]
    stock: Any = _SPEC["stock"][1]
    stock_growth: Any = _SPEC["stock_growth"][1]
    overtraining: Any = _SPEC["overtraining"][1]
    epochs: Any = _SPEC["epochs"][1]
    tokens_per_param: Any = None
    r_star: Any = _SPEC["r_star"][1]
    base_year: int = 2024
    name: str = "custom scenario"
    sources: Mapping[str, str] = field(default_factory=dict)
    efficiency_growth: Any = _SPEC["efficiency_growth"][1]
    data_efficiency_growth: Any = _SPEC["data_efficiency_growth"][1]
    growth_changes: Mapping[str, Mapping[int, Any]] = field(default_factory=dict)
    compute_cap: Any = None

    def __post_init__(self) -> None:
        if isinstance(self.base_year, bool) or not isinstance(self.base_year, numbers.Integral):
            raise ValueError(f"Scenario.base_year must be a whole year such as 2024; got {self.base_year!r}")
        for name in UNCERTAIN_FIELDS:
            value = getattr(self, name)
            if name in OPTIONAL_FIELDS and value is None:
                continue
            _check_input(name, value)
        object.__setattr__(self, "growth_changes", self._checked_changes())
        if self.compute_cap is not None:
            cap, now = _quantile(self.compute_cap, 0.05), _quantile(self.compute, 0.5)
            if cap < now * (1 - 1e-9):  # tolerance: an interval (c, c) is c up to rounding
                raise ValueError(
                    f"Scenario.compute_cap: the cap ({cap:.3g} FLOP, its 5% quantile) lies below today's "
                    f"compute ({now:.3g} FLOP in {self.base_year}, median); a cap limits future growth, so "
                    f"give at least the base year's compute, or lower Scenario.compute"
                )
        keys = set(UNCERTAIN_FIELDS) | {"base_year", "growth_changes"}
        unknown = sorted(set(self.sources) - keys)
        if unknown:
            raise ValueError(
                f"Scenario.sources has unknown key(s) {unknown}; use field names: "
                f"{', '.join(UNCERTAIN_FIELDS)}, base_year, growth_changes"
            )
        object.__setattr__(self, "sources", dict(self.sources))

    def _checked_changes(self) -> dict[str, dict[int, Any]]:
        """``growth_changes`` checked and copied: growth field -> {year: factor from that year on}."""
        changes = self.growth_changes
        if not isinstance(changes, Mapping):
            raise ValueError(
                f"Scenario.growth_changes must map a growth field to {{year: factor}}, e.g. "
                f"{{'compute_growth': {{2030: (1.3, 3.2)}}}}; got {changes!r}"
            )
        out: dict[str, dict[int, Any]] = {}
        for name, by_year in changes.items():
            if name not in GROWTH_FIELDS:
                raise ValueError(
                    f"Scenario.growth_changes: {name!r} is not a growth field; use one of {', '.join(GROWTH_FIELDS)}"
                )
            if not isinstance(by_year, Mapping) or not by_year:
                raise ValueError(
                    f"Scenario.growth_changes[{name!r}] must map years to factors, e.g. {{2030: (1.3, 3.2)}}; "
                    f"got {by_year!r}"
                )
            out[name] = {}
            for year, value in sorted(by_year.items()):
                label = f"growth_changes[{name!r}][{year!r}]"
                if isinstance(year, bool) or not isinstance(year, numbers.Integral):
                    raise ValueError(f"Scenario.{label}: the year must be a whole year such as 2030")
                if year <= self.base_year:
                    raise ValueError(
                        f"Scenario.{label}: the change year {year} is not after the base year "
                        f"{self.base_year}; a change must come later (to change the rate from the start, "
                        f"set Scenario.{name} itself)"
                    )
                _check_input(name, value, label=label)
                out[name][int(year)] = value
        return out

    def change_points(self) -> list[tuple[str, int, str]]:
        """``(field, year, variable)`` for each growth change, in the order :meth:`sample` draws them.

        Examples
        --------
        >>> Scenario(growth_changes={"compute_growth": {2030: 2.0}}).change_points()
        [('compute_growth', 2030, 'compute_growth_from_2030')]
        """
        return [
            (name, year, f"{name}_from_{year}")
            for name in GROWTH_FIELDS
            for year in self.growth_changes.get(name, {})
        ]

    # -------------------------------------------------------- constructors
    @classmethod
    def epoch2024(cls, tokens_per_param: Any = None, **overrides: Any) -> Scenario:
        """The assumptions of Villalobos et al. (2024), Epoch AI's "Will we run out of data?".

        Stock of usable public human text ~3e14 tokens (90% interval 1e14-1e15),
        growing 3-4% a year; frontier training compute 5e25 FLOP in 2024,
        growing 4-5x a year; compute-optimal runs (no over-training) and no
        repetition beyond what the effective stock already allows. With
        ``tokens_per_param=20`` and ``data_wall(fit=None)`` this is their
        compute-based projection (median 2028, 80% interval 2026-2032).
        Algorithmic and data efficiency are off (1), as in their projection,
        and no growth rate changes; pass ``efficiency_growth=EFFICIENCY_HO_2024``
        or ``growth_changes=...`` to add them (the name then says so).

        Parameters
        ----------
        tokens_per_param : uncertain, optional
            Fixed demand rule for ``fit=None`` (20 in Epoch's projection).
        **overrides
            Any other :class:`Scenario` field; changed inputs are labelled
            "set by the user" unless ``sources={field: "..."}`` says otherwise.

        Examples
        --------
        >>> s = Scenario.epoch2024(tokens_per_param=20)
        >>> s.base_year, s.tokens_per_param
        (2024, 20)
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"Scenario.epoch2024: unknown field(s) {unknown}; fields are {sorted(names)}")
        changed = [n for n in UNCERTAIN_FIELDS if n in overrides and not _same(overrides[n], _SPEC[n][1])]
        if overrides.get("growth_changes"):
            changed.append("growth_changes")
        name = "Epoch AI 2024 (Villalobos et al.)"
        if changed:  # say so, so that text quoting the scenario's name does not overclaim
            name += " with " + ", ".join(changed) + " changed"
        overrides.setdefault("name", name)
        return cls(tokens_per_param=tokens_per_param, **overrides)

    # ----------------------------------------------------------- describing
    def source(self, name: str) -> str:
        """Where the value of input ``name`` comes from.

        Examples
        --------
        >>> Scenario(epochs=4).source("epochs")
        'set by the user'
        >>> Scenario(epochs=4, sources={"epochs": "Muennighoff et al. 2023: ~4 epochs cost little"}).source("epochs")
        'Muennighoff et al. 2023: ~4 epochs cost little'
        """
        if name in self.sources:
            return self.sources[name]
        if name == "base_year":
            return "year of the compute and stock figures"
        value = getattr(self, name)
        if name == "tokens_per_param" and value is None:
            return "not used: demand comes from the fitted frontier"
        if _same(value, _SPEC[name][1]):
            return _SPEC[name][2]
        for preset, text in _PRESET_SOURCES.get(name, []):
            if _same(value, preset):
                return text
        return "set by the user"

    def change_source(self, name: str) -> str:
        """Where the changes of growth field ``name`` come from (``sources["growth_changes"]`` if given).

        Examples
        --------
        >>> from forecast.scenarios import COMPUTE_SLOWDOWN_2030
        >>> Scenario(growth_changes={"compute_growth": COMPUTE_SLOWDOWN_2030}).change_source("compute_growth")[:25]
        '4x a year is feasible to '
        """
        if "growth_changes" in self.sources:
            return self.sources["growth_changes"]
        for preset, text in _CHANGE_PRESETS.get(name, []):
            if _same_changes(self.growth_changes.get(name, {}), preset):
                return text
        return "set by the user"

    def assumptions(self) -> pd.DataFrame:
        """One row per assumption: ``assumption, value, meaning, source``.

        Examples
        --------
        >>> Scenario.epoch2024().assumptions()["assumption"].tolist()[:3]
        ['base_year', 'compute', 'compute_growth']
        """
        rows = [
            {
                "assumption": "base_year",
                "value": str(self.base_year),
                "meaning": "year of the compute and stock figures",
                "source": self.source("base_year"),
            }
        ]
        for name in UNCERTAIN_FIELDS:
            rows.append(
                {
                    "assumption": name,
                    "value": _describe(name, getattr(self, name)),
                    "meaning": _SPEC[name][3],
                    "source": self.source(name),
                }
            )
        for name, year, _ in self.change_points():
            rows.append(
                {
                    "assumption": f"{name} from {year}",
                    "value": _describe(name, self.growth_changes[name][year]),
                    "meaning": f"{_SPEC[name][3]}, from {year} on (replaces the rate before)",
                    "source": self.change_source(name),
                }
            )
        return pd.DataFrame(rows, columns=["assumption", "value", "meaning", "source"])

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}", f"base_year={self.base_year}"]
        parts += [
            f"{n}={_describe(n, getattr(self, n))}"
            for n in UNCERTAIN_FIELDS
            if not (n in OPTIONAL_FIELDS and getattr(self, n) is None)
        ]
        parts += [
            f"{n} from {y}={_describe(n, self.growth_changes[n][y])}" for n, y, _ in self.change_points()
        ]
        return "Scenario(" + ", ".join(parts) + ")"

    # ------------------------------------------------------------ sampling
    def sample(self, n: int, *, random_seed: int = 0) -> xr.Dataset:
        """``n`` joint draws of the inputs as a Dataset over ``sample``.

        Each input is drawn from its own stream seeded by ``(random_seed,
        position of the field)``, so changing one input leaves the draws of
        the others unchanged (common random numbers: two scenarios that differ
        in the stock are compared draw by draw). Fixed inputs are 0-d. A
        growth rate after a change year (``growth_changes``) is its own input,
        drawn independently of the rate before, as ``{field}_from_{year}``.

        Examples
        --------
        >>> ds = Scenario.epoch2024().sample(1000, random_seed=1)
        >>> round(float(ds["stock"].median()) / 1e14, 1)
        3.3
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n_samples must be a positive whole number; got {n!r}")
        out = {}
        for i, name in enumerate(UNCERTAIN_FIELDS):
            value = getattr(self, name)
            if value is None:
                continue
            rng = np.random.default_rng(np.random.SeedSequence([int(random_seed), i]))
            out[name] = _sample(name, value, int(n), rng)
        for name, year, var in self.change_points():
            seed = [int(random_seed), 100 + GROWTH_FIELDS.index(name), year]
            rng = np.random.default_rng(np.random.SeedSequence(seed))
            out[var] = _sample(name, self.growth_changes[name][year], int(n), rng)
        return xr.Dataset(out)


# ---------------------------------------------------------- growth from data
@dataclass(frozen=True)
class GrowthFit:
    """Log-linear growth of a frontier quantity fitted to history.

    Attributes
    ----------
    column : str
        The quantity (e.g. ``"flops"``).
    factor, lower, upper : float
        Yearly growth factor and its 90% confidence interval (OLS on log10).
    level : float
        Fitted value of the frontier at the start of ``year``.
    year : int
        The year after the last data point's year (the fitted "base year").
    n : int
        Points used; ``since`` and ``method`` say which.
    """

    column: str
    factor: float
    lower: float
    upper: float
    level: float
    year: int
    n: int
    since: int
    method: str

    def __str__(self) -> str:
        return (
            f"{self.column}: x{self.factor:.2f} a year (90% CI {self.lower:.2f}-{self.upper:.2f}), "
            f"{self.method} since {self.since}, {self.n} points; fitted level {self.level:.3g} "
            f"at the start of {self.year}"
        )


def growth_from_history(
    df: pd.DataFrame,
    column: str = "flops",
    *,
    since: int = 2010,
    date: str = "date",
    method: Literal["yearly_max", "records"] = "yearly_max",
) -> GrowthFit:
    """Yearly growth factor of the frontier of ``column`` (log-linear least squares).

    ``log10 y = a + b t`` is fitted by ordinary least squares to the frontier
    points; the factor is ``10**b`` with a 90% interval from the t
    distribution of ``b``. The frontier is either the largest value of each
    calendar year (``"yearly_max"``, at mid-year) or each model that beat every
    earlier one (``"records"``, at its date).

    Parameters
    ----------
    df : DataFrame
        One row per model with a date column and ``column`` (e.g. Epoch AI's
        ``epoch_language_models.csv``: ``date, params, tokens, flops``).
    column : str
        Quantity to fit, e.g. ``"flops"`` or ``"tokens"``.
    since : int
        First year used.
    date : str
        Name of the date column.
    method : {"yearly_max", "records"}
        Which points make the frontier.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"date": ["2020-06-01", "2021-06-01", "2022-06-01"], "flops": [1e23, 4e23, 1.6e24]})
    >>> round(growth_from_history(df, "flops", since=2020).factor, 2)
    4.0
    """
    if column not in df or date not in df:
        raise ValueError(f"growth_from_history needs columns {date!r} and {column!r}; got {list(df.columns)}")
    when = pd.to_datetime(df[date])
    t = when.dt.year + (when.dt.day_of_year - 0.5) / 365.25
    y = pd.to_numeric(df[column], errors="coerce")
    keep = (when.dt.year >= since) & np.isfinite(y) & (y > 0)
    t, y, years = t[keep], y[keep], when.dt.year[keep]
    if method == "yearly_max":
        idx = y.groupby(years).idxmax()
        tt, yy = idx.index.to_numpy(dtype=float) + 0.5, y[idx].to_numpy()
    elif method == "records":
        order = np.argsort(t.to_numpy())
        ts, ys = t.to_numpy()[order], y.to_numpy()[order]
        best = np.maximum.accumulate(ys)
        is_record = np.r_[True, ys[1:] > best[:-1]]
        tt, yy = ts[is_record], ys[is_record]
    else:
        raise ValueError(f"method must be 'yearly_max' or 'records'; got {method!r}")
    if tt.size < 3:
        raise ValueError(f"growth_from_history needs at least 3 frontier points since {since}; got {tt.size}")
    res = stats.linregress(tt, np.log10(yy))
    tq = stats.t.ppf(0.95, tt.size - 2)
    last = int(np.floor(tt.max())) + 1
    return GrowthFit(
        column=column,
        factor=float(10**res.slope),
        lower=float(10 ** (res.slope - tq * res.stderr)),
        upper=float(10 ** (res.slope + tq * res.stderr)),
        level=float(10 ** (res.intercept + res.slope * last)),
        year=last,
        n=int(tt.size),
        since=since,
        method=method,
    )
