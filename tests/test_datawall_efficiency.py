"""Efficiency, slowdowns and compute caps in the data-wall scenarios, and the answers they give."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from forecast.datawall import data_wall
from forecast.frontier import compute_optimal
from forecast.scenarios import (
    COMPUTE_SLOWDOWN_2030,
    DATA_EFFICIENCY_RANGE,
    EFFICIENCY_HO_2024,
    Scenario,
    interval_from_ci,
)
from forecast.testing import fake_fit


@pytest.fixture(scope="module")
def fit():
    """Posterior scattered around Besiroglu et al. 2024's refit of Chinchilla (no sampling)."""
    return fake_fit(chains=2, draws=100, seed=3)


def fixed(**kw) -> Scenario:
    """No uncertainty: closed forms apply."""
    base = dict(compute=5e25, compute_growth=4.5, stock=3e14, stock_growth=1.0, tokens_per_param=20.0)
    base.update(kw)
    return Scenario(**base)


def population(fit, wall):
    user = fit.parameter_draws("population").stack(i=("chain", "draw"))
    idx = wall.draws["posterior_draw"].values
    return user.isel(i=idx).drop_vars(["i", "chain", "draw"]).rename(i="sample")


# ------------------------------------------------------------ sources
def test_ho_2024_interval_is_their_95_percent_halving_time_read_at_90_percent():
    # 8 months (95% CI 5-14) per halving: x2^(12/14) to x2^(12/5) a year at 95%
    lo95, hi95 = 2 ** (12 / 14), 2 ** (12 / 5)
    lo, hi = EFFICIENCY_HO_2024
    assert lo95 < lo < 2 ** (12 / 8) < hi < hi95
    drawn = Scenario(efficiency_growth=EFFICIENCY_HO_2024).sample(40_000)["efficiency_growth"].values
    np.testing.assert_allclose(np.quantile(drawn, [0.025, 0.975]), [lo95, hi95], rtol=0.03)
    assert interval_from_ci(2.0, 8.0, mass=0.9) == pytest.approx((2.0, 8.0))


def test_epoch2024_keeps_efficiency_off_and_says_so():
    s = Scenario.epoch2024(tokens_per_param=20)
    table = s.assumptions().set_index("assumption")
    for name in ("efficiency_growth", "data_efficiency_growth"):
        assert table.loc[name, "value"] == "1"
        assert table.loc[name, "source"].startswith("1 = off")
    assert "Ho et al. 2024" in table.loc["efficiency_growth", "source"]
    assert "Penedo" in table.loc["data_efficiency_growth", "source"]
    assert table.loc["compute_cap", "value"] == "not used"
    assert "efficiency_growth = 1" in data_wall(None, s, n_samples=200).text
    on = Scenario.epoch2024(tokens_per_param=20, efficiency_growth=EFFICIENCY_HO_2024)
    assert "efficiency_growth changed" in on.name
    assert "Ho et al. 2024" in on.assumptions().set_index("assumption").loc["efficiency_growth", "source"]
    data = Scenario(data_efficiency_growth=DATA_EFFICIENCY_RANGE).source("data_efficiency_growth")
    assert "one-off gains" in data


def test_epoch2024_still_reproduces_villalobos_and_compute_efficiency_does_not_move_the_wall():
    base = data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=4000, random_seed=1)
    assert base.year_quantiles(0.5).iloc[0] == 2028  # Villalobos et al. 2024: median 2028
    eff = data_wall(
        None,
        Scenario.epoch2024(tokens_per_param=20, efficiency_growth=EFFICIENCY_HO_2024),
        n_samples=4000,
        random_seed=1,
    )
    # the wall counts physical tokens: algorithmic efficiency changes the loss, not the date
    np.testing.assert_array_equal(eff.draws["wall_date"].values, base.draws["wall_date"].values)


