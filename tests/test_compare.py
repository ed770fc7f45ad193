"""PSIS-LOO comparison between laws: the pointwise log-likelihood and ArviZ's table."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forecast.compare import compare, log_likelihood, with_log_likelihood
from forecast.data import Observations
from forecast.datasets import simulate
from forecast.model import STUDENT_T_NU, ScalingModel
from forecast.testing import fake_fit


@pytest.fixture(scope="module")
def fit():
    return fake_fit(draws=100, seed=2)


def test_pointwise_log_likelihood_matches_the_likelihood_by_hand(fit):
    ll = log_likelihood(fit)
    assert ll.dims == ("chain", "draw", "obs") and ll.sizes["obs"] == len(fit.observations)
    table = fit.observations.table
    user = fit.parameter_draws(None)
    sigma = fit.noise_draws(None)
    for chain, draw, i in [(0, 3, 0), (1, 50, 40), (0, 99, len(table) - 1)]:
        row = table.iloc[i]
        p = {k: float(user[k].sel(chain=chain, draw=draw, family=row["family"])) for k in fit.law.user_params}
        mu = np.log(fit.law.loss(p, params=row["params"], tokens=row["tokens"]))
        s = float(sigma.sel(chain=chain, draw=draw, family=row["family"]))
        expected = stats.t.logpdf(np.log(row["loss"]), STUDENT_T_NU, loc=mu, scale=s)
        assert float(ll.sel(chain=chain, draw=draw, obs=i)) == pytest.approx(expected, rel=1e-10)


def test_normal_likelihood_is_used_when_the_model_says_so(fit):
    normal = fake_fit(fit.observations, ScalingModel(likelihood="normal"), draws=100, seed=2)
    diff = log_likelihood(normal) - log_likelihood(fit)
    assert float(np.abs(diff).max()) > 0.1  # tails differ, so the two must not coincide


def test_datatree_has_the_groups_arviz_needs(fit):
    tree = with_log_likelihood(fit)
    assert {"posterior", "log_likelihood", "observed_data"} <= set(tree.children)
    assert "log_loss" in tree["log_likelihood"].to_dataset()


def test_compare_ranks_the_true_law_first_on_fake_posteriors(fit):
    wrong = fake_fit(fit.observations, ScalingModel(law="compute"), draws=100)
    with pytest.warns(UserWarning, match="Pareto"):
        table = compare({"chinchilla": fit, "compute": wrong})
    assert list(table.index) == ["chinchilla", "compute"]
    assert table.loc["compute", "elpd_diff"] < 0
    assert table.attrs["laws"] == {"chinchilla": "chinchilla", "compute": "compute"}


def test_compare_refuses_bad_inputs(fit):
    with pytest.raises(ValueError, match="at least two"):
        compare({"only": fit})
    runs, _ = simulate(n_families=2, runs_per_family=10, seed=9)
    other = fake_fit(Observations(runs), draws=50)
    with pytest.raises(ValueError, match="different runs"):
        compare({"a": fit, "b": other})


@pytest.mark.slow  # two real fits: ~45 s of CPU, ~100 s wall on the shared 2-core box
def test_real_fits_prefer_the_law_that_generated_the_data():
    # runs with tokens per parameter from 4 to 100: loss depends on N and D, not on C alone
    runs, _ = simulate(n_families=2, runs_per_family=20, noise=0.01, seed=13)
    obs = Observations(runs)
    kw = dict(chains=2, draws=300, tune=300, random_seed=2, progressbar=False, warn=False)
    fits = {
        "chinchilla": ScalingModel().fit(obs, **kw),
        "compute": ScalingModel(law="compute").fit(obs, **kw),
    }
    table = compare(fits)
    assert table.index[0] == "chinchilla"
    assert -table.loc["compute", "elpd_diff"] > 2 * table.loc["compute", "dse"]


@pytest.mark.slow  # compiling PyMC's log-likelihood function takes 5-15 s
@pytest.mark.parametrize("settings", [{}, {"law": "kaplan", "likelihood": "normal"}])
def test_pointwise_log_likelihood_equals_pymcs_for_any_law(settings):
    """The numpy log-likelihood (milliseconds) is PyMC's own pm.compute_log_likelihood of the model."""
    import pymc as pm

    model = ScalingModel(**settings)
    fit = fake_fit(model=model, draws=40)
    ours = log_likelihood(fit)
    theirs = pm.compute_log_likelihood(
        fit.idata, model=model.build(fit.observations), var_names=["log_loss"], extend_inferencedata=False,
        progressbar=False, compile_kwargs={"mode": "FAST_COMPILE"},
    )["log_loss"]
    # PyMC's Student-t normalising constant differs from scipy's by ~6e-10 per run
    np.testing.assert_allclose(ours.values, theirs.transpose(*ours.dims).values, rtol=0, atol=1e-8)
