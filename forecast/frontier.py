"""The compute-optimal frontier: how to split compute C between parameters N and tokens D.

For the Chinchilla law with ``C = 6 N D`` the optimum has a closed form
(Hoffmann et al. 2022, eq. 4; declared by the law as ``Law.frontier``)::

    N*(C) = G (C/6)^a,   D*(C) = G^-1 (C/6)^b,
    a = beta / (alpha + beta),  b = alpha / (alpha + beta),
    G = (alpha A / (beta B))^(1 / (alpha + beta)).

Every function here works per posterior draw on xarray objects, so the
uncertainty in (E, A, B, alpha, beta) flows through to N*, D*, tokens per
parameter and the loss on the frontier. On the Chinchilla frontier the loss is
itself a power law in compute,

    L*(C) = E + K C^-gamma,   gamma = alpha beta / (alpha + beta),

so each 10x of compute removes a fixed fraction ``1 - 10^-gamma`` of the
reducible loss (diminishing returns in absolute terms) and a target loss
``L`` needs ``C = C0 ((L - E) / (L*(C0) - E))^(-1/gamma)``, infinite when
``L <= E``.

Laws that declare no closed form (Kaplan's joint law, or a user's law in N and D)
are minimised numerically at each budget, for every draw at once: the loss is
evaluated on a log-spaced grid of tokens per parameter and the grid is refined
twice around each draw's minimum, all as array operations.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.config import DEFAULT_CI, INTERVAL_KIND, check_ci, quantile_bounds
from forecast.laws import CHINCHILLA, Law

if TYPE_CHECKING:
    from forecast.fit import Fit

QUANTITIES = ("params", "tokens", "tokens_per_param", "loss")


def compute_optimal(user: Mapping[str, xr.DataArray] | xr.Dataset, flops, *, law: Law | None = None) -> xr.Dataset:
    """Closed-form compute-optimal allocation, per draw, of a law that declares one (Chinchilla's by default).

    Parameters
    ----------
    user : Dataset or mapping
        The law's parameters in the user's units (``E, A, B, alpha, beta`` for
        Chinchilla), any dims (e.g. ``chain, draw``).
    flops : array-like or DataArray
        Compute budgets C in FLOP; a plain array gets a ``flops`` dimension.
    law : Law, optional
        A law with a declared ``frontier``; default the Chinchilla law.

    Returns
    -------
    xarray.Dataset
        ``params`` (N*), ``tokens`` (D*), ``tokens_per_param`` and ``loss`` (L* at
        the optimum), broadcast over the parameters' dims and ``flops``.

    Examples
    --------
    >>> import numpy as np
    >>> p = {"E": 1.817, "A": 482.01, "B": 2085.43, "alpha": 0.348, "beta": 0.366}
    >>> out = compute_optimal({k: xr.DataArray(v) for k, v in p.items()}, [5.76e23])
    >>> round(out["tokens_per_param"].item(), 1)
    18.4
    """
    if not isinstance(flops, xr.DataArray):
        values = np.atleast_1d(np.asarray(flops, dtype=float))
        flops = xr.DataArray(values, dims="flops", coords={"flops": values})
    law = law if law is not None else CHINCHILLA
    if law.frontier is None:
        raise ValueError(
            f"the {law.name} law declares no closed-form frontier; use frontier(fit, flops), which "
            "optimises any law of params and tokens numerically"
        )
    n, d, loss = law.frontier(user, flops)
    return xr.Dataset({"params": n, "tokens": d, "tokens_per_param": d / n, "loss": loss})


# ----------------------------------------------------------------- numeric
GRID_TPP = (1e-4, 1e7)
"""Range of tokens per parameter searched by the numeric optimiser."""
GRID_POINTS = 241
REFINE_POINTS = 41
REFINE_ROUNDS = 3


def numeric_optimal(
    law, theta: Mapping[str, np.ndarray], centre: Mapping[str, float], log_flops: np.ndarray
) -> dict[str, np.ndarray]:
    """Compute-optimal N and D for any law of (params, tokens), by vectorised grid search.

    At fixed compute ``C = 6 N D`` the loss is a function of tokens per
    parameter ``r = D / N`` only (``N = sqrt(C / 6r)``). It is evaluated on a
    log-spaced grid of ``r`` for every draw and budget at once, then the grid
    is refined ``REFINE_ROUNDS`` times around each minimum (each round shrinks
    the step 20x), which pins ``log r`` to better than 1e-5. Minima on the
    edge of the grid (no interior optimum) are returned as NaN.

    Parameters
    ----------
    law : Law
        A law whose inputs are ``params`` and ``tokens``.
    theta : mapping of str to numpy.ndarray
        Sampled-space parameters, all of one shape ``S`` (e.g. chain, draw).
    centre : mapping of str to float
        Centres of the log inputs.
    log_flops : numpy.ndarray
        Log compute budgets, broadcastable against ``S + (n,)``; usually 1-D.

    Returns
    -------
    dict
        ``params``, ``tokens``, ``loss`` arrays of shape ``S + (n,)``.

    Examples
    --------
    >>> from forecast.laws import get_law
    >>> from forecast.testing import BESIROGLU_2024 as p
    >>> law = get_law("chinchilla")
    >>> c = {"params": 0.0, "tokens": 0.0}
    >>> th = {k: np.asarray(v) for k, v in law.from_user(p, c, np).items()}
    >>> out = numeric_optimal(law, th, c, np.log([5.76e23]))
    >>> round(float(out["tokens"][0] / out["params"][0]), 1)
    18.4
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in theta.values()))
    th = {k: np.broadcast_to(np.asarray(v, dtype=float), shape)[..., None, None] for k, v in theta.items()}
    log_c6 = np.asarray(log_flops, dtype=float)[..., None] - np.log(6.0)

    def loss_at(log_r):
        log_n = 0.5 * (log_c6 - log_r)
        return law.log_mean(th, {"params": log_n, "tokens": log_n + log_r}, centre, np)

    lo, hi = np.log(GRID_TPP[0]), np.log(GRID_TPP[1])
    grid = np.linspace(lo, hi, GRID_POINTS)
    step = grid[1] - grid[0]
    values = loss_at(grid)
    best = np.argmin(values, axis=-1)
    edge = (best == 0) | (best == GRID_POINTS - 1)
    centre_r = np.take_along_axis(np.broadcast_to(grid, values.shape), best[..., None], axis=-1)
    offsets = np.linspace(-1.0, 1.0, REFINE_POINTS)
    for _ in range(REFINE_ROUNDS):
        trial = centre_r + step * offsets
        values = loss_at(trial)
        best = np.argmin(values, axis=-1)
        centre_r = np.take_along_axis(trial, best[..., None], axis=-1)
        step = step * 2.0 / (REFINE_POINTS - 1)
    log_r = centre_r[..., 0]
    log_loss = np.take_along_axis(values, best[..., None], axis=-1)[..., 0]
    log_n = 0.5 * (log_c6[..., 0] - log_r)
    out = {"params": np.exp(log_n), "tokens": np.exp(log_n + log_r), "loss": np.exp(log_loss)}
    for k in out:
        out[k] = np.where(edge, np.nan, out[k])
    return out