def test_growth_changes_are_listed_with_their_source():
    s = Scenario(growth_changes={"compute_growth": COMPUTE_SLOWDOWN_2030}, compute_cap=(1e28, 3e29))
    table = s.assumptions().set_index("assumption")
    assert "Cottier" in table.loc["compute_growth from 2030", "source"]
    assert table.loc["compute_growth from 2030", "value"].endswith("(90%: 1.3 to 3.2, log-normal)")
    assert table.loc["compute_cap", "source"] == "set by the user"
    own = Scenario(growth_changes={"compute_growth": {2028: 2.0}}, sources={"growth_changes": "my view"})
    assert own.assumptions().set_index("assumption").loc["compute_growth from 2028", "source"] == "my view"


# ------------------------------------------------------------ closed forms
def test_slowdown_moves_the_wall_date_as_the_closed_form_says():
    # demand sqrt(C tpp / 6) meets a fixed stock S at C* = 6 S^2 / tpp; compute grows 4.5x to 2027,
    # then 2x: C* is reached ln(C* / C_2027) / ln 2 years after 2027
    c_star = 6 * 3e14**2 / 20
    c_2027 = 5e25 * 4.5**3
    assert c_2027 < c_star
    wall = data_wall(None, fixed(growth_changes={"compute_growth": {2027: 2.0}}), n_samples=2)
    want = 2027 + math.log(c_star / c_2027) / math.log(2.0)
    np.testing.assert_allclose(wall.draws["wall_date"].values, want, atol=1e-9)
    assert wall.year_quantiles(0.5).iloc[0] == math.floor(want)


def test_a_cap_below_the_compute_the_wall_needs_removes_the_wall():
    c_star = 6 * 3e14**2 / 20
    assert math.isinf(data_wall(None, fixed(compute_cap=0.5 * c_star), n_samples=2).draws["wall_date"][0])
    capped = data_wall(None, fixed(compute_cap=2 * c_star), n_samples=2)
    free = data_wall(None, fixed(), n_samples=2)
    np.testing.assert_allclose(capped.draws["wall_date"], free.draws["wall_date"], atol=1e-9)
    # compute stops at the cap and stays there
    assert float(capped.draws["compute"].max()) == pytest.approx(2 * c_star)


def test_data_efficiency_grows_the_effective_stock():
    # sqrt(C0 g^t tpp / 6) = S d^t  =>  t = ln(6 S^2 / (tpp C0)) / (ln g - 2 ln d)
    wall = data_wall(None, fixed(data_efficiency_growth=1.2), n_samples=2)
    t = math.log(6 * 3e14**2 / (20 * 5e25)) / (math.log(4.5) - 2 * math.log(1.2))
    np.testing.assert_allclose(wall.draws["wall_date"].values, 2024 + t, atol=1e-9)
    np.testing.assert_allclose(wall.draws["supply"].sel(year=2030), 3e14 * 1.2**6, rtol=1e-12)
    np.testing.assert_allclose(wall.draws["stock"].sel(year=2030), 3e14, rtol=1e-12)  # physical tokens


def test_efficiency_doublings_between_now_and_the_wall():
    wall = data_wall(None, fixed(efficiency_growth=2.0), n_samples=2)
    date = float(wall.draws["wall_date"][0])
    assert wall.efficiency_doublings(0.5).iloc[0] == pytest.approx(date - 2024)
    assert wall.efficiency_doublings(0.5, since=2026).iloc[0] == pytest.approx(date - 2026)
    # x2 a year to 2026, then x4: two doublings a year from 2026
    changed = data_wall(
        None, fixed(efficiency_growth=2.0, growth_changes={"efficiency_growth": {2026: 4.0}}), n_samples=2
    )
    assert changed.efficiency_doublings(0.5).iloc[0] == pytest.approx(2 + 2 * (date - 2026))
    assert f"doubles {2 + 2 * (date - 2026):.1f} times between 2024 and the wall" in changed.text
    off = data_wall(None, fixed(), n_samples=2)
    assert (off.efficiency_doublings() == 0).all()
    never = data_wall(None, fixed(stock=1e20, efficiency_growth=2.0), n_samples=2)
    assert np.isinf(never.efficiency_doublings(0.5).iloc[0]) and "keeps doubling past 2040" in never.text
    # efficiency that stops growing in 2030 doubles 6 times, whenever the wall comes after that
    stops = fixed(stock=1e20, efficiency_growth=2.0, growth_changes={"efficiency_growth": {2030: 1.0}})
    assert data_wall(None, stops, n_samples=2).efficiency_doublings(0.5).iloc[0] == pytest.approx(6.0)


