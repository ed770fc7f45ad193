"""The data wall: scenarios, wall-year probabilities, loss at the wall, chunking and dask."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from forecast.datawall import Scenario, compare_text, data_wall, growth_from_history
from forecast.frontier import compute_optimal
from forecast.laws import effective_data
from forecast.model import ScalingModel
from forecast.testing import fake_fit


@pytest.fixture(scope="module")
def fit():
    """Posterior scattered around Besiroglu et al. 2024's refit of Chinchilla, on the demo data."""
    return fake_fit(chains=2, draws=150, seed=3)


def fixed(**kw) -> Scenario:
    """A scenario with no uncertainty, for closed-form checks."""
    base = dict(compute=5e25, compute_growth=4.5, stock=3e14, stock_growth=1.0, tokens_per_param=20.0)
    base.update(kw)
    return Scenario(**base)


# ------------------------------------------------------------ Epoch reproduction
def test_epoch_fixed_rule_reproduces_villalobos_2028():
    wall = data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=4000, random_seed=1)
    q = wall.year_quantiles((0.1, 0.5, 0.9))
    # Villalobos et al. 2024: median 2028, 80% interval 2026-2032
    assert 2027 <= q[0.5] <= 2029
    assert q[0.1] >= 2026 and q[0.9] <= 2032
    assert "2028" in wall.text and "90% interval" in wall.text


def test_epoch_five_times_overtraining_brings_the_wall_to_2027():
    # Villalobos et al. 2024: ~2027 with 5x over-training
    wall = data_wall(None, Scenario.epoch2024(tokens_per_param=20, overtraining=5), n_samples=4000)
    assert wall.year_quantiles(0.5).iloc[0] == 2027


def test_wall_date_matches_closed_form():
    # D(t) = sqrt(C0 g^t tpp / 6) reaches S0 when t = log(6 S0^2 / (tpp C0)) / log g
    wall = data_wall(None, fixed(), n_samples=3)
    t = math.log(6 * 3e14**2 / (20 * 5e25)) / math.log(4.5)
    np.testing.assert_allclose(wall.draws["wall_date"].values, 2024 + t, rtol=0, atol=1e-9)
    assert (wall.draws["wall_year"].values == math.floor(2024 + t)).all()


def test_wall_year_is_the_year_before_demand_first_exceeds_supply(fit):
    wall = data_wall(fit, Scenario.epoch2024(), n_samples=800, random_seed=2)
    d = wall.draws
    exceed = (d["demand"] > d["supply"]).transpose("sample", "year").values
    first = np.where(exceed.any(1), wall.years[exceed.argmax(1)], np.inf)
    inside = np.isfinite(first) & (first > wall.years[0])
    assert inside.mean() > 0.9
    np.testing.assert_array_equal(d["wall_year"].values[inside], first[inside] - 1)


def test_epochs_and_stock_growth_move_the_closed_form():
    # with stock growth s and E epochs, log D(t) = log(E S0) + t log s
    wall = data_wall(None, fixed(stock_growth=1.05, epochs=2.0), n_samples=2)
    t = math.log(6 * (2 * 3e14) ** 2 / (20 * 5e25)) / (math.log(4.5) - 2 * math.log(1.05))
    np.testing.assert_allclose(wall.draws["wall_date"].values, 2024 + t, atol=1e-9)


# ------------------------------------------------------------ fitted frontier
def test_demand_is_compute_optimal_tokens_times_sqrt_overtraining(fit):
    k = 3.0
    wall = data_wall(fit, Scenario.epoch2024(overtraining=k), n_samples=50, random_seed=5)
    d = wall.draws
    user = fit.parameter_draws("population").stack(i=("chain", "draw"))
    user = user.isel(i=d["posterior_draw"].values).drop_vars(["i", "chain", "draw"]).rename(i="sample")
    opt = compute_optimal(user, d["compute"])
    np.testing.assert_allclose(d["demand"], np.sqrt(k) * opt["tokens"], rtol=1e-9)
    # over-training by k multiplies tokens per parameter by k: D/N = k r with N = C / (6 D)
    c = 2e28
    ratio = compute_optimal(user, [c])["tokens_per_param"].squeeze("flops", drop=True).values
    np.testing.assert_allclose(wall.tokens_per_param_at(c), k * ratio, rtol=1e-9)


