"""Backtests: the split, the scores, new families, and a real-sampling check of coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.backtest import Backtest, backtest, split_runs
from forecast.data import Observations
from forecast.datasets import simulate
from forecast.testing import fake_fit


def _fake(obs, model, **kwargs):
    """Plumbing only: a fake posterior around Besiroglu et al.'s values, shaped like a fit of ``obs``."""
    return fake_fit(obs, model, draws=100, seed=kwargs.get("random_seed") or 0)


@pytest.fixture(scope="module")
def obs():
    runs, _ = simulate(n_families=3, runs_per_family=[15, 15, 8], seed=2)
    big = runs[runs.family == "family-2"].copy()
    big["family"] = "giant"  # a family whose every run is above the threshold
    big["params"] *= 30
    return Observations(pd.concat([runs, big], ignore_index=True))


def test_split_by_share_and_by_threshold(obs):
    mask, threshold = split_runs(obs, split="flops", holdout=0.25)
    flops = obs.table["flops"].to_numpy()
    assert mask.sum() == pytest.approx(0.25 * len(flops), abs=1)
    assert (flops[mask] > threshold).all() and (flops[~mask] <= threshold).all()
    mask2, t2 = split_runs(obs, split="params", holdout=1e9)
    assert t2 == 1e9 and (obs.table["params"].to_numpy()[mask2] > 1e9).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(split="tokens"), "split must be"),
        (dict(holdout=0.0), "holdout"),
        (dict(holdout=1.0), "holdout"),
        (dict(holdout=1e40), "nothing held out"),
        (dict(holdout=2.0), "nothing to fit"),
    ],
)
def test_bad_splits_raise(obs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        split_runs(obs, **kwargs)


def test_scores_are_what_the_table_says(obs):
    bt = backtest(obs, split="params", holdout=0.3, fit_fn=_fake, bootstrap=10)
    assert isinstance(bt, Backtest)
    table, metrics = bt.table(), bt.metrics().set_index("method")
    assert len(table) == 3 * bt.settings["n_test"]  # bayes with and without extrapolation error, baseline
    for method, g in table.groupby("method"):
        inside = (g.lower_90 <= g.loss) & (g.loss <= g.upper_90)
        assert metrics.loc[method, "coverage_90"] == pytest.approx(inside.mean())
        err = (g["median"] - g["loss"]).abs() / g["loss"]
        assert metrics.loc[method, "mean_abs_rel_error"] == pytest.approx(err.mean())
        assert (g.width_50 < g.width_90).all()
    assert metrics.loc["bayes", "nominal_90"] == 0.9


def test_whole_family_above_threshold_is_forecast_as_new(obs):
    bt = backtest(obs, split="params", holdout=0.3, fit_fn=_fake, bootstrap=0)
    t = bt.table()
    giant = t[t.family == "giant"]
    assert len(giant) > 0 and (giant["forecast_family"] == "new").all()
    assert "giant" in bt.settings["new_families"] and "giant" not in bt.fit.families
    known = t[t.family == "family-0"]
    assert (known["forecast_family"] == "family-0").all()
    by_kind = bt.metrics(by="forecast_kind")
    assert set(by_kind["forecast_kind"]) == {"new family", "known family"}
    # without a bootstrap the baseline has no interval: coverage is unknown, not zero
    assert np.isnan(bt.metrics().set_index("method").loc["baseline", "coverage_90"])


def test_fit_fn_receives_only_the_training_runs(obs):
    seen = {}

    def spy(train, model, **kwargs):
        seen["train"] = train
        seen["kwargs"] = kwargs
        return _fake(train, model, **kwargs)

    bt = backtest(obs, split="flops", holdout=0.2, fit_fn=spy, baseline=False, fit_kwargs={"draws": 7})
    assert seen["train"].table["flops"].max() <= bt.settings["threshold"]
    assert seen["kwargs"]["draws"] == 7 and seen["kwargs"]["random_seed"] == 0
    assert set(bt.table()["method"]) == {"bayes", "bayes_no_extrapolation"}


# ------------------------------------------------------------ real sampling
def test_real_backtest_covers_held_out_runs_and_matches_the_point_fit():
    runs, _ = simulate(n_families=3, runs_per_family=15, noise=0.01, seed=21)
    bt = backtest(
        Observations(runs),
        split="flops",
        holdout=0.2,
        bootstrap=50,
        fit_kwargs=dict(chains=2, draws=300, tune=300, warn=False),
        random_seed=4,
    )
    m = bt.metrics().set_index("method")
    assert m.loc["bayes", "n"] == 9
    assert m.loc["bayes", "coverage_90"] >= 7 / 9, bt.table()
    assert m.loc["bayes", "mean_abs_rel_error"] < 0.03
    assert m.loc["bayes", "mean_abs_rel_error"] <= 1.5 * m.loc["baseline", "mean_abs_rel_error"] + 0.005
