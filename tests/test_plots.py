"""Plots: what they show (scales, units, one curve per family, nested bands, captions), not just that they run."""

from __future__ import annotations

import inspect

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from forecast import plots  # noqa: E402
from forecast.fit import interval_stats  # noqa: E402
from forecast.frontier import compute_optimal  # noqa: E402
from forecast.model import ScalingModel  # noqa: E402
from forecast.predict import grid, predict  # noqa: E402
from forecast.testing import fake_fit  # noqa: E402


# ------------------------------------------------------------ stand-ins
class StandInFrontier:
    """Follows the Frontier contract (draws over chain, draw, flops; long table) via the closed form."""

    def __init__(self, fit, flops):
        self.family = "population"
        self.draws = compute_optimal(fit.parameter_draws("population"), flops)

    def table(self, ci=0.9):
        stats = interval_stats(self.draws.to_array("quantity"), ci)
        frame = xr.Dataset(stats).to_dataframe().reset_index()
        frame["ci"] = ci
        return frame[["flops", "quantity", "mean", "median", "lower", "upper", "ci"]]


class StandInWall:
    """Follows the WallForecast contract with a known wall-year distribution."""

    def __init__(self, wall_years, years=range(2024, 2041)):
        self.years = np.array(list(years))
        self._wall = np.asarray(wall_years, dtype=float)
        self.scenario = type("S", (), {"name": "test scenario"})()
        self.text = "The wall arrives in 2028 (median; 90% interval 2026 to 2032)."

    def prob_by_year(self):
        return pd.DataFrame({"year": self.years, "prob": [(self._wall <= y).mean() for y in self.years]})

    def year_quantiles(self, q=(0.05, 0.5, 0.95)):
        return pd.Series(np.quantile(self._wall, q, method="inverted_cdf"), index=pd.Index(q, name="q"))


# ------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def fit():
    return fake_fit(draws=100, seed=1)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def _caption(fig) -> str:
    texts = [t.get_text() for t in fig.texts if t.get_gid() == plots.CAPTION_GID]
    assert len(texts) == 1, "every figure made by a plot function carries exactly one caption"
    return texts[0].replace("\n", " ")


# ------------------------------------------------------------- plot_fit
def test_plot_fit_has_a_curve_and_band_per_family_on_log_compute(fit):
    fig = plots.plot_fit(fit)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "FLOP" in ax.get_xlabel() and "nats" in ax.get_ylabel()
    assert len(ax.lines) == len(fit.families) == len(_bands(ax))
    labels = [line.get_label() for line in ax.lines]
    assert "small-lab (4 runs)" in labels
    caption = _caption(fig)
    assert "90% equal-tailed credible band of the mean loss" in caption
    assert "excludes observation noise" in caption


def test_plot_fit_curve_is_the_posterior_median_of_the_law_at_the_family_ratio(fit):
    """The drawn median equals the law evaluated in user units at D = r N, r = median tokens/param."""
    fam = "hoffmann-2022"
    fig = plots.plot_fit(fit, families=[fam], x="params")
    line = fig.axes[0].lines[0]
    n = line.get_xdata()[[5, 40, 70]]
    runs = fit.observations.table.query("family == @fam")
    ratio = np.exp(np.median(np.log(runs["tokens"] / runs["params"])))
    user = fit.parameter_draws(fam)
    expected = [
        float(np.median(fit.law.loss({k: user[k].values for k in user}, params=v, tokens=ratio * v)))
        for v in n
    ]
    np.testing.assert_allclose(line.get_ydata()[[5, 40, 70]], expected, rtol=1e-9)
    assert "parameters" in fig.axes[0].get_xlabel()


def test_plot_fit_band_mass_controls_width(fit):
    def width(ci):
        band = _bands(plots.plot_fit(fit, families=["besiroglu-2024"], ci=ci).axes[0])[0]
        y = band.get_paths()[0].vertices[:, 1]
        return y.max() - y.min()

    assert width(0.5) < width(0.9) < width(0.99)


def test_plot_fit_bad_options(fit):
    with pytest.raises(ValueError, match="x must be one of 'flops', 'params', 'tokens'"):
        plots.plot_fit(fit, x="compute")
    with pytest.raises(ValueError, match="unknown family 'nope'"):
        plots.plot_fit(fit, families=["nope"])
    with pytest.raises(ValueError, match="ci must be"):
        plots.plot_fit(fit, ci=90)


