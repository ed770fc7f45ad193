"""What users would do instead: the Chinchilla Approach 3 point fit, with bootstrap intervals.

Approach 3 of Hoffmann et al. (2022), as replicated by Besiroglu et al. (2024),
fits ``L = E + A N^-alpha + B D^-beta`` by minimising the Huber loss
(``delta = 1e-3``) of the log-loss residuals, with the law written as a
log-sum-exp so every parameter is unconstrained:

    log L_hat = LSE(a - alpha log N, b - beta log D, e),   A = e^a, B = e^b, E = e^e,
    minimise  sum_i Huber_delta(log L_hat_i - log L_i)

with L-BFGS-B from a grid of starts (here the objective is evaluated on
Besiroglu's whole grid of 4,500 starts at once and L-BFGS-B runs from the best
few). Intervals, when asked for, come from the bootstrap: resample the runs
with replacement, refit, and take percentiles, as Besiroglu et al. did.

The tables returned by :meth:`PointFit.predict` and :meth:`PointFit.frontier`
have the same columns as :meth:`forecast.predict.Forecast.table` and
:meth:`forecast.frontier.Frontier.table`, so the two can be set side by side.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecast.config import DEFAULT_CI, INTERVAL_KIND, check_ci, quantile_bounds
from forecast.data import Observations

HUBER_DELTA = 1e-3
"""Huber threshold on log-loss residuals (Hoffmann et al. 2022; Besiroglu et al. 2024)."""

PARAMS = ("E", "A", "B", "alpha", "beta")

# Besiroglu et al. (2024) grid of starting points over (a, b, e, alpha, beta)
START_GRID = {
    "a": np.arange(0.0, 30.0, 5.0),
    "b": np.arange(0.0, 30.0, 5.0),
    "e": np.arange(-1.0, 1.5, 0.5),
    "alpha": np.arange(0.0, 2.5, 0.5),
    "beta": np.arange(0.0, 2.5, 0.5),
}


# -------------------------------------------------------------- objective
def _objective(z: np.ndarray, x: np.ndarray, y: np.ndarray, t: np.ndarray, delta: float):
    """Huber loss (divided by delta for a well-scaled optimiser) and its gradient.

    ``z`` is ``(..., 5)`` = (a, b, e, alpha, beta); the objective is summed over
    the runs on the last axis of ``x, y, t``.
    """
    a, b, e, alpha, beta = (z[..., i, None] for i in range(5))
    t1, t2 = a - alpha * x, b - beta * y
    t3 = np.broadcast_to(e, t1.shape)
    m = np.maximum(np.maximum(t1, t2), t3)
    w1, w2, w3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(t3 - m)
    total = w1 + w2 + w3
    lse = m + np.log(total)
    r = lse - t
    absr = np.abs(r)
    huber = np.where(absr <= delta, 0.5 * r * r, delta * (absr - 0.5 * delta)) / delta
    g = np.clip(r, -delta, delta) / delta
    w1, w2, w3 = w1 / total, w2 / total, w3 / total
    grad = np.stack(
        [(g * w1).sum(-1), (g * w2).sum(-1), (g * w3).sum(-1), -(g * w1 * x).sum(-1), -(g * w2 * y).sum(-1)],
        axis=-1,
    )
    return huber.sum(-1), grad


def _start_points() -> np.ndarray:
    return np.array(list(itertools.product(*START_GRID.values())), dtype=float)


def fit_approach3(
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    *,
    delta: float = HUBER_DELTA,
    n_starts: int = 8,
    start: np.ndarray | None = None,
) -> dict[str, float]:
    """Chinchilla Approach 3 point estimate of ``E, A, B, alpha, beta``.

    Parameters
    ----------
    params, tokens, loss : array-like
        N, D and the loss (nats/token) of each run.
    delta : float
        Huber threshold on log-loss residuals (default 1e-3).
    n_starts : int
        L-BFGS-B runs, from the best points of Besiroglu's 4,500-point start grid.
    start : array, optional
        An extra start ``(a, b, e, alpha, beta)`` (the bootstrap passes the point fit);
        with ``n_starts=0`` the only start.

    Returns
    -------
    dict
        ``E, A, B, alpha, beta`` and ``objective`` (Huber loss / delta at the optimum).

    Examples
    --------
    >>> from forecast.datasets import simulate
    >>> runs, truth = simulate(n_families=1, runs_per_family=60, noise=0.002, seed=1)
    >>> p = fit_approach3(runs.params, runs.tokens, runs.loss)
    >>> bool(abs(p["alpha"] / truth["alpha"].iloc[0] - 1) < 0.2)
    True
    """
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    x, y, t = (np.log(np.asarray(v, dtype=float)) for v in (params, tokens, loss))
    grid = _start_points()
    # with few runs the five parameters are not identified and some starts run off to huge A or B;
    # that is the honest result of the method, not an error
    with (
        threadpool_limits(1),
        np.errstate(over="ignore", divide="ignore", invalid="ignore"),
    ):  # one BLAS thread: small problems run 3-10x faster on a shared box
        starts = []
        if n_starts > 0:
            chunks = np.array_split(grid, max(1, len(grid) * x.size // 200_000))
            values = np.concatenate([_objective(chunk, x, y, t, delta)[0] for chunk in chunks])
            # the best (a, b, e) for each pair of nonzero exponents, then the best pairs: starts that
            # differ in the exponents, so one flat region of the grid cannot take every start
            pairs = {}
            for i in np.argsort(values):
                key = (grid[i, 3], grid[i, 4])
                if key[0] > 0 and key[1] > 0 and key not in pairs:
                    pairs[key] = grid[i]
            starts = list(pairs.values())[:n_starts]
        if start is not None:
            starts.insert(0, np.asarray(start, dtype=float))
        best = None
        for z0 in starts:
            res = minimize(
                lambda z: _objective(z, x, y, t, delta),
                z0,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10},
            )
            if best is None or res.fun < best.fun:
                best = res
    a, b, e, alpha, beta = best.x
    with np.errstate(over="ignore"):  # an unidentified fit may have a huge A or B: report inf
        a_, b_ = np.exp(a), np.exp(b)
    return {
        "E": float(np.exp(e)),
        "A": float(a_),
        "B": float(b_),
        "alpha": float(alpha),
        "beta": float(beta),
        "objective": float(best.fun),
    }


def _to_z(p: dict[str, float]) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.array([np.log(p["A"]), np.log(p["B"]), np.log(p["E"]), p["alpha"], p["beta"]])


def _loss(p: pd.DataFrame | dict, params, tokens) -> np.ndarray:
    """Chinchilla loss; ``p`` columns broadcast against the inputs (rows x points)."""
    get = (
        (lambda k: np.asarray(p[k], dtype=float)[..., None])
        if isinstance(p, pd.DataFrame)
        else (lambda k: np.asarray(p[k], dtype=float))
    )
    return (
        get("E")
        + get("A") * np.asarray(params) ** -get("alpha")
        + get("B") * np.asarray(tokens) ** -get("beta")
    )


# ---------------------------------------------------------------- PointFit
@dataclass
class PointFit:
    """Approach 3 point fits, one per family plus one of all runs pooled.

    Attributes
    ----------
    params : pandas.DataFrame
        ``E, A, B, alpha, beta`` per family (index), plus the row ``"pooled"``
        (one curve through every run), used for ``"new"``/``"population"``.
    bootstrap : pandas.DataFrame or None
        Refitted parameters per bootstrap replicate: columns ``family,
        replicate, E, A, B, alpha, beta``.

    Examples
    --------
    >>> from forecast.testing import BESIROGLU_2024 as p
    >>> pf = PointFit(pd.DataFrame([p], index=["pooled"]))
    >>> round(float(pf.predict(params=7e10, tokens=1.4e12)["median"].iloc[0]), 3)
    1.973
    """

    params: pd.DataFrame
    bootstrap: pd.DataFrame | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def families(self) -> list[str]:
        """The families fitted one by one (``"pooled"`` excluded)."""
        return [f for f in self.params.index if f != "pooled"]

    def __repr__(self) -> str:
        n = 0 if self.bootstrap is None else int(self.bootstrap["replicate"].nunique())
        return f"PointFit(Approach 3, families={self.families}, bootstrap replicates={n})"

    def _row(self, family: str) -> str:
        if family in ("new", "population", "pooled"):
            return "pooled"
        if family not in self.params.index:
            raise ValueError(
                f"unknown family {family!r}; fitted families: {', '.join(self.families)} "
                "(or 'new'/'population' for the fit of all runs pooled)"
            )
        return family

    def _draws(self, family: str) -> pd.DataFrame | None:
        if self.bootstrap is None:
            return None
        return self.bootstrap[self.bootstrap["family"] == self._row(family)]

    def predict(
        self,
        params=None,
        tokens=None,
        flops=None,
        *,
        family: str | Sequence[str] = "new",
        ci: float | Sequence[float] = DEFAULT_CI,
    ) -> pd.DataFrame:
        """Point forecasts (``median``) with bootstrap percentile intervals.

        Same columns as :meth:`forecast.predict.Forecast.table`. ``median``
        is the point fit's prediction (what a user of Approach 3 reports);
        ``mean``, ``lower`` and ``upper`` come from the bootstrap (NaN
        without it; replicates whose refit failed, NaN, are left out). Intervals cover parameter uncertainty only
        (``includes_noise`` is False).

        Examples
        --------
        >>> from forecast.datasets import simulate
        >>> runs, _ = simulate(n_families=2, runs_per_family=30, seed=1)
        >>> pf = fit_baseline(Observations(runs))
        >>> pf.predict(params=[7e10], tokens=[1.4e12], family="family-0").shape
        (1, 11)
        """
        from forecast.predict import resolve_inputs

        inputs = resolve_inputs(("params", "tokens"), params=params, tokens=tokens, flops=flops)
        cis = [check_ci(c) for c in ([ci] if np.ndim(ci) == 0 else ci)]
        names = [family] if isinstance(family, str) else list(family)
        frames = []
        for name in names:
            point = _loss(self.params.loc[self._row(name)].to_dict(), inputs["params"], inputs["tokens"])
            boot = self._draws(name)
            draws = None if boot is None else _loss(boot, inputs["params"], inputs["tokens"])
            for c in cis:
                frame = pd.DataFrame(
                    {"family": name, **{k: inputs[k] for k in ("params", "tokens", "flops")}}
                )
                frame["mean"] = point if draws is None else np.nanmean(draws, axis=0)
                frame["median"] = point
                lo, hi = quantile_bounds(c)
                frame["lower"] = np.nan if draws is None else np.nanquantile(draws, lo, axis=0)
                frame["upper"] = np.nan if draws is None else np.nanquantile(draws, hi, axis=0)
                frame["ci"] = c
                frames.append(frame)
        out = pd.concat(frames, ignore_index=True)
        out["interval"] = INTERVAL_KIND if self.bootstrap is not None else "none (point fit)"
        out["includes_noise"] = False
        out.attrs.update(
            {
                "method": "Chinchilla Approach 3 (Huber on log loss, L-BFGS-B)",
                "interval_source": "bootstrap percentiles" if self.bootstrap is not None else "none",
                **self.settings,
            }
        )
        return out

    def frontier(self, flops, *, family: str = "new", ci: float = DEFAULT_CI) -> pd.DataFrame:
        """Closed-form compute-optimal N*, D*, tokens per parameter and L* of the point fit.

        Same columns as :meth:`forecast.frontier.Frontier.table`; ``median``
        is the point fit's value and the interval comes from the bootstrap.

        Examples
        --------
        >>> from forecast.testing import BESIROGLU_2024 as p
        >>> pf = PointFit(pd.DataFrame([p], index=["pooled"]))
        >>> t = pf.frontier([5.76e23]).set_index("quantity")
        >>> round(float(t.loc["tokens_per_param", "median"]), 1)
        18.4
        """
        from forecast.frontier import _as_flops, _closed_form

        values = _as_flops(flops)
        c = check_ci(ci)
        lo, hi = quantile_bounds(c)

        def solve(p):
            n, d, loss = _closed_form(p, values)
            return {"params": n, "tokens": d, "tokens_per_param": d / n, "loss": loss}

        point = solve({k: float(v) for k, v in self.params.loc[self._row(family)].items() if k in PARAMS})
        boot = self._draws(family)
        draws = None if boot is None else solve({k: boot[k].to_numpy()[:, None] for k in PARAMS})
        frames = []
        for q, v in point.items():
            frames.append(
                pd.DataFrame(
                    {
                        "flops": values,
                        "quantity": q,
                        "mean": v if draws is None else np.nanmean(draws[q], axis=0),
                        "median": v,
                        "lower": np.nan if draws is None else np.nanquantile(draws[q], lo, axis=0),
                        "upper": np.nan if draws is None else np.nanquantile(draws[q], hi, axis=0),
                        "ci": c,
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True)
        out.attrs.update({"interval": INTERVAL_KIND, "method": "Chinchilla Approach 3 point fit"})
        return out


def fit_baseline(
    obs: Observations,
    *,
    bootstrap: int = 0,
    delta: float = HUBER_DELTA,
    n_starts: int = 8,
    random_seed: int | None = 0,
) -> PointFit:
    """Approach 3 point fit of each family (and of all runs pooled), optionally bootstrapped.

    Parameters
    ----------
    obs : Observations
    bootstrap : int
        Bootstrap replicates (0 for none). Each resamples the runs of a family
        with replacement and refits (starting from the point fit and the best
        grid starts).
    delta : float
        Huber threshold on log-loss residuals.
    n_starts : int
        L-BFGS-B runs per fit from the best grid starts.
    random_seed : int, optional
        Seed of the bootstrap resampling.

    Returns
    -------
    PointFit

    Examples
    --------
    >>> from forecast.datasets import simulate
    >>> runs, truth = simulate(n_families=2, runs_per_family=30, seed=1)
    >>> pf = fit_baseline(Observations(runs), bootstrap=20)
    >>> sorted(pf.params.index)
    ['family-0', 'family-1', 'pooled']
    """
    if bootstrap < 0:
        raise ValueError(f"bootstrap must be a count of replicates >= 0, got {bootstrap}")
    table = obs.table
    groups = {f: table[table["family"] == f] for f in obs.families}
    if len(groups) > 1:
        groups["pooled"] = table
    rows, boots = {}, []
    rng = np.random.default_rng(random_seed)
    for name, g in groups.items():
        n, d, y = (g[k].to_numpy(dtype=float) for k in ("params", "tokens", "loss"))
        est = fit_approach3(n, d, y, delta=delta, n_starts=n_starts)
        rows[name] = est
        for rep in range(bootstrap):
            idx = rng.integers(0, len(g), len(g))
            # refit from the point estimate: the resampled optimum is near it, and a grid search
            # per replicate would make bootstraps of many families too slow for backtests
            b = fit_approach3(n[idx], d[idx], y[idx], delta=delta, n_starts=0, start=_to_z(est))
            boots.append({"family": name, "replicate": rep, **b})
    if len(groups) == 1:
        only = next(iter(rows))
        rows["pooled"] = rows[only]
        boots += [{**b, "family": "pooled"} for b in boots if b["family"] == only]
    params = pd.DataFrame.from_dict(rows, orient="index")
    params.index.name = "family"
    return PointFit(
        params=params,
        bootstrap=pd.DataFrame(boots) if bootstrap else None,
        settings={"delta": delta, "bootstrap": bootstrap, "n_starts": n_starts},
    )
