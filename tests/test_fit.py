"""Fit plumbing on fake posteriors: diagnostics gate, summary, parameter draws, save/load."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import forecast as fc
from forecast.fit import FORMAT_VERSION, ConvergenceWarning, FitFileError
from forecast.testing import BESIROGLU_2024, fake_fit


@pytest.fixture(scope="module")
def fit():
    return fake_fit(chains=4, draws=1000, seed=1)


def with_divergences(fit, n):
    stats = fit.idata["sample_stats"].to_dataset().copy()
    div = np.zeros(stats["diverging"].shape, dtype=bool)
    div.flat[:n] = True
    stats["diverging"] = (("chain", "draw"), div)
    idata = xr.DataTree.from_dict({"/posterior": fit.posterior, "/sample_stats": stats})
    return fc.Fit(idata, fit.observations, fit.model, fit.sampler_settings)


def test_gate_passes_clean_fake_fit(fit):
    d = fit.diagnostics()
    assert d.ok and d.divergences == 0 and d.max_rhat < 1.01 and d.min_ess_bulk > 400
    assert "PASS" in repr(d)


def test_gate_fails_loudly_on_divergences(fit):
    bad = with_divergences(fit, 3)
    d = bad.diagnostics()
    assert not d.ok and d.divergences == 3
    assert "3 divergent" in repr(d) and "FAIL" in repr(d)
    with pytest.warns(ConvergenceWarning, match="FAILS the convergence gate"):
        table = bad.summary()
    assert table.attrs["diagnostics_ok"] is False


def test_gate_fails_on_unmixed_chains(fit):
    post = fit.posterior.copy()
    shifted = post["log_E_mu"].values.copy()
    shifted[0] += 1.0  # one chain stuck elsewhere
    post["log_E_mu"] = (("chain", "draw"), shifted)
    stats = fit.idata["sample_stats"].to_dataset()
    bad = fc.Fit(xr.DataTree.from_dict({"/posterior": post, "/sample_stats": stats}),
                 fit.observations, fit.model, fit.sampler_settings)
    d = bad.diagnostics()
    assert d.max_rhat > 1.01 and d.worst["rhat"] == "log_E_mu"
    assert any("R-hat" in p for p in d.problems)


def test_summary_columns_units_and_population_rows(fit):
    s = fit.summary(ci=0.8)
    assert list(s.columns) == ["parameter", "family", "mean", "sd", "median", "lower", "upper", "r_hat", "ess_bulk"]
    assert s.attrs["ci"] == 0.8 and s.attrs["interval"] == "equal-tailed"
    assert set(s["family"]) == {*fit.families, "population"}
    pop = s[s["family"] == "population"].set_index("parameter")
    for name, value in BESIROGLU_2024.items():
        # fake draws scatter around Besiroglu's values: the population median is in the user's units
        assert pop.loc[name, "median"] == pytest.approx(value, rel=0.15)
    assert (s["lower"] <= s["median"]).all() and (s["median"] <= s["upper"]).all()
    assert {"sigma", "tau[log_alpha]"} <= set(pop.index)


def test_summary_interval_matches_quantiles(fit):
    s = fit.summary(ci=0.9).set_index(["parameter", "family"])
    alpha = fit.parameter_draws("hoffmann-2022")["alpha"].values.ravel()
    lo, hi = np.quantile(alpha, [0.05, 0.95])
    assert s.loc[("alpha", "hoffmann-2022"), "lower"] == pytest.approx(lo)
    assert s.loc[("alpha", "hoffmann-2022"), "upper"] == pytest.approx(hi)


def test_parameter_draws_new_family_is_wider_than_population(fit):
    pop = fit.parameter_draws("population")["alpha"]
    new = fit.parameter_draws("new")["alpha"]
    assert float(new.std()) > float(pop.std())
    assert set(pop.dims) == {"chain", "draw"}
    assert fit.parameter_draws()["alpha"].sizes["family"] == len(fit.families)


def test_unknown_family_lists_known(fit):
    with pytest.raises(ValueError, match="fitted families: besiroglu-2024"):
        fit.parameter_draws("gpt-9")


def test_unpooled_parameter_has_no_population(fit):
    f = fake_fit(model=fc.ScalingModel(pooling={"alpha": "none"}), draws=1000)
    with pytest.raises(ValueError, match="no population"):
        f.parameter_draws("population")
    assert np.isfinite(f.parameter_draws("new")["alpha"].values).all()
    s = f.summary()
    assert not ((s["parameter"] == "alpha") & (s["family"] == "population")).any()
    assert ((s["parameter"] == "alpha") & (s["family"] == "small-lab")).any()


def test_save_load_round_trip_is_exact(fit, tmp_path):
    path = fit.save(tmp_path / "models" / "demo.nc")
    again = fc.load_fit(path)
    pd.testing.assert_frame_equal(fit.summary(), again.summary())
    xr.testing.assert_identical(fit.posterior, again.posterior)
    pd.testing.assert_frame_equal(fit.observations.table, again.observations.table)
    assert again.model.settings() == fit.model.settings()
    assert again.id == fit.id
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["format_version"] == FORMAT_VERSION
    assert card["model"]["law"] == "chinchilla" and card["data"]["hash"] == fit.observations.hash()
    assert card["diagnostics"]["ok"] is True and "forecast_version" in card


def test_round_trip_keeps_vector_priors_and_runs(tmp_path):
    obs = fc.datasets.load_demo()
    table = obs.to_dataframe()
    table["run"] = table["family"] + "-" + (table.index // 2).astype(str)
    model = fc.ScalingModel(pooling={"E": "complete"}, priors={"alpha": fc.Prior("Normal", mu=-1.1, sigma=0.25)})
    f = fake_fit(fc.Observations.from_table(table), model, draws=30)
    again = fc.load_fit(f.save(tmp_path / "r.nc"))
    assert again.model.priors["log_alpha"] == fc.Prior("Normal", mu=-1.1, sigma=0.25)
    assert again.observations.table["run"].tolist() == table["run"].tolist()


def test_interrupted_save_leaves_old_file_intact(fit, tmp_path, monkeypatch):
    path = fit.save(tmp_path / "keep.nc")
    before = path.read_bytes()

    def boom(self, target, **kwargs):
        with open(target, "wb") as fh:
            fh.write(b"partial garbage")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", boom)
    with pytest.raises(KeyboardInterrupt):
        fit.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    monkeypatch.undo()
    pd.testing.assert_frame_equal(fc.load_fit(path).summary(), fit.summary())


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved fit"):
        fc.load_fit(tmp_path / "missing.nc")
    junk = tmp_path / "junk.nc"
    junk.write_text("not netcdf")
    with pytest.raises(FitFileError, match="junk.nc is not a saved forecast fit"):
        fc.load_fit(junk)
    other = tmp_path / "other.nc"
    xr.DataTree.from_dict({"/posterior": xr.Dataset({"x": ("a", [1.0])})}).to_netcdf(other, engine="h5netcdf")
    with pytest.raises(FitFileError, match="other.nc is NetCDF but not a saved forecast fit"):
        fc.load_fit(other)


def test_newer_format_is_refused_with_upgrade_hint(fit, tmp_path):
    tree = fit.to_datatree()
    card = json.loads(tree.attrs["forecast_card"])
    card["format_version"] = FORMAT_VERSION + 1
    tree.attrs["forecast_card"] = json.dumps(card)
    # a genuine newer file has a card checksum that matches
    tree.attrs["forecast_card_sha256"] = hashlib.sha256(tree.attrs["forecast_card"].encode()).hexdigest()
    path = tmp_path / "future.nc"
    tree.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(FitFileError, match="upgrade forecast"):
        fc.load_fit(path)


def test_save_requires_nc_suffix(fit, tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.nc"):
        fit.save(tmp_path / "model.json")
