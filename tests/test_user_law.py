"""A law typed by a user gets everything the built-in laws get, and is compiled by what it computes.

Chinchilla's formula written by hand with ``fc.Law`` (no declared capabilities: no closed-form
frontier, no fast loss kernel, no fused likelihood) must give the built-in law's fit, forecast,
frontier, data wall, backtest with its baseline and LOO comparison, within Monte Carlo error.
"""

from __future__ import annotations

import numpy as np
import pytest

import forecast as fc
from forecast.laws import CHINCHILLA


def _x(lx, c):
    return lx["params"] - c["params"], lx["tokens"] - c["tokens"]


def my_log_mean(t, lx, c, xp):
    x, y = _x(lx, c)
    return xp.log(xp.exp(t["log_E"]) + xp.exp(t["a"] - xp.exp(t["log_alpha"]) * x)
                  + xp.exp(t["b"] - xp.exp(t["log_beta"]) * y))


def my_to_user(t, c, xp):
    alpha, beta = xp.exp(t["log_alpha"]), xp.exp(t["log_beta"])
    return {"E": xp.exp(t["log_E"]), "A": xp.exp(t["a"] + alpha * c["params"]),
            "B": xp.exp(t["b"] + beta * c["tokens"]), "alpha": alpha, "beta": beta}


def my_from_user(u, c, xp):
    return {"log_E": xp.log(u["E"]), "a": xp.log(u["A"]) - u["alpha"] * c["params"],
            "b": xp.log(u["B"]) - u["beta"] * c["tokens"], "log_alpha": xp.log(u["alpha"]),
            "log_beta": xp.log(u["beta"])}


def user_law(log_mean=my_log_mean, name="my_chinchilla") -> fc.Law:
    return fc.Law(
        name=name, formula="L = E + A / N^alpha + B / D^beta", inputs=("params", "tokens"),
        params=("log_E", "a", "b", "log_alpha", "log_beta"), user_params=("E", "A", "B", "alpha", "beta"),
        priors=dict(CHINCHILLA.priors), spread=dict(CHINCHILLA.spread), log_mean=log_mean,
        to_user=my_to_user, from_user=my_from_user, centred=("params", "tokens"),
    )


def no_floor_log_mean(t, lx, c, xp):
    """Another formula under the same name: no irreducible loss."""
    x, y = _x(lx, c)
    return xp.log(xp.exp(t["a"] - xp.exp(t["log_alpha"]) * x) + xp.exp(t["b"] - xp.exp(t["log_beta"]) * y))


# ---------------------------------------------------------------- compile cache
def test_a_law_is_compiled_by_what_it_computes_not_by_its_name(monkeypatch):
    """Same name, other formula: compiled afresh. The same law defined again: the cached compile."""
    import forecast.disk_cache
    from forecast.datasets import simulate

    compiled = []

    class Stub:
        def __init__(self, model):
            self.model = model

        def with_data(self, **_):
            return self

    def compile_stub(model, **_):
        compiled.append(model)
        return Stub(model)

    monkeypatch.setattr(forecast.disk_cache, "compile_model", compile_stub)
    fc.clear_compile_cache()
    obs = fc.Observations(simulate(2, 12, seed=1)[0])
    first, cached = fc.ScalingModel(law=user_law()).compiled(obs)
    assert not cached and len(compiled) == 1
    # a notebook redefines "my_chinchilla" with another formula: a silent reuse would be a wrong answer
    other, cached = fc.ScalingModel(law=user_law(no_floor_log_mean)).compiled(obs)
    assert not cached and len(compiled) == 2 and other is not first
    # the first law defined again (a notebook cell run twice: new function objects, the same formula)
    # computes the same thing: one compile serves both
    retyped = user_law(lambda t, lx, c, xp: my_log_mean(t, lx, c, xp))
    again, cached = fc.ScalingModel(law=retyped).compiled(obs)
    assert cached and again is first and len(compiled) == 2
    assert fc.clear_compile_cache() == 2
    assert not fc.ScalingModel(law=user_law()).compiled(obs)[1]
    fc.clear_compile_cache()


def test_the_compile_cache_is_bounded_and_drops_the_least_recently_used():
    from forecast.compile_cache import CompileCache

    cache = CompileCache(maxsize=3)
    for key in "abcd":
        cache.put(key, key.upper())
        cache.get("a")  # "a" stays in use
    assert cache.keys() == ["c", "d", "a"]  # least recently used first; "b" was dropped
    assert "b" not in cache and len(cache) == 3 and cache.get("b") is None
    with pytest.raises(ValueError, match="maxsize"):
        CompileCache(maxsize=0)