def test_fit_and_fixed_rule_side_by_side(fit):
    scenario = Scenario.epoch2024(tokens_per_param=20)
    fitted = data_wall(fit, scenario, n_samples=2000, random_seed=7)
    rule = data_wall(None, scenario, n_samples=2000, random_seed=7)
    # Besiroglu's law asks for fewer than 20 tokens per parameter at 2028's frontier (~18 at 6e23
    # FLOP, falling slowly with compute) and its demand grows as C^0.49 < C^0.5: the wall comes later
    assert np.median(fitted.tokens_per_param_at(2e28)) < 20
    assert np.median(fitted.demand_exponent()) < 0.5
    assert np.median(fitted.draws["wall_date"]) > np.median(rule.draws["wall_date"])
    text = compare_text(fitted, rule)
    assert "later" in text and "tokens per parameter" in text and "fixed 20 tokens" in text
    assert fitted.compare(rule) == text


def test_law_without_a_data_term_is_refused():
    compute_fit = fake_fit(model=ScalingModel(law="compute"), draws=10)
    with pytest.raises(ValueError, match="has no such split"):
        data_wall(compute_fit, Scenario.epoch2024())


# ------------------------------------------------------------ loss at the wall
def test_loss_with_wall_matches_the_law_at_the_capped_allocation(fit):
    wall = data_wall(fit, fixed(tokens_per_param=None, stock=1e14), years=[2024, 2030], n_samples=4)
    d = wall.draws.isel(year=1)
    user = fit.parameter_draws("population").stack(i=("chain", "draw"))
    user = user.isel(i=d["posterior_draw"].values).drop_vars(["i", "chain", "draw"]).rename(i="sample")
    c, u = d["compute"], d["stock"]
    assert (compute_optimal(user, c)["tokens"] > u).all()  # past the wall: tokens are capped
    want = fit.law.loss(user, params=c / (6 * u), tokens=u)
    np.testing.assert_allclose(d["loss_with"], want, rtol=1e-10)
    np.testing.assert_allclose(d["loss_without"], compute_optimal(user, c)["loss"], rtol=1e-10)


def test_loss_with_repeated_epochs_uses_effective_data(fit):
    wall = data_wall(fit, fixed(tokens_per_param=None, stock=1e14, epochs=4.0), years=[2029], n_samples=4)
    d = wall.draws.isel(year=0)
    user = fit.parameter_draws("population").stack(i=("chain", "draw"))
    user = user.isel(i=d["posterior_draw"].values).drop_vars(["i", "chain", "draw"]).rename(i="sample")
    c, u = d["compute"], d["stock"]
    tokens = np.minimum(compute_optimal(user, c)["tokens"], 4 * u)
    assert (tokens > u).all()  # repeating data
    d_eff = effective_data(tokens, u, 15.387756, np)
    want = user["E"] + user["A"] * (c / (6 * tokens)) ** -user["alpha"] + user["B"] * d_eff ** -user["beta"]
    np.testing.assert_allclose(d["loss_with"], want, rtol=1e-10)


def test_loss_by_year_shows_the_cost_of_the_wall(fit):
    wall = data_wall(fit, Scenario.epoch2024(), n_samples=1000, random_seed=3)
    table = wall.loss_by_year(0.9)
    assert list(table.columns[:4]) == [
        "year",
        "without_wall_median",
        "without_wall_lower",
        "without_wall_upper",
    ]
    d = wall.draws
    assert (d["loss_with"] >= d["loss_without"] - 1e-12).all()
    # before any sample hits the wall there is no cost; long after it, every sample pays
    assert table.loc[table.year == 2024, "cost_upper"].item() == pytest.approx(0.0, abs=1e-12)
    late = table[table.year == 2040].iloc[0]
    assert late.cost_lower > 0 and late.with_wall_median > late.without_wall_median
    assert (table["without_wall_lower"] < table["without_wall_median"]).all()
    assert (table["without_wall_median"] < table["without_wall_upper"]).all()
    assert table["without_wall_median"].is_monotonic_decreasing  # more compute, lower loss
    narrow = wall.loss_by_year(0.5)
    assert (narrow["with_wall_upper"] <= table["with_wall_upper"]).all()


def test_loss_by_year_without_a_fit_says_what_to_do():
    wall = data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=50)
    with pytest.raises(ValueError, match="needs a fitted law"):
        wall.loss_by_year()


