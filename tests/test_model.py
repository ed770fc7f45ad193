"""ScalingModel: pooling kept apart from priors, model structure, and prior predictive checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecast as fc
from forecast.priors import Prior


def test_pooling_resolves_user_and_sampled_names():
    m = fc.ScalingModel(pooling={"alpha": "complete", "log_beta": "none", "sigma": "none"})
    assert m.pooling["log_alpha"] == "complete"
    assert m.pooling["log_beta"] == "none"
    assert m.pooling["log_E"] == "partial"
    assert m.pooling["sigma"] == "none"


def test_changing_a_prior_never_changes_pooling():
    m = fc.ScalingModel(priors={"alpha": Prior("Normal", mu=-1.0, sigma=0.2)})
    assert m.pooling["log_alpha"] == "partial"
    assert m.priors["log_alpha"] == Prior("Normal", mu=-1.0, sigma=0.2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pooling": {"gamma": "partial"}}, "no parameter 'gamma'"),
    ({"pooling": {"alpha": "some"}}, "must be one of"),
    ({"pooling": {"sigma": "shared"}}, "must be one of"),
    ({"likelihood": "cauchy"}, "likelihood must be one of"),
    ({"priors": {"alpha": 0.3}}, "must be a forecast.Prior"),
    ({"spread": {"alpha": -1}}, "positive"),
    ({"law": "hoffmann"}, "unknown law"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fc.ScalingModel(**kwargs)


def test_settings_round_trip():
    m = fc.ScalingModel(pooling={"E": "complete"}, priors={"beta": Prior("Normal", mu=-1.2, sigma=0.3)},
                        likelihood="normal", parametrization="noncentred")
    again = fc.ScalingModel.from_settings(m.settings())
    assert again.settings() == m.settings()


def test_build_structure_per_pooling():
    obs = fc.datasets.load_demo()
    m = fc.ScalingModel(pooling={"E": "complete", "A": "none"})
    pm_model = m.build(obs)
    names = {v.name for v in pm_model.free_RVs}
    assert "log_E" in names and "log_E_mu" not in names
    assert "a_family" in names and "a_mu" not in names
    assert {"b_mu", "b_tau", "b_family", "log_alpha_mu", "log_alpha_tau", "log_alpha_z"} <= names
    assert pm_model.coords["family"] == tuple(obs.families)
    assert len(pm_model.coords["obs"]) == len(obs)


def test_run_effects_for_checkpoints():
    obs = fc.datasets.load_demo()
    table = obs.to_dataframe()
    table["run"] = table["family"] + "-" + (table.index // 2).astype(str)  # two checkpoints per run
    with_runs = fc.Observations.from_table(table)
    pm_model = fc.ScalingModel(run_effects=True).build(with_runs)
    assert "sigma_run" in {v.name for v in pm_model.free_RVs}
    assert len(pm_model.coords["run"]) == len(table) // 2
    # off by default: with one size per run the offsets are confounded with the N term
    assert "sigma_run" not in {v.name for v in fc.ScalingModel().build(with_runs).free_RVs}
    with pytest.raises(ValueError, match="needs a 'run' column"):
        fc.ScalingModel(run_effects=True).build(obs)


def test_prior_predictive_is_plausible_for_web_text():
    """The default priors put most prior predictive losses in the range seen for LMs (1.5-8 nats)."""
    obs = fc.datasets.load_demo()
    prior = fc.ScalingModel().prior_predictive(obs, draws=500, random_seed=3)
    loss = np.exp(prior["prior_predictive"]["log_loss"].values.ravel())
    q05, q50, q95 = np.quantile(loss, [0.05, 0.5, 0.95])
    assert 1.0 < q05 < 2.5
    assert 2.0 < q50 < 4.5
    assert 3.0 < q95 < 15.0
    e = np.exp(prior["prior"]["log_E_mu"].values.ravel())
    assert np.quantile(e, 0.05) > 0.9 and np.quantile(e, 0.95) < 3.5


def test_fit_rejects_a_dataframe():
    with pytest.raises(TypeError, match="wrap a DataFrame"):
        fc.ScalingModel().fit(pd.DataFrame({"a": [1]}))


def test_a_fit_records_the_low_rank_settings_nutpie_sampled_with(monkeypatch):
    """The mass-matrix settings that keep large fits fast reach nutpie, and the fit's card records them."""
    import nutpie

    from forecast.config import SAMPLER
    from forecast.datasets import simulate

    seen = {}
    real_sample = nutpie.sample

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_sample(*args, **kwargs)

    monkeypatch.setattr(nutpie, "sample", spy)
    obs = fc.Observations(simulate(3, 12, seed=3)[0])
    fit = fc.ScalingModel().fit(obs, draws=20, tune=30, chains=1, progressbar=False, warn=False, random_seed=1)
    assert seen["adaptation"] == "low_rank"
    assert seen["mass_matrix_gamma"] == SAMPLER.low_rank_gamma
    for key in ("adaptation", "mass_matrix_gamma", "early_window_switch_freq"):
        assert fit.sampler_settings[key] == seen[key], key
    diag = fc.ScalingModel().fit(obs, draws=20, tune=30, chains=1, progressbar=False, warn=False,
                                 random_seed=1, adaptation="diag")
    # nutpie refuses low-rank options with a diagonal matrix, so none may be passed or recorded
    assert "mass_matrix_gamma" not in diag.sampler_settings


