"""Simulation-based calibration (SBC) of a scaling model: do its intervals mean what they say?

SBC (Talts et al. 2018; Modrák et al. 2023) checks the whole pipeline (priors,
likelihood, sampler and the code that turns draws into forecasts) at once. Repeat
``S`` times:

1. draw "true" parameters :math:`\\tilde\\theta \\sim p(\\theta)` from the model's priors;
2. simulate runs :math:`\\tilde y \\sim p(y \\mid \\tilde\\theta)` with the package's design
   (families x runs, N log-uniform, tokens per parameter log-uniform);
3. fit the model to :math:`\\tilde y`, thin the posterior to ``L`` draws and record, for
   every tracked quantity :math:`f`, the rank

   .. math:: r = \\#\\{\\ell : f(\\theta^{(\\ell)}) < f(\\tilde\\theta)\\} \\in \\{0, \\dots, L\\}.

If the posterior is right, each rank is uniform on ``{0, ..., L}`` (the true value
is just another draw from the posterior). A U-shaped rank histogram means
intervals too narrow, a hump too wide, a slope a bias.

Tracked quantities: the population mean ``mu`` of every partially pooled law
parameter and its spread ``tau`` (in the sampled space), the noise scale
``sigma``, every law parameter of family 0, the loss of family 0 at 10x the
largest compute in the data (the run with the most compute, with N and D both
scaled by sqrt(10)) and, for the Chinchilla law, tokens per parameter on the
population's compute-optimal frontier at 1e23 FLOP.

Uniformity is judged with the simultaneous ECDF band of Säilynoja, Bürkner and
Vehtari (2022): the rank ECDF must stay inside a band that holds all at once
with probability ``1 - alpha`` under uniformity; :func:`uniformity_test` gives
the p-value of that test and, as a second opinion, of a chi-square test on
binned ranks. :func:`ecdf_plot` draws ECDF minus the uniform CDF with the band.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.data import MAX_LOSS_NATS, DataWarning, Observations
from forecast.model import STUDENT_T_NU, ScalingModel
from forecast.priors import Prior

__all__ = [
    "Design",
    "SBCResult",
    "ecdf_band",
    "ecdf_plot",
    "prior_draw",
    "rank_statistic",
    "sbc",
    "simulate_from_prior",
    "thin_draws",
    "uniformity_test",
]

FRONTIER_FLOPS = 1e23
FORECAST_FACTOR = 10.0


# ------------------------------------------------------------------ design
@dataclass(frozen=True)
class Design:
    """Where the simulated runs sit: families x runs, sizes and tokens per parameter log-uniform.

    Parameters
    ----------
    n_families : int
        Families (model series) per simulated data set.
    runs_per_family : int
        Training runs per family.
    params_range : (float, float)
        Range of model sizes N (log-uniform).
    tokens_per_param : (float, float)
        Range of D / N (log-uniform).

    Examples
    --------
    >>> Design(n_families=3, runs_per_family=10).n_runs
    30
    """

    n_families: int = 5
    runs_per_family: int = 20
    params_range: tuple[float, float] = (3e7, 3e9)
    tokens_per_param: tuple[float, float] = (4.0, 100.0)

    def __post_init__(self) -> None:
        if self.n_families < 2:
            raise ValueError(
                f"n_families must be at least 2 so there is a population to learn, got {self.n_families}"
            )
        if self.runs_per_family < 3:
            raise ValueError(f"runs_per_family must be at least 3, got {self.runs_per_family}")
        for name in ("params_range", "tokens_per_param"):
            lo, hi = getattr(self, name)
            if not 0 < lo < hi:
                raise ValueError(f"{name} must be (low, high) with 0 < low < high, got {(lo, hi)}")

    @property
    def n_runs(self) -> int:
        return self.n_families * self.runs_per_family

    def sample(self, rng: np.random.Generator) -> pd.DataFrame:
        """Family, params and tokens of each run (no loss yet)."""
        n = self.n_runs
        params = np.exp(rng.uniform(*np.log(self.params_range), n))
        tokens = params * np.exp(rng.uniform(*np.log(self.tokens_per_param), n))
        family = np.repeat([f"family-{i}" for i in range(self.n_families)], self.runs_per_family)
        return pd.DataFrame({"family": family, "params": params, "tokens": tokens})


# ------------------------------------------------------------ prior sampler
def _spread_prior(model: ScalingModel, p: str) -> Prior:
    """The prior the model puts on the between-family spread ``tau`` of ``p``."""
    return model.spread_prior_of(p)


def prior_draw(model: ScalingModel, n_families: int, rng: np.random.Generator) -> dict[str, Any]:
    """One draw of every parameter of ``model`` from its prior, for ``n_families`` families.

    Follows the model's structure: for a partially pooled parameter ``p``,
    :math:`\\mu_p \\sim` ``priors[p]``, :math:`\\tau_p \\sim` the spread prior,
    :math:`\\theta_{p,f} = \\mu_p + \\tau_p z_f`, :math:`z_f \\sim N(0, 1)`; complete pooling
    gives every family one draw of ``priors[p]``, no pooling an independent draw each.

    Returns
    -------
    dict
        ``theta`` (sampled-space law parameters, arrays over families), ``mu`` and
        ``tau`` (partially pooled parameters; ``mu`` also holds completely pooled
        ones), ``sigma`` (array over families).

    Examples
    --------
    >>> draw = prior_draw(ScalingModel(), 3, np.random.default_rng(0))
    >>> draw["theta"]["log_alpha"].shape
    (3,)
    """
    if model.run_effects:
        raise ValueError(
            "simulation-based calibration does not simulate run effects; use run_effects=False or None"
        )
    theta: dict[str, np.ndarray] = {}
    mu: dict[str, float] = {}
    tau: dict[str, float] = {}
    for p in model.law.params:
        mode = model.pooling[p]
        prior = model.priors[p]
        if mode == "complete":
            mu[p] = float(prior.sample(rng, 1)[0])
            theta[p] = np.full(n_families, mu[p])
        elif mode == "none":
            theta[p] = prior.sample(rng, n_families)
        else:
            mu[p] = float(prior.sample(rng, 1)[0])
            tau[p] = float(_spread_prior(model, p).sample(rng, 1)[0])
            theta[p] = mu[p] + tau[p] * rng.standard_normal(n_families)
    sigma_mode = model.effective_pooling(n_families)["sigma"]
    if sigma_mode == "none":
        sigma = model.priors["sigma"].sample(rng, n_families)
    else:
        sigma = np.full(n_families, model.priors["sigma"].sample(rng, 1)[0])
    if sigma_mode == "partial":  # each family's own noise around the typical family's
        tau["sigma"] = float(model.priors["sigma_tau"].sample(rng, 1)[0])
        sigma = sigma * np.exp(tau["sigma"] * rng.standard_normal(n_families))
    return {"theta": theta, "mu": mu, "tau": tau, "sigma": sigma}


def simulate_from_prior(
    model: ScalingModel, design: Design, *, random_seed: int | None = None, max_tries: int = 1000
) -> tuple[Observations, dict[str, Any]]:
    """Draw parameters from the model's priors and simulate runs from the model.

    The log inputs are centred on the simulated design exactly as the model
    centres them, so the sampled-space amplitudes mean the same in the truth and
    in the fit.

    Returns
    -------
    observations : Observations
    truth : dict
        As :func:`prior_draw`, plus ``centre``, ``log_mean`` (noise-free log loss)
        and ``rejected`` (data sets drawn and refused before this one because a loss
        exceeded :data:`forecast.data.MAX_LOSS_NATS`).

    Examples
    --------
    >>> obs, truth = simulate_from_prior(ScalingModel(), Design(3, 10), random_seed=1)
    >>> len(obs), sorted(truth["tau"])
    (30, ['a', 'b', 'log_E', 'log_alpha', 'log_beta'])
    """
    rng = np.random.default_rng(random_seed)
    law = model.law
    missing = [k for k in law.inputs if k not in ("params", "tokens", "flops")]
    if missing:
        raise ValueError(
            f"the SBC design simulates params and tokens only; law '{law.name}' also needs {missing}"
        )
    # Data sets that Observations would refuse (loss above MAX_LOSS_NATS) are drawn again. The
    # rejection looks at the data only, so p(theta | y) is unchanged and ranks stay uniform
    # (Modrak 2024, "Rejection sampling in simulations", vignette of the SBC R package); the
    # count is recorded because it measures how much prior predictive mass lies on implausible losses.
    rejected = 0
    for _ in range(max_tries):
        table = design.sample(rng)
        truth = prior_draw(model, design.n_families, rng)
        table["flops"] = 6.0 * table["params"] * table["tokens"]
        logx = {k: np.log(table[k].to_numpy()) for k in law.inputs}
        centre = law.centres(logx)
        fam = np.repeat(np.arange(design.n_families), design.runs_per_family)
        log_mean = law.log_mean({p: v[fam] for p, v in truth["theta"].items()}, logx, centre, np)
        if model.likelihood == "student_t":
            eps = rng.standard_t(STUDENT_T_NU, len(table))
        else:
            eps = rng.standard_normal(len(table))
        table["loss"] = np.exp(log_mean + truth["sigma"][fam] * eps)
        if table["loss"].max() <= MAX_LOSS_NATS:
            break
        rejected += 1
    else:
        raise RuntimeError(
            f"{max_tries} prior draws in a row gave losses above {MAX_LOSS_NATS} nats in this design; "
            "the priors or the design put almost no mass on plausible losses"
        )
    with warnings.catch_warnings():
        # advice for users (e.g. N and D in lock-step in one family) is part of the design under test
        warnings.simplefilter("ignore", DataWarning)
        obs = Observations(table[["family", "params", "tokens", "loss", "flops"]], flops="flops")
    truth.update(centre=centre, log_mean=log_mean, rejected=rejected)
    return obs, truth


# --------------------------------------------------------- tracked quantities
def _forecast_point(obs: Observations) -> dict[str, float]:
    """Log inputs of the forecast: the largest-compute run scaled to 10x compute, N and D by sqrt(10)."""
    table = obs.table
    biggest = table.loc[table["flops"].idxmax()]
    step = 0.5 * math.log(FORECAST_FACTOR)
    out = {"params": math.log(biggest["params"]) + step, "tokens": math.log(biggest["tokens"]) + step}
    out["flops"] = out["params"] + out["tokens"] + math.log(6.0)
    return out


def _quantities(
    model: ScalingModel,
    theta: Mapping,
    mu: Mapping,
    tau: Mapping,
    sigma,
    centre: Mapping,
    point: Mapping[str, float],
    family0,
) -> dict[str, Any]:
    """Tracked quantities from parameters that may be numbers (truth) or DataArrays (draws)."""
    law = model.law
    out: dict[str, Any] = {}
    for p in law.params:
        if p in mu:
            out[f"mu[{p}]"] = mu[p]
        if p in tau:
            out[f"tau[{p}]"] = tau[p]
    if "sigma" in tau:
        out["tau[sigma]"] = tau["sigma"]
    out["sigma"] = sigma
    for p in law.params:
        out[f"{p}[{family0}]"] = theta[p]
    logx = {k: point[k] for k in law.inputs}
    out[f"log_loss_10x[{family0}]"] = law.log_mean(dict(theta), logx, centre, np)
    # a law that declares a closed-form frontier (Chinchilla's): track the typical family's allocation
    if law.frontier is not None and all(model.pooling[p] != "none" for p in law.params):
        from forecast.frontier import compute_optimal

        user = law.to_user(dict(mu), centre, np)
        tpp = compute_optimal(
            {k: v if isinstance(v, xr.DataArray) else xr.DataArray(v) for k, v in user.items()},
            [FRONTIER_FLOPS],
            law=law,
        )["tokens_per_param"].squeeze("flops", drop=True)
        out["log_tokens_per_param@1e23"] = np.log(tpp)
    return out


def _truth_quantities(model: ScalingModel, obs: Observations, truth: Mapping) -> dict[str, float]:
    theta0 = {p: float(v[0]) for p, v in truth["theta"].items()}
    mu = dict(truth["mu"])
    q = _quantities(
        model,
        theta0,
        mu,
        truth["tau"],
        float(truth["sigma"][0]),
        truth["centre"],
        _forecast_point(obs),
        obs.families[0],
    )
    return {k: float(v) for k, v in q.items()}


def _posterior_quantities(fit) -> xr.Dataset:
    model = fit.model
    post = fit.posterior
    family0 = fit.families[0]
    theta = fit.theta(family0).squeeze("family", drop=True)
    mu, tau = {}, {}
    for p in model.law.params:
        if model.pooling[p] == "partial":
            mu[p], tau[p] = post[f"{p}_mu"], post[f"{p}_tau"]
        elif model.pooling[p] == "complete":
            mu[p] = post[p]
    if "sigma_tau" in post:
        tau["sigma"] = post["sigma_tau"]
    sigma = fit.noise_draws(family0).squeeze("family", drop=True)
    q = _quantities(
        model,
        {p: theta[p] for p in model.law.params},
        mu,
        tau,
        sigma,
        fit.centre,
        _forecast_point(fit.observations),
        family0,
    )
    return xr.Dataset({k: v.transpose("chain", "draw") for k, v in q.items()})


# -------------------------------------------------------------------- ranks
def thin_draws(draws: xr.Dataset | xr.DataArray, n_draws: int) -> xr.Dataset | xr.DataArray:
    """Keep ``n_draws`` draws spread evenly over chains and iterations (thinning cuts autocorrelation).

    Each chain contributes an equal share, taken at a regular stride, so
    neighbouring (correlated) draws are skipped rather than kept.

    Examples
    --------
    >>> da = xr.DataArray(np.arange(40.0).reshape(2, 20), dims=("chain", "draw"))
    >>> thin_draws(da, 4).values.tolist()
    [0.0, 10.0, 20.0, 30.0]
    """
    chains, per_chain = draws.sizes["chain"], draws.sizes["draw"]
    if n_draws % chains:
        raise ValueError(f"n_draws ({n_draws}) must be a multiple of the number of chains ({chains})")
    keep = n_draws // chains
    if keep > per_chain:
        raise ValueError(
            f"cannot keep {keep} draws per chain from {per_chain}; sample more draws or lower n_draws"
        )
    stride = per_chain // keep
    picked = draws.isel(draw=slice(None, stride * keep, stride))
    return picked.stack(sample=("chain", "draw")).drop_vars(["sample", "chain", "draw"])


def rank_statistic(draws, truth) -> np.ndarray:
    """Rank of the true value among posterior draws: the number of draws below it.

    Parameters
    ----------
    draws : array-like, shape (..., L)
        Posterior draws along the last axis.
    truth : array-like, shape (...)
        True values.

    Returns
    -------
    numpy.ndarray of int
        Ranks in ``0..L``. Ties (draws equal to the truth, which only happen with
        discrete or degenerate quantities) are broken at random, so ranks stay
        uniform.

    Examples
    --------
    >>> rank_statistic([0.1, 0.5, 0.9, 0.3], 0.4).item()
    2
    """
    draws = np.asarray(draws, dtype=float)
    truth = np.asarray(truth, dtype=float)[..., None]
    below = (draws < truth).sum(axis=-1)
    ties = (draws == truth).sum(axis=-1)
    if np.any(ties):
        rng = np.random.default_rng(0)
        below = below + rng.integers(0, ties + 1)
    return below.astype(np.int64)


# ------------------------------------------------------------- uniformity
def _tail_stat(counts: np.ndarray, n: int, probs: np.ndarray) -> np.ndarray:
    """Smallest two-sided binomial tail probability of ECDF counts over evaluation points."""
    from scipy import stats

    lower = stats.binom.cdf(counts, n, probs)
    upper = stats.binom.sf(counts - 1, n, probs)
    return np.minimum(2 * np.minimum(lower, upper), 1.0).min(axis=-1)


def _grid(n_draws: int, max_points: int = 100) -> np.ndarray:
    """Rank values at which the ECDF is checked (all of them for small L)."""
    if n_draws <= max_points:
        return np.arange(n_draws)
    return np.unique(np.round(np.linspace(0, n_draws - 1, max_points)).astype(int))


def _null_stats(n: int, n_draws: int, n_sim: int, seed: int) -> np.ndarray:
    grid = _grid(n_draws)
    rng = np.random.default_rng(seed)
    ranks = rng.integers(0, n_draws + 1, size=(n_sim, n))
    counts = (ranks[:, :, None] <= grid).sum(axis=1)
    return _tail_stat(counts, n, (grid + 1) / (n_draws + 1))


def ecdf_band(n: int, n_draws: int, *, alpha: float = 0.05, n_sim: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Simultaneous ``1 - alpha`` band for the ECDF of ``n`` ranks uniform on ``0..n_draws``.

    The band (Säilynoja et al. 2022) is made of binomial quantiles at an adjusted
    level :math:`\\gamma`, found by simulation so that a uniform sample's ECDF stays
    inside it at *every* point with probability ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``z`` (= (rank + 1) / (n_draws + 1), the uniform CDF), ``lower``,
        ``upper`` (bounds on the ECDF), and ``attrs["gamma"]``.

    Examples
    --------
    >>> band = ecdf_band(50, 19, n_sim=500)
    >>> bool((band["lower"] <= band["z"]).all() and (band["z"] <= band["upper"]).all())
    True
    """
    from scipy import stats

    null = _null_stats(n, n_draws, n_sim, seed)
    gamma = float(np.quantile(null, alpha))
    grid = _grid(n_draws)
    z = (grid + 1) / (n_draws + 1)
    lower = stats.binom.ppf(gamma / 2, n, z) / n
    upper = stats.binom.ppf(1 - gamma / 2, n, z) / n
    band = pd.DataFrame({"rank": grid, "z": z, "lower": lower, "upper": upper})
    band.attrs["gamma"] = gamma
    return band


