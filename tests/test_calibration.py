"""Simulation-based calibration: rank statistic, uniformity tests, prior sampler, and a quick SBC run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from forecast.calibration import (
    Design,
    ecdf_band,
    prior_draw,
    rank_statistic,
    sbc,
    simulate_from_prior,
    thin_draws,
    uniformity_test,
)
from forecast.data import MAX_LOSS_NATS
from forecast.model import STUDENT_T_NU, ScalingModel


# ------------------------------------------------------------------ ranks
def test_rank_counts_draws_below_truth():
    draws = np.array([[0.3, 0.1, 0.7, 0.5], [1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(rank_statistic(draws, [0.6, 0.5]), [3, 0])
    assert rank_statistic(draws[1], 10.0) == 4


def test_rank_of_truth_drawn_like_posterior_is_uniform():
    # truth and posterior from one distribution: the textbook SBC null, ranks uniform on 0..L
    rng = np.random.default_rng(3)
    L, n = 19, 4000
    draws = rng.normal(size=(n, L))
    truth = rng.normal(size=n)
    ranks = rank_statistic(draws, truth)
    counts = np.bincount(ranks, minlength=L + 1)
    assert counts.shape == (L + 1,)
    assert stats.chisquare(counts).pvalue > 0.001
    # a posterior shifted by half an sd gives ranks piled high
    shifted = rank_statistic(draws - 0.5, truth)
    assert shifted.mean() > ranks.mean() + 2


def test_ties_are_split_at_random():
    # a degenerate quantity (all draws equal the truth) must not pile up at rank 0
    ranks = rank_statistic(np.zeros((2000, 9)), np.zeros(2000))
    assert 3.5 < ranks.mean() < 5.5
    assert ranks.min() == 0 and ranks.max() == 9


def test_thin_takes_an_equal_strided_share_of_each_chain():
    da = xr.DataArray(np.arange(2 * 100).reshape(2, 100), dims=("chain", "draw"))
    thinned = thin_draws(da, 10)
    assert thinned.values.tolist() == [0, 20, 40, 60, 80, 100, 120, 140, 160, 180]
    with pytest.raises(ValueError, match="multiple"):
        thin_draws(da, 11)
    with pytest.raises(ValueError, match="sample more"):
        thin_draws(da, 400)


# ------------------------------------------------------------ uniformity
def _uniformity_rates(make, L=49, n=40, reps=60):
    rng = np.random.default_rng(7)
    out = []
    for _ in range(reps):
        r = pd.DataFrame({"q": make(rng, n)})
        t = uniformity_test(r, L, n_sim=1000, seed=int(rng.integers(1e6)))
        out.append((t.loc["q", "p_ecdf"] < 0.05, t.loc["q", "p_chi2"] < 0.05))
    return np.mean(out, axis=0)


def test_uniform_ranks_pass_at_the_nominal_rate():
    ecdf_rate, chi2_rate = _uniformity_rates(lambda rng, n: rng.integers(0, 50, n))
    assert ecdf_rate <= 0.15
    assert chi2_rate <= 0.15


def test_biased_and_overconfident_ranks_fail():
    # truth usually above the posterior (bias)
    biased, _ = _uniformity_rates(lambda rng, n: np.minimum(49, rng.integers(15, 65, n)))
    assert biased >= 0.8
    # posterior too narrow: ranks pile at both ends (a U)
    u_shape, _ = _uniformity_rates(
        lambda rng, n: np.where(rng.random(n) < 0.5, rng.integers(0, 8, n), rng.integers(42, 50, n))
    )
    assert u_shape >= 0.8


def test_ecdf_band_holds_simultaneously_at_its_level():
    n, L = 30, 19
    band = ecdf_band(n, L, alpha=0.1, n_sim=2000, seed=1)
    rng = np.random.default_rng(2)
    ranks = rng.integers(0, L + 1, size=(2000, n))
    ecdf = (ranks[:, :, None] <= band["rank"].to_numpy()).mean(axis=1)
    inside = ((ecdf >= band["lower"].to_numpy()) & (ecdf <= band["upper"].to_numpy())).all(axis=1)
    # discreteness makes the band conservative, never anti-conservative
    assert 0.88 <= inside.mean() <= 0.99


def test_uniformity_rejects_bad_input():
    with pytest.raises(ValueError, match="0..9"):
        uniformity_test(pd.DataFrame({"q": [0, 3, 12, 4, 5]}), 9)
    with pytest.raises(ValueError, match="n_draws"):
        uniformity_test(pd.DataFrame({"q": [0, 3, 2, 4, 5]}))


# ------------------------------------------------------------ prior sampler
def test_prior_sampler_matches_the_pymc_model():
    """The numpy prior sampler must draw what the PyMC model's prior says (catches drift in model.py)."""
    import pymc as pm

    model = ScalingModel()
    obs, _ = simulate_from_prior(model, Design(3, 5), random_seed=0)
    with model.build(obs):
        prior = pm.sample_prior_predictive(draws=3000, random_seed=1)
    pymc_prior = prior["prior"].to_dataset().stack(sample=("chain", "draw"))
    pymc_loss = prior["prior_predictive"]["log_loss"].to_dataset()["log_loss"].stack(sample=("chain", "draw"))

    rng = np.random.default_rng(2)
    draws = [prior_draw(model, 3, rng) for _ in range(3000)]
    for p in model.law.params:
        ours_mu = [d["mu"][p] for d in draws]
        ours_tau = [d["tau"][p] for d in draws]
        assert stats.ks_2samp(ours_mu, pymc_prior[f"{p}_mu"].values).pvalue > 1e-3, p
        assert stats.ks_2samp(ours_tau, pymc_prior[f"{p}_tau"].values).pvalue > 1e-3, p
    # family 0's own noise: the typical family's, times its partially pooled factor
    sigma0 = pymc_prior["sigma"] * np.exp(pymc_prior["sigma_tau"] * pymc_prior["sigma_z"].isel(family=0))
    assert stats.ks_2samp([d["sigma"][0] for d in draws], sigma0.values).pvalue > 1e-3
    assert stats.ks_2samp([d["tau"]["sigma"] for d in draws], pymc_prior["sigma_tau"].values).pvalue > 1e-3

    # the simulated log loss at one run of the design, with noise, through the law
    law = model.law
    logx = {k: np.log(obs.column(k)) for k in law.inputs}
    centre = law.centres(logx)
    theta = {p: np.array([d["theta"][p][0] for d in draws]) for p in law.params}
    sigma = np.array([d["sigma"][0] for d in draws])
    ours = law.log_mean(theta, {k: v[0] for k, v in logx.items()}, centre, np)
    ours = ours + sigma * rng.standard_t(STUDENT_T_NU, len(sigma))
    assert stats.ks_2samp(ours, pymc_loss.isel(obs=0).values).pvalue > 1e-3


