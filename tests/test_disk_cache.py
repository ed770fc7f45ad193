"""The disk cache of compiled models (forecast.disk_cache): reused across compiles, keyed by content."""

from __future__ import annotations

import numpy as np
import pytest

import forecast.disk_cache as dc


def _model(prior_sd: float = 1.0):
    import pymc as pm

    with pm.Model() as model:
        y = pm.Data("y", np.array([0.3, -0.2, 0.8, 0.1]))
        mu = pm.Normal("mu", 0.0, prior_sd)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("obs", mu, sigma, observed=y)
    return model


def _draws(compiled, *, seed: int = 3) -> dict[str, np.ndarray]:
    import nutpie

    trace = nutpie.sample(compiled, draws=100, tune=100, chains=2, cores=1, seed=seed, progress_bar=False)
    return {name: trace.posterior[name].values for name in ("mu", "sigma")}


def test_a_compiled_model_is_stored_then_loaded_and_samples_the_same_draws(tmp_path, monkeypatch):
    monkeypatch.setenv(dc.CACHE_ENV, str(tmp_path))
    first = dc.compile_model(_model(), var_names=["mu", "sigma"])
    assert first.compiled_logp_func._cache_hits == 0  # compiled and stored
    assert len(list((tmp_path / "compiled").glob("model_*.py"))) == 1

    again = dc.compile_model(_model(), var_names=["mu", "sigma"])
    assert again.compiled_logp_func._cache_hits == 1 and again.compiled_expand_func._cache_hits == 1

    monkeypatch.setenv(dc.CACHE_ENV, "off")
    plain = dc.compile_model(_model(), var_names=["mu", "sigma"])  # nutpie's own compile
    assert not hasattr(plain.compiled_logp_func, "_cache_hits") or plain.compiled_logp_func._cache_hits == 0

    a, b, c = _draws(first), _draws(again), _draws(plain)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=f"{name}: loaded from disk")
        np.testing.assert_array_equal(a[name], c[name], err_msg=f"{name}: nutpie's compile")

    # new data through nutpie's with_data reach the loaded callbacks (read at run time, not compiled in)
    y = np.array([5.3, 4.8, 5.8, 5.1])
    moved, moved_plain = _draws(again.with_data(y=y)), _draws(plain.with_data(y=y))
    np.testing.assert_array_equal(moved["mu"], moved_plain["mu"])
    assert np.median(moved["mu"]) > np.median(b["mu"]) + 1.0


def test_another_prior_is_another_entry(tmp_path, monkeypatch):
    monkeypatch.setenv(dc.CACHE_ENV, str(tmp_path))
    dc.compile_model(_model(1.0), var_names=["mu", "sigma"])
    other = dc.compile_model(_model(2.0), var_names=["mu", "sigma"])
    assert other.compiled_logp_func._cache_hits == 0, "a model with another prior must not load the first's code"
    assert len(list((tmp_path / "compiled").glob("model_*.py"))) == 2
    assert dc.clear_disk_cache() == 2
    assert not list((tmp_path / "compiled").glob("model_*")) and not list(
        (tmp_path / "compiled" / "__pycache__").glob("model_*"))


def test_an_unusable_cache_folder_falls_back_to_nutpie(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(dc.CACHE_ENV, str(blocker))
    compiled = dc.compile_model(_model(), var_names=["mu", "sigma"])
    assert np.isfinite(_draws(compiled)["mu"]).all()


def test_cache_folder_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(dc.CACHE_ENV, str(tmp_path))
    assert dc.cache_dir() == tmp_path / "compiled"
    for off in ("off", "0", ""):
        monkeypatch.setenv(dc.CACHE_ENV, off)
        assert dc.cache_dir() is None
    monkeypatch.delenv(dc.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dc.cache_dir() == tmp_path / "xdg" / "forecast" / "compiled"


def test_an_operation_from_outside_is_not_cached():
    import pytensor.tensor as pt
    from pytensor.graph import FunctionGraph, Op
    from pytensor.graph.basic import Apply

    class UserKernel(Op):  # a compiled kernel the cache key cannot see into
        def make_node(self, x):
            return Apply(self, [x], [x.type()])

        def perform(self, node, inputs, outputs):
            outputs[0][0] = inputs[0]

    x = pt.dvector("x")
    assert dc._foreign_ops(FunctionGraph([x], [pt.exp(x)], clone=True)) == []
    found = dc._foreign_ops(FunctionGraph([x], [pt.exp(UserKernel()(x))], clone=True))
    assert found and found[0].endswith("UserKernel")


@pytest.mark.parametrize("keep", [0, 1])
def test_prune_keeps_the_newest_entries(tmp_path, keep):
    import os

    for i, stem in enumerate(("model_old", "model_new")):
        (tmp_path / f"{stem}.py").write_text("")
        (tmp_path / "__pycache__").mkdir(exist_ok=True)
        (tmp_path / "__pycache__" / f"{stem}.logp-10.py312.nbi").write_text("")
        os.utime(tmp_path / f"{stem}.py", (1000 + i, 1000 + i))
    dc._prune(tmp_path, keep=keep)
    left = sorted(p.name for p in tmp_path.rglob("model_*"))
    assert left == ([] if keep == 0 else ["model_new.logp-10.py312.nbi", "model_new.py"])


def test_an_error_inside_the_log_density_is_a_rejected_point_as_in_nutpie(tmp_path, monkeypatch):
    """An evaluation that raises (here a failed assertion beyond mu = 1) is rejected, not read."""
    import pymc as pm
    import pytensor.tensor as pt
    from pytensor.raise_op import Assert

    def model():
        with pm.Model() as m:
            mu = pm.Normal("mu", 0.0, 1.0)
            pm.Potential("fails_beyond_1", Assert("mu beyond 1")(pt.constant(0.0), pt.lt(mu, 1.0)))
        return m

    monkeypatch.setenv(dc.CACHE_ENV, str(tmp_path))
    cached = dc.compile_model(model(), var_names=["mu"])
    monkeypatch.setenv(dc.CACHE_ENV, "off")
    plain = dc.compile_model(model(), var_names=["mu"])
    import nutpie

    draws = [nutpie.sample(c, draws=200, tune=200, chains=2, cores=1, seed=5, progress_bar=False)
             .posterior["mu"].values for c in (cached, plain)]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert draws[0].max() < 1.0