def test_uncertain_doublings_have_an_interval(fit):
    wall = data_wall(fit, Scenario.epoch2024(efficiency_growth=EFFICIENCY_HO_2024), n_samples=500)
    q = wall.efficiency_doublings((0.05, 0.5, 0.95))
    assert 0 < q[0.05] < q[0.5] < q[0.95]
    years = (wall.draws["wall_date"].values - 2024)[np.isfinite(wall.draws["wall_date"].values)]
    # between the fastest and slowest efficiency growth of the samples
    assert np.median(years) * math.log2(1.5) < q[0.5] < np.median(years) * math.log2(8.0)
    assert "doubles" in wall.text and "90% interval" in wall.text


# ------------------------------------------------------------ loss with efficiency
def test_efficiency_lowers_the_loss_in_every_later_year(fit):
    off = data_wall(fit, Scenario.epoch2024(), n_samples=300, random_seed=4)
    on = data_wall(
        fit, Scenario.epoch2024(efficiency_growth=EFFICIENCY_HO_2024), n_samples=300, random_seed=4
    )
    later = off.years > 2024
    for var in ("loss_without", "loss_with"):
        a, b = off.draws[var].values, on.draws[var].values
        assert (b[:, later] < a[:, later]).all()
        np.testing.assert_allclose(b[:, ~later], a[:, ~later], rtol=1e-12)
    a_tab, b_tab = off.loss_by_year(), on.loss_by_year()
    assert (b_tab["without_wall_median"][later] < a_tab["without_wall_median"][later]).all()
    assert "effective compute" in b_tab.attrs["note"]


def test_loss_uses_effective_compute(fit):
    wall = data_wall(fit, fixed(tokens_per_param=None, stock=1e20, efficiency_growth=3.0), n_samples=5)
    user = population(fit, wall)
    for year in (2026, 2031):
        c = wall.draws["compute"].sel(year=year) * 3.0 ** (year - 2024)
        np.testing.assert_allclose(
            wall.draws["loss_without"].sel(year=year), compute_optimal(user, c)["loss"], rtol=1e-10
        )
        np.testing.assert_allclose(wall.draws["loss_with"].sel(year=year), compute_optimal(user, c)["loss"])


def test_capped_run_with_efficiency_matches_the_law(fit):
    # past the wall: physical tokens D = S, N = C / (6 S); efficiency m counts them as N m^a, D m^b
    m = 2.0**6
    wall = data_wall(
        fit, fixed(tokens_per_param=None, stock=1e14, efficiency_growth=2.0), years=[2030], n_samples=4
    )
    d = wall.draws.isel(year=0)
    user = population(fit, wall)
    opt = compute_optimal(user, d["compute"])
    assert (opt["tokens"] > 1e14).all()
    a = user["beta"] / (user["alpha"] + user["beta"])  # N* ~ C^a
    want = fit.law.loss(user, params=d["compute"] / (6e14) * m**a, tokens=1e14 * m ** (1 - a))
    np.testing.assert_allclose(d["loss_with"], want, rtol=1e-10)