# ------------------------------------------------------------ horizon edges
def test_wall_beyond_the_horizon_is_inf_and_said_so():
    wall = data_wall(None, Scenario.epoch2024(tokens_per_param=20, stock=1e20), n_samples=200)
    assert np.isinf(wall.year_quantiles()).all()
    assert (wall.prob_by_year()["prob"] == 0).all()
    assert "after 2040" in wall.text


def test_wall_already_passed_is_said_so():
    wall = data_wall(None, Scenario.epoch2024(tokens_per_param=20, stock=1e12), n_samples=200)
    assert (wall.year_quantiles() == 2024).all()
    assert "2024 or earlier" in wall.text


def test_year_quantiles_rejects_bad_levels():
    wall = data_wall(None, fixed(), n_samples=5)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        wall.year_quantiles([0.5, 1.5])


# ------------------------------------------------------------ properties
# Each property is a check run on random scenarios: by hypothesis when it is installed (a dev
# dependency), and always on a fixed set of numpy-drawn scenarios so CI checks them without it.
def check_prob_by_year_never_decreases(kw, seed):
    wall = data_wall(None, Scenario(**kw), n_samples=300, random_seed=seed)
    p = wall.prob_by_year()["prob"].to_numpy()
    assert np.all(np.diff(p) >= 0) and p[0] >= 0 and p[-1] <= 1


def _scaled(value, factor):
    return tuple(v * factor for v in value) if isinstance(value, tuple) else value * factor


def check_more_stock_never_makes_the_wall_earlier(kw, more, seed):
    a = data_wall(None, Scenario(**kw), n_samples=300, random_seed=seed)
    b = data_wall(
        None, Scenario(**{**kw, "stock": _scaled(kw["stock"], more)}), n_samples=300, random_seed=seed
    )
    assert np.all(b.draws["wall_date"].values >= a.draws["wall_date"].values)
    assert np.all(b.prob_by_year()["prob"].to_numpy() <= a.prob_by_year()["prob"].to_numpy())


def check_slower_compute_growth_never_makes_the_wall_earlier(kw, slower, seed):
    g = kw["compute_growth"]
    g_slow = tuple(max(1.0, v**slower) for v in g) if isinstance(g, tuple) else max(1.0, g**slower)
    a = data_wall(None, Scenario(**kw), n_samples=300, random_seed=seed)
    b = data_wall(None, Scenario(**{**kw, "compute_growth": g_slow}), n_samples=300, random_seed=seed)
    assert np.all(b.draws["wall_date"].values >= a.draws["wall_date"].values)


def check_monotone_with_a_fitted_frontier(fit, more, slower, seed):
    a = data_wall(fit, Scenario.epoch2024(), n_samples=200, random_seed=seed)
    richer = data_wall(
        fit, Scenario.epoch2024(stock=(1e14 * more, 1e15 * more)), n_samples=200, random_seed=seed
    )
    slow = data_wall(
        fit, Scenario.epoch2024(compute_growth=(4.0**slower, 5.0**slower)), n_samples=200, random_seed=seed
    )
    assert np.all(richer.draws["wall_date"].values >= a.draws["wall_date"].values)
    assert np.all(slow.draws["wall_date"].values >= a.draws["wall_date"].values)
    p, p_rich = a.prob_by_year()["prob"].to_numpy(), richer.prob_by_year()["prob"].to_numpy()
    assert np.all(np.diff(p) >= 0) and np.all(p_rich <= p)


def random_scenario(rng: np.random.Generator) -> dict:
    def either(fixed, interval):
        return fixed if rng.random() < 0.5 else interval

    x, lo = rng.uniform(24, 26), rng.uniform(13, 15.5)
    g = rng.uniform(1.2, 4.0)
    return {
        "compute": either(10 ** rng.uniform(24, 27), (10**x, 10 ** (x + 0.5))),
        "compute_growth": either(rng.uniform(1.0, 8.0), (g, 1.5 * g)),
        "stock": either(10 ** rng.uniform(13, 16), (10**lo, 10 ** (lo + rng.uniform(0, 1)))),
        "stock_growth": rng.uniform(1.0, 1.2),
        "overtraining": rng.uniform(0.5, 20.0),
        "epochs": rng.uniform(1.0, 8.0),
        "tokens_per_param": rng.uniform(5.0, 100.0),
    }


