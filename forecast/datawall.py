"""The data wall: when the largest training run needs more text than exists, and what that costs in loss.

For each Monte Carlo sample (a posterior draw of the scaling law paired with
a draw of the :class:`~forecast.scenarios.Scenario`) and each year ``y``:

* frontier compute ``C_y = C_0 g^(y - y_0)``;
* tokens demanded by the frontier run. From a fit, the compute-optimal
  allocation of the fitted law (:func:`forecast.frontier.frontier`; for
  Chinchilla ``D*(C) = G^-1 (C/6)^b``), over-trained by ``k``: ``D = sqrt(k) D*`` (tokens
  per parameter multiplied by ``k`` at fixed ``C = 6 N D``). Without a fit,
  Epoch's fixed rule ``D = sqrt(C * tpp * k / 6)``;
* supply ``S_y * epochs`` with ``S_y = S_0 s^(y - y_0)`` the stock of usable text.

The **wall date** is where demand overtakes supply. Both grow exponentially,
so ``log demand - log supply = e0 + e1 (y - y_first)`` is a straight line in
time and the date is its root, ``y_first - e0 / e1``: exactly what linear
interpolation between the grid years that bracket the first year demand
exceeds supply gives, without building the year axis. The **wall year** is the
calendar year containing that date: "2028" means demand overtakes the stock
during 2028, the convention of Villalobos et al. (2024), so the first grid
year whose demand exceeds supply is the wall year + 1. A sample whose demand
already exceeds supply in the first year gets that year ("or earlier"), and
one whose demand stays below it through the last year counts as later than
the horizon.

**Loss at the wall.** Without a wall the frontier run reaches the
compute-optimal loss ``L*(C)``. With the wall, tokens are capped at ``D_max =
epochs x stock``: the run takes ``D = min(D*, D_max)`` tokens and ``N = C / (6
D)`` parameters, and tokens beyond one pass over the stock ``U`` count as
effective data ``D' = U + U R_D* (1 - exp(-(D/U - 1)/R_D*))`` (Muennighoff et
al. 2023): ``L = E + A N^-alpha + B D'^-beta``. This allocation is feasible, so
the loss it gives is an upper bound on the best loss under the wall. The
over-training factor moves the wall (it raises demand) but not these losses,
which are for the loss-optimal run at each year's compute.

**Efficiency, slowdowns and caps** (:class:`~forecast.scenarios.Scenario`'s
``efficiency_growth``, ``data_efficiency_growth``, ``growth_changes`` and
``compute_cap``). The loss reachable by year uses effective compute ``m_y
C_y`` (``m_y`` the algorithmic efficiency gained since the base year): a run
of ``N`` parameters and ``D`` tokens counts as ``N m^a`` and ``D m^b`` with
``N* ~ C^a``, ``D* ~ C^b`` on the frontier, so the compute-optimal run maps
onto the compute-optimal run at ``m C``. The wall counts physical tokens
(demand at physical compute) against the effective stock (the stock times
data efficiency since the base year). Growth rates that change at given
years and a cap make ``log demand - log supply`` piecewise linear; the wall
date is its first root, exact between the knots (change years, and where
compute reaches the cap).

**Pairing and memory.** By default (``pairing="paired"``) each scenario
sample is paired with one posterior draw: a random subsample of the draws
without replacement, cycling through a fresh permutation when there are more
samples than draws. Every quantity is then a (sample, year) array, and the
Monte Carlo estimates the joint distribution of law and scenario. With
``pairing="cross"`` every posterior draw meets every scenario sample (``draws x
samples`` joint samples); only the wall dates are kept, and per-year losses
are computed one year at a time in :meth:`WallForecast.loss_by_year`. Both
work in chunks of scenario samples of about ``chunk_elements`` numbers, so
peak memory stays bounded whatever the sample counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import xarray as xr

from forecast.config import DEFAULT_CI, INTERVAL_KIND, quantile_bounds
from forecast.laws import effective_data
from forecast.scenarios import GrowthFit, Scenario, growth_from_history

if TYPE_CHECKING:
    from forecast.fit import Fit

__all__ = ["GrowthFit", "Scenario", "WallForecast", "compare_text", "data_wall", "growth_from_history"]

LN6 = math.log(6.0)
CHUNK_ELEMENTS = 2_000_000
"""Numbers per chunk of (draw x sample x year) work: ~16 MB per float64 temporary."""
MIN_YEARLY_GAIN = 0.005
"""Default threshold of "diminishing returns": a yearly loss improvement (nats/token) below this.

A choice to change, not a measured fact: under ``Scenario.epoch2024()`` with
Besiroglu et al. (2024)'s Chinchilla law and no wall, the compute-optimal loss
falls by ~0.017 nats/token from 2024 to 2025 and by a quarter less each year
after, so 0.005 is reached around 2029.
"""

THETA = "theta:"
"""Prefix of the per-draw law parameters (sampled space) among the frontier coefficients."""

LINE_BUDGETS = (1e20, 1e30)
"""Two compute budgets (FLOP) that fix the frontier's straight line in log space."""


# ------------------------------------------------------------------ helpers
def _frontier_coefficients(fit: Fit, family: str) -> dict[str, np.ndarray]:
    """Per posterior draw, the fitted frontier as straight lines in log space, and the law's parameters.

    The frontier comes from the law (:func:`forecast.frontier.frontier`: the
    closed form it declares, or the numerical optimum for any law of N and D).
    A law that is a sum of power laws in N and D (Chinchilla's, Kaplan's) has a
    power-law frontier, so the optimum at two budgets fixes ``log D* = d0 + b
    log C`` and ``log N* = n0 + a log C`` exactly. Returns numpy arrays over the
    posterior draws (chains stacked), with the law's sampled parameters under
    ``"theta:<name>"`` for the loss (see :func:`_losses`).
    """
    from forecast.frontier import _optimum_of

    law = fit.law
    if law.frontier_method not in ("closed form", "numeric"):
        raise ValueError(
            f"data_wall needs a law that splits compute between parameters and tokens (a law of N and D, "
            f"such as 'chinchilla' or 'data_constrained'); the fit's law {law.name!r} reads "
            f"{', '.join(law.inputs)} and has no such split. Refit with ScalingModel(law='chinchilla'), "
            "or pass fit=None with Scenario(tokens_per_param=20) for Epoch's fixed rule"
        )
    if not isinstance(family, str):
        raise ValueError(f"data_wall needs one family; got {family!r}. Pass family='population' or a name")
    theta_ds = fit.theta([family], random_seed=0).squeeze("family", drop=True).transpose("chain", "draw")
    theta = {p: theta_ds[p].values.ravel() for p in law.params}
    user = law.to_user(theta, fit.centre, np)
    ln_c = np.log(LINE_BUDGETS)
    opt = _optimum_of(law, theta, user, fit.centre)(ln_c)
    ln_d, ln_n = np.log(opt["tokens"]), np.log(opt["params"])
    d_slope = (ln_d[:, 1] - ln_d[:, 0]) / (ln_c[1] - ln_c[0])
    n_slope = (ln_n[:, 1] - ln_n[:, 0]) / (ln_c[1] - ln_c[0])
    out = {
        "ln_d0": ln_d[:, 0] - d_slope * ln_c[0],
        "d_slope": d_slope,
        "ln_n0": ln_n[:, 0] - n_slope * ln_c[0],
        "n_slope": n_slope,
        **{THETA + p: v for p, v in theta.items()},
    }
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _law_loss(law, centre: dict, par: dict, ln_n, ln_d, ln_unique) -> np.ndarray:
    """The law's loss at log N, log D (and log unique tokens, for a law that reads them), per draw in ``par``."""
    dtype = np.asarray(ln_d).dtype.type
    theta = {p: par[THETA + p] for p in law.params}
    c = {k: dtype(v) for k, v in centre.items()}
    logx = {k: v for k, v in (("params", ln_n), ("tokens", ln_d), ("unique_tokens", ln_unique)) if k in law.inputs}
    if law.loss_kernel is not None:
        return law.loss_kernel(theta, c)(logx)
    return np.exp(law.log_mean(theta, logx, c, np))