# ------------------------------------------------------------ diminishing returns
def test_diminishing_returns_year_matches_the_frontier(fit):
    wall = data_wall(fit, fixed(tokens_per_param=None, stock=1e20), n_samples=50, random_seed=2)
    user = population(fit, wall)
    loss = compute_optimal(user, wall.draws["compute"])["loss"].transpose("sample", "year").values
    gain = loss[:, :-1] - loss[:, 1:]
    years = wall.years[1:]
    want = [years[np.argmax(g < 0.004)] if (g < 0.004).any() else np.inf for g in gain]
    got = wall.diminishing_returns(0.004, q=[0.0, 0.5, 1.0])
    np.testing.assert_array_equal(got.to_numpy(), np.quantile(want, [0.0, 0.5, 1.0], method="inverted_cdf"))
    # a lower threshold is reached later
    assert wall.diminishing_returns(0.001, q=0.5).iloc[0] > got[0.5]
    assert "falls below 0.005 nats/token in" in data_wall(fit, Scenario.epoch2024(), n_samples=100).text
    custom = data_wall(fit, Scenario.epoch2024(), n_samples=100, min_yearly_gain=0.002)
    assert "falls below 0.002 nats/token" in custom.text


def test_diminishing_returns_needs_a_law_and_a_good_threshold(fit):
    with pytest.raises(ValueError, match="needs a fitted law"):
        data_wall(None, fixed(), n_samples=5).diminishing_returns(0.01)
    with pytest.raises(ValueError, match="threshold must be a positive"):
        data_wall(fit, fixed(), n_samples=5).diminishing_returns(-1.0)
    with pytest.raises(ValueError, match="min_yearly_gain must be a positive"):
        data_wall(fit, fixed(), n_samples=5, min_yearly_gain=0)
    one_year = data_wall(fit, fixed(), years=[2030], n_samples=5)
    with pytest.raises(ValueError, match="at least two years"):
        one_year.diminishing_returns(0.01)
    assert "nats/token" not in one_year.text  # the text leaves out what one year cannot say


# ------------------------------------------------------------ chunks and pairing
@pytest.mark.parametrize("pairing", ["paired", "cross"])
def test_chunking_does_not_change_the_answer_with_changes_and_a_cap(fit, pairing):
    s = Scenario.epoch2024(
        efficiency_growth=EFFICIENCY_HO_2024,
        data_efficiency_growth=DATA_EFFICIENCY_RANGE,
        growth_changes={"compute_growth": COMPUTE_SLOWDOWN_2030, "stock_growth": {2031: 1.1}},
        compute_cap=(1e28, 1e30),
        epochs=(1.0, 4.0),
    )
    big = data_wall(fit, s, n_samples=80, random_seed=4, pairing=pairing)
    small = data_wall(fit, s, n_samples=80, random_seed=4, pairing=pairing, chunk_elements=50)
    xr.testing.assert_allclose(big.draws, small.draws, rtol=1e-12)
    pd.testing.assert_frame_equal(
        big.loss_by_year(max_pairs=None), small.loss_by_year(max_pairs=None), rtol=1e-5
    )
    if pairing == "cross":
        paired = data_wall(fit, s, n_samples=80, random_seed=4)
        crossed = big.draws["wall_date"].values
        idx = paired.draws["posterior_draw"].values
        np.testing.assert_allclose(crossed[idx, np.arange(80)], paired.draws["wall_date"].values, rtol=1e-12)


# ------------------------------------------------------------ bad inputs
@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (
            {"efficiency_growth": 0.5},
            r"Scenario.efficiency_growth must be >= 1 .*algorithms do not get worse",
        ),
        ({"efficiency_growth": (0.8, 3.0)}, r"Scenario.efficiency_growth: both ends of the 90% interval"),
        ({"data_efficiency_growth": 0.02}, r"Scenario.data_efficiency_growth must be >= 1 .*1.2 means \+20%"),
        ({"efficiency_growth": np.array([2.0, 0.9])}, r"Scenario.efficiency_growth: 1 of 2 samples"),
        (
            {"growth_changes": {"compute_growth": {2020: 2.0}}},
            r"Scenario.growth_changes\['compute_growth'\]\[2020\]: the change year 2020 is not after the "
            r"base year 2024",
        ),
        ({"growth_changes": {"compute_growth": {2024: 2.0}}}, r"not after the base year 2024"),
        (
            {"growth_changes": {"compute_growth": {2030: 0.5}}},
            r"Scenario.growth_changes\['compute_growth'\]\[2030\] must be >= 1",
        ),
        ({"growth_changes": {"compute_growth": {2030.5: 2.0}}}, r"must be a whole year"),
        ({"growth_changes": {"compute": {2030: 2.0}}}, r"'compute' is not a growth field"),
        ({"growth_changes": {"compute_growth": 2.0}}, r"must map years to factors"),
        (
            {"compute_cap": 1e25},
            r"Scenario.compute_cap: the cap \(1e\+25 FLOP.*below today's compute \(5e\+25",
        ),
        ({"compute_cap": (1e24, 1e30)}, r"Scenario.compute_cap: the cap"),
        ({"compute_cap": -1.0}, r"Scenario.compute_cap must be > 0"),
        ({"sources": {"growth": "x"}}, r"unknown key\(s\) \['growth'\]"),
    ],
)
def test_bad_scenario_inputs_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        Scenario(**kw)


