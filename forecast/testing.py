"""Fake posteriors for testing plots, reports and the CLI without a sampler.

:func:`fake_fit` builds a :class:`forecast.Fit` whose posterior has exactly the
variables and dims a real fit of the same model has, with draws scattered
around known parameter values. Use it where the point is plumbing; use real
sampling where the claim is statistical.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from forecast.data import Observations
from forecast.fit import Fit
from forecast.model import ScalingModel

BESIROGLU_2024 = {"E": 1.817, "A": 482.01, "B": 2085.43, "alpha": 0.348, "beta": 0.366}


def fake_fit(
    obs: Observations | None = None,
    model: ScalingModel | None = None,
    *,
    truth: Mapping[str, float] | None = None,
    chains: int = 2,
    draws: int = 100,
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
        Population parameters in the user's units (default: Besiroglu et al. 2024
        for Chinchilla; the law's prior medians otherwise).
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
    if truth is None and law.name == "chinchilla":
        truth = BESIROGLU_2024
    if truth is not None:
        base = {k: float(v) for k, v in law.from_user({k: np.float64(v) for k, v in truth.items()}, centre, np).items()}
    else:
        base = {p: float(law.priors[p].kwargs.get("mu", 0.0)) for p in law.params}
    fams = obs.families
    nf = len(fams)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "family": fams}

    def noise(*shape):
        return scale * rng.standard_normal((chains, draws, *shape))

    data: dict[str, tuple] = {}
    for p in law.params:
        mode = model.pooling[p]
        if mode == "complete":
            data[p] = (("chain", "draw"), base[p] + noise())
        elif mode == "none" or model.parametrization[p] == "centred":
            data[f"{p}_family"] = (("chain", "draw", "family"), base[p] + noise(nf))
            if mode == "partial":
                data[f"{p}_mu"] = (("chain", "draw"), base[p] + noise())
                data[f"{p}_tau"] = (("chain", "draw"), np.abs(scale + noise()))
        else:
            data[f"{p}_mu"] = (("chain", "draw"), base[p] + noise())
            data[f"{p}_tau"] = (("chain", "draw"), np.abs(scale + noise()))
            data[f"{p}_z"] = (("chain", "draw", "family"), rng.standard_normal((chains, draws, nf)))
    if model.pooling["sigma"] == "none":
        data["sigma_family"] = (("chain", "draw", "family"), np.abs(0.015 + 0.002 * noise(nf) / scale))
    else:
        data["sigma"] = (("chain", "draw"), np.abs(0.015 + 0.002 * noise() / scale))
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