def test_plot_fit_into_given_axes(fit):
    fig, (a, b) = plt.subplots(1, 2)
    out = plots.plot_fit(fit, ax=b, x="tokens")
    assert out is fig and len(b.lines) == len(fit.families) and not a.lines
    assert "tokens" in b.get_xlabel()
    assert not [t for t in fig.texts if t.get_gid() == plots.CAPTION_GID]  # the caller owns the layout


# -------------------------------------------------------- plot_forecast
@pytest.fixture(scope="module")
def forecast_(fit):
    n = np.logspace(9.5, 12, 6)
    return predict(fit, params=n, tokens=20 * n, family=["new", "small-lab"])


def test_fan_chart_has_nested_bands_per_ci_and_family(forecast_):
    fig = plots.plot_forecast(forecast_, cis=(0.5, 0.9))
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "FLOP" in ax.get_xlabel() and "nats" in ax.get_ylabel()
    bands = _bands(ax)
    assert len(bands) == 2 * 2  # two masses x two families
    assert len(ax.lines) == 2
    inner, outer = bands[1].get_paths()[0].vertices[:, 1], bands[0].get_paths()[0].vertices[:, 1]
    assert inner.min() > outer.min() and inner.max() < outer.max()
    caption = _caption(fig)
    assert "50% and 90% equal-tailed" in caption and "exclude observation noise" in caption


def test_fan_chart_of_many_families_bands_only_the_first(fit):
    n = np.logspace(10, 11, 4)
    fc_ = predict(fit, params=n, tokens=20 * n, family=["new", "besiroglu-2024", "hoffmann-2022"])
    fig = plots.plot_forecast(fc_)
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and len(_bands(ax)) == 2  # both masses, for the new family only
    assert "the other families: medians only" in _caption(fig)
    ax = plots.plot_forecast(fc_, band_families=["besiroglu-2024", "hoffmann-2022"]).axes[0]
    assert len(_bands(ax)) == 4
    with pytest.raises(ValueError, match="not drawn"):
        plots.plot_forecast(fc_, families=["new"], band_families=["hoffmann-2022"])


def test_fan_chart_median_matches_the_forecast_table(forecast_):
    ax = plots.plot_forecast(forecast_, families=["new"], cis=(0.9,)).axes[0]
    table = forecast_.table(0.9).query("family == 'new'").sort_values("flops")
    np.testing.assert_allclose(ax.lines[0].get_xdata(), table["flops"], rtol=1e-12)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), table["median"], rtol=1e-9)


def test_fan_chart_says_when_noise_is_included(fit):
    n = np.logspace(10, 11, 3)
    noisy = predict(fit, params=n, tokens=20 * n, family="population", include_noise=True)
    assert "include observation noise" in _caption(plots.plot_forecast(noisy))


def test_fan_chart_of_a_crossed_grid_uses_interval_bars(fit):
    pts = grid(params=[1e10, 1e11], tokens=[2e11, 2e12])
    pts["flops"] = None
    fc_ = predict(fit, params=pts["params"], tokens=pts["tokens"], family="population")
    ax = plots.plot_forecast(fc_, x="params").axes[0]
    assert not _bands(ax) and len(ax.containers) == 2  # one set of bars per mass


# -------------------------------------------------------- plot_frontier
def test_frontier_panels_units_and_scales(fit):
    flops = np.logspace(22, 27, 11)
    frontier = StandInFrontier(fit, flops)
    fig = plots.plot_frontier(frontier)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and "FLOP" in ax.get_xlabel()
    assert [ax.get_yscale() for ax in fig.axes[:2]] == ["log", "log"]
    assert "(parameters)" in fig.axes[0].get_ylabel() and "(tokens)" in fig.axes[1].get_ylabel()
    assert "tokens per parameter" in fig.axes[2].get_ylabel()
    table = frontier.table(0.9).query("quantity == 'params'").sort_values("flops")
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), table["median"], rtol=1e-9)
    ref = [line for line in fig.axes[2].lines if "Hoffmann" in line.get_label()]
    assert len(ref) == 1 and ref[0].get_ydata()[0] == 20
    assert "90% equal-tailed" in _caption(fig)


def test_frontier_rejects_unknown_quantity(fit):
    with pytest.raises(ValueError, match="quantities must be drawn from"):
        plots.plot_frontier(StandInFrontier(fit, [1e24]), quantities=["flops"])


