"""The compute-optimal frontier: closed form, numeric search, returns and compute for a target loss."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.data import DataWarning, Observations
from forecast.datasets import load_table
from forecast.frontier import Frontier, compute_optimal, frontier, numeric_optimal
from forecast.model import ScalingModel
from forecast.testing import BESIROGLU_2024, fake_fit

CHINCHILLA_FLOPS = 5.76e23


@pytest.fixture(scope="module")
def fit():
    return fake_fit(chains=2, draws=200, seed=4)


def test_frontier_matches_closed_form_per_draw(fit):
    fr = frontier(fit, flops=[1e21, CHINCHILLA_FLOPS])
    assert isinstance(fr, Frontier)
    assert fr.draws["params"].dims == ("chain", "draw", "flops")
    expected = compute_optimal(fit.parameter_draws("population"), [1e21, CHINCHILLA_FLOPS])
    for q in ("params", "tokens", "tokens_per_param", "loss"):
        np.testing.assert_allclose(
            fr.draws[q].values, expected[q].transpose("chain", "draw", "flops").values, rtol=1e-12
        )
    np.testing.assert_allclose(
        6 * fr.draws["params"] * fr.draws["tokens"],
        np.broadcast_to(fr.flops, fr.draws["params"].shape),
        rtol=1e-10,
    )


def test_chinchilla_tokens_per_param_near_20_at_chinchilla_compute(fit):
    table = frontier(fit, flops=CHINCHILLA_FLOPS).table(0.9).set_index("quantity")
    tpp = table.loc["tokens_per_param"]
    assert 15 < tpp["median"] < 22  # Besiroglu et al. 2024: ~18-20
    assert tpp["upper"] < 40  # nowhere near Hoffmann's ~70-90
    assert sorted(table.reset_index().columns) == sorted(
        ["flops", "quantity", "mean", "median", "lower", "upper", "ci"]
    )


def test_numeric_search_recovers_closed_form():
    law = fake_fit(draws=5).law
    centre = {"params": 20.0, "tokens": 23.0}
    user = {k: np.array([v, v * 1.1]) for k, v in BESIROGLU_2024.items()}
    theta = law.from_user(user, centre, np)
    flops = np.array([1e19, 1e22, 1e25])
    num = numeric_optimal(law, theta, centre, np.log(flops))
    n, _, loss = law.frontier({k: v[:, None] for k, v in user.items()}, flops[None, :])
    np.testing.assert_allclose(num["params"], n, rtol=1e-4)
    np.testing.assert_allclose(num["loss"], loss, rtol=1e-9)


def test_the_frontier_method_is_what_the_law_declares_not_its_name(fit):
    from dataclasses import replace

    from forecast.laws import KAPLAN

    # Chinchilla's formula without the declared closed form: the numerical frontier, same answer
    plain = replace(fit.law, name="my_chinchilla", frontier=None)
    fr_plain = frontier(fake_fit(fit.observations, ScalingModel(law=plain), draws=50, seed=4), flops=[1e21, 1e24])
    fr_closed = frontier(fake_fit(fit.observations, ScalingModel(), draws=50, seed=4), flops=[1e21, 1e24])
    assert (fr_plain.fit_info["method"], fr_closed.fit_info["method"]) == ("numeric", "closed form")
    for q in ("params", "tokens", "loss"):
        np.testing.assert_allclose(fr_plain.draws[q], fr_closed.draws[q], rtol=1e-4)
    # another formula under Chinchilla's name does not get Chinchilla's closed form
    impostor = replace(KAPLAN, name="chinchilla")
    fr = frontier(fake_fit(fit.observations, ScalingModel(law=impostor), draws=20), flops=[1e22])
    assert fr.fit_info["method"] == "numeric"


def test_kaplan_frontier_is_a_local_minimum_per_draw():
    obs = fake_fit(draws=5).observations
    fit = fake_fit(obs, ScalingModel(law="kaplan"), chains=2, draws=50)
    fr = frontier(fit, flops=[1e20, 1e23])
    assert fr.fit_info["method"] == "numeric"
    user = fit.parameter_draws("population")
    n, d = fr.draws["params"].values, fr.draws["tokens"].values
    assert np.isfinite(n).all()
    p = {k: user[k].values[..., None] for k in fit.law.user_params}
    best = fit.law.loss(p, params=n, tokens=d)
    np.testing.assert_allclose(best, fr.draws["loss"].values, rtol=1e-10)
    for factor in (1.05, 1 / 1.05):  # same compute, different split
        other = fit.law.loss(p, params=n * factor, tokens=d / factor)
        assert (other > best).all()


def test_compute_law_gives_loss_but_no_split():
    obs = fake_fit(draws=5).observations
    fit = fake_fit(obs, ScalingModel(law="compute"), chains=2, draws=50)
    fr = frontier(fit, flops=[1e21, 1e23])
    assert set(fr.table()["quantity"]) == {"loss"}
    with pytest.raises(ValueError, match="no split"):
        fr.tokens_per_param  # noqa: B018
    assert (fr.returns().query("quantity == 'loss_drop'")["median"] > 0).all()


def test_returns_diminish_by_the_power_law_fraction(fit):
    fr = frontier(fit, flops=[1e20, 1e22, 1e24])
    r = fr.returns(0.9)
    drop = r.query("quantity == 'loss_drop'")
    assert (drop["lower"] > 0).all() and (np.diff(drop["median"].to_numpy()) < 0).all()
    # on the Chinchilla frontier each decade removes 1 - 10^-gamma of the reducible loss
    user = fit.parameter_draws("population")
    gamma = user["alpha"] * user["beta"] / (user["alpha"] + user["beta"])
    expected = float((1 - 10 ** (-gamma)).median())
    frac = r.query("quantity == 'fraction'")["median"].to_numpy()
    np.testing.assert_allclose(frac, expected, rtol=1e-6)


def test_compute_for_loss_inverts_the_frontier(fit):
    fr = frontier(fit, flops=[1e22])
    target = np.array([2.2, 2.0])
    needed = fr._flops_for_loss(target)
    back = fr._solve(np.ones(1))  # warm call, shapes only
    assert back["loss"].shape[:2] == needed.shape[:2]
    loss_there = fr._optimum(np.log(needed))["loss"]
    np.testing.assert_allclose(loss_there, np.broadcast_to(target, needed.shape), rtol=1e-8)
    t = fr.compute_for_loss(target, ci=0.9)
    assert (t["prob_reachable"] == 1.0).all()
    assert t["median"].iloc[0] < t["median"].iloc[1]  # a lower loss needs more compute


def test_compute_for_loss_below_irreducible_is_infinite_and_flagged(fit):
    fr = frontier(fit, flops=[1e22])
    e = fit.parameter_draws("population")["E"]
    between = float(e.quantile(0.5))  # half the draws put E above this target
    t = fr.compute_for_loss([1.0, between], ci=0.9).set_index("target")
    assert (
        t.loc[1.0, "prob_reachable"] == 0.0 and np.isinf(t.loc[1.0, "median"]) and not t.loc[1.0, "reachable"]
    )
    assert 0.3 < t.loc[between, "prob_reachable"] < 0.7
    assert np.isinf(t.loc[between, "upper"])


@pytest.mark.parametrize(("flops", "message"), [([-1e21], "positive"), ([], "empty"), ([np.inf], "positive")])
def test_bad_budgets_raise(fit, flops, message):
    with pytest.raises(ValueError, match=message):
        frontier(fit, flops=flops)


def test_bad_ci_and_family_and_law_raise(fit):
    fr = frontier(fit, flops=[1e22])
    with pytest.raises(ValueError, match="ci must"):
        fr.table(1.2)
    with pytest.raises(ValueError, match="unknown family"):
        frontier(fit, flops=[1e22], family="nope")
    obs = fit.observations
    kn = fake_fit(obs, ScalingModel(law="kaplan_n"), chains=1, draws=10)
    with pytest.raises(ValueError, match="no compute-optimal frontier"):
        frontier(kn, flops=[1e22])


# ------------------------------------------------------------ real sampling
def test_real_chinchilla_fit_puts_about_20_tokens_per_param_at_chinchilla_compute():
    df = load_table("chinchilla")  # the bundled copy of the Chinchilla runs (Epoch AI)
    df = df.drop(df["loss"].nlargest(5).index)  # as Besiroglu et al. (2024)
    with pytest.warns(DataWarning, match="only one family"):
        obs = Observations(df)
    fit = ScalingModel(pooling="complete").fit(
        obs, chains=2, draws=300, tune=300, random_seed=3, progressbar=False, warn=False
    )
    assert fit.diagnostics().divergences == 0
    tpp = frontier(fit, flops=CHINCHILLA_FLOPS).table(0.9).set_index("quantity").loc["tokens_per_param"]
    assert 14 < tpp["median"] < 26, tpp
    assert tpp["upper"] < 50, tpp  # excludes Hoffmann's ~70-90


def test_data_constrained_frontier_is_chinchillas_without_repetition():
    from forecast.datasets import simulate

    runs, _ = simulate(n_families=2, runs_per_family=8, seed=2)
    runs["unique_tokens"] = runs["tokens"]
    fit = fake_fit(Observations(runs), ScalingModel(law="data_constrained"), draws=30)
    fr = frontier(fit, flops=[1e21, 1e24])
    user = fit.parameter_draws("population")
    expected = compute_optimal({k: user[k] for k in ("E", "A", "B", "alpha", "beta")}, [1e21, 1e24])
    np.testing.assert_allclose(
        fr.draws["tokens"].values, expected["tokens"].transpose("chain", "draw", "flops"), rtol=1e-12
    )
    # and it is the optimum of the law itself when the data are all unique (no repetition)
    n, d = fr.draws["params"].values, fr.draws["tokens"].values
    p = {k: user[k].values[..., None] for k in fit.law.user_params}
    best = fit.law.loss(p, params=n, tokens=d, unique_tokens=d)
    np.testing.assert_allclose(best, fr.draws["loss"].values, rtol=1e-10)
    other = fit.law.loss(p, params=n * 1.1, tokens=d / 1.1, unique_tokens=d / 1.1)
    assert (other > best).all()
