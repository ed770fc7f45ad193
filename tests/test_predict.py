"""Forecasts: shapes, agreement with the law, pooling behaviour and bad requests."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.data import DataWarning, Observations
from forecast.laws import LAWS
from forecast.model import ScalingModel
from forecast.predict import Forecast, grid, predict, resolve_inputs
from forecast.testing import fake_fit


@pytest.fixture(scope="module")
def fit():
    return fake_fit(chains=2, draws=200, seed=3)


def test_forecast_shape_coords_and_table_columns(fit):
    fc_ = predict(fit, params=[7e10, 4e11], tokens=[1.4e12, 1.5e13], family=["population", "new"])
    assert isinstance(fc_, Forecast)
    assert fc_.draws.dims == ("chain", "draw", "family", "point")
    assert fc_.draws.shape == (2, 200, 2, 2)
    np.testing.assert_allclose(fc_.draws["flops"].values, 6 * np.array([7e10 * 1.4e12, 4e11 * 1.5e13]))
    table = fc_.table([0.5, 0.9])
    assert list(table.columns) == [
        "family",
        "params",
        "tokens",
        "flops",
        "mean",
        "median",
        "lower",
        "upper",
        "ci",
        "interval",
        "includes_noise",
        "horizon",
        "includes",
    ]
    assert len(table) == 2 * 2 * 2  # families x points x masses
    assert (table["lower"] < table["median"]).all() and (table["median"] < table["upper"]).all()
    w = table.assign(width=table.upper - table.lower).pivot_table("width", ["family", "params"], "ci")
    assert (w[0.5] < w[0.9]).all()
    assert table.attrs["law"] == "chinchilla" and not table["includes_noise"].any()
    assert fc_.fit_info["fitted_families"] == fit.families


def test_predict_agrees_with_law_loss_per_draw(fit):
    params, tokens = np.array([3e8, 7e10, 2e12]), np.array([6e9, 1.4e12, 3e13])
    fam = fit.families[1]
    # the law's mean alone: no extrapolation error beyond the data
    draws = predict(fit, params=params, tokens=tokens, family=fam, extrapolation=False).draws.sel(family=fam)
    user = fit.parameter_draws(fam)
    for chain, draw in [(0, 0), (1, 57), (0, 199)]:
        p = {k: float(user[k].sel(chain=chain, draw=draw)) for k in fit.law.user_params}
        expected = fit.law.loss(p, params=params, tokens=tokens)
        np.testing.assert_allclose(draws.sel(chain=chain, draw=draw).values, expected, rtol=1e-12)


def test_any_two_of_n_d_c_give_the_same_forecast(fit):
    n, d = np.array([1e9, 7e10]), np.array([2e10, 1.4e12])
    by_nd = predict(fit, params=n, tokens=d, family="population").draws
    by_nc = predict(fit, params=n, flops=6 * n * d, family="population").draws
    by_dc = predict(fit, tokens=d, flops=6 * n * d, family="population").draws
    np.testing.assert_allclose(by_nc.values, by_nd.values, rtol=1e-10)
    np.testing.assert_allclose(by_dc.values, by_nd.values, rtol=1e-10)
    np.testing.assert_allclose(by_dc["params"].values, n)


def test_arrays_broadcast_and_grid_crosses(fit):
    fc_ = predict(fit, params=[1e9, 1e10, 1e11], tokens=2e11, family="population")
    assert fc_.draws.sizes["point"] == 3
    assert (np.diff(fc_.table()["median"].to_numpy()) < 0).all()  # bigger models, lower loss
    g = grid(params=[1e9, 1e10], tokens=[2e10, 2e11, 2e12])
    assert predict(fit, **g, family="population").draws.sizes["point"] == 6
    with pytest.raises(ValueError, match="broadcast"):
        predict(fit, params=[1e9, 1e10], tokens=[1e10, 1e11, 1e12])


def test_noise_widens_the_band_and_is_labelled(fit):
    kw = dict(params=[7e10], tokens=[1.4e12], family="population", extrapolation=False)  # the noise term alone
    plain = predict(fit, **kw).table()
    noisy = predict(fit, **kw, include_noise=True).table()
    assert noisy["includes_noise"].all() and noisy.attrs["includes_noise"]
    assert (noisy.upper - noisy.lower).item() > 1.2 * (plain.upper - plain.lower).item()


def test_new_family_is_wider_than_a_well_measured_family():
    # a fake posterior in which family 0's offsets z are pinned down (as data would pin them),
    # while "new" draws its offset from the population: the new family must carry the extra spread
    import xarray as xr

    from forecast.fit import Fit

    base = fake_fit(chains=2, draws=400, seed=7, scale=0.1)
    known = base.families[0]
    post = base.posterior.copy()
    for name, da in post.data_vars.items():
        fam_dims = [d for d in da.dims if d.startswith("family") and known in da[d].values]
        if fam_dims:  # shrink this family's posterior spread to 5% of what it was
            part = da.sel({fam_dims[0]: known})
            pinned = da.copy()
            pinned.loc[{fam_dims[0]: known}] = part.mean() + 0.05 * (part - part.mean())
            post[name] = pinned
    tree = xr.DataTree.from_dict(
        {"/posterior": post, "/sample_stats": base.idata["sample_stats"].to_dataset()}
    )
    fit = Fit(
        idata=tree, observations=base.observations, model=base.model, sampler_settings=base.sampler_settings
    )
    t = predict(fit, params=[3e9, 3e11], tokens=[6e10, 6e12], family=[known, "new"]).table(0.9)
    width = (t.upper - t.lower).to_numpy().reshape(2, 2)  # family x point
    assert (width[1] > 1.5 * width[0]).all(), width


def test_seed_makes_new_family_reproducible(fit):
    a = predict(fit, params=1e10, tokens=2e11, family="new", include_noise=True, random_seed=5).draws
    b = predict(fit, params=1e10, tokens=2e11, family="new", include_noise=True, random_seed=5).draws
    c = predict(fit, params=1e10, tokens=2e11, family="new", include_noise=True, random_seed=6).draws
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)


def test_compute_only_law_needs_only_flops():
    obs = fake_fit(draws=10).observations
    fit = fake_fit(obs, ScalingModel(law="compute"), chains=2, draws=50)
    fc_ = predict(fit, flops=[1e21, 1e23], family="population")
    med = fc_.table()["median"].to_numpy()
    assert med[1] < med[0]
    np.testing.assert_array_equal(fc_.draws["params"].isnull().values, [True, True])
    via_nd = predict(fit, params=[1e9], tokens=[1e21 / 6e9], family="population").table()["median"]
    np.testing.assert_allclose(via_nd.to_numpy(), med[:1], rtol=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(flops=-1e21, params=1e9), "positive"),
        (dict(params=0.0, tokens=1e10), "positive"),
        (dict(params=[1e9, np.nan], tokens=1e10), "positive"),
        (dict(params=1e9, tokens=2e10, flops=2e20), "disagree"),
        (dict(params=1e9), "missing tokens"),
        (dict(), "nothing to forecast"),
        (dict(params=1e9, tokens=2e10, family="gpt-5"), "fitted families: besiroglu-2024"),
        (dict(params=1e9, tokens=2e10, family=[]), "family is empty"),
    ],
)
def test_bad_requests_raise_clear_errors(fit, kwargs, message):
    with pytest.raises(ValueError, match=message):
        predict(fit, **kwargs)


def test_consistent_triple_within_one_percent_is_accepted(fit):
    out = resolve_inputs(("params", "tokens"), params=1e9, tokens=2e10, flops=1.205e20)
    np.testing.assert_allclose(out["tokens"], 2e10)


@pytest.mark.parametrize("ci", [0.0, 1.0, 1.5, -0.1, "wide"])
def test_table_rejects_ci_outside_unit_interval(fit, ci):
    fc_ = predict(fit, params=1e9, tokens=2e10, family="population")
    with pytest.raises(ValueError, match="ci must"):
        fc_.table(ci)


def test_data_constrained_law_needs_unique_tokens():
    from forecast.datasets import simulate

    runs, _ = simulate(n_families=2, runs_per_family=8, seed=2)
    runs["unique_tokens"] = runs["tokens"] / 2
    obs = Observations(runs)
    truth = {
        "E": 1.869,
        "A": 520.8,
        "B": 1487.7,
        "alpha": 0.3527,
        "beta": 0.3527,
        "R_D_star": 15.387756,
        "R_N_star": 5.309743,
    }
    fit = fake_fit(
        obs,
        ScalingModel(law="data_constrained"),
        draws=20,
        scale=1e-4,
        truth=truth,
    )
    with pytest.raises(ValueError, match="unique_tokens"):
        predict(fit, params=6.34e9, tokens=242e9, family="population")
    fc_ = predict(
        fit, params=[6.34e9, 8.67e9], tokens=[242e9, 178e9], unique_tokens=25e9, family="population",
        extrapolation=False,
    )
    # a near-point-mass posterior at Muennighoff et al.'s (2023) parameters gives the law's value there
    expected = fit.law.loss(
        truth, params=np.array([6.34e9, 8.67e9]), tokens=np.array([242e9, 178e9]), unique_tokens=25e9
    )
    np.testing.assert_allclose(fc_.table()["median"], expected, rtol=1e-4)


# ------------------------------------------------------------ real sampling
@pytest.fixture(scope="module")
def small_family_fits():
    """Three families of 15 runs plus one family with 4 small runs (and 4 larger held out)."""
    from forecast.datasets import simulate

    runs, truth = simulate(
        n_families=4, runs_per_family=[15, 15, 15, 8], noise=0.01, seed=11, params_range=(3e7, 1e9)
    )
    small = runs[runs.family == "family-3"].sort_values("params")
    train_small, held_out = small.iloc[:4], small.iloc[4:]
    train = runs[runs.family != "family-3"]
    import pandas as pd

    pooled_obs = Observations(pd.concat([train, train_small], ignore_index=True))
    with pytest.warns(DataWarning, match="only one family"):
        alone_obs = Observations(train_small.reset_index(drop=True))
    kw = dict(chains=2, draws=300, tune=300, random_seed=1, progressbar=False, warn=False)
    pooled = ScalingModel().fit(pooled_obs, **kw)
    alone = ScalingModel(pooling="complete").fit(alone_obs, **kw)
    return pooled, alone, held_out


@pytest.mark.slow  # two real fits with two compiles: ~185 s wall on the shared 2-core box
def test_pooling_narrows_a_small_family_and_still_covers(small_family_fits):
    pooled, alone, held = small_family_fits
    pts = dict(params=held["params"].to_numpy(), tokens=held["tokens"].to_numpy())
    t_pooled = predict(pooled, **pts, family="family-3", include_noise=True).table(0.9)
    t_alone = predict(alone, **pts, family="family-3", include_noise=True).table(0.9)
    width_pooled = (t_pooled.upper - t_pooled.lower).to_numpy()
    width_alone = (t_alone.upper - t_alone.lower).to_numpy()
    assert (width_pooled < width_alone).all(), (width_pooled, width_alone)
    loss = held["loss"].to_numpy()
    covered = (t_pooled.lower.to_numpy() <= loss) & (loss <= t_pooled.upper.to_numpy())
    assert covered.sum() >= len(loss) - 1, (t_pooled, loss)


@pytest.mark.slow
def test_new_family_is_wider_than_a_known_family(small_family_fits):
    pooled, _, _ = small_family_fits
    table = predict(pooled, params=[3e9, 3e10], tokens=[6e10, 6e11], family=["family-0", "new"]).table(0.9)
    width = (table.upper - table.lower).to_numpy().reshape(2, 2)  # family x point
    assert (width[1] > 1.5 * width[0]).all(), width


def test_single_precision_agrees_with_double(fit):
    kw = dict(params=np.logspace(8, 12, 50), tokens=np.logspace(10, 13, 50), family=["population", "new"])
    double = predict(fit, **kw).draws
    single = predict(fit, **kw, precision="single").draws
    assert single.dtype == np.float32
    np.testing.assert_allclose(single.values, double.values, rtol=2e-6)
    with pytest.raises(ValueError, match="precision"):
        predict(fit, **kw, precision="half")


@pytest.mark.parametrize("law", [law for law in LAWS.values() if law.loss_kernel is not None], ids=lambda law: law.name)
def test_a_declared_loss_kernel_agrees_with_the_generic_log_mean(law):
    from dataclasses import replace

    from forecast.predict import evaluate_log_mean

    generic = replace(law, loss_kernel=None)
    rng = np.random.default_rng(0)
    centre = {"params": 20.0, "tokens": 23.0, "flops": 45.0}
    th = {k: law.priors[k].kwargs["mu"] + 0.3 * rng.standard_normal((2, 50, 3)) for k in law.params}
    logx = {"params": np.log([1e8, 1e10, 1e12]), "tokens": np.log([2e9, 2e11, 2e13]),
            "flops": np.log([1e18, 1e21, 1e24]), "unique_tokens": np.log([1e9, 1e11, 1e15])}
    logx = {k: logx[k] for k in law.inputs}
    offset = 0.01 * rng.standard_normal((2, 50, 1, 3))
    for kw in ({}, {"exp": True}, {"log_offset": offset, "noise": (np.full((2, 50, 3), 0.02), None, "student_t")}):
        fast = evaluate_log_mean(law, th, logx, centre, **kw)
        slow = evaluate_log_mean(generic, th, logx, centre, **kw)
        np.testing.assert_allclose(fast, slow, rtol=1e-12)
    # single precision: the loss to about 7 digits (its log near 0 has no relative precision to compare)
    fast32 = evaluate_log_mean(law, th, logx, centre, dtype=np.float32, exp=True)
    np.testing.assert_allclose(fast32, evaluate_log_mean(generic, th, logx, centre, exp=True), rtol=1e-5)


def test_student_t_noise_has_the_likelihoods_spread(fit):
    # the noise's sd on log loss should be sigma * sqrt(nu / (nu - 2)) = sigma * sqrt(2) for nu = 4
    from forecast.predict import evaluate_log_mean

    th = {k: np.zeros(()) for k in fit.law.params}
    logx = {"params": np.zeros(200_000), "tokens": np.zeros(200_000)}
    centre = {"params": 0.0, "tokens": 0.0}
    base = evaluate_log_mean(fit.law, th, logx, centre)
    noisy = evaluate_log_mean(fit.law, th, logx, centre, noise=(np.float64(0.02), None, "student_t"))
    shift = noisy - base
    assert float(np.std(shift)) == pytest.approx(0.02 * np.sqrt(2), rel=0.05)
    q = np.quantile(shift / 0.02, [0.05, 0.95])
    np.testing.assert_allclose(q, [-2.132, 2.132], rtol=0.03)  # t_4 quantiles


def test_family_none_means_every_fitted_family(fit):
    fc_ = predict(fit, params=1e9, tokens=2e10, family=None)
    assert fc_.families == fit.families and fc_.draws.sizes["family"] == len(fit.families)


def test_checkpoints_of_a_fitted_run_carry_its_offset(fit):
    import xarray as xr

    from forecast.fit import Fit

    post = fit.posterior.copy()
    shape = (post.sizes["chain"], post.sizes["draw"])
    post["sigma_run"] = (("chain", "draw"), np.full(shape, 0.05))
    post["z_run"] = xr.DataArray(
        np.stack([np.ones(shape), -np.ones(shape)], axis=-1),
        dims=("chain", "draw", "run"),
        coords={"run": ["r1", "r2"]},
    )
    tree = xr.DataTree.from_dict(
        {"/posterior": post, "/sample_stats": fit.idata["sample_stats"].to_dataset()}
    )
    runs_fit = Fit(
        idata=tree, observations=fit.observations, model=fit.model, sampler_settings=fit.sampler_settings
    )
    kw = dict(params=[1e9, 1e9, 1e9], tokens=2e10, family="population")
    base = predict(fit, **kw).draws.values
    with_runs = predict(runs_fit, **kw, run=["r1", "r2", "unseen"])
    ratio = with_runs.draws.values / base
    np.testing.assert_allclose(ratio[..., 0], np.exp(0.05), rtol=1e-12)
    np.testing.assert_allclose(ratio[..., 1], np.exp(-0.05), rtol=1e-12)
    np.testing.assert_allclose(ratio[..., 2], 1.0, rtol=1e-12)
    assert with_runs.table()["run"].tolist() == ["r1", "r2", "unseen"]
    noisy = predict(runs_fit, **kw, run=["r1", "r2", "unseen"], include_noise=True).table(0.9)
    width = (noisy.upper - noisy.lower).to_numpy()
    assert width[2] > 1.5 * max(width[0], width[1])  # an unseen run adds its own offset's spread
    with pytest.raises(ValueError, match="run effects"):
        predict(fit, **kw, run="r1")


def test_dask_backed_inputs_give_the_same_forecast_and_frontier(fit):
    """A chunked (lazy) posterior and dask-backed xarray inputs give the in-memory answer."""
    pytest.importorskip("dask")
    import xarray as xr

    lazy_fit = fake_fit(chains=2, draws=200, seed=3)
    lazy_fit.idata["posterior"] = xr.DataTree(fit.idata["posterior"].to_dataset().chunk({"draw": 64}))
    assert all(v.chunks is not None for v in lazy_fit.posterior.data_vars.values())
    params = np.geomspace(1e9, 1e12, 40)
    tokens = 20 * params
    lazy_params = xr.DataArray(params, dims="point").chunk(16)
    lazy_tokens = xr.DataArray(tokens, dims="point").chunk(16)
    for family, noise in (("small-lab", False), ("new", True)):
        want = predict(fit, params=params, tokens=tokens, family=family, include_noise=noise, random_seed=5)
        got = predict(
            lazy_fit, params=lazy_params, tokens=lazy_tokens, family=family, include_noise=noise, random_seed=5
        )
        np.testing.assert_allclose(got.draws.values, want.draws.values, rtol=1e-12)
        assert got.table().equals(want.table())
    budgets = np.geomspace(1e21, 1e26, 6)
    want_f = fit.frontier(budgets).table()
    got_f = lazy_fit.frontier(xr.DataArray(budgets, dims="budget").chunk(3)).table()
    np.testing.assert_allclose(got_f.select_dtypes("number"), want_f.select_dtypes("number"), rtol=1e-12)
