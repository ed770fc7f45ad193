"""Held-out extrapolation: fit on the smaller runs, forecast the larger ones, score both methods.

A backtest asks the question users care about: *had we fitted on what we had
then, would the forecast of the next scale have been right, and would its
interval have covered the truth?* The runs are split by compute (or by model
size) at a threshold; the model is fitted to the runs below it; each held-out
run is forecast from its own family's posterior when the family has training
runs, or as ``family="new"`` when the whole family lies above the threshold.
Held-out losses are noisy observations of single runs, so the Bayesian
intervals include the observation noise (``include_noise=True``). When the
runs are checkpoints (a ``run`` column) and the model has run effects, a
held-out checkpoint of a run seen in training carries that run's fitted
offset; a checkpoint of an unseen run gets a fresh one. Families with fewer
than ``obs.min_points`` runs below the threshold are not fitted; their
held-out runs are forecast as new families.

The same split is given to the Approach 3 point fit of the same law
(:mod:`forecast.baselines`), fitted per family (and pooled for new families),
with bootstrap percentile intervals: what a user would otherwise do.

Scores, per point and overall:

* absolute relative error of the median, ``|median - loss| / loss``;
* coverage: the share of held-out losses inside the 50% and 90% intervals
  (nominal 0.5 and 0.9);
* interval width, absolute (nats) and relative to the median.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from forecast.config import check_ci
from forecast.data import Observations

SPLITS = ("flops", "params")
DEFAULT_FIT_KWARGS: dict[str, Any] = {"progressbar": False}


def fit_bayes(obs: Observations, model=None, **fit_kwargs):
    """The one place a backtest fits the Bayesian model (swap it for a parallel runner).

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


def _score(frame: pd.DataFrame, cis: Sequence[float]) -> pd.DataFrame:
    """Add error, coverage and width columns to a table of forecasts with wide ci columns."""
    out = frame.copy()
    out["abs_rel_error"] = (out["median"] - out["loss"]).abs() / out["loss"]
    for c in cis:
        tag = _tag(c)
        lo, hi = out[f"lower_{tag}"], out[f"upper_{tag}"]
        covered = ((lo <= out["loss"]) & (out["loss"] <= hi)).astype(float)
        out[f"covered_{tag}"] = covered.where(lo.notna() & hi.notna())  # no interval: NaN, not "missed"
        out[f"width_{tag}"] = hi - lo
        out[f"rel_width_{tag}"] = (hi - lo) / out["median"]
    return out


def _tag(ci: float) -> str:
    return f"{round(100 * ci):d}"


def _wide(table: pd.DataFrame, cis: Sequence[float]) -> pd.DataFrame:
    """Forecast.table rows (one per ci) to one row per point with lower_XX/upper_XX columns."""
    keys = ["family", "params", "tokens", "flops"]
    base = table[table["ci"] == cis[0]][[*keys, "mean", "median"]].reset_index(drop=True)
    for c in cis:
        part = table[np.isclose(table["ci"], c)].reset_index(drop=True)
        base[f"lower_{_tag(c)}"] = part["lower"].to_numpy()
        base[f"upper_{_tag(c)}"] = part["upper"].to_numpy()
    return base


