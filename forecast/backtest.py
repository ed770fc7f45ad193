"""Rolling-origin cross-validation: fit on the smaller runs, forecast the larger ones, score every interval.

A backtest asks the question users care about: *had we fitted on what we had
then, would the forecast of the next scale have been right, and would its
interval have covered the truth?* :func:`cross_validate` asks it at several
origins (leave-future-out cross-validation, Bürkner, Gabry and Vehtari 2020;
Prophet's ``cross_validation``): for each origin every family is cut at a
compute threshold of its own, the model is fitted to the runs below and the
runs above are forecast. The *horizon* of a held-out run is the number of
decades of compute between it and the largest training run of its family.
:func:`backtest` is the one-origin case with a single global threshold.

Each held-out run is forecast from its own family's posterior when the family
keeps at least ``obs.min_points`` training runs, or as ``family="new"``
otherwise. Held-out losses are noisy observations of single runs, so the
Bayesian intervals include the observation noise. When the runs are
checkpoints (a ``run`` column) and the model has run effects, a held-out
checkpoint of a run seen in training carries that run's fitted offset.

Methods scored on the same points:

* ``bayes``: the default forecast: parameters, observation noise and the
  extrapolation error (:func:`forecast.predict.extrapolation_error`);
* ``bayes_no_extrapolation``: the same draws without the extrapolation error
  (parameters and noise only, what the package gave before it modelled it);
* ``baseline``: the Chinchilla Approach 3 point fit per family
  (:mod:`forecast.baselines`) with bootstrap *prediction* intervals: the fit
  on resampled runs times a resampled residual.

Scores per point (and averaged by :meth:`Backtest.metrics`): absolute
relative error of the median; coverage, width and interval score (Gneiting and
Raftery 2007: width plus ``2/alpha`` times each miss; lower is better) of each
equal-tailed interval; CRPS of the draws (:func:`crps_ensemble`) and the PIT (the
share of draws below the observed loss; uniform when calibrated).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from forecast.config import CV_SAMPLER, check_ci, quantile_bounds
from forecast.data import Observations
from forecast.predict import Extrapolation, extrapolation_of, interval_includes

SPLITS = ("flops", "params")
DEFAULT_FIT_KWARGS: dict[str, Any] = {"progressbar": False}
CV_CI: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
"""Interval masses scored by :func:`cross_validate`."""
DEFAULT_CUTOFFS: tuple[float, ...] = (0.3, 0.6, 1.0)
"""Origins of :func:`cross_validate`: decades of compute below each family's largest run."""
HORIZON_BINS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, np.inf)
"""Edges (decades beyond the data) of the horizon groups of ``metrics(by="horizon")``."""
METHODS = ("bayes", "bayes_no_extrapolation", "baseline")


def fit_bayes(obs: Observations, model=None, **fit_kwargs):
    """Fit the Bayesian model in this process (the ``fit_fn`` of a backtest without an executor).

    Examples
    --------
    >>> fit = fit_bayes(obs, draws=300, tune=300, chains=2)   # doctest: +SKIP
    """
    from forecast.model import ScalingModel

    model = model if model is not None else ScalingModel()
    return model.fit(obs, **{**DEFAULT_FIT_KWARGS, **fit_kwargs})


def split_runs(
    obs: Observations, *, split: Literal["flops", "params"] = "flops", holdout: float = 0.2
) -> tuple[np.ndarray, float]:
    """Which runs are held out: those whose ``split`` value exceeds a threshold.

    Parameters
    ----------
    obs : Observations
    split : {"flops", "params"}
        Hold out by training compute or by model size.
    holdout : float
        In (0, 1): the share of runs to hold out (the threshold is the
        ``1 - holdout`` quantile of ``split``); greater than 1: the threshold
        itself (e.g. ``1e21`` FLOP).

    Returns
    -------
    (numpy.ndarray of bool, float)
        Held-out mask over ``obs.table`` rows, and the threshold.

    Examples
    --------
    >>> from forecast.datasets import simulate
    >>> obs = Observations(simulate(n_families=2, runs_per_family=10, seed=0)[0])
    >>> mask, threshold = split_runs(obs, holdout=0.2)
    >>> int(mask.sum())
    4
    """
    if split not in SPLITS:
        raise ValueError(
            f"split must be one of {SPLITS} (hold out the largest runs by compute or size), got {split!r}"
        )
    values = obs.table[split].to_numpy(dtype=float)
    try:
        holdout = float(holdout)
    except (TypeError, ValueError):
        raise ValueError(f"holdout must be a share in (0, 1) or a threshold > 1, got {holdout!r}") from None
    if not np.isfinite(holdout) or holdout <= 0 or holdout == 1:
        raise ValueError(f"holdout must be a share in (0, 1) or a {split} threshold > 1, got {holdout!r}")
    threshold = float(np.quantile(values, 1 - holdout)) if holdout < 1 else holdout
    mask = values > threshold
    if not mask.any():
        raise ValueError(f"nothing held out: no run has {split} above {threshold:.3g}; lower the threshold")
    if mask.all():
        raise ValueError(f"nothing to fit: every run has {split} above {threshold:.3g}; raise the threshold")
    return mask, threshold


