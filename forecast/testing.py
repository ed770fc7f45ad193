"""Fake posteriors for testing plots, reports and the CLI without a sampler.

:func:`fake_fit` builds a :class:`forecast.Fit` whose posterior has exactly the
variables and dims a real fit of the same model has, with draws scattered
around known parameter values. Use it where the point is plumbing; use real
sampling where the claim is statistical. :func:`compiled_logp` evaluates the
log density a nutpie-compiled model samples, to compare builds exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import xarray as xr

from forecast.data import Observations
from forecast.datasets.simulate import BESIROGLU_2024  # noqa: F401  (re-exported for tests and docs)
from forecast.fit import Fit
from forecast.model import ScalingModel


def well_mixed(rng: np.random.Generator, chains: int, draws: int, shape: tuple[int, ...] = ()) -> np.ndarray:
    """Standard-normal draws whose every half-chain holds the same stratified quantiles, shuffled.

    Split R-hat of such draws is 1 to within rounding, so a fake fit passes the
    convergence gate deterministically rather than by luck.
    """
    from scipy.stats import norm

    half = draws // 2
    levels = norm.ppf((np.arange(half) + 0.5) / half)
    n_other = int(np.prod(shape)) if shape else 1
    block = np.broadcast_to(levels[:, None], (half, chains * 2 * n_other)).copy()
    block = rng.permuted(block, axis=0)
    out = block.reshape(half, chains, 2, n_other).transpose(1, 2, 0, 3).reshape(chains, 2 * half, n_other)
    if draws % 2:
        out = np.concatenate([out, np.zeros((chains, 1, n_other))], axis=1)
    return out.reshape(chains, draws, *shape)


def fake_fit(
    obs: Observations | None = None,
    model: ScalingModel | None = None,
    *,
    truth: Mapping[str, float] | None = None,
    chains: int = 2,
    draws: int = 500,
    scale: float = 0.02,
    seed: int = 0,
) -> Fit:
    """A :class:`Fit` with a synthetic posterior (no sampling).

    Parameters
    ----------
    obs : Observations, optional
        Defaults to the bundled demo data.
    model : ScalingModel, optional
        Defaults to ``ScalingModel()`` (Chinchilla, partial pooling).
    truth : dict, optional
        Population parameters in the user's units (default: the law's declared
        ``example``, Besiroglu et al. 2024 for Chinchilla; its prior medians otherwise).
    chains, draws : int
        Size of the fake posterior.
    scale : float
        Spread of the draws around the truth in the sampled space.
    seed : int
        Seed of the draws.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> fit = fake_fit(draws=20)
    >>> fit.diagnostics().divergences
    0
    """
    from forecast.datasets import load_demo

    obs = obs if obs is not None else load_demo()
    model = model if model is not None else ScalingModel()
    law = model.law
    rng = np.random.default_rng(seed)
    centre = law.centres(model.inputs(obs))
    truth = truth if truth is not None else law.example
    if truth is not None:
        base = {k: float(v) for k, v in law.from_user({k: np.float64(v) for k, v in truth.items()}, centre, np).items()}
    else:
        base = {p: float(law.priors[p].kwargs.get("mu", 0.0)) for p in law.params}
    fams = obs.families
    nf = len(fams)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "family": fams}

    def noise(*shape):
        return scale * well_mixed(rng, chains, draws, shape)

    data: dict[str, tuple] = {}
    pooling = model.effective_pooling(nf)
    for p in law.params:
        mode = pooling[p]
        if mode == "complete":
            data[p] = (("chain", "draw"), base[p] + noise())
        elif mode == "none":
            data[f"{p}_family"] = (("chain", "draw", "family"), base[p] + noise(nf))
        else:
            data[f"{p}_mu"] = (("chain", "draw"), base[p] + noise())
            data[f"{p}_tau"] = (("chain", "draw"), np.abs(scale + noise()))
            forms = model.parameter_forms(p, obs)
            cen = [f for f in fams if forms[f] == "centred"]
            non = [f for f in fams if forms[f] == "noncentred"]
            cen_dim = "family" if len(cen) == nf else "family_centred"
            non_dim = "family" if len(non) == nf else "family_noncentred"
            if cen:
                data[f"{p}_family"] = (("chain", "draw", cen_dim), base[p] + noise(len(cen)))
                coords[cen_dim] = cen
            if non:
                data[f"{p}_z"] = (("chain", "draw", non_dim), well_mixed(rng, chains, draws, (len(non),)))
                coords[non_dim] = non
    if pooling["sigma"] == "none":
        data["sigma_family"] = (("chain", "draw", "family"), np.abs(0.015 + 0.002 * noise(nf) / scale))
    else:
        data["sigma"] = (("chain", "draw"), np.abs(0.015 + 0.002 * noise() / scale))
    if pooling["sigma"] == "partial":
        data["sigma_tau"] = (("chain", "draw"), np.abs(0.5 + 0.05 * noise() / scale))
        data["sigma_z"] = (("chain", "draw", "family"), 0.3 * well_mixed(rng, chains, draws, (nf,)))
    posterior = xr.Dataset(data, coords=coords)
    stats = xr.Dataset(
        {"diverging": (("chain", "draw"), np.zeros((chains, draws), dtype=bool)),
         "energy": (("chain", "draw"), rng.standard_normal((chains, draws)).cumsum(axis=1) * 0.1
                    + rng.standard_normal((chains, draws))),
         "n_steps": (("chain", "draw"), np.full((chains, draws), 7, dtype=np.int64))},
        coords={"chain": coords["chain"], "draw": coords["draw"]},
    )
    idata = xr.DataTree.from_dict({"/posterior": posterior, "/sample_stats": stats})
    return Fit(idata=idata, observations=obs, model=model,
               sampler_settings={"sampler": "fake", "draws": draws, "tune": 0, "chains": chains,
                                 "random_seed": seed, "target_accept": None, "seconds": 0.0,
                                 "compile_seconds": 0.0, "compile_cached": False})


def compiled_logp(compiled, point: np.ndarray) -> tuple[float, np.ndarray]:
    """Log density and gradient of a nutpie-compiled model at a flat unconstrained ``point``.

    Evaluates exactly the function nutpie samples, with the model's current
    data (after ``with_data`` too), so a test can compare it with another build.
    """
    jit_fn, shared = compiled_function(compiled)
    return _call_compiled()(jit_fn, np.asarray(point, dtype=float), shared)


def compiled_function(compiled) -> tuple[object, tuple[np.ndarray, ...]]:
    """The numba function a nutpie-compiled model evaluates, and the data arrays it takes after the point."""
    fn = compiled.logp_func
    return fn.vm.jit_fn, tuple(compiled.shared_data[compiled.shared_var_keys[v]] for v in fn.get_shared())


@functools.cache
def _call_compiled():
    import numba

    @numba.njit
    def call(f, x, shared):
        logp, grad = f(x, *shared)
        return np.asarray(logp).item(), grad.copy()

    return call


def fake_capability_fit(scores=None, *, chains: int = 2, draws: int = 500, scale: float = 0.05, seed: int = 0):
    """A :class:`forecast.CapabilityFit` with a synthetic posterior around the simulator's truths (no sampling).

    Examples
    --------
    >>> from forecast.testing import fake_capability_fit
    >>> fit = fake_capability_fit(draws=20)
    >>> fit.diagnostics().divergences
    0
    """
    from forecast.capabilities import CapabilityFit, CapabilityModel, simulate_scores

    truth = None
    if scores is None:
        scores, truth = simulate_scores(seed=seed)
    rng = np.random.default_rng(seed)
    nb, nf, nm = len(scores.benchmarks), len(scores.families), len(scores.models)
    chance = np.array([scores.chance[b] for b in scores.benchmarks])
    centre = CapabilityModel.centre_of(scores)
    if truth is not None:
        mid, slope, ceil = truth["midpoint"] - centre, truth["slope"], truth["ceiling"]
        fam = truth["family_offset"] / truth["family_tau"]
    else:
        mid, slope, ceil, fam = np.zeros(nb), np.ones(nb), np.full(nb, 0.9), np.zeros(nf)
    fam_bench = (truth["family_benchmark_offset"] / truth["family_benchmark_sd"] if truth is not None
                 else np.zeros((nf, nb)))
    ceil_logit = np.log((ceil - chance) / (1 - ceil))

    def around(value, shape=()):
        return np.asarray(value) + scale * well_mixed(rng, chains, draws, shape)

    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "benchmark": scores.benchmarks,
              "family": scores.families, "model": scores.models}
    post = xr.Dataset({
        "midpoint_mu": (("chain", "draw"), around(0.0)),
        "midpoint_tau": (("chain", "draw"), np.exp(around(np.log(0.7)))),
        "midpoint": (("chain", "draw", "benchmark"), around(mid, (nb,))),
        "log_slope_mu": (("chain", "draw"), around(0.0)),
        "log_slope_tau": (("chain", "draw"), np.exp(around(np.log(0.3)))),
        "log_slope": (("chain", "draw", "benchmark"), around(np.log(slope), (nb,))),
        "ceiling_logit": (("chain", "draw", "benchmark"), around(ceil_logit, (nb,))),
        "family_tau": (("chain", "draw"), np.exp(around(np.log(0.5)))),
        "family_z": (("chain", "draw", "family"), around(fam, (nf,))),
        "log_precision": (("chain", "draw", "benchmark"), around(np.log(100.0), (nb,))),
        "model_sd": (("chain", "draw"), np.exp(around(np.log(0.25)))),
        "model_effect": (("chain", "draw", "model"), around(np.zeros(nm), (nm,))),
        "family_benchmark_sd": (("chain", "draw"), np.exp(around(np.log(0.15)))),
        "family_benchmark_z": (("chain", "draw", "family", "benchmark"), around(fam_bench, (nf, nb))),
    }, coords=coords)
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), dtype=bool))},
                       coords={"chain": coords["chain"], "draw": coords["draw"]})
    idata = xr.DataTree.from_dict({"/posterior": post, "/sample_stats": stats})
    settings = {"sampler": "fake", "draws": draws, "tune": 0, "chains": chains, "random_seed": seed, "seconds": 0.0,
                "compile_seconds": 0.0}
    return CapabilityFit(idata, scores, CapabilityModel(), settings, centre=centre)
