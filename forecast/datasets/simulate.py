"""Simulate training runs from a scaling law, for tests, calibration and the demo."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from forecast.laws import get_law

# Besiroglu et al. (2024) refit of Hoffmann et al. (2022) on Epoch's digitised Chinchilla runs
# (the Chinchilla law's declared example).
BESIROGLU_2024 = dict(get_law("chinchilla").example)
HOFFMANN_2022 = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}

# Spread between families, as standard deviations of log E, log A, log B, log alpha, log beta.
DEFAULT_SPREAD = {"E": 0.06, "A": 0.25, "B": 0.25, "alpha": 0.08, "beta": 0.08}


def simulate(
    n_families: int = 5,
    runs_per_family: int | list[int] = 40,
    *,
    population: Mapping[str, float] | None = None,
    spread: Mapping[str, float] | None = None,
    noise: float = 0.01,
    params_range: tuple[float, float] = (3e7, 3e9),
    tokens_per_param: tuple[float, float] = (4.0, 100.0),
    max_loss: float = 10.0,
    seed: int | None = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate runs of several families from the Chinchilla law.

    Each family's parameters are drawn log-normally around ``population``
    (default: Besiroglu et al. 2024) with the given ``spread``; each run's
    size is log-uniform in ``params_range`` and its tokens per parameter
    log-uniform in ``tokens_per_param``; log loss gets Gaussian noise of sd
    ``noise``.

    A family whose mean loss at the design's smallest run (smallest size,
    fewest tokens per parameter) would exceed ``max_loss`` nats is redrawn:
    10 nats is about a uniform guess over a 20,000-token vocabulary, worse
    than any trained model, and such losses fail
    :class:`forecast.Observations`' 12-nat check. Redraws use their own random
    stream, so data sets without such a family are unchanged.

    Returns
    -------
    runs : pandas.DataFrame
        ``family, params, tokens, loss`` (labelled simulated in ``attrs``).
    truth : pandas.DataFrame
        The true ``E, A, B, alpha, beta`` of each family (index: family).

    Examples
    --------
    >>> from forecast.datasets import simulate
    >>> runs, truth = simulate(n_families=2, runs_per_family=10, seed=1)
    >>> runs.shape, list(truth.columns)
    ((20, 4), ['E', 'A', 'B', 'alpha', 'beta'])
    """
    rng = np.random.default_rng(seed)
    law = get_law("chinchilla")
    pop = dict(population or BESIROGLU_2024)
    sd = {**DEFAULT_SPREAD, **(spread or {})}
    counts = [runs_per_family] * n_families if isinstance(runs_per_family, int) else list(runs_per_family)
    if len(counts) != n_families:
        raise ValueError("runs_per_family must be an int or a list with one count per family")
    names = [f"family-{i}" for i in range(n_families)]
    truth = pd.DataFrame(
        {k: pop[k] * np.exp(sd[k] * rng.standard_normal(n_families)) for k in law.user_params},
        index=pd.Index(names, name="family"),
    )
    _redraw_implausible(truth, law, pop, sd, params_range[0], tokens_per_param[0], max_loss, seed)
    frames = []
    for name, n in zip(names, counts, strict=True):
        params = np.exp(rng.uniform(*np.log(params_range), n))
        tokens = params * np.exp(rng.uniform(*np.log(tokens_per_param), n))
        mean = law.loss(truth.loc[name].to_dict(), params=params, tokens=tokens)
        loss = mean * np.exp(noise * rng.standard_normal(n))
        frames.append(pd.DataFrame({"family": name, "params": params, "tokens": tokens, "loss": loss}))
    runs = pd.concat(frames, ignore_index=True)
    runs.attrs["simulated"] = True
    return runs, truth


def _redraw_implausible(truth, law, pop, sd, params, tokens_per_param, max_loss, seed) -> None:
    """Redraw (in place) families whose loss at the smallest run would exceed ``max_loss``."""
    side = np.random.default_rng(None if seed is None else [seed, 1])
    for name in truth.index:
        for _ in range(1000):
            worst = law.loss(truth.loc[name].to_dict(), params=params, tokens=params * tokens_per_param)
            if float(worst) <= max_loss:
                break
            truth.loc[name] = [pop[k] * np.exp(sd[k] * side.standard_normal()) for k in law.user_params]
        else:
            raise ValueError(
                f"could not draw family parameters with loss <= {max_loss} nats at {params:.3g} parameters; "
                "raise params_range[0] or max_loss, or narrow the spread"
            )