@dataclass
class Backtest:
    """Result of :func:`backtest`: per-point forecasts and scores for each method.

    Attributes
    ----------
    points : pandas.DataFrame
        One row per held-out run and method (``bayes``, ``baseline``): the
        run (``family, params, tokens, flops, loss``), how it was forecast
        (``forecast_family`` is the family or ``"new"``), ``median``,
        ``lower_XX``/``upper_XX`` per interval mass, ``abs_rel_error``,
        ``covered_XX``, ``width_XX``, ``rel_width_XX``.
    settings : dict
        Split, threshold, numbers of runs, interval masses, what intervals include.
    fit : Fit
        The Bayesian fit to the training runs.
    baseline : PointFit or None
        The Approach 3 fit to the training runs.

    Examples
    --------
    >>> from forecast.datasets import simulate
    >>> from forecast.testing import fake_fit
    >>> obs = Observations(simulate(n_families=2, runs_per_family=10, seed=0)[0])
    >>> bt = backtest(obs, fit_fn=lambda o, m, **kw: fake_fit(o, m, draws=50), baseline=False)
    >>> bt.metrics()[["method", "n"]].values.tolist()
    [['bayes', 4]]
    """

    points: pd.DataFrame
    settings: dict[str, Any]
    fit: Any = None
    baseline: Any = None
    cis: tuple[float, ...] = field(default=(0.5, 0.9))

    def table(self) -> pd.DataFrame:
        """Per-point forecasts and scores, one row per held-out run and method.

        Examples
        --------
        >>> bt.table()[["method", "family", "loss", "median", "covered_90"]]   # doctest: +SKIP
        """
        out = self.points.copy()
        out.attrs.update(self.settings)
        return out

    def metrics(self, by: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Overall scores per method (optionally also grouped, e.g. ``by="forecast_kind"``).

        Returns
        -------
        pandas.DataFrame
            ``method, n, mean_abs_rel_error, median_abs_rel_error, coverage_XX,
            nominal_XX, mean_width_XX, mean_rel_width_XX, median_rel_width_XX``.

        Examples
        --------
        >>> bt.metrics()   # doctest: +SKIP
        """
        keys = ["method"] + ([by] if isinstance(by, str) else list(by or []))
        rows = []
        for key, g in self.points.groupby(keys, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            row = dict(zip(keys, key, strict=True))
            row["n"] = len(g)
            row["mean_abs_rel_error"] = g["abs_rel_error"].mean()
            row["median_abs_rel_error"] = g["abs_rel_error"].median()
            for c in self.cis:
                t = _tag(c)
                row[f"coverage_{t}"] = g[f"covered_{t}"].mean()
                row[f"nominal_{t}"] = c
                row[f"mean_width_{t}"] = g[f"width_{t}"].mean()
                row[f"mean_rel_width_{t}"] = g[f"rel_width_{t}"].mean()
                # a few exploding bootstrap replicates can make the mean width meaningless
                row[f"median_rel_width_{t}"] = g[f"rel_width_{t}"].median()
            rows.append(row)
        out = pd.DataFrame(rows)
        out.attrs.update(self.settings)
        return out

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"Backtest(split by {s['split']} at {s['threshold']:.3g}: {s['n_train']} training runs, "
            f"{s['n_test']} held out; methods {sorted(self.points['method'].unique())})"
        )


def _rows(runs: pd.DataFrame, table: pd.DataFrame, cis, method: str) -> pd.DataFrame:
    """The held-out runs side by side with one method's forecast of them."""
    wide = _wide(table, cis)
    keep = [c for c in wide if c not in ("family", "params", "tokens", "flops", "run")]
    return pd.concat([runs.reset_index(drop=True), wide[keep]], axis=1).assign(method=method)


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
) -> Backtest:
    """Fit on the smaller runs, forecast the held-out larger ones, and score against the baseline.

    Parameters
    ----------
    obs : Observations
        All runs.
    split : {"flops", "params"}
        Hold out the largest runs by training compute or by model size.
    holdout : float
        Share of runs held out (in (0, 1)) or the threshold itself (> 1).
    model : ScalingModel, optional
        The Bayesian model (default ``ScalingModel()``).
    baseline : bool
        Also run the Approach 3 point fit of the same law on the same split.
    bootstrap : int
        Bootstrap replicates for the baseline's intervals.
    fit_kwargs : dict, optional
        Passed to the fit (``draws``, ``tune``, ``chains``, ``random_seed``, ...).
    ci : sequence of float
        Interval masses to score (default 50% and 90%).
    fit_fn : callable, optional
        ``fit_fn(train_obs, model, **fit_kwargs) -> Fit``; default
        :func:`fit_bayes` (swap in a parallel or cached runner).
    random_seed : int, optional
        Seed for forecasts of new families, the noise and the bootstrap.

    Returns
    -------
    Backtest

    Examples
    --------
    >>> bt = backtest(obs, split="flops", holdout=0.2, fit_kwargs={"draws": 300, "chains": 2})  # doctest: +SKIP
    >>> bt.metrics()                                                                              # doctest: +SKIP
    """
    from forecast.baselines import fit_baseline
    from forecast.predict import predict

    cis = tuple(check_ci(c) for c in (np.atleast_1d(ci)))
    mask, threshold = split_runs(obs, split=split, holdout=holdout)
    table = obs.table.reset_index(drop=True)
    train_all, test = table[~mask], table[mask].reset_index(drop=True)
    counts = train_all["family"].value_counts()
    trained = [f for f in obs.families if counts.get(f, 0) >= obs.min_points]
    if not trained:
        raise ValueError(
            f"no family keeps {obs.min_points} runs below the {split} threshold {threshold:.3g}; "
            "hold out fewer runs"
        )
    train = Observations.from_table(
        train_all[train_all["family"].isin(trained)].reset_index(drop=True), min_points=obs.min_points
    )
    fit_fn = fit_fn or fit_bayes
    kwargs = dict(fit_kwargs or {})
    kwargs.setdefault("random_seed", random_seed)
    fit = fit_fn(train, model, **kwargs)
    test = test.assign(forecast_family=np.where(test["family"].isin(trained), test["family"], "new"))
    test["forecast_kind"] = np.where(test["forecast_family"] == "new", "new family", "known family")
    needs = [k for k in ("unique_tokens",) if k in fit.law.inputs]
    run_cols = [
        c
        for c in ("family", "params", "tokens", "flops", "loss", "forecast_family", "forecast_kind", "run")
        if c in test
    ]
    frames = []
    base_fit = fit_baseline(train, law=fit.law, bootstrap=bootstrap, random_seed=random_seed) if baseline else None
    for fam, g in test.groupby("forecast_family", sort=False):
        inputs = {"params": g["params"].to_numpy(), "tokens": g["tokens"].to_numpy()}
        if fit.law.inputs == ("flops",):
            inputs = {"flops": g["flops"].to_numpy()}
        extra = {k: g[k].to_numpy() for k in needs}
        if "run" in g and "z_run" in fit.posterior:
            # held-out checkpoints of a run seen in training share that run's fitted offset
            extra["run"] = g["run"].astype(str).to_numpy()
        fc_ = predict(fit, **inputs, **extra, family=fam, include_noise=True, random_seed=random_seed)
        frames.append(_rows(g[run_cols], fc_.table(list(cis)), cis, "bayes"))
        if base_fit is not None:
            bt = base_fit.predict(**inputs, **{k: extra[k] for k in needs}, family=fam, ci=list(cis))
            frames.append(_rows(g[run_cols], bt, cis, "baseline"))
    points = _score(pd.concat(frames, ignore_index=True), cis)
    points.insert(0, "method", points.pop("method"))
    diag = fit.diagnostics()
    settings = {
        "split": split,
        "threshold": threshold,
        "holdout": holdout,
        "n_train": len(train),
        "n_test": len(test),
        "trained_families": trained,
        "new_families": sorted(set(test["family"]) - set(trained)),
        "ci": list(cis),
        "law": fit.law.name,
        "likelihood": fit.model.likelihood,
        "bayes_intervals": "posterior predictive, include the observation noise of a single run",
        "baseline_intervals": (
            f"bootstrap percentiles ({bootstrap} replicates), parameter uncertainty only"
            if baseline
            else "none"
        ),
        "diagnostics_ok": diag.ok,
        "diagnostics": repr(diag),
    }
    return Backtest(points=points, settings=settings, fit=fit, baseline=base_fit, cis=cis)
