"""Statistical claims, with real sampling: replication of a published fit and parameter recovery."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import forecast as fc
from forecast.datasets import simulate
from forecast.datasets.simulate import BESIROGLU_2024


@pytest.fixture(scope="module")
def chinchilla_fit():
    obs = fc.datasets.load("chinchilla")  # bundled; without the 5 highest-loss points, as Epoch did
    assert len(obs) == 240
    return fc.ScalingModel().fit(obs, random_seed=11, progressbar=False)


def test_chinchilla_replicates_besiroglu(chinchilla_fit):
    """Medians inside Besiroglu et al.'s 95% intervals; a = beta/(alpha+beta) covers 0.513, excludes 0.46."""
    d = chinchilla_fit.diagnostics()
    assert d.divergences == 0 and d.max_rhat <= 1.01 and d.ok
    p = chinchilla_fit.parameter_draws("chinchilla")
    assert 0.317 <= float(p["alpha"].median()) <= 0.373
    assert 0.331 <= float(p["beta"].median()) <= 0.415
    assert 1.769 <= float(p["E"].median()) <= 1.871
    a = (p["beta"] / (p["alpha"] + p["beta"])).values.ravel()
    lo, hi = np.quantile(a, [0.025, 0.975])
    assert lo < 0.513 < hi
    assert not lo < 0.46 < hi


def test_single_family_new_is_wider_than_the_family(chinchilla_fit):
    own = chinchilla_fit.parameter_draws("chinchilla")["alpha"]
    new = chinchilla_fit.parameter_draws("new")["alpha"]
    assert float(new.std()) > 2 * float(own.std())


@pytest.fixture(scope="module")
def recovery():
    runs, truth = simulate(5, [30, 30, 30, 30, 4], noise=0.01, seed=7)
    obs = fc.Observations(runs)
    # 2000 draws per chain: with 5 families the spread tau's R-hat sits near the 1.01 gate at the
    # default 1000 (1.0109 for a_tau in one compile of the model, below 1.01 in another)
    partial = fc.ScalingModel().fit(obs, random_seed=3, progressbar=False, draws=2000)
    with warnings.catch_warnings():
        # the unpooled 4-run family is weakly identified: its diagnostics are not the claim here
        warnings.simplefilter("ignore")
        alone = fc.ScalingModel(pooling="none").fit(obs, random_seed=3, progressbar=False, warn=False)
    return obs, truth, partial, alone


def test_recovery_true_values_inside_90_intervals_at_about_nominal_rate(recovery):
    obs, truth, partial, _ = recovery
    assert partial.diagnostics().ok, partial.diagnostics()
    s = partial.summary(ci=0.9).set_index(["parameter", "family"])
    inside = []
    for fam in truth.index:
        for name in truth.columns:
            row = s.loc[(name, fam)]
            inside.append(row["lower"] <= truth.loc[fam, name] <= row["upper"])
    rate = np.mean(inside)
    # 25 cells at nominal 0.9: P(rate < 0.72) is below 1% for a calibrated model
    assert rate >= 0.72, f"coverage {rate:.2f}"
    pop = s.xs("population", level="family")
    for name in ("E", "alpha", "beta"):
        assert pop.loc[name, "lower"] <= BESIROGLU_2024[name] <= pop.loc[name, "upper"]


def test_family_with_few_runs_borrows_strength(recovery):
    obs, truth, partial, alone = recovery
    small = "family-4"
    pooled = partial.summary(ci=0.9).set_index(["parameter", "family"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unpooled = alone.summary(ci=0.9).set_index(["parameter", "family"])
    for name in ("E", "alpha", "beta"):
        w_pooled = pooled.loc[(name, small), "upper"] - pooled.loc[(name, small), "lower"]
        w_alone = unpooled.loc[(name, small), "upper"] - unpooled.loc[(name, small), "lower"]
        assert w_pooled < w_alone, name
    # shrinkage: the small family's exponent sits nearer the population than when fitted alone
    pop_alpha = pooled.loc[("alpha", "population"), "median"]
    assert abs(pooled.loc[("alpha", small), "median"] - pop_alpha) <= abs(
        unpooled.loc[("alpha", small), "median"] - pop_alpha)
    # borrowing strength does not buy precision by missing the truth
    for name in ("E", "alpha", "beta"):
        assert pooled.loc[(name, small), "lower"] <= truth.loc[small, name] <= pooled.loc[(name, small), "upper"]