# ---------------------------------------------------------------- Frontier
def _as_flops(flops) -> np.ndarray:
    try:
        values = np.atleast_1d(np.asarray(flops, dtype=float)).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"flops must be numbers (compute budgets in FLOP), got {flops!r}") from None
    if values.size == 0:
        raise ValueError("flops is empty; give at least one compute budget, e.g. np.logspace(22, 26, 9)")
    if not (np.isfinite(values) & (values > 0)).all():
        bad = values[~(np.isfinite(values) & (values > 0))][0]
        raise ValueError(f"flops must be positive and finite compute budgets in FLOP; got {bad!r}")
    return values


_HUGE = 1e300


def _summary_rows(da: xr.DataArray, cis: list[float], dims=("chain", "draw")) -> dict[str, np.ndarray]:
    values = da.transpose(*dims, ...).values.reshape(-1, *da.transpose(*dims, ...).shape[len(dims) :])
    levels = [0.5] + [q for c in cis for q in quantile_bounds(c)]
    finite = np.where(np.isfinite(values), values, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (no interior optimum)
        mean = np.nanmean(finite, axis=0)
    # "never reached" (inf) sorts last; a quantile that touches it is inf (not NaN from inf - inf)
    big = np.where(np.isposinf(values), _HUGE, values)
    qs = np.quantile(big, levels, axis=0)
    qs = np.where(qs >= _HUGE * 1e-6, np.inf, qs)
    return {"mean": mean, "qs": qs}


@dataclass
class Frontier:
    """The compute-optimal frontier, per posterior draw.

    Attributes
    ----------
    draws : xarray.Dataset
        ``params`` (N*), ``tokens`` (D*), ``tokens_per_param`` and ``loss``
        (L*) over ``(chain, draw, flops)``; only ``loss`` for the compute-only
        law, which has no N/D split.
    family : str
        The family whose law sets the frontier.
    fit_info : dict
        Law, likelihood, fitted families, draws; ``method`` is
        ``"closed form"``, ``"numeric"`` or ``"compute law"``.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> fr = frontier(fake_fit(draws=20), flops=[1e22, 1e24])
    >>> fr.params.dims, fr.fit_info["method"]
    (('chain', 'draw', 'flops'), 'closed form')
    """

    draws: xr.Dataset
    family: str
    fit_info: dict[str, Any] = field(default_factory=dict)
    _optimum: Callable[[np.ndarray], dict[str, np.ndarray]] | None = field(default=None, repr=False)
    """L*, N*, D* at log budgets broadcast against the draws (kept to extend the frontier on demand)."""
    _floor: np.ndarray | None = field(default=None, repr=False)
    identification: Any = field(default=None, repr=False)
    """:class:`forecast.identify.Identification` of the split: whether the data identify it, and why."""

    @property
    def identified(self) -> bool:
        """Whether the data identify the split (tokens per parameter); the reason is in ``identification``.

        False when the runs cannot separate the parameter term from the data term (N and D in lock-step)
        or the posterior of the split is barely narrower than its prior; an
        :class:`forecast.IdentifiabilityWarning` was raised when the frontier was made.
        """
        return True if self.identification is None else bool(self.identification.identified)

    @property
    def flops(self) -> np.ndarray:
        """The compute budgets (FLOP)."""
        return self.draws["flops"].values

    def __repr__(self) -> str:
        return (
            f"Frontier({self.fit_info.get('law', '?')} law, family={self.family!r}, "
            f"{self.draws.sizes['flops']} budget(s) {self.flops.min():.3g}-{self.flops.max():.3g} FLOP, "
            f"{self.fit_info.get('method', '')}"
            + ("" if self.identified else f"; {self.identification.reason}")
            + ")"
        )

    def _allocation(self, name: str) -> xr.DataArray:
        if name not in self.draws:
            raise ValueError(
                f"the {self.fit_info.get('law')} law predicts loss from compute alone, so it has no split "
                f"of compute between parameters and tokens ({name} is undefined); fit a law of N and D "
                "(law='chinchilla') to get N* and D*. The frontier loss is in .draws['loss']."
            )
        return self.draws[name]

    @property
    def params(self) -> xr.DataArray:
        """Compute-optimal parameter count N* over ``(chain, draw, flops)``."""
        return self._allocation("params")

    @property
    def tokens(self) -> xr.DataArray:
        """Compute-optimal training tokens D* over ``(chain, draw, flops)``."""
        return self._allocation("tokens")

    @property
    def tokens_per_param(self) -> xr.DataArray:
        """D*/N* over ``(chain, draw, flops)``."""
        return self._allocation("tokens_per_param")

    def table(self, ci: float | Sequence[float] = DEFAULT_CI) -> pd.DataFrame:
        """Long table of the frontier: one row per budget x quantity x interval mass.

        Parameters
        ----------
        ci : float or sequence of float
            Interval mass(es) in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Columns ``flops, quantity, mean, median, lower, upper, ci``;
            ``quantity`` is ``params``, ``tokens``, ``tokens_per_param`` or
            ``loss``. ``attrs`` give the interval kind, family and law.

        Examples
        --------
        >>> from forecast.testing import fake_fit
        >>> fr = frontier(fake_fit(draws=50), flops=[1e22, 5.76e23])
        >>> t = fr.table()
        >>> sorted(t["quantity"].unique())
        ['loss', 'params', 'tokens', 'tokens_per_param']
        """
        cis = _check_cis(ci)
        frames = []
        for q in (q for q in QUANTITIES if q in self.draws):
            s = _summary_rows(self.draws[q], cis)
            for j, c in enumerate(cis):
                frames.append(
                    pd.DataFrame(
                        {
                            "flops": self.flops,
                            "quantity": q,
                            "mean": s["mean"],
                            "median": s["qs"][0],
                            "lower": s["qs"][1 + 2 * j],
                            "upper": s["qs"][2 + 2 * j],
                            "ci": c,
                        }
                    )
                )
        out = pd.concat(frames, ignore_index=True)
        out.attrs.update(
            {
                "ci": cis if len(cis) > 1 else cis[0],
                "interval": INTERVAL_KIND,
                "family": self.family,
                **self.fit_info,
            }
        )
        return out

    def returns(self, ci: float = DEFAULT_CI) -> pd.DataFrame:
        """Diminishing returns: the loss drop from each budget C to 10 C along the frontier.

        ``drop = L*(C) - L*(10 C)``, per draw; for the Chinchilla law the
        drop shrinks by ``10^-gamma`` per decade (``gamma = alpha beta /
        (alpha + beta)``). ``fraction`` is the share of the reducible loss
        ``L*(C) - E`` that the extra 10x removes.

        Returns
        -------
        pandas.DataFrame
            Columns ``flops, to_flops, quantity, mean, median, lower, upper,
            ci`` with quantity ``loss_drop`` (nats) and, where the law has an
            irreducible term E, ``fraction``.

        Examples
        --------
        >>> from forecast.testing import fake_fit
        >>> r = frontier(fake_fit(draws=50), flops=[1e21, 1e23]).returns()
        >>> bool((r.query("quantity == 'loss_drop'")["median"].diff().dropna() < 0).all())
        True
        """
        c = check_ci(ci)
        here = self.draws["loss"]
        there = self._solve(10.0 * self.flops)["loss"]
        drop = here - there
        blocks = {"loss_drop": drop}
        if self._floor is not None:
            floor = xr.DataArray(self._floor, dims=("chain", "draw"))
            blocks["fraction"] = drop / (here - floor)
        frames = []
        for name, da in blocks.items():
            s = _summary_rows(da, [c])
            frames.append(
                pd.DataFrame(
                    {
                        "flops": self.flops,
                        "to_flops": 10.0 * self.flops,
                        "quantity": name,
                        "mean": s["mean"],
                        "median": s["qs"][0],
                        "lower": s["qs"][1],
                        "upper": s["qs"][2],
                        "ci": c,
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True)
        out.attrs.update({"ci": c, "interval": INTERVAL_KIND, "family": self.family, **self.fit_info})
        return out

    def compute_for_loss(self, target: float | Sequence[float], ci: float = DEFAULT_CI) -> pd.DataFrame:
        """Compute needed to reach a target loss on the frontier, with its interval.

        Per draw, ``C`` solves ``L*(C) = target``; where the target is at or
        below the draw's irreducible loss E it is never reached and ``C`` is
        infinite. ``prob_reachable`` is the share of draws with a finite
        answer; when it is below the upper quantile level the upper bound is
        infinite (the interval says "possibly never").

        Returns
        -------
        pandas.DataFrame
            Columns ``target, prob_reachable, mean, median, lower, upper, ci,
            reachable`` (FLOP; ``mean`` over reachable draws only; ``reachable``
            is False when the median itself is infinite).

        Examples
        --------
        >>> from forecast.testing import fake_fit
        >>> fr = frontier(fake_fit(draws=50), flops=[1e22])
        >>> t = fr.compute_for_loss([2.0, 1.5])
        >>> t["prob_reachable"].tolist()
        [1.0, 0.0]
        """
        c = check_ci(ci)
        targets = np.atleast_1d(np.asarray(target, dtype=float)).ravel()
        if not np.isfinite(targets).all() or (targets <= 0).any():
            raise ValueError(f"target loss must be positive and finite (nats/token), got {target!r}")
        needed = self._flops_for_loss(targets)  # (chain, draw, target)
        da = xr.DataArray(needed, dims=("chain", "draw", "target"))
        s = _summary_rows(da, [c])
        out = pd.DataFrame(
            {
                "target": targets,
                "prob_reachable": np.isfinite(needed).mean(axis=(0, 1)),
                "mean": s["mean"],
                "median": s["qs"][0],
                "lower": s["qs"][1],
                "upper": s["qs"][2],
                "ci": c,
            }
        )
        out["reachable"] = np.isfinite(out["median"])
        out.attrs.update({"ci": c, "interval": INTERVAL_KIND, "family": self.family, **self.fit_info})
        return out

    # ------------------------------------------------------------ helpers
    def _solve(self, flops: np.ndarray) -> dict[str, np.ndarray]:
        if self._optimum is None:
            raise ValueError("this Frontier was built without its law; rebuild it with frontier(fit, flops)")
        return self._optimum(np.log(np.asarray(flops, dtype=float)))

    def _flops_for_loss(self, targets: np.ndarray) -> np.ndarray:
        """Per draw and target, the compute reaching the target (inf if never), by bisection in log C."""
        shape = (self.draws.sizes["chain"], self.draws.sizes["draw"], targets.size)
        lo = np.full(shape, np.log(1e6))
        hi = np.full(shape, np.log(1e60))
        floor = np.zeros(shape[:2]) if self._floor is None else self._floor
        never = targets[None, None, :] <= floor[..., None]
        # L*(C) falls with C, so bisect on log C; 45 halvings of 125 nats of log C pin C to 1e-11
        for _ in range(45):
            mid = 0.5 * (lo + hi)
            loss = self._optimum_grid(mid)
            above = loss > targets
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        result = np.exp(0.5 * (lo + hi))
        unreached = self._optimum_grid(hi) > targets * (1 + 1e-9)
        return np.where(never | unreached, np.inf, result)

    def _optimum_grid(self, log_flops: np.ndarray) -> np.ndarray:
        """L* at per-draw budgets ``log_flops`` of shape (chain, draw, k)."""
        return self._optimum(log_flops)["loss"]


def _check_cis(ci) -> list[float]:
    if isinstance(ci, str) or np.ndim(ci) == 0:
        return [check_ci(ci)]
    return [check_ci(c) for c in ci]


def _optimum_of(law: Law, theta: dict, user: dict, centre: dict) -> Callable | None:
    """``optimum(log_flops) -> {params, tokens, loss}`` per draw, as the law allows (None: no frontier).

    Every optimum broadcasts the draws' (chain, draw) against ``log_flops``: 1-D
    budgets give (chain, draw, n); per-draw budgets (chain, draw, k) give the same shape back.
    """
    method = law.frontier_method
    if method == "closed form":
        expanded = {k: np.asarray(v)[..., None] for k, v in user.items()}

        def optimum(log_flops):
            n, d, loss = law.frontier(expanded, np.exp(np.asarray(log_flops)))
            return {"params": n, "tokens": d, "loss": loss}

        return optimum
    if method == "compute law":
        th = {k: v[..., None] for k, v in theta.items()}
        return lambda log_flops: {"loss": np.exp(law.log_mean(th, {"flops": np.asarray(log_flops)}, centre, np))}
    if method == "numeric":
        return lambda log_flops: numeric_optimal(law, theta, centre, log_flops)
    return None


def frontier(fit: Fit, flops, family: str = "population", random_seed: int | None = 0) -> Frontier:
    """The compute-optimal frontier of a fit: N*, D*, tokens per parameter and L* per budget.

    Closed form for a law that declares one (``Law.frontier``: Chinchilla, and
    the data-constrained law with no repetition, where it reduces to
    Chinchilla); numerical, vectorised over draws, for any other law of N and
    D (Kaplan's, a user's); loss only for a law of compute alone ``L(C)``.

    Parameters
    ----------
    fit : Fit
    flops : array-like
        Compute budgets C in FLOP (``C = 6 N D``).
    family : str
        ``"population"`` (typical family, default), ``"new"`` or a fitted family.
    random_seed : int, optional
        Seed of the ``"new"`` family draws.

    Returns
    -------
    Frontier

    Raises
    ------
    ValueError
        Non-positive budgets, an unknown family, or a law with no frontier.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> fr = frontier(fake_fit(draws=50), flops=[5.76e23])
    >>> t = fr.table().set_index("quantity")
    >>> bool(15 < t.loc["tokens_per_param", "median"] < 22)
    True
    """
    from forecast.predict import _as_positive, fit_info

    _as_positive("flops", flops)  # the forecasts' rules on types: true/false, complex or dates are refused
    values = _as_flops(flops)
    if not isinstance(family, str):
        raise ValueError(
            "frontier() takes one family (a name, 'population' or 'new'); call it once per family"
        )
    law = fit.law
    theta_ds = fit.theta([family], random_seed=random_seed).squeeze("family", drop=True)
    theta_ds = theta_ds.transpose("chain", "draw")
    theta = {k: theta_ds[k].values for k in law.params}
    user = law.to_user(theta, fit.centre, np)
    method = law.frontier_method
    optimum = _optimum_of(law, theta, user, fit.centre)
    if optimum is None:
        raise ValueError(
            f"the {law.name} law reads {', '.join(law.inputs)}: it has no compute-optimal frontier "
            "(it needs a law of params and tokens, a law of compute alone, or a declared Law.frontier)"
        )
    floor = np.asarray(user["E"]) if "E" in user else None
    solved = optimum(np.log(values))
    coords = {"chain": theta_ds["chain"].values, "draw": theta_ds["draw"].values, "flops": values}
    dims = ("chain", "draw", "flops")
    data = {k: xr.DataArray(v, dims=dims, coords=coords) for k, v in solved.items()}
    if "params" in data:
        data["tokens_per_param"] = data["tokens"] / data["params"]
        if method == "numeric" and np.isnan(solved["params"]).any():
            share = float(np.isnan(solved["params"]).mean())
            warnings.warn(
                f"{share:.1%} of draws have no interior compute-optimal split within tokens/param "
                f"{GRID_TPP[0]:g}-{GRID_TPP[1]:g}; they are NaN in the frontier",
                RuntimeWarning,
                stacklevel=2,
            )
    ds = xr.Dataset({k: data[k] for k in QUANTITIES if k in data})
    info = {**fit_info(fit), "method": method}
    identification = None
    if "params" in data:
        from forecast.identify import identify_split

        identification = identify_split(fit, family=family, flops=[values.min(), values.max()])
        identification.warn(stacklevel=3)
        info["identified"] = identification.identified
    return Frontier(
        draws=ds,
        family=family,
        fit_info=info,
        _optimum=optimum,
        _floor=None if floor is None else np.asarray(floor, dtype=float),
        identification=identification,
    )


def optimum_function(law, theta: Mapping[str, np.ndarray], centre: Mapping[str, float]):
    """The compute-optimal N*, D*, L* of sampled-space ``theta`` as a function of log budgets, or None.

    The same optimum :func:`frontier` uses (the law's declared closed form,
    or grid search for other laws of N and D), for any parameter draws, e.g.
    prior draws in :mod:`forecast.identify`. Returns None for a law with no
    frontier.

    Examples
    --------
    >>> from forecast.laws import get_law
    >>> from forecast.testing import BESIROGLU_2024 as p
    >>> law = get_law("chinchilla")
    >>> c = {"params": 0.0, "tokens": 0.0}
    >>> opt = optimum_function(law, {k: np.asarray([v]) for k, v in law.from_user(p, c, np).items()}, c)
    >>> out = opt(np.log([5.76e23]))
    >>> round(float(out["tokens"][0, 0] / out["params"][0, 0]), 1)
    18.4
    """
    return _optimum_of(law, theta, law.to_user(theta, centre, np), centre)
