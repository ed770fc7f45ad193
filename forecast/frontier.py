"""The compute-optimal frontier: how to split compute C between parameters N and tokens D.

For the Chinchilla law with ``C = 6 N D`` the optimum has a closed form
(Hoffmann et al. 2022, eq. 4)::

    N*(C) = G (C/6)^a,   D*(C) = G^-1 (C/6)^b,
    a = beta / (alpha + beta),  b = alpha / (alpha + beta),
    G = (alpha A / (beta B))^(1 / (alpha + beta)).

Every function here works per posterior draw on xarray objects, so the
uncertainty in (E, A, B, alpha, beta) flows through to N*, D*, tokens per
parameter and the loss on the frontier.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr


def compute_optimal(user: Mapping[str, xr.DataArray] | xr.Dataset, flops) -> xr.Dataset:
    """Closed-form compute-optimal allocation for the Chinchilla law, per draw.

    Parameters
    ----------
    user : Dataset or mapping
        ``E, A, B, alpha, beta`` in the user's units, any dims (e.g. ``chain, draw``).
    flops : array-like or DataArray
        Compute budgets C in FLOP; a plain array gets a ``flops`` dimension.

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
    alpha, beta = user["alpha"], user["beta"]
    A, B, E = user["A"], user["B"], user["E"]
    s = alpha + beta
    log_g = (np.log(alpha * A) - np.log(beta * B)) / s
    log_c6 = np.log(flops / 6.0)
    log_n = log_g + (beta / s) * log_c6
    log_d = -log_g + (alpha / s) * log_c6
    n, d = np.exp(log_n), np.exp(log_d)
    loss = E + A * np.exp(-alpha * log_n) + B * np.exp(-beta * log_d)
    return xr.Dataset({"params": n, "tokens": d, "tokens_per_param": d / n, "loss": loss})