def rolling_origins(
    obs: Observations, *, cutoffs: Sequence[float] | None = None, top: Sequence[int] | None = None
) -> list[tuple[str, np.ndarray]]:
    """The folds of a rolling-origin cross-validation: one held-out mask per origin.

    Each family is cut at its own threshold, so every family is forecast at
    the same horizons whatever its compute range.

    Parameters
    ----------
    obs : Observations
    cutoffs : sequence of float, optional
        Origins in decades of compute below each family's largest run: ``0.5``
        holds out the family's runs with compute above ``C_max / 10**0.5``.
        Default :data:`DEFAULT_CUTOFFS` when ``top`` is not given either.
    top : sequence of int, optional
        Origins as a count of each family's largest distinct compute values
        (budgets): ``2`` holds out the runs at the family's two largest budgets.

    Returns
    -------
    list of (str, numpy.ndarray of bool)
        Fold name and held-out mask over ``obs.table`` rows.

    Examples
    --------
    >>> from forecast.datasets import simulate
    >>> obs = Observations(simulate(n_families=2, runs_per_family=10, seed=0)[0])
    >>> [(name, int(m.sum())) for name, m in rolling_origins(obs, top=[1, 2])]
    [('top 1', 2), ('top 2', 4)]
    """
    if cutoffs is not None and top is not None:
        raise ValueError("give the origins as cutoffs= (decades) or top= (budgets), not both")
    table = obs.table
    flops = table["flops"].to_numpy(dtype=float)
    family = table["family"].to_numpy()
    folds = []
    if top is not None:
        for k in top:
            if int(k) != k or k < 1:
                raise ValueError(f"top must hold counts of budgets >= 1, got {k!r}")
            mask = np.zeros(len(table), dtype=bool)
            for f in obs.families:
                rows = family == f
                budgets = np.unique(flops[rows])[::-1]
                threshold = budgets[min(int(k), len(budgets)) - 1]
                mask |= rows & (flops >= threshold * (1 - 1e-9))
            folds.append((f"top {int(k)}", mask))
    else:
        for c in DEFAULT_CUTOFFS if cutoffs is None else cutoffs:
            c = float(c)
            if not np.isfinite(c) or c <= 0:
                raise ValueError(f"cutoffs are decades below each family's largest run, > 0; got {c!r}")
            mask = np.zeros(len(table), dtype=bool)
            for f in obs.families:
                rows = family == f
                mask |= rows & (flops > flops[rows].max() / 10**c * (1 + 1e-9))
            folds.append((f"{c:g} decades", mask))
    if not folds:
        raise ValueError("no origins: give at least one cutoff or top count")
    return folds


# ------------------------------------------------------------------ scoring
def _tag(ci: float) -> str:
    return f"{round(100 * ci):d}"


def score_draws(loss: np.ndarray, draws: np.ndarray, cis: Sequence[float]) -> dict[str, np.ndarray]:
    """Per-point scores of predictive draws ``(sample, point)`` against observed ``loss`` ``(point,)``.

    Returns ``median, mean, log_sd`` (sd of the log draws), ``pit``, ``crps``
    and, per interval mass, ``lower_XX, upper_XX, covered_XX, width_XX,
    rel_width_XX, interval_score_XX``. Rows whose draws are all NaN score NaN.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = score_draws(np.array([0.0, 5.0]), rng.standard_normal((4000, 2)), [0.9])
    >>> s["covered_90"].tolist(), round(float(s["interval_score_90"][1] - s["width_90"][1]), 1)
    ([1.0, 0.0], 67.3)
    """
    loss = np.asarray(loss, dtype=float)
    draws = np.asarray(draws, dtype=float)
    ok = np.isfinite(draws).any(axis=0)
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (no interval) stay NaN
        out["median"] = np.nanmedian(draws, axis=0)
        out["mean"] = np.nanmean(draws, axis=0)
        out["log_sd"] = np.nanstd(np.log(draws), axis=0)
        out["pit"] = np.where(ok, np.nanmean(draws <= loss, axis=0), np.nan)
        clean = np.where(np.isfinite(draws), draws, out["median"])
        out["crps"] = np.where(ok, crps_ensemble(loss, clean), np.nan)
        for c in cis:
            t = _tag(c)
            lo, hi = np.nanquantile(draws, quantile_bounds(c), axis=0)
            out[f"lower_{t}"], out[f"upper_{t}"] = lo, hi
            out[f"covered_{t}"] = np.where(ok, ((lo <= loss) & (loss <= hi)).astype(float), np.nan)
            out[f"width_{t}"] = hi - lo
            out[f"rel_width_{t}"] = (hi - lo) / out["median"]
            penalty = 2.0 / (1.0 - c)
            out[f"interval_score_{t}"] = (
                (hi - lo) + penalty * np.maximum(lo - loss, 0.0) + penalty * np.maximum(loss - hi, 0.0)
            )
    return out