@pytest.mark.filterwarnings("ignore::forecast.data.DataWarning")  # 4 runs of a sparse family
def test_refit_of_a_cached_structure_names_the_new_families():
    """A second data set with the same structure reuses the compile but keeps its own family names,
    also in the centred / non-centred split of a mixed parametrization."""
    from forecast.datasets import simulate

    kw = {"draws": 50, "tune": 50, "chains": 2, "progressbar": False, "warn": False, "random_seed": 1}
    model = fc.ScalingModel()
    model.fit(fc.Observations(simulate(3, [15, 15, 4], seed=1)[0]), **kw)
    runs, _ = simulate(3, [15, 15, 4], seed=2)
    # "family-1" now names the sparse family: a stale name list would put it in the wrong slot
    runs["family"] = runs["family"].map({"family-0": "zeta", "family-1": "alpha", "family-2": "family-1"})
    fit = model.fit(fc.Observations(runs), **kw)
    assert fit.sampler_settings["compile_cached"] and fit.sampler_settings["fused_likelihood"]
    post = fit.posterior
    assert list(post["family_centred"].values) == ["zeta", "alpha"]
    assert list(post["family_noncentred"].values) == ["family-1"]
    draws = fit.parameter_draws(None)
    assert list(draws["family"].values) == ["zeta", "alpha", "family-1"]
    # the sparse family's values are the non-centred ones, mu + tau * z
    want = post["log_E_mu"] + post["log_E_tau"] * post["log_E_z"].sel(family_noncentred="family-1")
    np.testing.assert_allclose(np.log(draws["E"].sel(family="family-1")), want, rtol=1e-12)


def test_a_failed_fit_is_retried_once_and_says_so(caplog):
    """A fit that fails the gate is sampled once more with four times the draws, twice the tuning; the log says so
    and the fit card keeps the first run's settings and problems. No second retry. A run shortened on
    purpose is retried only when asked."""
    from forecast.config import SAMPLER
    from forecast.datasets import simulate

    obs = fc.Observations(simulate(3, 12, seed=3)[0])
    kw = {"chains": 2, "progressbar": False, "warn": False, "random_seed": 1}
    with caplog.at_level("WARNING", logger="forecast"):
        fit = fc.ScalingModel().fit(obs, draws=20, tune=20, retry=True, **kw)  # far too short to pass
    card = fit.sampler_settings
    assert card["retry"]["first"] == {"draws": 20, "tune": 20, "target_accept": SAMPLER.target_accept}
    assert card["retry"]["first_problems"], "the first run's problems are recorded"
    assert (card["draws"], card["tune"]) == (80, 40)
    assert fit.posterior.sizes["draw"] == 80
    assert len([r for r in caplog.records if "sampling once more" in r.getMessage()]) == 1
    # by default a run shorter than the defaults comes back as it is
    plain = fc.ScalingModel().fit(obs, draws=20, tune=20, **kw)
    assert "retry" not in plain.sampler_settings and plain.posterior.sizes["draw"] == 20
    assert not plain.diagnostics().ok


def test_every_constructor_argument_is_in_the_saved_settings():
    """A new ScalingModel argument left out of settings() would be lost when a fit is saved and loaded."""
    import inspect

    arguments = [p for p in inspect.signature(fc.ScalingModel.__init__).parameters if p != "self"]
    settings = fc.ScalingModel().settings()
    assert sorted(arguments) == sorted(settings), set(arguments) ^ set(settings)
    # and settings() is enough to rebuild the model
    model = fc.ScalingModel(law="kaplan", pooling="none", likelihood="normal", run_effects=True,
                            spread_prior="gamma", centred_min_runs=7)
    assert fc.ScalingModel.from_settings(model.settings()).settings() == model.settings()