# ------------------------------------------------------------ properties
def slower_after(base: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per-sample rates no faster than ``base``: base ** u with u in [0, 1]."""
    return np.maximum(base**u, 1.0)


def check_slowdown_never_makes_the_wall_earlier(kw, year, u, cap_factor, seed, fit=None):
    n = 200
    base = Scenario(**kw)
    drawn = np.broadcast_to(base.sample(n, random_seed=seed)["compute_growth"].values, (n,))
    slow = Scenario(**kw, growth_changes={"compute_growth": {year: slower_after(drawn, u[:n])}})
    capped = Scenario(**kw, compute_cap=kw["compute"] if np.isscalar(kw["compute"]) else kw["compute"][1])
    a = data_wall(fit, base, n_samples=n, random_seed=seed)
    b = data_wall(fit, slow, n_samples=n, random_seed=seed)
    # a change year adds a knot to the interpolation: the same date may differ by float rounding
    assert np.all(b.draws["wall_date"].values >= a.draws["wall_date"].values - 1e-9)
    assert np.all(b.prob_by_year()["prob"].to_numpy() <= a.prob_by_year()["prob"].to_numpy())
    c = data_wall(
        fit, Scenario(**{**kw, "compute_cap": capped.compute_cap * cap_factor}), n_samples=n, random_seed=seed
    )
    assert np.all(c.draws["wall_date"].values >= a.draws["wall_date"].values - 1e-9)


def check_losses(fit, eff, data_eff, year, later_rate, epochs, seed):
    kw = dict(
        epochs=epochs, data_efficiency_growth=data_eff, growth_changes={"compute_growth": {year: later_rate}}
    )
    off = data_wall(fit, Scenario.epoch2024(**kw), n_samples=150, random_seed=seed)
    on = data_wall(fit, Scenario.epoch2024(efficiency_growth=eff, **kw), n_samples=150, random_seed=seed)
    for w in (off, on):  # the with-wall loss is never below the without-wall loss
        assert (w.draws["loss_with"].values >= w.draws["loss_without"].values - 1e-12).all()
    later = off.years > 2024
    for var in ("loss_without", "loss_with"):
        assert (on.draws[var].values[:, later] < off.draws[var].values[:, later]).all()
    np.testing.assert_array_equal(on.draws["wall_date"].values, off.draws["wall_date"].values)


def random_case(rng: np.random.Generator) -> dict:
    g = rng.uniform(1.2, 6.0)
    return {
        "compute": 10 ** rng.uniform(24, 26) if rng.random() < 0.5 else (1e25, 10 ** rng.uniform(25, 26)),
        "compute_growth": g if rng.random() < 0.5 else (g, 1.5 * g),
        "stock": 10 ** rng.uniform(13, 16),
        "stock_growth": rng.uniform(1.0, 1.2),
        "data_efficiency_growth": rng.uniform(1.0, 1.5),
        "tokens_per_param": rng.uniform(5.0, 100.0),
    }


@pytest.mark.parametrize("case", range(8))
def test_properties_on_random_scenarios(fit, case):
    rng = np.random.default_rng(100 + case)
    kw, seed = random_case(rng), int(rng.integers(10_000))
    year = int(rng.integers(2025, 2040))
    check_slowdown_never_makes_the_wall_earlier(kw, year, rng.uniform(0, 1, 200), rng.uniform(1, 1e4), seed)
    if case < 3:
        check_slowdown_never_makes_the_wall_earlier(
            kw, year, rng.uniform(0, 1, 200), rng.uniform(1, 1e4), seed, fit
        )
        eff = (rng.uniform(1.01, 2.0), rng.uniform(2.0, 6.0))
        check_losses(fit, eff, rng.uniform(1.0, 1.5), year, rng.uniform(1.0, 5.0), rng.uniform(1, 4), seed)


try:
    import hypothesis
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - the numpy-driven cases above still run
    hypothesis = None

if hypothesis is not None:

    def case_strategy():
        return st.fixed_dictionaries(
            {
                "compute": st.one_of(
                    st.floats(1e24, 1e26), st.floats(25.0, 26.0).map(lambda x: (1e25, 10**x))
                ),
                "compute_growth": st.one_of(
                    st.floats(1.0, 8.0), st.floats(1.2, 4.0).map(lambda g: (g, 1.5 * g))
                ),
                "stock": st.floats(1e13, 1e16),
                "stock_growth": st.floats(1.0, 1.2),
                "data_efficiency_growth": st.floats(1.0, 1.5),
                "tokens_per_param": st.floats(5.0, 100.0),
            }
        )

    @hypothesis.settings(max_examples=25, deadline=None)
    @hypothesis.given(
        kw=case_strategy(),
        year=st.integers(2025, 2045),
        u=st.floats(0.0, 1.0),
        cap_factor=st.floats(1.0, 1e5),
        seed=st.integers(0, 10_000),
    )
    def test_slowdown_never_makes_the_wall_earlier(kw, year, u, cap_factor, seed):
        check_slowdown_never_makes_the_wall_earlier(kw, year, np.full(200, u), cap_factor, seed)

    @hypothesis.settings(max_examples=6, deadline=None)
    @hypothesis.given(
        eff=st.floats(1.01, 6.0),
        data_eff=st.floats(1.0, 1.5),
        year=st.integers(2025, 2040),
        later_rate=st.floats(1.0, 6.0),
        epochs=st.floats(1.0, 4.0),
        seed=st.integers(0, 1000),
    )
    def test_efficiency_lowers_the_loss_and_the_wall_never_helps(
        fit, eff, data_eff, year, later_rate, epochs, seed
    ):
        check_losses(fit, eff, data_eff, year, later_rate, epochs, seed)


# ------------------------------------------------------------ report
def test_report_wall_section_shows_doublings_and_diminishing_returns(tmp_path):
    from forecast.report import write_report

    fit = fake_fit(chains=4, draws=500, seed=3)  # iid draws: enough for the gate to pass
    s = Scenario.epoch2024(
        efficiency_growth=EFFICIENCY_HO_2024, growth_changes={"compute_growth": COMPUTE_SLOWDOWN_2030}
    )
    wall = data_wall(fit, s, n_samples=300)
    text = write_report(tmp_path / "r.md", fit=fit, wall=wall, figures=False).read_text()
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:4]]
        for line in text.splitlines()
        if line.startswith("| doublings of") or line.startswith("| first year the loss")
    }
    d = wall.efficiency_doublings((0.05, 0.5, 0.95)).to_numpy()
    med, interval = rows["doublings of algorithmic efficiency, 2024 to the wall"]
    assert float(med) == float(f"{d[1]:.4g}")
    assert [float(v) for v in interval.split(" – ")] == [float(f"{d[0]:.4g}"), float(f"{d[2]:.4g}")]
    y = wall.diminishing_returns(q=(0.05, 0.5, 0.95)).to_numpy()
    med, interval = rows["first year the loss reachable with the wall improves by < 0.005 nats/token"]
    assert float(med) == y[1] and [float(v) for v in interval.split(" – ")] == [y[0], y[2]]
    assert "doubles" in text and "compute_growth from 2030" in text