def crps_ensemble(loss: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """CRPS of an ensemble of draws ``(sample, point)`` at the observed ``loss``; lower is better.

    ``CRPS = mean|X - y| - mean|X - X'| / 2`` (Gneiting and Raftery 2007,
    eq. 21), with the pairwise term from the sorted draws in ``O(m log m)``:
    ``sum_ij |x_i - x_j| = 2 sum_i (2i - m - 1) x_(i)``. The same estimator as
    ``scoringrules.crps_ensemble`` (whose import compiles for tens of seconds).

    Examples
    --------
    >>> round(float(crps_ensemble(np.array([0.0]), np.array([[-1.0], [1.0]]))[0]), 3)
    0.5
    """
    x = np.sort(np.asarray(draws, dtype=float), axis=0)
    m = x.shape[0]
    weights = (2 * np.arange(1, m + 1) - m - 1)[:, None]
    spread = 2 * np.sum(weights * x, axis=0) / m**2
    return np.mean(np.abs(x - np.asarray(loss, dtype=float)), axis=0) - spread / 2


# ------------------------------------------------------------------- result
@dataclass
class Backtest:
    """Result of :func:`cross_validate` (or :func:`backtest`): per-point forecasts and scores.

    Attributes
    ----------
    points : pandas.DataFrame
        One row per fold, held-out run and method (``bayes``,
        ``bayes_no_extrapolation``, ``baseline``): the run (``family, params,
        tokens, flops, loss``), how it was forecast (``forecast_family`` is the
        family or ``"new"``), its ``horizon`` (decades of compute beyond the
        family's largest training run), ``median``, ``lower_XX``/``upper_XX``
        per interval mass, ``abs_rel_error``, ``covered_XX``, ``width_XX``,
        ``rel_width_XX``, ``interval_score_XX``, ``crps``, ``pit``, ``log_sd``.
    settings : dict
        Origins, numbers of runs, interval masses, what each method's intervals include.
    fits : list of Fit
        The Bayesian fit of each fold (``fit`` is the first).
    baselines : list of PointFit or None
        The Approach 3 fit of each fold.

    Examples
    --------
    >>> from forecast.datasets import simulate
    >>> from forecast.testing import fake_fit
    >>> obs = Observations(simulate(n_families=2, runs_per_family=10, seed=0)[0])
    >>> cv = cross_validate(obs, top=[2], fit_fn=lambda o, m, **kw: fake_fit(o, m, draws=50), baseline=False)
    >>> cv.metrics()[["method", "n"]].values.tolist()
    [['bayes', 4], ['bayes_no_extrapolation', 4]]
    """

    points: pd.DataFrame
    settings: dict[str, Any]
    fits: list[Any] = field(default_factory=list)
    baselines: list[Any] = field(default_factory=list)
    cis: tuple[float, ...] = field(default=CV_CI)
    folds: list[tuple[str, np.ndarray, list[str]]] = field(default_factory=list, repr=False)
    observations: Any = field(default=None, repr=False)

    @property
    def fit(self):
        """The Bayesian fit of the first fold (the only one of :func:`backtest`)."""
        return self.fits[0] if self.fits else None

    @property
    def baseline(self):
        """The Approach 3 fit of the first fold."""
        return self.baselines[0] if self.baselines else None

    def table(self) -> pd.DataFrame:
        """Per-point forecasts and scores, one row per fold, held-out run and method.

        Examples
        --------
        >>> cv.table()[["fold", "method", "family", "horizon", "loss", "median", "covered_90"]]  # doctest: +SKIP
        """
        out = self.points.copy()
        out.attrs.update(self.settings)
        return out

    def metrics(self, by: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Scores averaged per method, optionally grouped (``by="horizon"``, ``"fold"``, ``"forecast_kind"``).

        ``by="horizon"`` groups the points by horizon (decades beyond the
        data, edges :data:`HORIZON_BINS`).

        Returns
        -------
        pandas.DataFrame
            ``method, n, mean_abs_rel_error, median_abs_rel_error, mean_crps,
            coverage_XX, nominal_XX, mean_width_XX, mean_rel_width_XX,
            median_rel_width_XX, mean_interval_score_XX`` (plus the grouping columns).

        Examples
        --------
        >>> cv.metrics(by="horizon")[["method", "horizon", "n", "coverage_90"]]   # doctest: +SKIP
        """
        by = [by] if isinstance(by, str) else list(by or [])
        points = self.points
        if "horizon" in by:
            labels = [f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">{lo:g}"
                      for lo, hi in zip(HORIZON_BINS[:-1], HORIZON_BINS[1:], strict=True)]
            binned = pd.cut(points["horizon"], list(HORIZON_BINS), labels=labels, include_lowest=True)
            points = points.assign(horizon=binned.astype(str))
        keys = ["method", *by]
        rows = []
        for key, g in points.groupby(keys, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            row = dict(zip(keys, key, strict=True))
            row["n"] = len(g)
            if "horizon" in self.points:
                row["mean_horizon"] = self.points.loc[g.index, "horizon"].mean()
            row["mean_abs_rel_error"] = g["abs_rel_error"].mean()
            row["median_abs_rel_error"] = g["abs_rel_error"].median()
            if "crps" in g:
                row["mean_crps"] = g["crps"].mean()
            for c in self.cis:
                t = _tag(c)
                row[f"coverage_{t}"] = g[f"covered_{t}"].mean()
                row[f"nominal_{t}"] = c
                row[f"mean_width_{t}"] = g[f"width_{t}"].mean()
                row[f"mean_rel_width_{t}"] = g[f"rel_width_{t}"].mean()
                # a few exploding bootstrap replicates can make the mean width meaningless
                row[f"median_rel_width_{t}"] = g[f"rel_width_{t}"].median()
                if f"interval_score_{t}" in g:
                    row[f"mean_interval_score_{t}"] = g[f"interval_score_{t}"].mean()
            rows.append(row)
        out = pd.DataFrame(rows)
        if "horizon" in by:
            order = {lab: i for i, lab in enumerate(dict.fromkeys(
                [f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">{lo:g}"
                 for lo, hi in zip(HORIZON_BINS[:-1], HORIZON_BINS[1:], strict=True)]))}
            out = out.sort_values(["method", "horizon"], key=lambda s: s.map(order) if s.name == "horizon"
                                  else s.map({m: i for i, m in enumerate(METHODS)}).fillna(99),
                                  kind="stable").reset_index(drop=True)
        out.attrs.update(self.settings)
        return out

    def extrapolation(self, *, method: str = "bayes_no_extrapolation") -> Extrapolation:
        """The extrapolation error these forecasts call for: bias and sd of log loss per decade beyond the data.

        Maximum likelihood of ``log median - log y ~ N(bias h, s^2 + (scatter h)^2)``
        over the held-out points, where ``s`` is the sd of each forecast's log
        draws without the extrapolation term and ``h`` its horizon: how far
        the law's median runs above the runs at each horizon, and how much
        more they scatter than the intervals say. The rate is the scatter
        with the bias's own uncertainty added (:func:`estimate_extrapolation`).
        Pass it to ``fit.predict(..., extrapolation=...)`` or :meth:`rescore`.

        Examples
        --------
        >>> ext = cv.extrapolation()                                     # doctest: +SKIP
        >>> fit.predict(params=7e10, tokens=1.4e12, extrapolation=ext)   # doctest: +SKIP
        """
        return estimate_extrapolation(self.points[self.points["method"] == method])

    def rescore(self, *, extrapolation: bool | float | Extrapolation = True,
                random_seed: int | None = None) -> Backtest:
        """The same fits scored again with another extrapolation error (no refitting).

        Examples
        --------
        >>> cv.rescore(extrapolation=cv.extrapolation()).metrics(by="horizon")   # doctest: +SKIP
        """
        if self.observations is None or not self.folds:
            raise ValueError("this Backtest keeps no folds to rescore; rerun cross_validate()")
        table = self.observations.table.reset_index(drop=True)
        random_seed = self.settings.get("random_seed") if random_seed is None else random_seed
        frames = []
        for (name, mask, trained), fit, base in zip(self.folds, self.fits, self.baselines, strict=True):
            frames.append(_forecast_fold(fit, base, table[mask].reset_index(drop=True), trained, self.cis,
                                         extrapolation, random_seed).assign(fold=name))
        points = _order(pd.concat(frames, ignore_index=True))
        settings = {**self.settings, **_extrapolation_settings(extrapolation)}
        return Backtest(points=points, settings=settings, fits=self.fits, baselines=self.baselines, cis=self.cis,
                        folds=self.folds, observations=self.observations)

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"Backtest({len(s['folds'])} origin(s) {', '.join(s['folds'])}: "
            f"{len(self.points)} scored forecasts; methods {sorted(self.points['method'].unique())})"
        )


def estimate_extrapolation(points: pd.DataFrame, *, bias: float | None = None,
                           bias_uncertainty: bool = True) -> Extrapolation:
    """Maximum-likelihood extrapolation error (bias and rate) from scored points without the term.

    ``points`` needs ``loss, median, log_sd, horizon`` (a
    ``bayes_no_extrapolation`` slice of :meth:`Backtest.table`). The model is
    ``log median - log loss ~ N(bias h, s^2 + (scatter h)^2)``; the scatter
    is 0 when the errors scatter no more than the intervals already allow,
    and both are 0 when no point lies beyond the data. The rate returned
    also carries the uncertainty of the estimated bias,
    ``rate^2 = scatter^2 + Var(bias)``, so that a table of few held-out runs
    does not get a band that trusts its bias more than it can; with
    ``bias_uncertainty=False`` it is the scatter alone. A given ``bias``
    (e.g. ``0.0``, the package's rule before the bias) is held fixed and only
    the scatter is estimated (no bias uncertainty then).

    Examples
    --------
    >>> pts = pd.DataFrame({"loss": np.exp([-0.03, -0.05, -0.04, -0.06]), "median": 1.0,
    ...                     "log_sd": 0.002, "horizon": [1.0, 1.0, 2.0, 2.0]})
    >>> e = estimate_extrapolation(pts)
    >>> round(e.bias, 3), round(e.rate, 3), round(estimate_extrapolation(pts, bias_uncertainty=False).rate, 3)
    (0.032, 0.012, 0.011)
    >>> round(estimate_extrapolation(pts, bias=0.0).rate, 3)   # the same errors read as scatter alone
    0.034
    """
    from scipy.optimize import minimize

    p = points[np.isfinite(points["median"]) & np.isfinite(points["log_sd"])]
    if p.empty:
        raise ValueError("no scored points to learn the extrapolation error from")
    err = np.log(p["median"].to_numpy(float)) - np.log(p["loss"].to_numpy(float))
    s2 = p["log_sd"].to_numpy(float) ** 2
    h = p["horizon"].to_numpy(float)
    if not (h > 0).any():
        return Extrapolation()

    def nll(x: np.ndarray) -> float:
        var = s2 + (np.exp(x[1]) * h) ** 2
        return float(0.5 * np.sum(np.log(var) + (err - x[0] * h) ** 2 / var))

    options = {"xatol": 1e-7, "fatol": 1e-10, "maxiter": 4000}
    if bias is not None:
        best = min((minimize(lambda x: nll(np.array([bias, x[0]])), [log_rate], method="Nelder-Mead",
                             options=options) for log_rate in np.log([1e-4, 1e-2, 1e-1])), key=lambda r: r.fun)
        scatter = float(np.exp(best.x[0]))
        return Extrapolation(bias=float(bias), rate=0.0 if scatter < 1e-5 else scatter)
    # the bias has a closed form for each rate: start from it at a few rates, polish both
    starts = []
    for log_rate in np.log([1e-4, 3e-3, 1e-2, 3e-2, 1e-1]):
        w = h / (s2 + (np.exp(log_rate) * h) ** 2)
        starts.append(np.array([float((w * err).sum() / (w * h).sum()), log_rate]))
    best = min((minimize(nll, x0, method="Nelder-Mead", options=options) for x0 in starts), key=lambda r: r.fun)
    bias, scatter = float(best.x[0]), float(np.exp(best.x[1]))
    scatter = 0.0 if scatter < 1e-5 else scatter
    if not bias_uncertainty:
        return Extrapolation(bias=bias, rate=scatter)
    # the weighted least-squares variance of the bias at that scatter
    var_bias = 1.0 / float(np.sum(h**2 / (s2 + (scatter * h) ** 2)))
    return Extrapolation(bias=bias, rate=float(np.sqrt(scatter**2 + var_bias)))


# ---------------------------------------------------------------- running
def cross_validate(
    obs: Observations,
    model=None,
    *,
    cutoffs: Sequence[float] | None = None,
    top: Sequence[int] | None = None,
    folds: Sequence[tuple[str, np.ndarray]] | None = None,
    ci: Sequence[float] = CV_CI,
    baseline: bool = True,
    bootstrap: int = 200,
    fit_options: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
    max_workers: int | None = None,
    extrapolation: bool | float | Extrapolation = True,
    fit_fn: Callable[..., Any] | None = None,
    random_seed: int | None = 0,
) -> Backtest:
    """Rolling-origin (leave-future-out) cross-validation of the forecast, scored against the baseline.

    For each origin every family is cut at a compute threshold of its own,
    the model is fitted to the runs below it (one fit per origin, all through
    :func:`forecast.parallel.fit_many`; origins with the same families reuse
    one compiled model), and the runs above are forecast with observation
    noise, with and without the extrapolation error, and by the Approach 3
    baseline with bootstrap prediction intervals.

    Parameters
    ----------
    obs : Observations
        All runs.
    model : ScalingModel, optional
        The Bayesian model (default ``ScalingModel()``).
    cutoffs : sequence of float, optional
        Origins in decades of compute below each family's largest run
        (default :data:`DEFAULT_CUTOFFS`); see :func:`rolling_origins`.
    top : sequence of int, optional
        Origins as the number of each family's largest budgets held out
        (e.g. ``top=[2]``: all but the two largest budgets of each family).
    folds : sequence of (str, array of bool), optional
        Explicit origins instead: a name and a held-out mask over
        ``obs.table`` rows each (e.g. the two largest models of one family).
    ci : sequence of float
        Interval masses to score (default 50%, 80%, 90%, 95%).
    baseline : bool
        Also score the Chinchilla Approach 3 point fit on the same folds.
    bootstrap : int
        Bootstrap replicates of the baseline's intervals (0: point forecasts only).
    fit_options : dict, optional
        Options of each fit (``draws``, ``tune``, ``chains``, ``warn``, ``retry``, ...), over
        :data:`CV_SAMPLER`.
    executor : concurrent.futures.Executor, optional
        Where the fits run (see :func:`forecast.parallel.fit_many`); default a
        local process pool for this call.
    max_workers : int, optional
        Size of the default pool (default 1: one worker compiles the model
        once for every origin and runs each fit's chains on all cores).
    extrapolation : bool, float or Extrapolation
        The ``bayes`` method's extrapolation error (``True``: the package
        default; a number: a rate without bias; see :func:`forecast.predict.predict`).
    fit_fn : callable, optional
        ``fit_fn(train_obs, model, **options) -> Fit`` run in this process
        instead of ``fit_many`` (e.g. fake posteriors for plumbing tests).
    random_seed : int, optional
        Seed of the fits, the forecasts' noise and the bootstrap.

    Returns
    -------
    Backtest
        ``.table()`` per point, ``.metrics(by="horizon")``,
        ``.extrapolation()``; ``forecast.plots.plot_pit(cv)``.

    Examples
    --------
    >>> import forecast as fc
    >>> obs = fc.Observations.from_csv("porian_compute_optimal.csv")                  # doctest: +SKIP
    >>> cv = fc.cross_validate(obs, top=[2], fit_options={"chains": 2, "draws": 500})   # doctest: +SKIP
    >>> cv.metrics(by="horizon")[["method", "horizon", "coverage_90", "mean_interval_score_90"]]  # doctest: +SKIP
    """
    if folds is not None:
        if cutoffs is not None or top is not None:
            raise ValueError("give the origins as folds=, cutoffs= or top=, not several")
        folds = [(str(name), np.asarray(mask, dtype=bool)) for name, mask in folds]
        if any(m.shape != (len(obs),) for _, m in folds):
            raise ValueError(f"each fold's mask must be a boolean array over the {len(obs)} rows of obs.table")
    else:
        folds = rolling_origins(obs, cutoffs=cutoffs, top=top)
    return _run(obs, model, folds, ci=ci, baseline=baseline, bootstrap=bootstrap,
                fit_options={**CV_SAMPLER, **dict(fit_options or {})},
                executor=executor, max_workers=max_workers, extrapolation=extrapolation, fit_fn=fit_fn,
                random_seed=random_seed, origin={
                    "cutoffs": None if (top is not None or cutoffs is None and folds is not None)
                    else list(cutoffs or DEFAULT_CUTOFFS),
                    "top": None if top is None else list(top)})


def backtest(
    obs: Observations,
    *,
    split: Literal["flops", "params"] = "flops",
    holdout: float = 0.2,
    model=None,
    baseline: bool = True,
    bootstrap: int = 200,
    fit_kwargs: Mapping[str, Any] | None = None,
    ci: Sequence[float] = (0.5, 0.9),
    fit_fn: Callable[..., Any] | None = None,
    random_seed: int | None = 0,
    extrapolation: bool | float | Extrapolation = True,
) -> Backtest:
    """One origin: hold out every run above one global threshold (a :func:`cross_validate` with one fold).

    Parameters
    ----------
    obs : Observations
        All runs.
    split : {"flops", "params"}
        Hold out the largest runs by training compute or by model size.
    holdout : float
        Share of runs held out (in (0, 1)) or the threshold itself (> 1).
    model, baseline, bootstrap, ci, fit_fn, random_seed, extrapolation
        As in :func:`cross_validate`.
    fit_kwargs : dict, optional
        Options of the fit (``draws``, ``tune``, ``chains``, ...). The fit runs
        in this process (:func:`fit_bayes`) unless ``fit_fn`` is given.

    Returns
    -------
    Backtest

    Examples
    --------
    >>> bt = backtest(obs, split="flops", holdout=0.2, fit_kwargs={"draws": 300, "chains": 2})  # doctest: +SKIP
    >>> bt.metrics()                                                                              # doctest: +SKIP
    """
    mask, threshold = split_runs(obs, split=split, holdout=holdout)
    kwargs = dict(fit_kwargs or {})
    kwargs.setdefault("random_seed", random_seed)
    seed = kwargs.pop("random_seed")
    return _run(obs, model, [(f"{split} > {threshold:.3g}", mask)], ci=ci, baseline=baseline,
                bootstrap=bootstrap, fit_options=kwargs, executor=None, max_workers=None,
                extrapolation=extrapolation, fit_fn=fit_fn or fit_bayes, random_seed=seed,
                origin={"split": split, "threshold": threshold, "holdout": holdout})


def _train_obs(obs: Observations, mask: np.ndarray) -> tuple[Observations | None, list[str]]:
    table = obs.table.reset_index(drop=True)
    train_all = table[~mask]
    counts = train_all["family"].value_counts()
    trained = [f for f in obs.families if counts.get(f, 0) >= obs.min_points]
    if not trained:
        return None, []
    train = Observations.from_table(
        train_all[train_all["family"].isin(trained)].reset_index(drop=True), min_points=obs.min_points
    )
    return train, trained


def _run(obs, model, folds, *, ci, baseline, bootstrap, fit_options, executor, max_workers, extrapolation,
         fit_fn, random_seed, origin) -> Backtest:
    from forecast.model import ScalingModel

    cis = tuple(check_ci(c) for c in np.atleast_1d(ci))
    model = model if model is not None else ScalingModel()
    if len(folds) > 1 and not model.family_forms_fixed:
        # the forms the full data call for, fixed for every origin: one structure, one compile
        forms = model.family_forms(obs)
        model = copy.copy(model)
        model.family_forms_fixed = forms
    usable = []
    for name, mask in folds:
        train, trained = _train_obs(obs, mask)
        if train is None or not mask.any():
            warnings.warn(f"origin {name!r} skipped: no family keeps {obs.min_points} training runs, "
                          "or nothing is held out", stacklevel=3)
            continue
        usable.append((name, mask, train, trained))
    if not usable:
        raise ValueError(
            f"no origin leaves a family with {obs.min_points} runs below it and runs above it; "
            "hold out fewer runs (smaller cutoffs or top)"
        )
    options = dict(fit_options or {})
    options.setdefault("warn", False)  # one gate verdict per fold is recorded in the settings instead

    def baselines() -> list:
        if not baseline:
            return [None] * len(usable)
        from forecast.baselines import fit_baseline

        out = []
        for _, mask, train, trained in usable:
            # the pooled fit is bootstrapped only when a held-out family has no training runs ("new")
            new = not np.isin(obs.table["family"].to_numpy()[mask], trained).all()
            out.append(fit_baseline(train, bootstrap=bootstrap, random_seed=random_seed, bootstrap_pooled=new))
        return out

    if fit_fn is not None:
        fits = [fit_fn(train, model, random_seed=random_seed, **options) for _, _, train, _ in usable]
        base_fits = baselines()
    else:
        from concurrent.futures import ThreadPoolExecutor

        from forecast.parallel import FitJob, fit_many

        jobs = [FitJob(train, model, random_seed=random_seed, options=options) for _, _, train, _ in usable]
        with ThreadPoolExecutor(max_workers=1) as waiter:
            pending = waiter.submit(fit_many, jobs, executor, max_workers=max_workers or 1)
            # the baseline's least-squares fits run here while the worker processes sample
            base_fits = baselines()
            fits = pending.result()
    frames, diagnostics = [], {}
    for (name, mask, train, trained), fit, base in zip(usable, fits, base_fits, strict=True):
        test = obs.table.reset_index(drop=True)[mask].reset_index(drop=True)
        frames.append(_forecast_fold(fit, base, test, trained, cis, extrapolation, random_seed).assign(fold=name))
        diag = fit.diagnostics()
        diagnostics[name] = {"ok": diag.ok, "text": repr(diag), "n_train": len(train), "n_test": int(mask.sum())}
    points = _order(pd.concat(frames, ignore_index=True))
    first = usable[0]
    settings = {
        **origin,
        "folds": [u[0] for u in usable],
        "n_train": first[2].table.shape[0],
        "n_test": int(first[1].sum()),
        "trained_families": first[3],
        "new_families": sorted(set(obs.table["family"][first[1]]) - set(first[3])),
        "ci": list(cis),
        "law": fits[0].law.name,
        "likelihood": fits[0].model.likelihood,
        "random_seed": random_seed,
        **_extrapolation_settings(extrapolation),
        "bayes_no_extrapolation_intervals": f"posterior predictive, include {interval_includes(True, 0.0)}",
        "baseline_intervals": (
            f"bootstrap percentiles ({bootstrap} replicates) of the refit times a resampled residual: "
            "parameters and observation noise" if baseline and bootstrap else "none"
        ),
        "diagnostics_ok": all(d["ok"] for d in diagnostics.values()),
        "diagnostics": "; ".join(f"{k}: {v['text']}" for k, v in diagnostics.items()),
        "fold_diagnostics": diagnostics,
    }
    return Backtest(points=points, settings=settings, fits=list(fits), baselines=base_fits, cis=cis,
                    folds=[(name, mask, trained) for name, mask, _, trained in usable], observations=obs)


def _extrapolation_settings(extrapolation) -> dict:
    """The ``bayes`` method's extrapolation error, as a Backtest's settings record it."""
    ext = extrapolation_of(extrapolation)
    return {"extrapolation_bias": ext.bias, "extrapolation_rate": ext.rate,
            "bayes_intervals": f"posterior predictive, include {interval_includes(True, ext)}"
                               + (f" ({ext.describe()})" if ext else "")}


def _order(points: pd.DataFrame) -> pd.DataFrame:
    points.insert(0, "fold", points.pop("fold"))
    points.insert(1, "method", points.pop("method"))
    return points


def _forecast_fold(fit, base, test: pd.DataFrame, trained: list[str], cis, extrapolation, seed) -> pd.DataFrame:
    """Forecast one fold's held-out runs by every method; one scored row per run and method."""
    from forecast.predict import extrapolation_error, extrapolation_horizon, predict

    ext = extrapolation_of(extrapolation)
    test = test.assign(forecast_family=np.where(test["family"].isin(trained), test["family"], "new"))
    test["forecast_kind"] = np.where(test["forecast_family"] == "new", "new family", "known family")
    needs = [k for k in ("unique_tokens",) if k in fit.law.inputs]
    run_cols = [c for c in ("family", "params", "tokens", "flops", "loss", "forecast_family", "forecast_kind", "run")
                if c in test]
    frames = []
    for fam, g in test.groupby("forecast_family", sort=False):
        inputs = {"params": g["params"].to_numpy(), "tokens": g["tokens"].to_numpy()}
        if fit.law.inputs == ("flops",):
            inputs = {"flops": g["flops"].to_numpy()}
        extra = {k: g[k].to_numpy() for k in needs}
        if "run" in g and "z_run" in fit.posterior:
            extra["run"] = g["run"].astype(str).to_numpy()
        fc_ = predict(fit, **inputs, **extra, family=fam, include_noise=True, random_seed=seed, extrapolation=False)
        draws = fc_.draws.transpose("chain", "draw", "family", "point").values
        horizon = extrapolation_horizon(fit, {"flops": g["flops"].to_numpy(), "params": g["params"].to_numpy()},
                                        [fam])
        loss = g["loss"].to_numpy(dtype=float)
        offset = extrapolation_error(horizon, ext, draws.shape[:2], random_seed=seed)
        variants = {"bayes": draws * np.exp(offset), "bayes_no_extrapolation": draws}
        if base is not None:
            if base.bootstrap is not None:
                variants["baseline"] = base.draws(params=inputs.get("params", g["params"].to_numpy()),
                                                  tokens=g["tokens"].to_numpy(), family=fam, random_seed=seed)
            else:  # a point forecast only: error, no interval
                point = base.predict(params=g["params"].to_numpy(), tokens=g["tokens"].to_numpy(),
                                     family=fam, ci=list(cis))
                variants["baseline"] = np.full((1, len(g)), np.nan)
                variants["baseline_point"] = point["median"].to_numpy()[: len(g)]
        point_median = variants.pop("baseline_point", None)
        for method, d in variants.items():
            flat = d.reshape(-1, len(g))
            scores = score_draws(loss, flat, cis)
            if method == "baseline":
                scores["median"] = (point_median if point_median is not None
                                    else base.predict(params=g["params"].to_numpy(), tokens=g["tokens"].to_numpy(),
                                                      family=fam, ci=list(cis))["median"].to_numpy()[: len(g)])
            frame = g[run_cols].reset_index(drop=True).assign(method=method, horizon=horizon[0])
            for k, v in scores.items():
                frame[k] = v
            frame["abs_rel_error"] = np.abs(frame["median"] - frame["loss"]) / frame["loss"]
            frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    order = {m: i for i, m in enumerate(METHODS)}
    return out.sort_values("method", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
