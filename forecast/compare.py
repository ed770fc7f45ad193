"""Model comparison between laws on the same runs, by PSIS-LOO (ArviZ).

Each fit's pointwise log-likelihood is computed in numpy from its posterior
and its likelihood on log loss,

    log p(y_i | theta_s) = log StudentT(y_i | nu=4, mu_is, sigma_s)      (or Normal)
    mu_is = law.log_mean(theta_s[family_i], x_i, centre) (+ run offset u_{s, run_i}),

for every draw ``s`` and run ``i`` at once, added to the fit's DataTree as a
``log_likelihood`` group, and handed to :func:`arviz.compare`. Since every
law models the same ``y_i = log L_i``, their expected log predictive densities
are comparable; fits to *different* runs are not, and are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:
    from forecast.fit import Fit

VAR_NAME = "log_loss"


def log_likelihood(fit: Fit) -> xr.DataArray:
    """Pointwise log-likelihood of each run under each posterior draw, over ``(chain, draw, obs)``.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> ll = log_likelihood(fake_fit(draws=20))
    >>> ll.dims
    ('chain', 'draw', 'obs')
    """
    from scipy import stats

    from forecast.model import STUDENT_T_NU

    obs = fit.observations
    fam = obs.family_index
    theta = fit.theta(None).transpose("chain", "draw", "family")
    th = {k: theta[k].values[:, :, fam] for k in fit.law.params}
    logx = {k: np.log(obs.column(k)) for k in fit.law.inputs}
    mu = fit.law.log_mean(th, logx, fit.centre, np)
    post = fit.posterior
    if "z_run" in post and "sigma_run" in post and "run" in obs.table:
        runs = list(dict.fromkeys(obs.table["run"]))
        run_idx = obs.table["run"].map({r: i for i, r in enumerate(runs)}).to_numpy(dtype=np.int64)
        z = post["z_run"].transpose("chain", "draw", ...).values
        mu = mu + post["sigma_run"].transpose("chain", "draw").values[..., None] * z[:, :, run_idx]
    sigma = fit.noise_draws(None).transpose("chain", "draw", "family").values[:, :, fam]
    y = np.log(obs.column("loss"))
    if fit.model.likelihood == "student_t":
        values = stats.t.logpdf(y, STUDENT_T_NU, loc=mu, scale=sigma)
    else:
        values = stats.norm.logpdf(y, loc=mu, scale=sigma)
    return xr.DataArray(
        values,
        dims=("chain", "draw", "obs"),
        name=VAR_NAME,
        coords={"chain": theta["chain"].values, "draw": theta["draw"].values, "obs": np.arange(len(obs))},
    )


def with_log_likelihood(fit: Fit) -> xr.DataTree:
    """The fit's DataTree with ``log_likelihood`` and ``observed_data`` groups added (for ArviZ).

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> sorted(with_log_likelihood(fake_fit(draws=10)).children)
    ['log_likelihood', 'observed_data', 'posterior', 'sample_stats']
    """
    obs = fit.observations
    groups = {
        f"/{name}": fit.idata[name].to_dataset()
        for name in ("posterior", "sample_stats")
        if name in fit.idata
    }
    groups["/log_likelihood"] = log_likelihood(fit).to_dataset()
    groups["/observed_data"] = xr.Dataset(
        {VAR_NAME: ("obs", np.log(obs.column("loss")))}, coords={"obs": np.arange(len(obs))}
    )
    return xr.DataTree.from_dict(groups)


def compare(fits: Mapping[str, Fit], *, method: str = "stacking") -> pd.DataFrame:
    """Compare fits of different laws (or priors, poolings) to the same runs by PSIS-LOO.

    Parameters
    ----------
    fits : dict of str to Fit
        Named fits; all must be fitted to the same observations.
    method : str
        ArviZ's weighting: ``"stacking"`` (default), ``"BB-pseudo-BMA"`` or ``"pseudo-BMA"``.

    Returns
    -------
    pandas.DataFrame
        ArviZ's comparison table, best first: ``rank, elpd, p, elpd_diff,
        weight, se, dse, warning``... (``warning`` True when some Pareto k is
        high and the LOO estimate is unreliable for that fit).

    Raises
    ------
    ValueError
        Fewer than two fits, or fits to different runs.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> from forecast.model import ScalingModel
    >>> a = fake_fit(draws=100)
    >>> b = fake_fit(a.observations, ScalingModel(law="compute"), draws=100)
    >>> list(compare({"chinchilla": a, "compute": b}).index)[0]
    'chinchilla'
    """
    import arviz as az

    if len(fits) < 2:
        raise ValueError(f"compare() needs at least two fits to compare, got {len(fits)}")
    hashes = {name: fit.observations.hash() for name, fit in fits.items()}
    if len(set(hashes.values())) > 1:
        raise ValueError(
            "the fits were made on different runs, so their LOO scores are not comparable: "
            + ", ".join(f"{n}={h[:8]}" for n, h in hashes.items())
            + ". Fit every law to the same Observations."
        )
    trees = {name: with_log_likelihood(fit) for name, fit in fits.items()}
    table = az.compare(trees, method=method, var_name=VAR_NAME)
    table.attrs.update(
        {"criterion": "PSIS-LOO elpd on log loss", "laws": {n: f.law.name for n, f in fits.items()}}
    )
    return table