# ------------------------------------------------------------ plot_wall
def test_wall_curve_and_year_distribution():
    rng = np.random.default_rng(0)
    wall = StandInWall(np.round(rng.normal(2028, 1.5, 2000)).clip(2024, 2045))
    fig = plots.plot_wall(wall)
    top, bottom = fig.axes
    prob = wall.prob_by_year()
    np.testing.assert_allclose(top.lines[0].get_ydata(), prob["prob"])
    heights = [p.get_height() for p in bottom.patches]
    assert len(heights) == len(prob)
    np.testing.assert_allclose(np.sum(heights), prob["prob"].iloc[-1])  # bars are the per-year increments
    assert bottom.get_xlabel() == "Year" and "P(" in top.get_ylabel()
    q = wall.year_quantiles()
    marked = {line.get_xdata()[0] for line in top.lines[1:] if len(line.get_xdata())}
    assert marked == set(q.values)
    legend = [t.get_text() for t in top.get_legend().get_texts()]
    assert any(f"50%: {q[0.5]:.0f}" in t for t in legend)
    caption = _caption(fig)
    assert "P(no wall by 2040)" in caption and "assumptions" in caption


# ------------------------------------------------------- plot_shrinkage
def test_shrinkage_shows_every_family_against_the_population(fit):
    fig = plots.plot_shrinkage(fit, param="alpha")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        f"{f} ({n} runs)" for f, n in fit.observations.table["family"].value_counts()[fit.families].items()
    ]
    assert len(ax.containers) == 1  # pooled estimates only
    assert "unitless" in ax.get_xlabel()
    assert "typical family" in _caption(fig)


def test_shrinkage_against_an_unpooled_fit_draws_both_and_arrows(fit):
    unpooled = fake_fit(model=ScalingModel(pooling="none"), draws=100, seed=2, scale=0.1)
    fig = plots.plot_shrinkage(fit, param=["E", "alpha", "beta"], unpooled=unpooled)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert len(ax.containers) == 2
        assert sum(1 for t in ax.texts if t.arrow_patch is not None) == len(fit.families)
    assert "nats" in fig.axes[0].get_xlabel()
    assert "Arrows" in _caption(fig)


def test_shrinkage_errors(fit):
    with pytest.raises(ValueError, match="no parameter 'gamma'"):
        plots.plot_shrinkage(fit, param="gamma")
    other = fake_fit(model=ScalingModel(law="compute"), draws=20)
    with pytest.raises(ValueError, match="same law"):
        plots.plot_shrinkage(fit, unpooled=other)


# ------------------------------------------------------- plot_exponents
def test_exponents_posterior_and_prior_per_exponent(fit):
    fig = plots.plot_exponents(fit)
    ax = fig.axes[0]
    posterior = [line for line in ax.lines if "posterior" in line.get_label()]
    prior = [line for line in ax.lines if line.get_label().endswith("prior")]
    assert len(posterior) == len(prior) == 2
    assert "unitless" in ax.get_xlabel()
    # the density peaks at the posterior median of the exponent
    alpha = posterior[0]
    peak = alpha.get_xdata()[np.argmax(alpha.get_ydata())]
    draws = fit.parameter_draws("population")["alpha"]
    assert abs(peak - float(draws.median())) < 2 * float(draws.std())
    assert "90% equal-tailed" in _caption(fig)


def test_exponents_per_family_without_prior(fit):
    ax = plots.plot_exponents(fit, families=["small-lab", "new"], prior=False).axes[0]
    assert len(ax.lines) == 2 * 2


# ------------------------------------------------------------ signatures
PUBLIC = [
    plots.plot_fit,
    plots.plot_forecast,
    plots.plot_frontier,
    plots.plot_wall,
    plots.plot_shrinkage,
    plots.plot_exponents,
]


@pytest.mark.parametrize("func", PUBLIC, ids=lambda f: f.__name__)
def test_public_plots_take_options_by_keyword_and_document_them(func):
    params = list(inspect.signature(func).parameters.values())
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])
    assert "ax" in {p.name for p in params}
    doc = inspect.getdoc(func)
    for p in params:
        assert f"\n{p.name} :" in doc, f"{func.__name__} does not document {p.name}"
    assert "Examples" in doc and "Returns" in doc


def test_shrinkage_and_exponents_of_an_unpooled_fit(fit):
    alone = fake_fit(model=ScalingModel(pooling="none"), draws=100, seed=4)
    fig = plots.plot_shrinkage(alone, param="beta")
    assert not fig.axes[0].patches  # no population band to draw
    assert "typical family" not in _caption(fig)
    ax = plots.plot_exponents(alone, prior=False).axes[0]
    assert len(ax.lines) == 2 * len(alone.families)  # no population: every family's exponents