_LOG_RATE = {
    "compute_growth": "ln_g",
    "stock_growth": "ln_sg",
    "efficiency_growth": "ln_e",
    "data_efficiency_growth": "ln_de",
}
"""Key in the log inputs of each yearly growth factor; ``(key, t)`` holds its log rate from offset ``t`` on."""


def _log_inputs(samples: xr.Dataset, n: int, scenario: Scenario | None = None) -> dict:
    """Logs of the scenario samples as numpy arrays of length ``n`` (dask-backed inputs are computed).

    Growth rates that change (``scenario.growth_changes``) are keyed ``(key, t)``
    with ``t`` the change year's offset from the base year.
    """

    def flat(name: str) -> np.ndarray:
        return np.broadcast_to(np.asarray(samples[name], dtype=float), (n,))

    out = {
        "ln_c0": np.log(flat("compute")),
        "ln_g": np.log(flat("compute_growth")),
        "ln_s0": np.log(flat("stock")),
        "ln_sg": np.log(flat("stock_growth")),
        "ln_k": np.log(flat("overtraining")),
        "ln_ep": np.log(flat("epochs")),
        "r_star": flat("r_star"),
    }
    if "tokens_per_param" in samples:
        out["ln_tpp"] = np.log(flat("tokens_per_param"))
    for name in ("efficiency_growth", "data_efficiency_growth"):
        out[_LOG_RATE[name]] = np.log(flat(name)) if name in samples else np.zeros(n)
    if "compute_cap" in samples:  # a cap below a sample's own base-year compute holds compute flat
        out["ln_cap"] = np.maximum(np.log(flat("compute_cap")), out["ln_c0"])
    if scenario is not None:
        for name, year, var in scenario.change_points():
            out[(_LOG_RATE[name], float(year - scenario.base_year))] = np.log(flat(var))
    return out


def _cum_log(ln: dict, key: str, t):
    """Log growth accumulated from the base year to offset ``t`` at the rate ``ln[key]`` and its changes."""
    out = ln[key] * t
    prev = ln[key]
    for change in sorted((k for k in ln if isinstance(k, tuple) and k[0] == key), key=lambda k: k[1]):
        out = out + (ln[change] - prev) * np.maximum(t - change[1], 0.0)
        prev = ln[change]
    return out