# ----------------------------------------------------------- same answers, any law
def _mc_close(a: np.ndarray, b: np.ndarray, *, ess: float, k: float = 4.0) -> bool:
    """Means of two sets of draws agree within k Monte Carlo standard errors (each with ``ess`` draws)."""
    se = np.sqrt((np.var(a) + np.var(b)) / ess)
    return bool(abs(np.mean(a) - np.mean(b)) <= k * se)


@pytest.mark.slow  # two nutpie fits and two backtests (three compiles): a few minutes on 2 cores
def test_a_user_typed_chinchilla_gives_the_built_in_answers():
    from forecast.backtest import backtest
    from forecast.compare import compare
    from forecast.datasets import simulate
    from forecast.frontier import frontier

    obs = fc.Observations(simulate(4, 30, seed=7)[0])
    kw = {"draws": 1000, "tune": 1000, "chains": 2, "progressbar": False, "random_seed": 11, "warn": False}
    fits = {"built_in": fc.ScalingModel().fit(obs, **kw), "user": fc.ScalingModel(law=user_law()).fit(obs, **kw)}
    built, mine = fits["built_in"], fits["user"]
    assert built.sampler_settings["fused_likelihood"] and not mine.sampler_settings["fused_likelihood"]
    ess = min(f.diagnostics().min_ess_bulk for f in fits.values())
    assert ess > 200 and all(f.diagnostics().divergences == 0 for f in fits.values())
    figures = {"min_ess_bulk": round(ess), "seconds": {n: f.sampler_settings["seconds"] for n, f in fits.items()}}

    # the fit: population and family parameters in the user's units
    for family in ("population", obs.families[0]):
        a, b = built.parameter_draws(family), mine.parameter_draws(family)
        for p in CHINCHILLA.user_params:
            assert _mc_close(np.log(a[p].values), np.log(b[p].values), ess=ess), (family, p)
    # a forecast, for a fitted family and a new one
    for family in (obs.families[1], "new"):
        a, b = (predict_draws(f, family) for f in (built, mine))
        figures[f"predict_mean[{family}]"] = (round(float(a.mean()), 4), round(float(b.mean()), 4))
        assert _mc_close(np.log(a), np.log(b), ess=ess), family
    # the frontier: closed form for the built-in, numerical for the user's law
    fr = {n: frontier(f, flops=[1e21, 1e24]) for n, f in fits.items()}
    assert (fr["built_in"].fit_info["method"], fr["user"].fit_info["method"]) == ("closed form", "numeric")
    for q in ("tokens_per_param", "loss"):
        for j in range(2):
            a, b = (np.log(fr[n].draws[q].isel(flops=j).values.ravel()) for n in fr)
            figures[f"frontier_median[{q}, {j}]"] = (round(float(np.exp(np.median(a))), 4),
                                                     round(float(np.exp(np.median(b))), 4))
            assert _mc_close(a, b, ess=ess), (q, j)
    # the data wall, paired with the same scenario draws
    walls = {n: fc.data_wall(f, fc.Scenario.epoch2024(), n_samples=2000, random_seed=3) for n, f in fits.items()}
    a, b = (walls[n].draws["wall_date"].values for n in walls)
    figures["wall_date_median"] = (round(float(np.median(a)), 2), round(float(np.median(b)), 2))
    assert abs(np.median(a) - np.median(b)) < 0.5  # years; the spread across scenario draws is ~3 years
    la, lb = (walls[n].loss_by_year()["without_wall_median"].to_numpy() for n in walls)
    np.testing.assert_allclose(la, lb, rtol=0.01)
    # LOO: the same expected log predictive density
    table = compare(fits)
    figures["loo"] = table[["elpd", "elpd_diff", "dse"]].round(2).to_dict()
    assert abs(table["elpd_diff"].max()) <= max(1.0, 2 * float(table["dse"].max()))
    # a backtest with its baseline: the baseline (a deterministic Huber fit of the same formula) is the same
    bts = {n: backtest(obs, model=f.model, bootstrap=20, fit_kwargs=kw) for n, f in fits.items()}
    base = [bt.points.query("method == 'baseline'")["median"].to_numpy() for bt in bts.values()]
    np.testing.assert_allclose(base[0], base[1], rtol=1e-5)
    bayes = [bt.points.query("method == 'bayes'")["median"].to_numpy() for bt in bts.values()]
    figures["backtest_metrics"] = {n: bt.metrics().round(4).to_dict("records") for n, bt in bts.items()}
    print(figures)  # the figures quoted in the notes (pytest -s)
    np.testing.assert_allclose(bayes[0], bayes[1], rtol=0.01)


def predict_draws(fit, family: str) -> np.ndarray:
    return fit.predict(params=3e10, tokens=6e11, family=family).draws.values.ravel()
