"""What users would do instead: the Approach 3 point fit, with bootstrap intervals.

Approach 3 of Hoffmann et al. (2022), as replicated by Besiroglu et al. (2024),
fits ``L = E + A N^-alpha + B D^-beta`` by minimising the Huber loss
(``delta = 1e-3``) of the log-loss residuals. Here it fits any law the same
way, on the law's own mean written in its sampled (unconstrained) parameters:

    minimise  sum_i Huber_delta(law.log_mean(theta, log x_i) - log L_i)

with L-BFGS-B (gradients by central differences, every shifted point in one
vectorised evaluation) from the best few points of a grid of starts that
crosses quantiles of each parameter's prior (the objective is evaluated on the
whole grid at once). Intervals, when asked for, come from the bootstrap:
resample the runs with replacement, refit, and take percentiles, as Besiroglu
et al. did. The refits of all replicates of a family minimise the same
objective from the point fit at once (:func:`refit_bootstrap`): 200 replicates
cost about what a few single L-BFGS-B fits do (``benchmarks/bench_cv.py``).

The tables returned by :meth:`PointFit.predict` and :meth:`PointFit.frontier`
have the same columns as :meth:`forecast.predict.Forecast.table` and
:meth:`forecast.frontier.Frontier.table`, so the two can be set side by side.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecast.config import DEFAULT_CI, INTERVAL_KIND, check_ci, quantile_bounds
from forecast.data import Observations
from forecast.laws import CHINCHILLA, Law, get_law

HUBER_DELTA = 1e-3
"""Huber threshold on log-loss residuals (Hoffmann et al. 2022; Besiroglu et al. 2024)."""

START_QUANTILES = (0.02, 0.25, 0.5, 0.75, 0.98)
"""Prior quantiles crossed into the grid of starts (three of them for laws of more than five parameters)."""

FD_STEP = 1e-5
"""Step of the central differences that give the objective's gradient."""

STEP_MULTIPLES = 2.0 ** np.arange(11)
"""Multiples of each Levenberg-Marquardt step tried at once by :func:`refit_bootstrap` (the best is kept):
long runs along the flat valleys of a near-unidentified law take a few iterations instead of hundreds."""

Z_BOUND = 700.0
"""Bound of the refits' sampled parameters: exp(-700) ~ 1e-304 stands for a term or E run off to zero."""

MAX_ITER = 2000
"""Iterations at most of each fit: L-BFGS-B's in :func:`fit_approach3`, each replicate's in :func:`refit_bootstrap`."""