@pytest.mark.parametrize("case", range(16))
def test_properties_on_random_scenarios(fit, case):
    rng = np.random.default_rng(case)
    kw, seed = random_scenario(rng), int(rng.integers(10_000))
    check_prob_by_year_never_decreases(kw, seed)
    for more in (1.001, 1.3, 3.0, 30.0):
        check_more_stock_never_makes_the_wall_earlier(kw, more, seed)
    for slower in (0.999, 0.8, 0.5, 0.2):
        check_slower_compute_growth_never_makes_the_wall_earlier(kw, slower, seed)
    if case < 4:
        check_monotone_with_a_fitted_frontier(fit, rng.uniform(1.0, 50.0), rng.uniform(0.3, 1.0), seed)


try:
    import hypothesis
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - the numpy-driven cases above still run
    hypothesis = None

if hypothesis is not None:

    def scenario_strategy():
        positive_interval = st.tuples(st.floats(13.0, 15.5), st.floats(0.0, 1.0)).map(
            lambda p: (10 ** p[0], 10 ** (p[0] + p[1]))
        )
        return st.fixed_dictionaries(
            {
                "compute": st.one_of(
                    st.floats(1e24, 1e27), st.floats(24.0, 26.0).map(lambda x: (10**x, 10 ** (x + 0.5)))
                ),
                "compute_growth": st.one_of(
                    st.floats(1.0, 8.0), st.floats(1.2, 4.0).map(lambda g: (g, g * 1.5))
                ),
                "stock": st.one_of(st.floats(1e13, 1e16), positive_interval),
                "stock_growth": st.floats(1.0, 1.2),
                "overtraining": st.floats(0.5, 20.0),
                "epochs": st.floats(1.0, 8.0),
                "tokens_per_param": st.floats(5.0, 100.0),
            }
        )

    @hypothesis.settings(max_examples=40, deadline=None)
    @hypothesis.given(kw=scenario_strategy(), seed=st.integers(0, 10_000))
    def test_prob_by_year_never_decreases(kw, seed):
        check_prob_by_year_never_decreases(kw, seed)

    @hypothesis.settings(max_examples=40, deadline=None)
    @hypothesis.given(kw=scenario_strategy(), more=st.floats(1.0, 100.0), seed=st.integers(0, 10_000))
    def test_more_stock_never_makes_the_wall_earlier(kw, more, seed):
        check_more_stock_never_makes_the_wall_earlier(kw, more, seed)

    @hypothesis.settings(max_examples=40, deadline=None)
    @hypothesis.given(kw=scenario_strategy(), slower=st.floats(0.2, 1.0), seed=st.integers(0, 10_000))
    def test_slower_compute_growth_never_makes_the_wall_earlier(kw, slower, seed):
        check_slower_compute_growth_never_makes_the_wall_earlier(kw, slower, seed)

    @hypothesis.settings(max_examples=6, deadline=None)
    @hypothesis.given(more=st.floats(1.0, 50.0), slower=st.floats(0.3, 1.0), seed=st.integers(0, 1000))
    def test_monotone_with_a_fitted_frontier(fit, more, slower, seed):
        check_monotone_with_a_fitted_frontier(fit, more, slower, seed)


# ------------------------------------------------------------ bad scenarios
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"stock": -3e14}, r"Scenario.stock must be > 0"),
        ({"stock": 0.0}, r"Scenario.stock must be > 0"),
        ({"compute": 0.0}, r"Scenario.compute must be > 0"),
        ({"stock_growth": 0.035}, r"stock_growth must be >= 1 .*1.035 means \+3.5% a year, not 0.035"),
        ({"compute_growth": 0.5}, r"compute_growth must be >= 1 .*may not shrink"),
        (
            {"stock": (1e15, 1e14)},
            r"Scenario.stock: the 90% interval has low > high .*write it as \(1e\+14, 1e\+15\)",
        ),
        ({"stock": (1e14, 1e15, 1e16)}, r"needs two numbers"),
        ({"compute_growth": (0.5, 4.0)}, r"compute_growth: both ends of the 90% interval must be >= 1"),
        ({"epochs": 0.5}, r"Scenario.epochs must be >= 1"),
        ({"stock": stats.norm(3e14, 1e14)}, r"Scenario.stock: the distribution can give negative values"),
        ({"stock": np.array([3e14, -1.0])}, r"Scenario.stock: 1 of 2 samples are not > 0"),
        ({"stock": "3e14"}, r"Scenario.stock: got '3e14' of type str"),
        ({"stock": float("nan")}, r"Scenario.stock must be > 0"),
        ({"base_year": 2024.5}, r"base_year must be a whole year"),
        ({"sources": {"stok": "x"}}, r"unknown key\(s\) \['stok'\]"),
    ],
)
def test_bad_scenarios_get_clear_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        Scenario(**kw)


