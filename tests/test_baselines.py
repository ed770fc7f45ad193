"""Chinchilla Approach 3 baseline: recovers Besiroglu et al. (2024) and speaks the same table shapes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecast.baselines import PointFit, fit_approach3, fit_baseline
from forecast.data import DataWarning, Observations
from forecast.datasets import load_table
from forecast.frontier import frontier
from forecast.predict import predict
from forecast.testing import BESIROGLU_2024, fake_fit


@pytest.fixture(scope="module")
def chinchilla():
    df = load_table("chinchilla")  # the bundled copy of the Chinchilla runs (Epoch AI)
    df = df.drop(df["loss"].nlargest(5).index)  # Besiroglu et al. drop the 5 highest losses
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single family: nothing to pool, which the baseline does not need
        return Observations(df)


@pytest.fixture(scope="module")
def chinchilla_fit(chinchilla):
    return fit_baseline(chinchilla, bootstrap=40, random_seed=1)


def test_recovers_besiroglu_point_estimates(chinchilla_fit):
    p = chinchilla_fit.params.loc["chinchilla"]
    assert p["E"] == pytest.approx(BESIROGLU_2024["E"], rel=0.01)
    assert p["alpha"] == pytest.approx(BESIROGLU_2024["alpha"], rel=0.03)
    assert p["beta"] == pytest.approx(BESIROGLU_2024["beta"], rel=0.03)
    assert p["A"] == pytest.approx(BESIROGLU_2024["A"], rel=0.15)
    assert p["B"] == pytest.approx(BESIROGLU_2024["B"], rel=0.15)


def test_bootstrap_interval_resembles_besiroglus(chinchilla_fit):
    boot = chinchilla_fit.bootstrap.query("family == 'chinchilla'")
    lo, hi = boot["alpha"].quantile([0.025, 0.975])
    assert 0.30 < lo < 0.335 and 0.36 < hi < 0.39  # Besiroglu: 0.317-0.373
    lo, hi = boot["E"].quantile([0.025, 0.975])
    assert 1.74 < lo < 1.80 and 1.84 < hi < 1.90  # Besiroglu: 1.769-1.871


def test_frontier_table_has_frontier_columns_and_about_20_tokens_per_param(chinchilla_fit):
    t = chinchilla_fit.frontier([5.76e23], family="chinchilla", ci=0.9)
    bayes = frontier(fake_fit(draws=20), flops=[5.76e23]).table(0.9)
    assert list(t.columns) == list(bayes.columns)
    tpp = t.set_index("quantity").loc["tokens_per_param"]
    assert 16 < tpp["median"] < 22 and tpp["lower"] < tpp["median"] < tpp["upper"]


def test_predict_table_has_forecast_columns(chinchilla_fit):
    t = chinchilla_fit.predict(
        params=[7e10, 4e11], tokens=[1.4e12, 1.5e13], family="chinchilla", ci=[0.5, 0.9]
    )
    bayes = predict(fake_fit(draws=20), params=[7e10], tokens=[1.4e12]).table()
    # the same columns, less the horizon (a point fit does not keep its data's range)
    assert list(t.columns) == [c for c in bayes.columns if c != "horizon"]
    assert (t["includes"] == "parameters").all()
    assert len(t) == 4
    w = (t.upper - t.lower).to_numpy()
    assert (w[:2] < w[2:]).all()  # 50% inside 90%
    expected = (
        BESIROGLU_2024["E"]
        + BESIROGLU_2024["A"] * 7e10 ** -BESIROGLU_2024["alpha"]
        + BESIROGLU_2024["B"] * 1.4e12 ** -BESIROGLU_2024["beta"]
    )
    assert t["median"].iloc[0] == pytest.approx(expected, rel=0.005)


def test_recovers_simulated_families_separately():
    from forecast.datasets import simulate

    runs, truth = simulate(n_families=2, runs_per_family=60, noise=0.002, seed=5)
    pf = fit_baseline(Observations(runs))
    assert set(pf.params.index) == {"family-0", "family-1", "pooled"}
    for fam in truth.index:
        # exponents of a 5-parameter point fit are loosely identified; the curve itself is tight
        for k, rel in (("E", 0.05), ("alpha", 0.25), ("beta", 0.25)):
            assert pf.params.loc[fam, k] == pytest.approx(truth.loc[fam, k], rel=rel), (fam, k)
        fitted = pf.predict(params=[3e9, 3e10], tokens=[6e10, 6e11], family=fam)["median"].to_numpy()
        true = fake_fit(draws=1).law.loss(
            truth.loc[fam].to_dict(), params=np.array([3e9, 3e10]), tokens=np.array([6e10, 6e11])
        )
        np.testing.assert_allclose(fitted, true, rtol=0.02)
    assert pf.bootstrap is None
    assert pf.predict(params=1e10, tokens=2e11, family="family-0")["lower"].isna().all()


def test_any_law_is_fitted_on_its_own_mean():
    from dataclasses import replace

    from forecast.datasets import simulate
    from forecast.laws import CHINCHILLA, KAPLAN

    runs, _ = simulate(n_families=2, runs_per_family=30, noise=0.002, seed=2)
    obs = Observations(runs)
    built_in = fit_baseline(obs)
    # the same formula under another name and without declared capabilities: the same point fit
    typed = fit_baseline(obs, law=replace(CHINCHILLA, name="my_chinchilla", frontier=None, loss_kernel=None))
    pd.testing.assert_frame_equal(built_in.params, typed.params, rtol=1e-6)
    f1, f2 = (pf.frontier([1e22]).set_index("quantity")["median"] for pf in (built_in, typed))
    np.testing.assert_allclose(f1, f2, rtol=1e-4)  # closed form vs the numerical frontier
    # another law: its own parameters, and a curve through the runs
    kaplan = fit_baseline(obs, law=KAPLAN)
    assert list(kaplan.params.columns) == [*KAPLAN.user_params, "objective"]
    own = runs[runs["family"] == "family-0"]
    fitted = kaplan.predict(params=own.params, tokens=own.tokens, family="family-0")["median"].to_numpy()
    assert np.median(np.abs(np.log(fitted / own.loss))) < 0.05
    # Kaplan's law has no irreducible term: it fits Chinchilla-law runs worse than Chinchilla's own law
    assert (kaplan.params["objective"] > built_in.params["objective"]).all()


def test_start_grid_beats_a_bad_single_start(chinchilla):
    t = chinchilla.table
    grid = fit_approach3(t.params, t.tokens, t.loss)
    bad_start = {"E": np.e, "A": 1.0, "B": np.exp(25.0), "alpha": 2.0, "beta": 0.01}
    bad = fit_approach3(t.params, t.tokens, t.loss, n_starts=0, start=bad_start)
    assert grid["objective"] <= bad["objective"] + 1e-9


def chinchilla_fit_obs():
    from forecast.datasets import simulate

    # six random runs may sit near one line in (log N, log D): the lock-step warning is beside the point here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return Observations(simulate(n_families=2, runs_per_family=6, seed=0)[0])


def test_bad_requests(chinchilla_fit):
    with pytest.raises(ValueError, match="unknown family"):
        chinchilla_fit.predict(params=1e9, tokens=2e10, family="gopher")
    with pytest.raises(ValueError, match="ci must"):
        chinchilla_fit.predict(params=1e9, tokens=2e10, ci=1.0)
    with pytest.raises(ValueError, match="positive"):
        chinchilla_fit.frontier([-1.0])
    with pytest.raises(ValueError, match="bootstrap"):
        fit_baseline(chinchilla_fit_obs(), bootstrap=-1)
    assert isinstance(chinchilla_fit, PointFit)


def test_without_the_pooled_bootstrap_known_families_are_unchanged_and_new_says_why():
    from forecast.datasets import simulate

    obs = Observations(simulate(n_families=2, runs_per_family=20, seed=2)[0])
    full = fit_baseline(obs, bootstrap=15, random_seed=4)
    lean = fit_baseline(obs, bootstrap=15, random_seed=4, bootstrap_pooled=False)
    assert set(lean.bootstrap["family"]) == {"family-0", "family-1"}
    kw = {"params": [1e9], "tokens": [2e10], "random_seed": 1}
    np.testing.assert_array_equal(full.draws(family="family-1", **kw), lean.draws(family="family-1", **kw))
    with pytest.raises(ValueError, match="bootstrap_pooled=True"):
        lean.draws(family="new", **kw)
    with pytest.raises(ValueError, match="bootstrap_pooled=True"):
        lean.predict(params=[1e9], tokens=[2e10], family="new")


def _bootstrap_one_at_a_time(obs, *, bootstrap, seed):
    """The bootstrap as it was: one L-BFGS-B refit per replicate, from the point fit, same resamples."""
    rng = np.random.default_rng(seed)
    out = {}
    for fam in obs.families:
        g = obs.table[obs.table["family"] == fam]
        x = {k: g[k].to_numpy(float) for k in ("params", "tokens")}
        y = g["loss"].to_numpy(float)
        est = fit_approach3(loss=y, **x)
        reps = []
        for _ in range(bootstrap):
            i = rng.integers(0, len(g), len(g))
            reps.append(fit_approach3(loss=y[i], n_starts=0, start=est, **{k: v[i] for k, v in x.items()}))
        out[fam] = pd.DataFrame(reps)
    return out


def test_vectorised_bootstrap_reproduces_one_refit_per_replicate():
    """Same resamples and objective as the per-replicate L-BFGS-B refits: the same rows on an identified table."""
    from forecast.datasets import simulate

    obs = Observations(simulate(n_families=2, runs_per_family=25, noise=0.01, seed=5)[0])
    new = fit_baseline(obs, bootstrap=30, random_seed=7, bootstrap_pooled=False)
    old = _bootstrap_one_at_a_time(obs, bootstrap=30, seed=7)
    grid = {"params": np.array([1e8, 1e9, 1e10, 1e11]), "tokens": np.array([2e9, 2e10, 2e11, 2e12])}
    for fam, rows in old.items():
        mine = new.bootstrap[new.bootstrap["family"] == fam].reset_index(drop=True)
        assert len(mine) == len(rows) == 30
        # never a worse optimum of the Huber objective than L-BFGS-B reached
        assert (mine["objective"] <= rows["objective"] + 1e-6 * np.maximum(1.0, rows["objective"])).all()
        law = new.law
        a = law.loss({k: mine[k].to_numpy()[:, None] for k in law.user_params}, **grid)
        b = law.loss({k: rows[k].to_numpy()[:, None] for k in law.user_params}, **grid)
        np.testing.assert_allclose(a, b, rtol=2e-4)  # forecasts up to two decades beyond the runs