def _first_crossing(knots: np.ndarray, values: np.ndarray) -> np.ndarray:
    """First ``t`` where a piecewise-linear function (``values`` at ``knots``, last axis) exceeds 0.

    ``knots[..., 0]`` when it starts above 0, ``inf`` when it never exceeds it.
    """
    above = values > 0
    k = above.argmax(-1)[..., None]
    prev = np.maximum(k - 1, 0)
    t1, v1 = np.take_along_axis(knots, k, -1)[..., 0], np.take_along_axis(values, k, -1)[..., 0]
    t0, v0 = np.take_along_axis(knots, prev, -1)[..., 0], np.take_along_axis(values, prev, -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        root = t0 - v0 * (t1 - t0) / (v1 - v0)
    return np.where(~above.any(-1), np.inf, np.where(k[..., 0] == 0, knots[..., 0], root))


def _pair_indices(n_draws: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    reps = -(-n_samples // n_draws)
    return np.concatenate([rng.permutation(n_draws) for _ in range(reps)])[:n_samples]


def _check_years(years: Iterable[int]) -> np.ndarray:
    yrs = np.asarray(list(years))
    if yrs.ndim != 1 or yrs.size == 0:
        raise ValueError("years must be a non-empty sequence of whole years, e.g. range(2024, 2041)")
    if not np.all(np.equal(np.mod(yrs, 1), 0)):
        raise ValueError(f"years must be whole years; got {yrs.tolist()}")
    yrs = yrs.astype(int)
    if np.any(np.diff(yrs) <= 0):
        raise ValueError(f"years must be strictly increasing; got {yrs.tolist()}")
    return yrs


def _take(d: dict[str, np.ndarray], index, expand: tuple | None = None) -> dict[str, np.ndarray]:
    out = {k: v[index] for k, v in d.items()}
    return {k: v[expand] for k, v in out.items()} if expand is not None else out


def _demand_line(coef: dict | None, ln: dict) -> tuple[np.ndarray, np.ndarray]:
    """``log D = dd0 + ds log C``: the demanded tokens, incl. over-training, as a line in log compute."""
    if coef is None:  # D = sqrt(C tpp k / 6)
        return 0.5 * (ln["ln_tpp"] + ln["ln_k"] - LN6), np.full_like(ln["ln_k"], 0.5)
    return coef["ln_d0"] + 0.5 * ln["ln_k"], coef["d_slope"]


def _wall_dates(dd0, ds, ln: dict, *, first: int, last: int, base: int) -> np.ndarray:
    """Date demand first exceeds supply on ``[first, last + 1)``; ``inf`` if it does not.

    ``log demand - log supply`` is piecewise linear in time, with kinks only at
    the years growth rates change and where compute reaches its cap, so its
    first root is found exactly by interpolating between those knots.
    """
    t0, t1 = float(first - base), float(last + 1 - base)
    inner = sorted({k[1] for k in ln if isinstance(k, tuple) and t0 < k[1] < t1})
    if not inner and "ln_cap" not in ln:  # one straight line: its root directly (no knot axis)
        e0 = (
            dd0
            + ds * (ln["ln_c0"] + ln["ln_g"] * t0)
            - (ln["ln_s0"] + (ln["ln_sg"] + ln["ln_de"]) * t0 + ln["ln_ep"])
        )
        e1 = ds * ln["ln_g"] - ln["ln_sg"] - ln["ln_de"]
        with np.errstate(divide="ignore", invalid="ignore"):
            date = np.where(e0 > 0, float(first), np.where(e1 > 0, first - e0 / e1, np.inf))
        date[date >= last + 1] = np.inf
        return date
    grid = np.array([t0, *inner, t1])
    shape = np.broadcast_shapes(np.shape(dd0), np.shape(ln["ln_c0"]), np.shape(ln["ln_s0"]))
    if grid.size + ("ln_cap" in ln) > 2 and shape and shape[-1] > 1:
        # the knot axis multiplies the work's size: split the samples so a chunk stays a chunk
        parts = np.array_split(np.arange(shape[-1]), grid.size + ("ln_cap" in ln) - 1)

        def cut(a, idx):
            a = np.asarray(a)
            return a[..., idx] if a.ndim and a.shape[-1] == shape[-1] else a

        return np.concatenate(
            [
                _wall_dates_knots(
                    cut(dd0, i), cut(ds, i), {k: cut(v, i) for k, v in ln.items()}, grid, base, last
                )
                for i in parts
                if i.size
            ],
            axis=-1,
        )
    return _wall_dates_knots(dd0, ds, ln, grid, base, last)


def _wall_dates_knots(dd0, ds, ln: dict, grid: np.ndarray, base: int, last: int) -> np.ndarray:
    """:func:`_wall_dates` through the knots ``grid`` (and, with a cap, where compute reaches it)."""
    t1 = grid[-1]
    x = {k: np.asarray(v)[..., None] for k, v in ln.items()}
    shape = np.broadcast_shapes(np.shape(dd0), np.shape(ln["ln_c0"]), np.shape(ln["ln_s0"]))
    knots = np.broadcast_to(grid, (*shape, grid.size))
    if "ln_cap" in ln:  # compute stops growing where it reaches the cap: one more knot per sample
        free = x["ln_c0"] + _cum_log(x, "ln_g", grid) - x["ln_cap"]
        t_cap = _first_crossing(np.broadcast_to(grid, free.shape), free)
        t_cap = np.broadcast_to(np.where(np.isfinite(t_cap), t_cap, t1)[..., None], (*shape, 1))
        knots = np.sort(np.concatenate([knots, t_cap], axis=-1), axis=-1)
    q = _per_year(x, knots)
    excess = np.asarray(dd0)[..., None] + np.asarray(ds)[..., None] * q["ln_c"] - q["ln_supply"]
    date = base + _first_crossing(knots, excess)
    date[date >= last + 1] = np.inf
    return date


def _per_year(ln: dict, t: np.ndarray) -> dict[str, np.ndarray]:
    """Per year offset ``t`` (``ln`` arrays broadcast against it), all logs.

    ``ln_c`` physical frontier compute (capped), ``ln_stock`` the stock of
    text in tokens, ``ln_eff_stock`` what it is worth with data efficiency,
    ``ln_supply`` that times epochs, and ``ln_m`` the algorithmic efficiency
    multiplier on compute.
    """
    ln_c = ln["ln_c0"] + _cum_log(ln, "ln_g", t)
    if "ln_cap" in ln:
        ln_c = np.minimum(ln_c, ln["ln_cap"])
    ln_stock = ln["ln_s0"] + _cum_log(ln, "ln_sg", t)
    ln_eff_stock = ln_stock + _cum_log(ln, "ln_de", t)
    return {
        "ln_c": ln_c,
        "ln_stock": ln_stock,
        "ln_eff_stock": ln_eff_stock,
        "ln_supply": ln_eff_stock + ln["ln_ep"],
        "ln_m": _cum_log(ln, "ln_e", t),
    }


def _losses(par: dict, r_star, q: dict, *, repeats: bool, law, centre: dict) -> tuple[np.ndarray, np.ndarray]:
    """Loss at the frontier compute without the wall (compute-optimal) and with it (tokens capped).

    Both are the fitted law's own loss: at the frontier's ``(N*, D*)`` without
    the wall, and with it at ``D = min(D*, stock x epochs)``, ``N = C / (6 D)``.
    Tokens past one pass over the stock are discounted with the scenario's
    ``R_D*`` (:func:`forecast.laws.effective_data`), unless the law reads unique
    tokens itself (the data-constrained law, with its own fitted ``R_D_star``).

    Algorithmic efficiency ``m`` makes physical compute ``C`` worth ``m C``:
    without the wall the loss is ``L*(m C)``. A run of ``N`` parameters and
    ``D`` tokens counts as ``N m^a`` and ``D m^b`` (``a + b = 1`` the
    frontier's exponents, ``N* ~ C^a``, ``D* ~ C^b``), so the compute-optimal
    run maps onto the compute-optimal run at ``m C``, and the capped run keeps
    its physical tokens (the wall counts physical tokens against the effective
    stock) while efficiency raises what both terms are worth.
    """
    ln_c, ln_m = q["ln_c"], q["ln_m"]
    ln_ce = ln_c + ln_m
    ln_dstar = par["ln_d0"] + par["d_slope"] * ln_ce
    without = _law_loss(law, centre, par, ln_ce - LN6 - ln_dstar, ln_dstar, ln_dstar)
    ln_d = np.minimum(par["ln_d0"] + par["d_slope"] * ln_c, q["ln_supply"])
    ln_n = ln_c - LN6 - ln_d + par["n_slope"] * ln_m
    shift_d = par["d_slope"] * ln_m
    if "unique_tokens" in law.inputs:
        ln_unique = np.minimum(q["ln_eff_stock"], ln_d) + shift_d
        return without, _law_loss(law, centre, par, ln_n, ln_d + shift_d, ln_unique)
    ln_deff = ln_d
    if repeats:
        # Tokens past one pass over the stock U are worth less (effective_data is homogeneous:
        # D'(D, U) = U D'(D/U, 1)); a run smaller than the stock sees only unique tokens.
        over = np.maximum(ln_d - q["ln_eff_stock"], 0.0)
        ln_deff = ln_d - over + np.log(effective_data(np.exp(over), 1.0, r_star, np))
    return without, _law_loss(law, centre, par, ln_n, ln_deff + shift_d, None)


def _paired_losses(
    coef: dict,
    ln: dict,
    d_idx: np.ndarray,
    s_idx: np.ndarray,
    t: np.ndarray,
    *,
    repeats: bool,
    chunk_elements: int,
    law,
    centre: dict,
    dtype=np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Losses over (pair, year) for posterior draw ``d_idx[i]`` with scenario sample ``s_idx[i]``."""
    m = d_idx.size
    without, with_wall = np.empty((m, t.size), dtype), np.empty((m, t.size), dtype)
    tt = t.astype(dtype)[None, :]
    step = max(1, chunk_elements // t.size)
    for start in range(0, m, step):
        sl = slice(start, min(start + step, m))
        par = {k: v[d_idx[sl]].astype(dtype)[:, None] for k, v in coef.items()}
        col = {k: v[s_idx[sl]].astype(dtype)[:, None] for k, v in ln.items()}
        without[sl], with_wall[sl] = _losses(
            par, col["r_star"], _per_year(col, tt), repeats=repeats, law=law, centre=centre
        )
    return without, with_wall


def _fmt_count(value: float, last: int) -> str:
    return f"{value:.1f}" if np.isfinite(value) else f"more (wall after {last})"


def _fmt_year(value: float, *, first: int, last: int, at_start: bool) -> str:
    if not np.isfinite(value):
        return f"after {last}"
    if int(value) <= first and at_start:
        return f"{first} or earlier"
    return str(int(value))


# ---------------------------------------------------------------- WallForecast
class WallForecast:
    """When the frontier run outgrows the stock of usable text, with uncertainty.

    Made by :func:`data_wall`; see the module docstring for the method.

    Attributes
    ----------
    draws : xarray.Dataset
        ``wall_date`` (fractional year, ``inf`` if not within the horizon) and
        ``wall_year`` (calendar year, ``inf`` beyond the horizon) over the
        Monte Carlo dims: ``sample`` when paired, ``(draw, sample)`` when
        crossed. Paired forecasts also hold, over ``(sample, year)``,
        ``compute`` (FLOP), ``demand`` (tokens), ``stock`` (tokens), ``supply``
        (stock x epochs) and, with a fit, ``loss_without`` and ``loss_with``
        (nats/token), plus ``posterior_draw`` (which flattened draw each sample used).
    scenario : Scenario
    years : numpy.ndarray
    fit : Fit or None
    pairing : {"paired", "cross"}
    demand : str
        How demand was computed, in words.
    """

    def __init__(
        self,
        *,
        draws: xr.Dataset,
        scenario: Scenario,
        years: np.ndarray,
        fit: Fit | None,
        pairing: str,
        n_samples: int,
        random_seed: int,
        coef: dict[str, np.ndarray] | None,
        log_inputs: dict[str, np.ndarray],
        pair: np.ndarray | None,
        chunk_elements: int,
        family: str,
        min_yearly_gain: float = MIN_YEARLY_GAIN,
    ) -> None:
        self.draws = draws
        self.min_yearly_gain = float(min_yearly_gain)
        self.scenario = scenario
        self.years = years
        self.fit = fit
        self.pairing = pairing
        self.n_samples = n_samples
        self.random_seed = random_seed
        self.family = family
        self._coef = coef
        self._ln = log_inputs
        self._pair = pair
        self._chunk = chunk_elements
        self._loss_cache: dict[tuple, pd.DataFrame | tuple[np.ndarray, np.ndarray]] = {}
        # the wall year is a whole year of the horizon or inf: counts per year hold all its distribution,
        # without a sorted copy of (possibly billions of) samples
        self._year_values, self._year_counts, at_start = _year_counts(
            np.asarray(draws["wall_year"]), np.asarray(draws["wall_date"]), years, chunk_elements
        )
        self._p_at_start = at_start / max(1, int(self._year_counts.sum()))
        self.identification = None
        """:class:`forecast.identify.Identification` of the split that sets the demand (None: fixed rule)."""
        if fit is None:
            tpp = _describe_input(scenario.tokens_per_param)
            self.demand = f"a fixed {tpp} tokens per parameter"
        else:
            self.demand = f"the fitted {fit.law.name} compute-optimal frontier ({family})"
        k = scenario.overtraining
        if not (isinstance(k, (int, float)) and k == 1):
            self.demand += f", over-trained x{_describe_input(k)}"

    # ------------------------------------------------------- probabilities
    @property
    def n_mc(self) -> int:
        """Number of joint Monte Carlo samples (``n_samples``, or draws x samples when crossed)."""
        return int(self._year_counts.sum())

    def prob_by_year(self) -> pd.DataFrame:
        """P(wall year <= year) for each year of the horizon.

        Returns
        -------
        DataFrame
            Columns ``year, prob``; ``prob`` never decreases.

        Examples
        --------
        >>> from forecast.datawall import Scenario, data_wall
        >>> w = data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=200)
        >>> bool(w.prob_by_year()["prob"].is_monotonic_increasing)
        True
        """
        below = np.cumsum(self._year_counts)
        counts = below[np.searchsorted(self._year_values, self.years, side="right") - 1]
        return pd.DataFrame({"year": self.years, "prob": counts / self.n_mc})

    def year_quantiles(self, q: Sequence[float] | float = (0.05, 0.5, 0.95)) -> pd.Series:
        """Quantiles of the wall year; ``inf`` where the quantile lies beyond the horizon.

        Samples that never hit the wall within the horizon count as later than
        its last year. The quantiles are of the calendar year (inverted-CDF
        definition, so each is a year some samples actually have).

        Examples
        --------
        >>> from forecast.datawall import Scenario, data_wall
        >>> w = data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=500)
        >>> bool(2027 <= w.year_quantiles()[0.5] <= 2029)
        True
        """
        qs = np.atleast_1d(np.asarray(q, dtype=float))
        if np.any((qs < 0) | (qs > 1)) or not np.all(np.isfinite(qs)):
            raise ValueError(f"quantile levels must lie in [0, 1]; got {qs.tolist()}")
        # numpy's inverted-CDF rank (0-based), then the value at that rank read off the counts
        n = self.n_mc
        index = n * qs - 1
        prev = np.floor(index)
        rank = np.clip(np.where(index - prev == 0, prev, prev + 1), 0, n - 1)
        values = self._year_values[np.searchsorted(np.cumsum(self._year_counts), rank, side="right")]
        return pd.Series(values, index=pd.Index(qs, name="q"), name="wall_year")

    def _year_phrase(self, value: float) -> str:
        return _fmt_year(
            value, first=int(self.years[0]), last=int(self.years[-1]), at_start=self._p_at_start > 0
        )

    @property
    def text(self) -> str:
        """Sentences to quote: median wall year and 90% interval, then efficiency and returns.

        After the wall year: any growth changes or compute cap; how many times
        algorithmic efficiency doubles between the base year and the wall
        (median and interval), or that it is held fixed; and, with a fitted
        law, the year the yearly loss improvement falls below
        ``min_yearly_gain`` (:meth:`diminishing_returns`).

        Examples
        --------
        >>> from forecast.datawall import Scenario, data_wall
        >>> print(data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=2000).text)
        ... # doctest: +NORMALIZE_WHITESPACE
        Under Epoch AI 2024 (Villalobos et al.), with demand from a fixed 20 tokens per parameter, the
        largest training run would need more text than the usable stock (used once) in 2028 (median; 90%
        interval 2026 to 2030). P(wall by 2030) = 0.99, from 2,000 Monte Carlo samples. Algorithmic
        efficiency is held fixed (efficiency_growth = 1).
        """
        lo, hi = quantile_bounds(DEFAULT_CI)
        qs = self.year_quantiles((lo, 0.5, hi))
        med, low, high = (self._year_phrase(v) for v in qs.to_numpy()[[1, 0, 2]])
        by = 2030 if 2030 in self.years else int(self.years[-1])
        p_by = float(self.prob_by_year().set_index("year").loc[by, "prob"])
        epochs = _describe_input(self.scenario.epochs)
        times = "once" if epochs == "1" else f"{epochs} times"
        when = f"after {self.years[-1]}" if med.startswith("after") else f"in {med}"
        return (
            f"Under {self.scenario.name}, with demand from {self.demand}, the largest training run "
            f"would need more text than the usable stock (used {times}) {when} (median; "
            f"{DEFAULT_CI:.0%} interval {low} to {high}). "
            f"P(wall by {by}) = {p_by:.2f}, from {self.n_mc:,} Monte Carlo samples." + self._efficiency_text()
            + ("" if self.identified else f" {self.identification.reason}")
        )

    def _efficiency_text(self) -> str:
        """Sentences on growth changes, efficiency doublings and diminishing returns."""
        sc = self.scenario
        lo, hi = quantile_bounds(DEFAULT_CI)
        parts = []
        changes = [
            f"{n.replace('_', ' ')} x{_describe_input(sc.growth_changes[n][y])} a year from {y}"
            for n, y, _ in sc.change_points()
        ]
        if sc.compute_cap is not None:
            changes.append(f"frontier compute capped at {_describe_input(sc.compute_cap)} FLOP")
        if changes:
            parts.append("Growth changes: " + "; ".join(changes) + ".")
        if self._efficiency_on:
            q = self.efficiency_doublings((lo, 0.5, hi)).to_numpy()
            rate = f"x{_describe_input(sc.efficiency_growth)} a year"
            last = int(self.years[-1])
            loss_note = " The losses reachable use effective compute." if self._coef is not None else ""
            if np.isfinite(q[1]):
                parts.append(
                    f"Algorithmic efficiency ({rate}) doubles {q[1]:.1f} times between {sc.base_year} and "
                    f"the wall (median; {DEFAULT_CI:.0%} interval {_fmt_count(q[0], last)} to "
                    f"{_fmt_count(q[2], last)})." + loss_note
                )
            else:
                parts.append(
                    f"Algorithmic efficiency ({rate}) keeps doubling past {last}, where the median wall "
                    f"lies." + loss_note
                )
        else:
            parts.append("Algorithmic efficiency is held fixed (efficiency_growth = 1).")
        if self._coef is not None and self.years.size > 1:
            y = [self._gain_year_phrase(v) for v in self.diminishing_returns(q=(lo, 0.5, hi)).to_numpy()]
            parts.append(
                f"The yearly improvement of the loss reachable with the wall falls below "
                f"{self.min_yearly_gain:g} nats/token in {y[1]} (median; {DEFAULT_CI:.0%} interval "
                f"{y[0]} to {y[2]})."
            )
        return " " + " ".join(parts)

    # ---------------------------------------------------------- efficiency
    @property
    def _efficiency_on(self) -> bool:
        keys = [k for k in self._ln if k == "ln_e" or (isinstance(k, tuple) and k[0] == "ln_e")]
        return any(np.any(self._ln[k] > 0) for k in keys)

    def efficiency_doublings(
        self, q: Sequence[float] | float = (0.05, 0.5, 0.95), *, since: int | None = None
    ) -> pd.Series:
        """Quantiles of how many times algorithmic efficiency doubles between ``since`` and the wall.

        Per Monte Carlo sample, ``log2`` of the efficiency multiplier
        accumulated from the start of ``since`` (default: the scenario's
        base year) to the wall date (0 if the wall comes first). A sample whose
        wall lies beyond the horizon counts as ``inf`` (more doublings than
        any within it), as in :meth:`year_quantiles`; with efficiency off
        every sample has 0.

        Examples
        --------
        >>> from forecast.datawall import Scenario, data_wall
        >>> s = Scenario(compute_growth=4.0, stock=3e14, stock_growth=1.0, tokens_per_param=20,
        ...              efficiency_growth=2.0)
        >>> w = data_wall(None, s, n_samples=2)
        >>> bool(w.efficiency_doublings(0.5).iloc[0] == w.draws["wall_date"][0] - 2024)  # x2 a year
        True
        """
        qs = np.atleast_1d(np.asarray(q, dtype=float))
        if np.any((qs < 0) | (qs > 1)) or not np.all(np.isfinite(qs)):
            raise ValueError(f"quantile levels must lie in [0, 1]; got {qs.tolist()}")
        start = self.scenario.base_year if since is None else int(since)
        date = np.asarray(self.draws["wall_date"], dtype=float)
        ln = self._ln if date.ndim == 1 else _take(self._ln, None)
        values = self._doublings(ln, date, start).ravel()
        out = np.quantile(values, qs, method="inverted_cdf")
        return pd.Series(out, index=pd.Index(qs, name="q"), name="efficiency_doublings")

    def _doublings(self, ln: dict, date: np.ndarray, since: int) -> np.ndarray:
        """log2 of the efficiency gained from ``since`` to ``date`` per sample (``inf`` past the horizon)."""
        base = self.scenario.base_year
        t0, horizon = float(since - base), float(self.years[-1] + 1 - base)
        t = date - base
        finite = np.isfinite(t)
        end = np.where(finite, t, horizon)
        gained = np.maximum((_cum_log(ln, "ln_e", end) - _cum_log(ln, "ln_e", t0)) / math.log(2.0), 0.0)
        # a wall past the horizon: unbounded doublings if efficiency still grows there or later
        rate, grows_later = ln["ln_e"], np.zeros(np.shape(ln["ln_e"]), dtype=bool)
        for k in sorted((k for k in ln if isinstance(k, tuple) and k[0] == "ln_e"), key=lambda k: k[1]):
            if k[1] <= horizon:
                rate = ln[k]
            else:
                grows_later = grows_later | (ln[k] > 0)
        return np.where(finite | ~((rate > 0) | grows_later), gained, np.inf)

    # ------------------------------------------------------ diminishing returns
    def diminishing_returns(
        self,
        threshold: float | None = None,
        *,
        q: Sequence[float] | float = (0.05, 0.5, 0.95),
        wall: bool = True,
        max_pairs: int | None = 200_000,
    ) -> pd.Series:
        """Quantiles of the first year whose yearly loss improvement falls below ``threshold``.

        Per Monte Carlo sample, the improvement in year ``y`` is the fall of
        the loss reachable from the previous year of the horizon, per year
        (``(L(y_prev) - L(y)) / (y - y_prev)``, nats/token); the answer is the
        first year of the horizon after its first where it is below the
        threshold, ``inf`` if none is.

        Parameters
        ----------
        threshold : float, optional
            Yearly improvement in nats/token; default the forecast's
            ``min_yearly_gain`` (``data_wall(min_yearly_gain=...)``).
        q : float or sequence of float
            Quantile levels.
        wall : bool
            Use the loss reachable with the wall (default) or without it.
        max_pairs : int or None
            Crossed forecasts: pairs used, as in :meth:`loss_by_year`.

        Examples
        --------
        >>> from forecast.testing import fake_fit
        >>> from forecast.datawall import Scenario, data_wall
        >>> w = data_wall(fake_fit(draws=50), Scenario.epoch2024(), n_samples=200)
        >>> bool(w.diminishing_returns(0.001, q=0.5).iloc[0] >= w.diminishing_returns(0.01, q=0.5).iloc[0])
        True
        """
        if self._coef is None:
            raise ValueError(
                "diminishing_returns needs a fitted law: this forecast used a fixed tokens-per-parameter rule "
                "(data_wall(fit=None)), which has no loss model. Pass a Chinchilla fit to data_wall"
            )
        thr = self.min_yearly_gain if threshold is None else float(threshold)
        if not (np.isfinite(thr) and thr > 0):
            raise ValueError(
                f"threshold must be a positive yearly loss improvement in nats/token; got {threshold!r}"
            )
        if self.years.size < 2:
            raise ValueError("diminishing_returns needs a horizon of at least two years")
        qs = np.atleast_1d(np.asarray(q, dtype=float))
        loss = self._sample_losses(max_pairs)[1 if wall else 0]
        gain = -np.diff(loss, axis=1) / np.diff(self.years)[None, :]
        below = gain < thr
        year = np.where(below.any(1), self.years[1:][below.argmax(1)], np.inf)
        out = np.quantile(year, qs, method="inverted_cdf")
        return pd.Series(out, index=pd.Index(qs, name="q"), name="year")

    def _gain_year_phrase(self, value: float) -> str:
        return _fmt_year(value, first=int(self.years[1]), last=int(self.years[-1]), at_start=True)

    def _sample_losses(self, max_pairs: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample losses over (sample, year) without and with the wall (crossed: a subsample of pairs)."""
        if self.pairing == "paired":
            return (
                self.draws["loss_without"].transpose("sample", "year").to_numpy(),
                self.draws["loss_with"].transpose("sample", "year").to_numpy(),
            )
        n = self.n_mc if max_pairs is None else min(int(max_pairs), self.n_mc)
        key = ("sample_losses", n)
        if key not in self._loss_cache:
            rng = np.random.default_rng(np.random.SeedSequence([self.random_seed, 2000]))
            flat = rng.integers(0, self.n_mc, size=n)
            self._loss_cache[key] = self._pair_losses(flat)
        return self._loss_cache[key]

    def _pair_losses(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # float32 as in loss_by_year's crossed path: 7 digits are plenty for a loss
        return _paired_losses(
            self._coef,
            self._ln,
            flat // self.n_samples,
            flat % self.n_samples,
            (self.years - self.scenario.base_year).astype(float),
            repeats=bool(np.any(self._ln["ln_ep"] > 0)),
            chunk_elements=self._chunk,
            law=self.fit.law,
            centre=self.fit.centre,
            dtype=np.float32,
        )

    def __repr__(self) -> str:
        return f"WallForecast({self.text})"

    @property
    def identified(self) -> bool:
        """Whether the data identify the wall: the fitted split that sets the demand is identified.

        Always True for a fixed tokens-per-parameter rule. When False the
        reason is in :attr:`identification` and in :attr:`text`, and
        :func:`data_wall` raised an :class:`forecast.IdentifiabilityWarning`.
        """
        return True if self.identification is None else bool(self.identification.identified)

    # ------------------------------------------------------------- demand
    def _mc_demand_line(self) -> tuple[np.ndarray, np.ndarray]:
        """Demand line per Monte Carlo sample: (sample,) paired, (draw, sample) crossed."""
        if self._coef is None:
            return _demand_line(None, self._ln)
        if self.pairing == "paired":
            return _demand_line(_take(self._coef, self._pair), self._ln)
        return _demand_line(_take(self._coef, slice(None), (slice(None), None)), _take(self._ln, None))

    def tokens_per_param_at(self, flops: float) -> np.ndarray:
        """Tokens per parameter demanded at compute ``flops``, per Monte Carlo sample (incl. over-training).

        ``D / N = 6 D^2 / C`` since ``C = 6 N D``; for the fixed rule this is
        ``tokens_per_param * overtraining`` whatever the compute.

        Examples
        --------
        >>> from forecast.datawall import Scenario, data_wall
        >>> w = data_wall(None, Scenario.epoch2024(tokens_per_param=20, overtraining=5), n_samples=10)
        >>> round(float(w.tokens_per_param_at(1e27)[0]), 6)
        100.0
        """
        ln_c = math.log(float(flops))
        dd0, ds = self._mc_demand_line()
        # N = C / (6 D), so D / N = 6 D^2 / C.
        return np.exp(2 * (dd0 + ds * ln_c) - ln_c + LN6).ravel()

    def demand_exponent(self) -> np.ndarray:
        """Exponent b of the demand ``D ~ C^b`` per posterior draw (0.5 for the fixed rule).

        For the Chinchilla law ``b = alpha / (alpha + beta)``.

        Examples
        --------
        >>> from forecast.testing import fake_fit
        >>> from forecast.datawall import Scenario, data_wall
        >>> w = data_wall(fake_fit(draws=20), Scenario.epoch2024(), n_samples=10)
        >>> round(float(w.demand_exponent().mean()), 2)   # Besiroglu: 0.348 / (0.348 + 0.366)
        0.49
        """
        if self._coef is None:
            return np.array([0.5])
        return self._coef["d_slope"]

    # --------------------------------------------------------------- loss
    def loss_by_year(self, ci: float = DEFAULT_CI, *, max_pairs: int | None = 200_000) -> pd.DataFrame:
        """Loss reachable at each year's frontier compute, without and with the wall.

        Parameters
        ----------
        ci : float
            Mass of the equal-tailed interval (default 0.9).
        max_pairs : int or None
            Crossed forecasts only: the quantiles use this many (draw, sample)
            pairs drawn at random (the same pairs every year; seeded by the
            forecast's seed); ``None`` uses every pair, one year at a time
            (exact over the cross product, and slower: sorting dominates). With
            200,000 pairs the Monte Carlo error of a 5% quantile is ~0.05
            percentage points of probability, far below the posterior's own
            spread. Paired forecasts always use all their samples.

        Returns
        -------
        DataFrame
            One row per year: ``year``, ``without_wall_{median,lower,upper}``
            (compute-optimal loss L*(m C) at effective compute, ``m`` the
            scenario's algorithmic efficiency), ``with_wall_{median,lower,upper}``
            (tokens capped at stock x epochs, repeated tokens discounted by
            R_D*), ``cost_{median,lower,upper}`` (with - without, per sample),
            ``prob_wall`` (P(wall by year)), ``ci`` and ``interval``. Losses in
            the fit's units (nats/token).

        Examples
        --------
        >>> from forecast.testing import fake_fit
        >>> from forecast.datawall import Scenario, data_wall
        >>> w = data_wall(fake_fit(draws=50), Scenario.epoch2024(), n_samples=200)
        >>> t = w.loss_by_year()
        >>> bool((t["with_wall_median"] >= t["without_wall_median"] - 1e-12).all())
        True
        """
        if self._coef is None:
            raise ValueError(
                "loss_by_year needs a fitted law: this forecast used a fixed tokens-per-parameter rule "
                "(data_wall(fit=None)), which has no loss model. Pass a Chinchilla fit to data_wall"
            )
        lo, hi = quantile_bounds(ci)
        key = (ci, max_pairs if self.pairing == "cross" else None)
        if key in self._loss_cache:
            return self._loss_cache[key].copy()
        levels = [lo, 0.5, hi]
        if self.pairing == "paired":
            without = self.draws["loss_without"].transpose("sample", "year").to_numpy()
            with_wall = self.draws["loss_with"].transpose("sample", "year").to_numpy()
            q_without = np.quantile(without, levels, axis=0)
            q_with = np.quantile(with_wall, levels, axis=0)
            # with_wall >= without by construction; clip float rounding so no "-0.0000" reaches a report
            q_cost = np.quantile(np.maximum(with_wall - without, 0.0), levels, axis=0)
        elif max_pairs is not None and max_pairs < self.n_mc:
            rng = np.random.default_rng(np.random.SeedSequence([self.random_seed, 2000]))
            flat = rng.integers(0, self.n_mc, size=int(max_pairs))
            without, with_wall = self._pair_losses(flat)
            cost = np.maximum(with_wall - without, 0.0)
            # year-major copies: quantiles along contiguous rows sort much faster
            q_without, q_with, q_cost = (
                np.quantile(np.ascontiguousarray(a.T), levels, axis=1) for a in (without, with_wall, cost)
            )
        else:
            q_without, q_with, q_cost = self._cross_loss_quantiles(levels)
        out = {"year": self.years}
        for name, qv in (("without_wall", q_without), ("with_wall", q_with), ("cost", q_cost)):
            out[f"{name}_median"], out[f"{name}_lower"], out[f"{name}_upper"] = qv[1], qv[0], qv[2]
        df = pd.DataFrame(out)
        df["prob_wall"] = self.prob_by_year()["prob"].to_numpy()
        df["ci"] = ci
        df["interval"] = INTERVAL_KIND
        df.attrs["note"] = (
            "with_wall caps tokens at stock x epochs and discounts repeated tokens with R_D* "
            "(Muennighoff et al. 2023); it is the loss of a feasible allocation, an upper bound on the best"
        )
        if self._efficiency_on:
            df.attrs["note"] += (
                "; both use effective compute (frontier compute x algorithmic efficiency), while the wall "
                "counts physical tokens"
            )
        self._loss_cache[key] = df
        return df.copy()

    def _cross_loss_quantiles(self, levels: list[float]) -> tuple[np.ndarray, ...]:
        """Per-year quantiles over every (draw, sample) pair, one year at a time (bounded memory)."""
        # float32 throughout: exp runs ~5x faster than in float64 here, and 7 digits are plenty
        # for a loss (and for a wall cost of 1e-3 nats or more)
        f32 = {k: v.astype(np.float32) for k, v in self._coef.items()}
        par = _take(f32, slice(None), (slice(None), None))
        ln32 = {k: v.astype(np.float32) for k, v in self._ln.items()}
        n_draws, n_s = self._coef["d_slope"].size, self.n_samples
        repeats = bool(np.any(self._ln["ln_ep"] > 0))
        step = max(1, self._chunk // n_draws)
        buffers = np.empty((3, n_draws, n_s), dtype=np.float32)
        res = np.empty((3, 3, self.years.size))
        for j, year in enumerate(self.years):
            t = np.float32(year - self.scenario.base_year)
            for start in range(0, n_s, step):
                sl = slice(start, min(start + step, n_s))
                ln = _take(ln32, sl, (None, slice(None)))
                q = _per_year(ln, t)
                without, with_wall = _losses(
                    par, ln["r_star"], q, repeats=repeats, law=self.fit.law, centre=self.fit.centre
                )
                buffers[0, :, sl] = without
                buffers[1, :, sl] = with_wall
                buffers[2, :, sl] = np.maximum(with_wall - without, 0.0)
            for i in range(3):
                res[i, :, j] = np.quantile(buffers[i], levels)
        return res[0], res[1], res[2]

    # ------------------------------------------------------- assumptions
    def assumptions(self) -> pd.DataFrame:
        """The scenario's assumptions plus how the forecast was computed (``assumption, value, meaning, source``).

        Examples
        --------
        >>> from forecast.datawall import Scenario, data_wall
        >>> w = data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=10)
        >>> w.assumptions()["assumption"].tolist()[-3:]
        ['demand', 'horizon', 'monte_carlo']
        """
        rows = [
            {
                "assumption": "demand",
                "value": self.demand,
                "meaning": "tokens the frontier run needs",
                "source": (
                    f"posterior of fit {self.fit.id}"
                    if self.fit is not None
                    else self.scenario.source("tokens_per_param")
                ),
            },
            {
                "assumption": "horizon",
                "value": f"{self.years[0]}-{self.years[-1]}",
                "meaning": "years evaluated; walls later than this count as 'after'",
                "source": "data_wall(years=)",
            },
            {
                "assumption": "monte_carlo",
                "value": f"{self.n_mc:,} samples ({self.pairing})",
                "meaning": "posterior draws paired with scenario samples"
                if self.pairing == "paired"
                else "every posterior draw with every scenario sample",
                "source": f"data_wall(n_samples={self.n_samples}, random_seed={self.random_seed})",
            },
        ]
        table = self.scenario.assumptions()
        if self.fit is not None and self.scenario.tokens_per_param is not None:
            at = table["assumption"] == "tokens_per_param"
            table.loc[at, "value"] = (
                f"{_describe_input(self.scenario.tokens_per_param)}: used by the fixed-rule comparison only; "
                "this forecast's demand comes from the fit"
            )
        return pd.concat([table, pd.DataFrame(rows)], ignore_index=True)

    def compare(self, other: WallForecast) -> str:
        """Side-by-side sentence comparing this forecast with ``other``; see :func:`compare_text`.

        Examples
        --------
        >>> from forecast.datawall import Scenario, data_wall
        >>> s = Scenario.epoch2024(tokens_per_param=20)
        >>> over = data_wall(None, Scenario.epoch2024(tokens_per_param=20, overtraining=5))
        >>> "earlier" in over.compare(data_wall(None, s))
        True
        """
        return compare_text(self, other)


def _check_memory(n: int, n_years: int, n_draws: int | None, *, crossed: bool) -> None:
    """Refuse, before any work, a Monte Carlo whose results would not fit in memory."""
    from forecast.predict import available_memory

    per_sample = n_draws * 12 if crossed else n_years * 8 * (6 if n_draws else 4) + 8 * 12
    need = n * per_sample
    free = available_memory()
    if need > 0.8 * free:
        most = int(0.8 * free // per_sample)
        raise MemoryError(
            f"{n:,} Monte Carlo samples would need {need / 2**30:.1f} GiB, more than the memory available "
            f"({free / 2**30:.1f} GiB); use at most about {most:,} samples"
            + (" or pairing='paired'" if crossed else "")
        )


def _year_counts(wall_year: np.ndarray, wall_date: np.ndarray, years: np.ndarray,
                 chunk: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Distinct wall years (the horizon's years, then inf), how many samples have each, and how many
    samples hit the wall at the first year, counted a chunk at a time."""
    first = int(years[0])
    values = np.append(np.arange(first, int(years[-1]) + 1, dtype=float), np.inf)
    counts = np.zeros(values.size, dtype=np.int64)
    at_start = 0
    flat_year, flat_date = wall_year.reshape(-1), wall_date.reshape(-1)
    for start in range(0, flat_year.size, max(1, chunk)):
        wy = flat_year[start:start + chunk]
        finite = np.isfinite(wy) & (wy <= values[-2])  # a finite year past the horizon counts as later
        # a wall before the first year is reported as the first year ("or earlier")
        index = np.maximum(wy[finite] - first, 0).astype(np.int64)
        counts[:-1] += np.bincount(index, minlength=values.size - 1)
        counts[-1] += int(wy.size - finite.sum())
        at_start += int(np.count_nonzero(flat_date[start:start + chunk] <= first))
    return values, counts, at_start


def _as_draw_sample(da: xr.DataArray) -> np.ndarray:
    dims = [d for d in ("draw", "sample") if d in da.dims]
    arr = da.transpose(*dims).to_numpy()
    if "draw" not in dims:
        arr = arr[None, ...]
    if "sample" not in dims:
        arr = arr[..., None]
    return arr


def _describe_input(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value):g}"
    if isinstance(value, tuple):
        return f"{value[0]:.4g}-{value[1]:.4g}"
    return "uncertain"


# ----------------------------------------------------------------- data_wall
def data_wall(
    fit: Fit | None,
    scenario: Scenario,
    years: Iterable[int] = range(2024, 2041),
    n_samples: int = 1000,
    random_seed: int = 0,
    *,
    pairing: Literal["paired", "cross"] = "paired",
    family: str = "population",
    chunk_elements: int = CHUNK_ELEMENTS,
    min_yearly_gain: float = MIN_YEARLY_GAIN,
) -> WallForecast:
    """Probability of running out of usable text by each year, and the loss at and after the wall.

    Parameters
    ----------
    fit : Fit or None
        A Chinchilla-type fit: demand is its compute-optimal token count per
        posterior draw (times ``sqrt(overtraining)``). ``None`` uses the
        scenario's fixed rule ``D = sqrt(C * tokens_per_param * overtraining / 6)``.
    scenario : Scenario
        Compute, stock, growth, over-training and epochs, e.g.
        :meth:`Scenario.epoch2024`.
    years : iterable of int
        Strictly increasing years to evaluate (the horizon).
    n_samples : int
        Scenario samples. Paired: also the number of Monte Carlo samples, each
        with one posterior draw. Crossed: each meets every posterior draw.
    random_seed : int
        Seeds the scenario samples and the pairing; equal seeds give equal results.
    pairing : {"paired", "cross"}
        How posterior draws meet scenario samples (see the module docstring).
    family : str
        Which family's law sets the frontier (``"population"``: the typical family).
    chunk_elements : int
        Size of each chunk of work in numbers; bounds peak memory.
    min_yearly_gain : float
        Threshold of diminishing returns (nats/token per year) used by
        :attr:`WallForecast.text` and :meth:`WallForecast.diminishing_returns`.

    Returns
    -------
    WallForecast

    Examples
    --------
    >>> from forecast.datawall import Scenario, data_wall
    >>> wall = data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=2000)
    >>> wall.year_quantiles().tolist()
    [2026.0, 2028.0, 2030.0]
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(
            f"scenario must be a forecast Scenario (e.g. Scenario.epoch2024()); got {type(scenario).__name__}"
        )
    if pairing not in ("paired", "cross"):
        raise ValueError(f"pairing must be 'paired' or 'cross'; got {pairing!r}")
    if fit is None and scenario.tokens_per_param is None:
        raise ValueError(
            "data_wall(fit=None) needs a fixed demand rule: give the scenario tokens_per_param, e.g. "
            "Scenario.epoch2024(tokens_per_param=20), or pass a fit"
        )
    if int(chunk_elements) < 1:
        raise ValueError(f"chunk_elements must be positive; got {chunk_elements!r}")
    if not (math.isfinite(float(min_yearly_gain)) and float(min_yearly_gain) > 0):
        raise ValueError(
            f"min_yearly_gain must be a positive yearly loss improvement in nats/token; got {min_yearly_gain!r}"
        )
    yrs = _check_years(years)
    first, last, base = int(yrs[0]), int(yrs[-1]), int(scenario.base_year)
    if isinstance(n_samples, bool) or not float(n_samples).is_integer() or n_samples < 1:
        raise ValueError(f"n_samples must be a positive whole number of samples; got {n_samples!r}")
    n = int(n_samples)
    coef = None if fit is None else _frontier_coefficients(fit, family)
    crossed = coef is not None and pairing == "cross"
    _check_memory(n, yrs.size, None if coef is None else coef["d_slope"].size, crossed=crossed)
    ln = _log_inputs(scenario.sample(n, random_seed=random_seed), n, scenario)
    pair = None
    if coef is not None and not crossed:
        rng = np.random.default_rng(np.random.SeedSequence([int(random_seed), 1000]))
        pair = _pair_indices(coef["d_slope"].size, n, rng)
    repeats = bool(np.any(ln["ln_ep"] > 0))
    t = (yrs - base).astype(float)[None, :]

    if crossed:
        n_draws = coef["d_slope"].size
        date = np.empty((n_draws, n))
        par = _take(coef, slice(None), (slice(None), None))
        step = max(1, int(chunk_elements) // n_draws)
        for start in range(0, n, step):
            sl = slice(start, min(start + step, n))
            lns = _take(ln, sl, (None, slice(None)))
            dd0, ds = _demand_line(par, lns)
            date[:, sl] = _wall_dates(dd0, ds, lns, first=first, last=last, base=base)
        data = {"wall_date": (("draw", "sample"), date)}
    else:
        names = ["compute", "demand", "stock", "supply"] + (
            ["loss_without", "loss_with"] if coef is not None else []
        )
        out = {k: np.empty((n, yrs.size)) for k in names}
        date = np.empty(n)
        step = max(1, int(chunk_elements) // yrs.size)
        for start in range(0, n, step):
            sl = slice(start, min(start + step, n))
            lns = _take(ln, sl)
            par = _take(coef, pair[sl]) if coef is not None else None
            dd0, ds = _demand_line(par, lns)
            date[sl] = _wall_dates(dd0, ds, lns, first=first, last=last, base=base)
            col = _take(lns, slice(None), (slice(None), None))
            q = _per_year(col, t)
            out["compute"][sl] = np.exp(q["ln_c"])
            out["demand"][sl] = np.exp(dd0[:, None] + ds[:, None] * q["ln_c"])
            out["stock"][sl] = np.exp(q["ln_stock"])
            out["supply"][sl] = np.exp(q["ln_supply"])
        if coef is not None:
            out["loss_without"], out["loss_with"] = _paired_losses(
                coef, ln, pair, np.arange(n), t[0], repeats=repeats, chunk_elements=int(chunk_elements),
                law=fit.law, centre=fit.centre,
            )
        data = {"wall_date": ("sample", date)}
        data.update({k: (("sample", "year"), v) for k, v in out.items()})
        if pair is not None:
            data["posterior_draw"] = ("sample", pair)
    # whole years are exact in single precision: half the memory of the crossed Monte Carlo's second array
    wall_year = np.empty(date.shape, dtype=np.float32)
    flat_date, flat_year = date.reshape(-1), wall_year.reshape(-1)
    for start in range(0, flat_date.size, int(chunk_elements)):
        np.floor(flat_date[start:start + int(chunk_elements)], out=flat_year[start:start + int(chunk_elements)],
                 casting="same_kind")
    data["wall_year"] = (data["wall_date"][0], wall_year)
    draws = xr.Dataset(data, coords={"year": yrs})
    draws.attrs.update(
        {
            "pairing": pairing if coef is not None else "none (fixed rule)",
            "scenario": scenario.name,
            "base_year": base,
        }
    )
    wall = WallForecast(
        draws=draws,
        scenario=scenario,
        years=yrs,
        fit=fit,
        pairing=pairing,
        n_samples=int(n_samples),
        random_seed=int(random_seed),
        coef=coef,
        log_inputs=ln,
        pair=pair,
        chunk_elements=int(chunk_elements),
        family=family,
        min_yearly_gain=float(min_yearly_gain),
    )
    if fit is not None:
        from forecast.identify import identify_split

        # judged at the frontier compute of the first and last year (sample medians)
        budgets = np.exp(np.median(ln["ln_c0"]) + np.median(ln["ln_g"]) * (yrs[[0, -1]] - base))
        wall.identification = identify_split(
            fit, family=family, flops=budgets,
            answer="the data wall (its token demand is the fitted compute-optimal split)",
        )
        wall.identification.warn(stacklevel=2)
    return wall


# ----------------------------------------------------------------- comparing
def compare_text(a: WallForecast, b: WallForecast) -> str:
    """Two forecasts side by side, and why their wall years differ.

    Typically ``a`` uses a fitted frontier and ``b`` Epoch's fixed
    tokens-per-parameter rule on the same scenario. The explanation compares
    the tokens per parameter each demands at the frontier compute of ``b``'s
    median wall year, and how fast each one's demand grows with compute
    (``D ~ C^b``; 0.5 for a fixed ratio).

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> from forecast.datawall import Scenario, compare_text, data_wall
    >>> s = Scenario.epoch2024(tokens_per_param=20)
    >>> text = compare_text(data_wall(fake_fit(draws=50), s), data_wall(None, s))
    >>> "tokens per parameter" in text
    True
    """
    lo, hi = quantile_bounds(DEFAULT_CI)

    def summary(w: WallForecast) -> str:
        q = w.year_quantiles((lo, 0.5, hi)).to_numpy()
        return f"median {w._year_phrase(q[1])} ({DEFAULT_CI:.0%}: {w._year_phrase(q[0])} to {w._year_phrase(q[2])})"

    ref_year = b.year_quantiles(0.5).iloc[0]
    if not np.isfinite(ref_year):
        ref_year = float(b.years[-1])
    ref_year = int(ref_year)
    ln = b._ln
    ln_c = float(np.median(ln["ln_c0"] + ln["ln_g"] * (ref_year - b.scenario.base_year)))
    flops = math.exp(ln_c)

    def tpp(w: WallForecast) -> str:
        v = w.tokens_per_param_at(flops)
        qv = np.quantile(np.asarray(v).ravel(), [lo, 0.5, hi])
        if np.isclose(qv[0], qv[2]):
            return f"{qv[1]:.3g}"
        return f"{qv[1]:.3g} ({DEFAULT_CI:.0%}: {qv[0]:.3g}-{qv[2]:.3g})"

    def expo(w: WallForecast) -> str:
        v = np.asarray(w.demand_exponent()).ravel()
        qv = np.quantile(v, [lo, 0.5, hi])
        if np.isclose(qv[0], qv[2]):
            return f"C^{qv[1]:.3g}"
        return f"C^{qv[1]:.3g} ({DEFAULT_CI:.0%}: {qv[0]:.3g}-{qv[2]:.3g})"

    da = np.median(np.asarray(a.draws["wall_date"]).ravel())
    db = np.median(np.asarray(b.draws["wall_date"]).ravel())
    if np.isfinite(da) and np.isfinite(db):
        gap = da - db
        shift = (
            "at about the same time"
            if abs(gap) < 0.05
            else f"{abs(gap):.1f} years {'later' if gap > 0 else 'earlier'} at the median"
        )
    else:
        shift = "at a different time (one median lies beyond the horizon)"
    return (
        f"Wall year with {a.demand}: {summary(a)}; with {b.demand}: {summary(b)}. "
        f"At the frontier compute of {ref_year} (median {flops:.2g} FLOP) the first asks for {tpp(a)} "
        f"tokens per parameter against {tpp(b)}, and its token demand grows as {expo(a)} against "
        f"{expo(b)}, so it reaches the stock {shift}."
    )