# -------------------------------------------------------------- objective
def _objective(law: Law, z: np.ndarray, logx: dict, centre: dict, t: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss of the log-loss residuals, divided by delta for a well-scaled optimiser.

    ``z`` is ``(..., k)``: the law's sampled parameters in ``law.params`` order; the
    residuals are summed over the runs (the last axis of ``logx`` and ``t``).
    """
    return (_huber(_residuals(law, z, logx, centre, t), delta) / delta).sum(-1)


def _residuals(law: Law, z: np.ndarray, logx: dict, centre: dict, t: np.ndarray) -> np.ndarray:
    """Log-loss residuals ``log_mean - log loss`` of the parameters ``z`` ``(..., k)``, one per run (last axis)."""
    theta = {p: z[..., i, None] for i, p in enumerate(law.params)}
    return law.log_mean(theta, logx, centre, np) - t


def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    absr = np.abs(r)
    return np.where(absr <= delta, 0.5 * r * r, delta * (absr - 0.5 * delta))


def _objective_and_gradient(z: np.ndarray, law: Law, logx: dict, centre: dict, t: np.ndarray, delta: float):
    """The objective at ``z`` and its gradient by central differences, all points in one evaluation."""
    k = z.size
    steps = FD_STEP * np.eye(k)
    values = _objective(law, np.concatenate([z[None], z + steps, z - steps]), logx, centre, t, delta)
    return values[0], (values[1 : k + 1] - values[k + 1 :]) / (2 * FD_STEP)


def _start_points(law: Law) -> np.ndarray:
    """A grid of starts crossing quantiles of each parameter's prior (sampled space)."""
    levels = START_QUANTILES if len(law.params) <= 5 else START_QUANTILES[::2]
    rng = np.random.default_rng(0)
    axes = [np.quantile(law.priors[p].sample(rng, 20_000), levels) for p in law.params]
    return np.array(list(itertools.product(*axes)), dtype=float)


def _law_inputs(law: Law, given: Mapping[str, Any]) -> dict[str, np.ndarray]:
    missing = [k for k in law.inputs if given.get(k) is None]
    if missing:
        raise ValueError(f"the {law.name} law reads {', '.join(law.inputs)}; missing {', '.join(missing)}")
    return {k: np.log(np.asarray(given[k], dtype=float)) for k in law.inputs}


def fit_approach3(
    params: np.ndarray | None = None,
    tokens: np.ndarray | None = None,
    loss: np.ndarray | None = None,
    *,
    law: str | Law = "chinchilla",
    flops: np.ndarray | None = None,
    unique_tokens: np.ndarray | None = None,
    delta: float = HUBER_DELTA,
    n_starts: int = 8,
    start: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Approach 3 point estimate of a law's parameters: Huber on the law's own log mean.

    Parameters
    ----------
    params, tokens, flops, unique_tokens : array-like
        The inputs the law reads (N, D, C, U), one value per run.
    loss : array-like
        The loss (nats/token) of each run.
    law : str or Law
        The law fitted (default Chinchilla's ``E + A N^-alpha + B D^-beta``).
    delta : float
        Huber threshold on log-loss residuals (default 1e-3).
    n_starts : int
        L-BFGS-B runs, from the best points of a grid of starts crossing
        quantiles of each parameter's prior.
    start : dict, optional
        An extra start in the user's units (the bootstrap passes the point fit);
        with ``n_starts=0`` the only start.

    Returns
    -------
    dict
        The law's user-unit parameters (``E, A, B, alpha, beta`` for Chinchilla)
        and ``objective`` (Huber loss / delta at the optimum).

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

    law = get_law(law)
    logx = _law_inputs(law, {"params": params, "tokens": tokens, "flops": flops, "unique_tokens": unique_tokens})
    t = np.log(np.asarray(loss, dtype=float))
    centre = law.centres(logx)
    # with few runs the parameters are not identified and some starts run off to huge amplitudes;
    # that is the honest result of the method, not an error
    with (
        threadpool_limits(1),
        np.errstate(over="ignore", divide="ignore", invalid="ignore"),
    ):  # one BLAS thread: small problems run 3-10x faster on a shared box
        starts = []
        if n_starts > 0:
            grid = _start_points(law)
            chunks = np.array_split(grid, max(1, len(grid) * t.size // 200_000))
            values = np.concatenate([_objective(law, chunk, logx, centre, t, delta) for chunk in chunks])
            starts = list(grid[np.argsort(np.where(np.isfinite(values), values, np.inf))[:n_starts]])
        if start is not None:
            z0 = law.from_user({k: np.float64(v) for k, v in start.items()}, centre, np)
            starts.insert(0, np.array([z0[p] for p in law.params], dtype=float))
        best = None
        for z0 in starts:
            res = minimize(
                _objective_and_gradient, z0, args=(law, logx, centre, t, delta), jac=True,
                method="L-BFGS-B", options={"maxiter": MAX_ITER, "ftol": 1e-15, "gtol": 1e-9},
            )
            if best is None or res.fun < best.fun:
                best = res
        user = law.to_user(dict(zip(law.params, best.x, strict=True)), centre, np)
    return {**{k: float(v) for k, v in user.items()}, "objective": float(best.fun)}


def refit_bootstrap(
    inputs: Mapping[str, np.ndarray],
    loss: np.ndarray,
    *,
    start: Mapping[str, float],
    law: str | Law = "chinchilla",
    delta: float = HUBER_DELTA,
    max_iter: int | None = None,
) -> dict[str, np.ndarray]:
    """Approach 3 refits of many resampled data sets at once, all from one start (the bootstrap's inner loop).

    Minimises the same Huber objective as :func:`fit_approach3` for every
    replicate (a row of ``loss``) with a Levenberg-Marquardt iteration on
    iteratively reweighted least squares (Huber weights ``min(1, delta/|r|)``),
    vectorised over the replicates: each step evaluates the residuals of every
    replicate and their central-difference Jacobian in one array operation and
    solves one small system per replicate, so 200 replicates cost about what
    a few L-BFGS-B refits do. The step and its multiples (:data:`STEP_MULTIPLES`)
    are tried at once and the best is kept. Each replicate stops when an accepted step lowers
    its objective by less than a relative ``1e-12``, when no step lowers it
    (damping above ``1e10``), or after ``max_iter`` iterations.

    Parameters
    ----------
    inputs : dict of numpy.ndarray
        The inputs the law reads (``params``, ``tokens``, ...), each ``(replicate, run)``.
    loss : numpy.ndarray
        ``(replicate, run)`` losses.
    start : dict
        The start in the user's units (the point fit of the original runs).
    law, delta
        As in :func:`fit_approach3`.
    max_iter : int, optional
        Iterations at most per replicate (default :data:`MAX_ITER`).

    Returns
    -------
    dict of numpy.ndarray
        The law's user-unit parameters and ``objective`` (Huber loss / delta), one value per replicate.

    Examples
    --------
    >>> from forecast.datasets import simulate
    >>> runs, _ = simulate(n_families=1, runs_per_family=30, noise=0.005, seed=1)
    >>> point = fit_approach3(runs.params, runs.tokens, runs.loss)
    >>> idx = np.random.default_rng(0).integers(0, 30, (50, 30))
    >>> boot = refit_bootstrap({k: runs[k].to_numpy()[idx] for k in ("params", "tokens")},
    ...                        runs.loss.to_numpy()[idx], start=point)
    >>> boot["alpha"].shape
    (50,)
    """
    law = get_law(law)
    loss = np.atleast_2d(np.asarray(loss, dtype=float))
    logx = {k: np.atleast_2d(v)[:, None, :] for k, v in _law_inputs(law, inputs).items()}
    t = np.log(loss)[:, None, :]
    n_rep, k = loss.shape[0], len(law.params)
    centre = law.centres(logx)  # any centre gives the same optimum in the user's units
    with np.errstate(divide="ignore"):
        z0 = law.from_user({p: np.float64(start[p]) for p in law.user_params}, centre, np)
    # a point fit that ran off to a bound (E = 0: log E = -inf) starts just inside it
    z0 = np.clip(np.array([z0[p] for p in law.params], dtype=float), -Z_BOUND, Z_BOUND)
    z = np.tile(z0, (n_rep, 1))
    # perturbations of one evaluation: the point itself, then +h and -h along each parameter
    shifts = np.concatenate([np.zeros((1, k)), FD_STEP * np.eye(k), -FD_STEP * np.eye(k)])

    def rows(index):
        return {name: v[index] for name, v in logx.items()}, t[index]

    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        f = _huber(_residuals(law, z[:, None, :], logx, centre, t)[:, 0], delta).sum(-1)
        damping = np.full(n_rep, 1e-3)
        active = np.flatnonzero(np.isfinite(f))
        for _ in range(MAX_ITER if max_iter is None else max_iter):
            if active.size == 0:
                break
            x, y = rows(active)
            r = _residuals(law, z[active, None, :] + shifts, x, centre, y)
            jac = (r[:, 1 : k + 1] - r[:, k + 1 :]) / (2 * FD_STEP)  # (replicate, parameter, run)
            r0 = r[:, 0]
            weight = np.minimum(1.0, delta / np.maximum(np.abs(r0), 1e-300))  # Huber's IRLS weights
            grad = np.einsum("apn,an->ap", jac, np.clip(r0, -delta, delta))
            hess = np.einsum("apn,an,aqn->apq", jac, weight, jac)
            diag = np.einsum("app->ap", hess)
            scale = diag + 1e-9 * diag.max(-1, keepdims=True) + 1e-300
            system = hess + damping[active, None, None] * (scale[:, :, None] * np.eye(k))
            try:
                step = np.linalg.solve(system, -grad[..., None])[..., 0]
            except np.linalg.LinAlgError:  # a singular system: solve the replicates one by one
                step = np.stack([np.linalg.lstsq(a, -b, rcond=None)[0] for a, b in zip(system, grad, strict=True)])
            # the step and its multiples, all in one evaluation: the best one that lowers the objective
            trials = np.clip(z[active, None, :] + STEP_MULTIPLES[:, None] * step[:, None, :], -Z_BOUND, Z_BOUND)
            values = _huber(_residuals(law, trials, x, centre, y), delta).sum(-1)
            values = np.where(np.isfinite(values), values, np.inf)
            pick = np.argmin(values, axis=1)
            f_new = values[np.arange(active.size), pick]
            trial = trials[np.arange(active.size), pick]
            better = f_new < f[active]
            gain = f[active] - f_new
            z[active[better]] = trial[better]
            small = better & (gain <= 1e-12 * np.abs(f[active]))
            f[active[better]] = f_new[better]
            damping[active] = np.where(better, damping[active] / 3, damping[active] * 10)
            active = active[~small & (damping[active] <= 1e10)]
        z[~np.isfinite(f)] = np.nan  # a resample the law cannot be evaluated on: a failed refit (NaN)
        user = law.to_user(dict(zip(law.params, z.T, strict=True)), centre, np)
    return {**{p: np.asarray(user[p], dtype=float) for p in law.user_params}, "objective": f / delta}


# ---------------------------------------------------------------- PointFit
@dataclass
class PointFit:
    """Approach 3 point fits, one per family plus one of all runs pooled.

    Attributes
    ----------
    params : pandas.DataFrame
        The law's user-unit parameters (``E, A, B, alpha, beta`` for
        Chinchilla) per family (index), plus the row ``"pooled"`` (one curve
        through every run), used for ``"new"``/``"population"``.
    bootstrap : pandas.DataFrame or None
        Refitted parameters per bootstrap replicate: columns ``family,
        replicate`` and the law's parameters.
    law : Law
        The law fitted (default Chinchilla's).

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
    law: Law = CHINCHILLA
    residuals: dict[str, np.ndarray] = field(default_factory=dict)
    """Log-loss residuals of each point fit (``"pooled"`` included), for prediction intervals."""

    def draws(
        self, params=None, tokens=None, flops=None, *, unique_tokens=None, family: str = "new",
        include_noise: bool = True, random_seed: int | None = 0,
    ) -> np.ndarray:
        """Bootstrap draws of the loss, ``(replicate, point)``: a bootstrap prediction interval's sample.

        Each replicate is the Approach 3 refit on resampled runs; with
        ``include_noise`` it is multiplied by ``exp(r)`` for a residual ``r``
        resampled from the family's point fit (what a user would do to cover
        one new run, not only the mean).

        Examples
        --------
        >>> from forecast.datasets import simulate
        >>> runs, _ = simulate(n_families=2, runs_per_family=30, seed=1)
        >>> pf = fit_baseline(Observations(runs), bootstrap=20)
        >>> pf.draws(params=[7e10], tokens=[1.4e12], family="family-0").shape
        (20, 1)
        """
        from forecast.predict import resolve_inputs

        if self.bootstrap is None:
            raise ValueError("draws need bootstrap replicates: fit_baseline(obs, bootstrap=200)")
        inputs = resolve_inputs(
            self.law.inputs, params=params, tokens=tokens, flops=flops, unique_tokens=unique_tokens
        )
        out = self.law.loss(self._user(self._draws(family), column=True),
                            **{k: inputs[k] for k in self.law.inputs})
        if include_noise:
            res = self.residuals.get(self._row(family))
            if res is None or len(res) == 0:
                raise ValueError("this PointFit holds no residuals; refit it with fit_baseline()")
            rng = np.random.default_rng(random_seed)
            out = out * np.exp(rng.choice(res, size=np.shape(out)))
        return out

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

    def _user(self, values: pd.Series | pd.DataFrame, *, column: bool = False) -> dict[str, np.ndarray]:
        """The law's user-unit parameters from a row (scalars) or bootstrap rows (a column each)."""
        return {k: np.asarray(values[k], dtype=float)[..., None] if column else float(values[k])
                for k in self.law.user_params}

    def _draws(self, family: str) -> pd.DataFrame | None:
        if self.bootstrap is None:
            return None
        rows = self.bootstrap[self.bootstrap["family"] == self._row(family)]
        if rows.empty:
            raise ValueError(f"no bootstrap replicates for family {family!r}: the fit of all runs pooled was "
                             "not bootstrapped; use fit_baseline(..., bootstrap_pooled=True)")
        return rows

    def predict(
        self,
        params=None,
        tokens=None,
        flops=None,
        *,
        unique_tokens=None,
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
        (1, 12)
        """
        from forecast.predict import resolve_inputs

        inputs = resolve_inputs(
            self.law.inputs, params=params, tokens=tokens, flops=flops, unique_tokens=unique_tokens
        )
        law_inputs = {k: inputs[k] for k in self.law.inputs}
        cis = [check_ci(c) for c in ([ci] if np.ndim(ci) == 0 else ci)]
        names = [family] if isinstance(family, str) else list(family)
        frames = []
        for name in names:
            point = self.law.loss(self._user(self.params.loc[self._row(name)]), **law_inputs)
            boot = self._draws(name)
            draws = None if boot is None else self.law.loss(self._user(boot, column=True), **law_inputs)
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
        out["includes"] = "parameters"
        out.attrs.update(
            {
                "method": f"Approach 3 on the {self.law.name} law (Huber on log loss, L-BFGS-B)",
                "interval_source": "bootstrap percentiles" if self.bootstrap is not None else "none",
                **self.settings,
            }
        )
        return out

    def frontier(self, flops, *, family: str = "new", ci: float = DEFAULT_CI) -> pd.DataFrame:
        """Compute-optimal N*, D*, tokens per parameter and L* of the point fit (as :func:`forecast.frontier.frontier`).

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
        from forecast.frontier import _as_flops, _optimum_of

        values = _as_flops(flops)
        c = check_ci(ci)
        lo, hi = quantile_bounds(c)
        centre = {k: 0.0 for k in self.law.centred}

        def solve(user):
            theta = {k: np.asarray(v) for k, v in self.law.from_user(user, centre, np).items()}
            optimum = _optimum_of(self.law, theta, user, centre)
            if optimum is None or "params" not in (out := optimum(np.log(values))):
                raise ValueError(f"the {self.law.name} law has no compute-optimal split of N and D")
            return {**out, "tokens_per_param": out["tokens"] / out["params"]}

        point = solve(self._user(self.params.loc[self._row(family)]))
        boot = self._draws(family)
        draws = None if boot is None else solve({k: v[:, 0] for k, v in self._user(boot, column=True).items()})
        frames = []
        for q in ("params", "tokens", "tokens_per_param", "loss"):
            v = point[q]
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
        out.attrs.update({"interval": INTERVAL_KIND, "method": f"Approach 3 point fit of the {self.law.name} law"})
        return out


def fit_baseline(
    obs: Observations,
    *,
    law: str | Law = "chinchilla",
    bootstrap: int = 0,
    delta: float = HUBER_DELTA,
    n_starts: int = 8,
    random_seed: int | None = 0,
    bootstrap_pooled: bool = True,
) -> PointFit:
    """Approach 3 point fit of each family (and of all runs pooled), optionally bootstrapped.

    Parameters
    ----------
    obs : Observations
    law : str or Law
        The law fitted (default Chinchilla's; a fit's own ``fit.law`` for a like-for-like baseline).
    bootstrap : int
        Bootstrap replicates (0 for none). Each resamples the runs of a family
        with replacement and refits from the point fit; all replicates of a
        family are refitted at once (:func:`refit_bootstrap`).
    delta : float
        Huber threshold on log-loss residuals.
    n_starts : int
        L-BFGS-B runs per fit from the best grid starts.
    random_seed : int, optional
        Seed of the bootstrap resampling.
    bootstrap_pooled : bool
        Bootstrap the fit of all runs pooled too (what a forecast for a
        ``"new"`` family draws from). ``False`` halves the work when only
        fitted families are forecast; ``draws(family="new")`` then raises.

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
    law = get_law(law)
    table = obs.table
    groups = {f: table[table["family"] == f] for f in obs.families}
    if len(groups) > 1:
        groups["pooled"] = table
    rows, boots, residuals = {}, [], {}
    rng = np.random.default_rng(random_seed)
    for name, g in groups.items():
        inputs = {k: g[k].to_numpy(dtype=float) for k in law.inputs}
        y = g["loss"].to_numpy(dtype=float)
        est = fit_approach3(loss=y, law=law, delta=delta, n_starts=n_starts, **inputs)
        rows[name] = est
        fitted = law.loss({k: est[k] for k in law.user_params}, **inputs)
        residuals[name] = np.log(y) - np.log(fitted)
        n_boot = bootstrap if bootstrap_pooled or name != "pooled" else 0
        if n_boot:
            # the same resamples as drawing one replicate's indices at a time; every replicate is refitted
            # from the point estimate (its optimum is near it), all at once
            idx = rng.integers(0, len(g), (n_boot, len(g)))
            b = refit_bootstrap({k: v[idx] for k, v in inputs.items()}, y[idx], start=est, law=law, delta=delta)
            boots.append(pd.DataFrame({"family": name, "replicate": np.arange(n_boot), **b}))
    if len(groups) == 1:
        only = next(iter(rows))
        rows["pooled"] = rows[only]
        residuals["pooled"] = residuals[only]
        boots += [b.assign(family="pooled") for b in boots if (b["family"] == only).all()]
    params = pd.DataFrame.from_dict(rows, orient="index")
    params.index.name = "family"
    return PointFit(
        params=params,
        bootstrap=pd.concat(boots, ignore_index=True) if bootstrap else None,
        settings={"delta": delta, "bootstrap": bootstrap, "n_starts": n_starts, "law": law.name,
                  "bootstrap_pooled": bootstrap_pooled or len(groups) == 1},
        law=law,
        residuals=residuals,
    )