def test_simulated_data_uses_the_design():
    obs, truth = simulate_from_prior(ScalingModel(), Design(4, 6, params_range=(1e8, 1e9)), random_seed=5)
    table = obs.table
    assert table.groupby("family").size().tolist() == [6] * 4
    assert table["params"].between(1e8, 1e9).all()
    assert (table["tokens"] / table["params"]).between(4, 100).all()
    assert truth["theta"]["log_E"].shape == (4,)
    # the truth's noise-free curve is what the data scatter around
    resid = np.log(table["loss"].to_numpy()) - truth["log_mean"]
    assert abs(np.median(resid)) < 3 * truth["sigma"][0]


def test_implausible_prior_draws_are_redrawn_on_the_data_alone():
    # some prior draws (14% of 5 x 20 data sets, benchmarks/prior_predictive.py) imply a loss above 12 nats,
    # which Observations refuses
    sims = [simulate_from_prior(ScalingModel(), Design(3, 10), random_seed=s) for s in range(40)]
    assert all(obs.table["loss"].max() <= MAX_LOSS_NATS for obs, _ in sims)
    assert sum(truth["rejected"] for _, truth in sims) > 0


# ------------------------------------------------------------- quick SBC
@pytest.mark.slow
def test_quick_sbc_ranks_are_uniform():
    """At the default sampler settings (with fit()'s one retry) the fits pass the gate and the ranks
    are uniform; the full run, per design, is benchmarks/sbc.py."""
    from forecast.config import SAMPLER

    result = sbc(
        ScalingModel(),
        20,
        design=Design(3, 10),
        draws=SAMPLER.draws,
        tune=SAMPLER.tune,
        chains=SAMPLER.chains,
        n_draws=100,
        random_seed=100,
        max_workers=2,
    )
    assert result.ranks.shape == (20, len(result.truth.columns))
    assert result.ranks.to_numpy().min() >= 0 and result.ranks.to_numpy().max() <= 100
    assert len(result.fits) == 20 and (result.fits["rejected_draws"] >= 0).all()
    # target: at least 97% of fits pass; with 20 fits, at most one may fail
    assert result.fits["gate_ok"].sum() >= 19, result.fits
    tests = result.uniformity()
    assert tests["uniform"].all(), tests