def test_bad_calls_get_clear_errors(fit):
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['stok'\]"):
        Scenario.epoch2024(stok=1e14)
    with pytest.raises(ValueError, match="needs a fixed demand rule"):
        data_wall(None, Scenario.epoch2024())
    with pytest.raises(ValueError, match="strictly increasing"):
        data_wall(fit, Scenario.epoch2024(), years=[2030, 2025])
    with pytest.raises(ValueError, match="pairing must be"):
        data_wall(fit, Scenario.epoch2024(), pairing="zip")
    with pytest.raises(ValueError, match="n_samples must be a positive"):
        data_wall(fit, Scenario.epoch2024(), n_samples=0)
    with pytest.raises(TypeError, match="scenario must be a forecast Scenario"):
        data_wall(fit, {"stock": 1e14})


# ------------------------------------------------------------ inputs and sources
def test_interval_is_a_lognormal_with_those_5_and_95_percent_quantiles():
    s = Scenario(stock=(1e14, 1e15)).sample(40_000, random_seed=0)["stock"].values
    q = np.quantile(s, [0.05, 0.5, 0.95])
    np.testing.assert_allclose(q, [1e14, math.sqrt(1e29), 1e15], rtol=0.03)


def test_distribution_and_sample_inputs():
    dist = stats.lognorm(s=0.5, scale=2e14)
    drawn = Scenario(stock=dist).sample(20_000)["stock"].values
    assert np.median(drawn) == pytest.approx(2e14, rel=0.03)
    joint = np.linspace(1e14, 1e15, 100)
    used = Scenario(stock=joint, compute=joint * 1e11).sample(100)
    np.testing.assert_array_equal(used["stock"].values, joint)  # same length: used in order
    np.testing.assert_array_equal(used["compute"].values, joint * 1e11)  # so joint samples stay paired
    resampled = Scenario(stock=joint).sample(1000)["stock"].values
    assert set(resampled) <= set(joint) and resampled.size == 1000


def test_growth_factor_tails_are_clipped_at_one():
    s = Scenario(stock_growth=(1.0, 1.2)).sample(5000)["stock_growth"].values
    assert s.min() == 1.0 and (s == 1.0).mean() == pytest.approx(0.05, abs=0.015)


def test_assumptions_name_every_source():
    s = Scenario.epoch2024(tokens_per_param=20, stock=(2e14, 6e14), sources={"epochs": "my lab's policy"})
    table = s.assumptions().set_index("assumption")
    assert table.loc["stock", "source"] == "set by the user"
    assert table.loc["epochs", "source"] == "my lab's policy"
    assert "Villalobos" in table.loc["stock_growth", "source"]
    assert "Hoffmann" in table.loc["tokens_per_param", "source"]
    assert "Muennighoff" in table.loc["r_star", "source"]
    assert table["source"].str.len().min() > 10
    assert "stock=3.464e+14 (90%: 2e+14 to 6e+14, log-normal)" in repr(s)


def test_wall_assumptions_add_how_it_was_computed(fit):
    wall = data_wall(fit, Scenario.epoch2024(tokens_per_param=20), n_samples=100)
    table = wall.assumptions().set_index("assumption")
    # the value is stated (a fixed-rule comparison uses it), and so is where this forecast's demand comes from
    value = table.loc["tokens_per_param", "value"]
    assert value.startswith("20: used by the fixed-rule comparison") and "ignored" not in value
    assert fit.id in table.loc["demand", "source"]
    assert "paired" in table.loc["monte_carlo", "value"]


# ------------------------------------------------------------ reproducibility, chunks, dask
def test_same_seed_same_answer_other_seed_other_answer(fit):
    a = data_wall(fit, Scenario.epoch2024(), n_samples=300, random_seed=11)
    b = data_wall(fit, Scenario.epoch2024(), n_samples=300, random_seed=11)
    c = data_wall(fit, Scenario.epoch2024(), n_samples=300, random_seed=12)
    xr.testing.assert_identical(a.draws, b.draws)
    assert not np.array_equal(a.draws["wall_date"], c.draws["wall_date"])