def uniformity_test(
    ranks: pd.DataFrame | pd.Series | np.ndarray,
    n_draws: int | None = None,
    *,
    n_bins: int | None = None,
    n_sim: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Test each column of ranks for uniformity on ``0..n_draws``.

    Two tests per quantity:

    * ``p_ecdf``: the simultaneous ECDF test (Säilynoja et al. 2022). Its
      statistic is the smallest two-sided binomial tail probability of the rank
      ECDF over the rank grid; the p-value is the share of uniform samples of the
      same size with a smaller statistic (by simulation, exact for the discrete
      ranks).
    * ``p_chi2``: Pearson chi-square on ``n_bins`` equal bins of rank
      (default: about n/5 bins, at most 20, so each bin expects >= 5 counts).

    Parameters
    ----------
    ranks : DataFrame, Series or array
        One column per quantity, one row per simulation.
    n_draws : int, optional
        ``L``, the number of posterior draws the ranks were computed among.
        Default: ``ranks.attrs["n_draws"]``.

    Returns
    -------
    pandas.DataFrame
        Index: quantity; columns ``n``, ``p_ecdf``, ``p_chi2``, ``uniform``
        (``p_ecdf >= 0.05 / number of quantities``: Bonferroni over the quantities).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> r = pd.DataFrame({"ok": rng.integers(0, 100, 200), "biased": rng.integers(20, 100, 200)})
    >>> uniformity_test(r, 99)["uniform"].tolist()
    [True, False]
    """
    from scipy import stats

    if n_draws is None:
        n_draws = getattr(ranks, "attrs", {}).get("n_draws")
        if n_draws is None:
            raise ValueError("pass n_draws (the number of posterior draws each rank was taken among)")
    frame = ranks.to_frame() if isinstance(ranks, pd.Series) else pd.DataFrame(ranks)
    values = frame.to_numpy(dtype=float)
    if np.any(values < 0) or np.any(values > n_draws) or np.any(values != np.round(values)):
        raise ValueError(f"ranks must be integers in 0..{n_draws}")
    n = len(frame)
    if n < 5:
        raise ValueError(f"need at least 5 simulations to test uniformity, got {n}")
    null = _null_stats(n, n_draws, n_sim, seed)
    grid = _grid(n_draws)
    probs = (grid + 1) / (n_draws + 1)
    bins = min(n_bins or int(np.clip(n // 5, 2, 20)), n_draws + 1)
    # rank r falls in bin floor(r * bins / (L + 1)); bins may hold unequal numbers of rank values
    bin_of = (np.arange(n_draws + 1) * bins) // (n_draws + 1)
    expected_share = np.bincount(bin_of, minlength=bins) / (n_draws + 1)
    rows = []
    for name in frame.columns:
        r = frame[name].to_numpy(dtype=int)
        counts = (r[:, None] <= grid).sum(axis=0)
        stat = _tail_stat(counts, n, probs)
        p_ecdf = float((np.sum(null <= stat) + 1) / (len(null) + 1))
        observed = np.bincount(bin_of[r], minlength=bins)
        chi2 = float(np.sum((observed - n * expected_share) ** 2 / (n * expected_share)))
        p_chi2 = float(stats.chi2.sf(chi2, bins - 1))
        rows.append({"quantity": name, "n": n, "p_ecdf": p_ecdf, "p_chi2": p_chi2})
    out = pd.DataFrame(rows).set_index("quantity")
    out["uniform"] = out["p_ecdf"] >= 0.05 / len(out)
    return out


def ecdf_plot(
    ranks: pd.DataFrame,
    n_draws: int | None = None,
    *,
    alpha: float = 0.05,
    ncols: int = 4,
    title: str | None = None,
):
    """ECDF of ranks minus the uniform CDF, with the simultaneous ``1 - alpha`` band, one panel per quantity.

    A curve inside the grey band is consistent with calibration; a curve
    below the band in the middle (a "U") means intervals too narrow, above it
    too wide, and a curve wholly above or below the zero line a bias.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fig = ecdf_plot(pd.DataFrame({"x": rng.integers(0, 50, 40)}), 49)
    >>> len(fig.axes)
    1
    """
    import matplotlib.pyplot as plt

    if n_draws is None:
        n_draws = ranks.attrs.get("n_draws")
        if n_draws is None:
            raise ValueError("pass n_draws (the number of posterior draws each rank was taken among)")
    n = len(ranks)
    band = ecdf_band(n, n_draws, alpha=alpha)
    tests = uniformity_test(ranks, n_draws)
    names = list(ranks.columns)
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.0 * ncols, 2.4 * nrows), squeeze=False, sharex=True, sharey=True
    )
    z = band["z"].to_numpy()
    for ax, name in zip(axes.flat, names, strict=False):
        r = ranks[name].to_numpy(dtype=int)
        ecdf = (r[:, None] <= band["rank"].to_numpy()).mean(axis=0)
        ax.fill_between(z, band["lower"] - z, band["upper"] - z, step="post", color="0.85", lw=0)
        ax.step(z, ecdf - z, where="post", color="C3" if not tests.loc[name, "uniform"] else "C0", lw=1.2)
        ax.axhline(0, color="0.4", lw=0.6)
        ax.set_title(f"{name}\np={tests.loc[name, 'p_ecdf']:.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("fractional rank", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("ECDF - uniform", fontsize=8)
    fig.suptitle(
        title or f"SBC: {n} simulations, {n_draws} draws each, {int((1 - alpha) * 100)}% simultaneous band",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------- driver
@dataclass
class SBCResult:
    """Ranks and diagnostics of a simulation-based calibration run.

    Attributes
    ----------
    ranks : pandas.DataFrame
        One row per simulation, one column per tracked quantity;
        ``attrs["n_draws"]`` is ``L``.
    fits : pandas.DataFrame
        Per simulation: seed, divergences, max R-hat (and where), min bulk ESS, whether fit() retried, seconds.
    truth : pandas.DataFrame
        The true value of each tracked quantity in each simulation.
    settings : dict
        Design, model and sampler settings.
    """

    ranks: pd.DataFrame
    fits: pd.DataFrame
    truth: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_draws(self) -> int:
        return int(self.ranks.attrs["n_draws"])

    def uniformity(self, **kwargs) -> pd.DataFrame:
        """:func:`uniformity_test` of every tracked quantity."""
        return uniformity_test(self.ranks, self.n_draws, **kwargs)

    def plot(self, **kwargs):
        """:func:`ecdf_plot` of every tracked quantity."""
        return ecdf_plot(self.ranks, self.n_draws, **kwargs)


def sbc(
    model: ScalingModel | None = None,
    n_simulations: int = 100,
    *,
    design: Design | None = None,
    draws: int = 400,
    tune: int = 400,
    chains: int = 2,
    n_draws: int = 100,
    random_seed: int = 0,
    executor: Executor | None = None,
    max_workers: int | None = None,
    batch_size: int | None = None,
    on_batch=None,
) -> SBCResult:
    """Run simulation-based calibration: prior draw, simulate, fit, rank; many times.

    Parameters
    ----------
    model : ScalingModel, optional
        The model to check (default ``ScalingModel()``); its priors generate the truths.
    n_simulations : int
        Number of simulated data sets (20 is a smoke test; 200+ to see modest miscalibration).
    design : Design, optional
        Families, runs and ranges of the simulated data (default ``Design()``).
    draws, tune, chains : int
        Sampler settings of each fit.
    n_draws : int
        ``L``: posterior draws kept per fit for the ranks (evenly thinned, equal share
        per chain, so a multiple of ``chains``). Ranks are in ``0..L``.
    random_seed : int
        Seeds simulation ``i`` with ``random_seed + i`` (data) and the sampler likewise.
    executor, max_workers
        Passed to :func:`forecast.parallel.fit_many`; without an executor one local
        process pool is created for the whole run so each worker compiles once.
    batch_size : int, optional
        Fit in batches of this many simulations (default: all at once); with
        ``on_batch(partial_result)`` called after each, long runs can save progress.

    Returns
    -------
    SBCResult

    Examples
    --------
    >>> result = sbc(n_simulations=20, design=Design(3, 10), draws=200, tune=200,
    ...              n_draws=100)                                    # doctest: +SKIP
    >>> result.uniformity()                                          # doctest: +SKIP
    """
    from forecast.parallel import FitJob, default_executor, fit_many

    model = model if model is not None else ScalingModel()
    design = design if design is not None else Design()
    if n_draws % chains:
        raise ValueError(f"n_draws ({n_draws}) must be a multiple of chains ({chains}), e.g. {chains * 50}")
    if n_draws > chains * draws:
        raise ValueError(f"n_draws ({n_draws}) exceeds the draws sampled ({chains} chains x {draws})")
    options = {"draws": draws, "tune": tune, "chains": chains, "warn": False}
    seeds = [random_seed + i for i in range(n_simulations)]
    batch_size = batch_size or n_simulations
    own = executor is None
    if own:
        executor = default_executor(max_workers)
    settings = {
        "design": {
            "n_families": design.n_families,
            "runs_per_family": design.runs_per_family,
            "params_range": list(design.params_range),
            "tokens_per_param": list(design.tokens_per_param),
        },
        "model": model.settings(),
        "sampler": {**options, "n_draws": n_draws},
        "random_seed": random_seed,
        "frontier_flops": FRONTIER_FLOPS,
        "forecast_factor": FORECAST_FACTOR,
    }
    ranks, fit_rows, truth_rows = [], [], []
    result = None
    try:
        for start in range(0, n_simulations, batch_size):
            batch = seeds[start : start + batch_size]
            sims = [simulate_from_prior(model, design, random_seed=s) for s in batch]
            jobs = [
                FitJob(obs, model, random_seed=s, options=options)
                for s, (obs, _) in zip(batch, sims, strict=True)
            ]
            fits = fit_many(jobs, executor)
            for seed, (obs, truth), fit in zip(batch, sims, fits, strict=True):
                true_q = _truth_quantities(model, obs, truth)
                post_q = thin_draws(_posterior_quantities(fit), n_draws)
                ranks.append({k: int(rank_statistic(post_q[k].values, v)) for k, v in true_q.items()})
                truth_rows.append(true_q)
                d = fit.diagnostics()
                fit_rows.append(
                    {
                        "seed": seed,
                        "rejected_draws": truth["rejected"],
                        "divergences": d.divergences,
                        "max_rhat": d.max_rhat,
                        "min_ess_bulk": d.min_ess_bulk,
                        "gate_ok": d.ok,
                        # fit() samples a failed fit once more with a stronger setting (ScalingModel.fit)
                        "retried": bool(fit.sampler_settings.get("retry")),
                        "worst_rhat_at": d.worst.get("rhat", ""),
                        "seconds": fit.sampler_settings.get("seconds"),
                    }
                )
            rank_df = pd.DataFrame(ranks)
            rank_df.attrs["n_draws"] = n_draws
            result = SBCResult(
                ranks=rank_df, fits=pd.DataFrame(fit_rows), truth=pd.DataFrame(truth_rows), settings=settings
            )
            if on_batch is not None:
                on_batch(result)
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    assert result is not None
    return result