@pytest.mark.parametrize("pairing", ["paired", "cross"])
def test_chunking_does_not_change_the_answer(fit, pairing):
    big = data_wall(fit, Scenario.epoch2024(), n_samples=120, random_seed=4, pairing=pairing)
    small = data_wall(
        fit, Scenario.epoch2024(), n_samples=120, random_seed=4, pairing=pairing, chunk_elements=50
    )
    xr.testing.assert_allclose(big.draws, small.draws, rtol=1e-12)
    pd.testing.assert_frame_equal(
        big.loss_by_year(max_pairs=None), small.loss_by_year(max_pairs=None), rtol=1e-5
    )


def test_cross_and_paired_agree(fit):
    # the scenario dominates the spread of the wall year, so the cross product's Monte Carlo error
    # is set by its 2000 scenario samples (sd of a probability <= 0.011), the paired one's by 6000
    cross = data_wall(fit, Scenario.epoch2024(), n_samples=2000, random_seed=1, pairing="cross")
    paired = data_wall(fit, Scenario.epoch2024(), n_samples=6000, random_seed=1)
    assert cross.n_mc == 300 * 2000 and cross.draws["wall_date"].dims == ("draw", "sample")
    np.testing.assert_allclose(cross.prob_by_year()["prob"], paired.prob_by_year()["prob"], atol=0.04)
    exact, sub = cross.loss_by_year(max_pairs=None), cross.loss_by_year(max_pairs=20_000)
    cols = ["without_wall_median", "with_wall_upper", "cost_upper"]
    np.testing.assert_allclose(exact[cols], sub[cols], atol=2e-3)
    np.testing.assert_allclose(
        exact[["without_wall_median", "with_wall_median"]],
        paired.loss_by_year()[["without_wall_median", "with_wall_median"]],
        atol=5e-3,
    )


def test_dask_backed_inputs_give_the_same_answer(fit):
    pytest.importorskip("dask")
    lazy_post = fit.idata["posterior"].to_dataset().chunk({"draw": 50})
    lazy_fit = fake_fit(chains=2, draws=150, seed=3)
    lazy_fit.idata["posterior"] = xr.DataTree(lazy_post)
    assert all(v.chunks is not None for v in lazy_fit.posterior.data_vars.values())
    stock = np.exp(np.random.default_rng(0).normal(np.log(3e14), 0.7, 500))
    eager_s = Scenario.epoch2024(stock=stock)
    lazy_s = Scenario.epoch2024(stock=xr.DataArray(stock, dims="s").chunk(100))
    for pairing in ("paired", "cross"):
        want = data_wall(fit, eager_s, n_samples=500, random_seed=2, pairing=pairing)
        got = data_wall(lazy_fit, lazy_s, n_samples=500, random_seed=2, pairing=pairing)
        xr.testing.assert_allclose(want.draws, got.draws, rtol=1e-12)
        pd.testing.assert_frame_equal(want.prob_by_year(), got.prob_by_year())


# ------------------------------------------------------------ growth from history
def test_growth_from_history_interval_covers_the_true_rate():
    rng = np.random.default_rng(0)
    years = np.arange(2012, 2025)
    dates = pd.to_datetime([f"{y}-07-01" for y in years])
    hits, factors = [], []
    for _ in range(200):
        flops = 1e20 * 4.0 ** (years - 2012) * np.exp(rng.normal(0, 0.3, years.size))
        g = growth_from_history(pd.DataFrame({"date": dates, "flops": flops}), "flops", since=2010)
        hits.append(g.lower < 4.0 < g.upper)
        factors.append(g.factor)
    assert 0.84 <= np.mean(hits) <= 0.96  # a 90% interval (sd of the coverage ~0.02)
    assert np.median(factors) == pytest.approx(4.0, rel=0.02)
    assert "a year (90% CI" in str(g)


def test_growth_from_history_on_epoch_data():
    from forecast.datasets import load

    df = load("epoch_language_models").table  # bundled, as published
    compute = growth_from_history(df, "flops", since=2010)
    tokens = growth_from_history(df, "tokens", since=2010)
    # Epoch AI report 4-5x a year for frontier compute and 2.4-2.9x for dataset sizes
    assert compute.lower < 4.5 < compute.upper
    assert tokens.lower < 2.7 < tokens.upper
    with pytest.raises(ValueError, match="needs columns"):
        growth_from_history(df, "compute")
