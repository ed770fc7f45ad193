"""Plots of fits, forecasts, the compute-optimal frontier and the data wall.

Every function takes the object to draw as its only positional argument and
everything else by keyword, returns the matplotlib :class:`~matplotlib.figure.Figure`,
and accepts ``ax=`` to draw into axes the caller owns. Axes carry units
(parameters, tokens, FLOP, nats per token), use log scales where the values
span decades, and the figure carries a caption line saying what each band
includes (its mass, that it is equal-tailed, and whether observation noise is
in it), because that is what readers of scaling-law plots most often get wrong.

The functions are:

* :func:`plot_fit` -- the runs and each family's fitted curve with a band;
* :func:`plot_forecast` -- fan chart of forecast loss (50% and 90% bands);
* :func:`plot_frontier` -- compute-optimal N*, D* and tokens per parameter vs compute;
* :func:`plot_wall` -- probability of reaching the data wall by each year, and
  the distribution of the wall year;
* :func:`plot_shrinkage` -- each family's estimate under pooling, against the
  population and (optionally) a fit without pooling;
* :func:`plot_exponents` -- posterior (and prior) of the scaling exponents;
* :func:`plot_ppc` -- posterior predictive check: observed against predicted loss, per family;
* :func:`plot_residuals` -- residuals of log loss against compute, per family.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import MaxNLocator

from forecast.config import DEFAULT_CI, INTERVAL_KIND, check_ci, quantile_bounds
from forecast.fit import interval_stats

if TYPE_CHECKING:
    from forecast.fit import Fit

__all__ = [
    "AXIS_LABELS",
    "plot_capabilities",
    "plot_exponents",
    "plot_family_offsets",
    "plot_fit",
    "plot_forecast",
    "plot_frontier",
    "plot_pit",
    "plot_ppc",
    "plot_residuals",
    "plot_shrinkage",
    "plot_wall",
]

XAxis = Literal["flops", "params", "tokens"]

AXIS_LABELS: dict[str, str] = {
    "flops": "Training compute C (FLOP)",
    "params": "Model size N (parameters)",
    "tokens": "Training data D (tokens)",
    "tokens_per_param": "Tokens per parameter D/N (tokens per parameter)",
    "loss": "Loss (nats per token)",
}
"""Axis labels with units, shared by every plot and the report."""

FRONTIER_LABELS: dict[str, str] = {
    "params": "N* (parameters)",
    "tokens": "D* (tokens)",
    "tokens_per_param": "D*/N* (tokens per parameter)",
    "loss": "L* (nats per token)",
}
FRONTIER_TITLES: dict[str, str] = {
    "params": "Compute-optimal model size",
    "tokens": "Compute-optimal training data",
    "tokens_per_param": "Tokens per parameter",
    "loss": "Loss on the frontier",
}

PARAMETER_INFO: dict[str, tuple[str, str]] = {
    "E": ("irreducible loss", "nats per token"),
    "A": ("scale of the parameter term", "nats per token x parameters^alpha"),
    "B": ("scale of the data term", "nats per token x tokens^beta"),
    "alpha": ("exponent of model size", "unitless"),
    "beta": ("exponent of data", "unitless"),
    "alpha_N": ("exponent of model size", "unitless"),
    "alpha_D": ("exponent of data", "unitless"),
    "N_c": ("critical model size", "parameters"),
    "D_c": ("critical data size", "tokens"),
}
"""What each law parameter is and its unit, for panel titles and axis labels."""

CAPTION_SIZE = 8.0
CAPTION_GID = "forecast-caption"
REFERENCE_TOKENS_PER_PARAM = 20.0  # Hoffmann et al. (2022) rule of thumb, drawn for orientation


# ------------------------------------------------------------------ helpers
def _family_colours(names: Sequence[str], all_families: Sequence[str] | None = None) -> dict[str, Any]:
    """One colour per family, stable across plots of the same fit (by the fit's family order)."""
    cycle = plt.get_cmap("tab10").colors
    order = list(all_families or names)
    out = {}
    for name in names:
        if name in ("new", "population"):
            out[name] = "0.15"
        elif name in order:
            out[name] = cycle[order.index(name) % len(cycle)]
        else:
            out[name] = cycle[len(out) % len(cycle)]
    return out


def _family_label(name: str) -> str:
    if name == "new":
        return "new family (drawn from the population)"
    if name == "population":
        return "typical family (population median)"
    return str(name)


def _new_figure(ax: Axes | None, *, figsize: tuple[float, float]) -> tuple[Figure, Axes, bool]:
    if ax is not None:
        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
        return ax.figure, ax, False
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax, True


def _new_figure_grid(
    axes,
    n: int,
    *,
    figsize: tuple[float, float],
    nrows: int = 1,
    ncols: int | None = None,
    sharex: bool = False,
    height_ratios=None,
) -> tuple[Figure, list[Axes], bool]:
    if axes is not None:
        axes = list(np.ravel(axes))
        if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
            raise ValueError(f"ax must be a sequence of {n} matplotlib Axes for this plot, got {len(axes)}")
        return axes[0].figure, axes, False
    fig, grid = plt.subplots(
        nrows,
        ncols or n,
        figsize=figsize,
        layout="constrained",
        sharex=sharex,
        squeeze=False,
        height_ratios=height_ratios,
    )
    return fig, list(grid.ravel()), True


def _add_caption(fig: Figure, text: str) -> None:
    """Put ``text`` under the axes in small grey type and reserve room for it in the layout."""
    # DejaVu Sans averages about 0.6 em per character; wrap by hand so the layout can reserve the lines
    width = max(40, int(0.97 * fig.get_figwidth() * 72 / (CAPTION_SIZE * 0.6)))
    wrapped = textwrap.fill(text, width=width)
    lines = wrapped.count("\n") + 1
    fig.text(
        0.01, 0.008, wrapped, ha="left", va="bottom", fontsize=CAPTION_SIZE, color="0.25", gid=CAPTION_GID
    )
    bottom = min(0.45, (lines * CAPTION_SIZE * 1.35 + 8) / 72 / fig.get_figheight())
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0, bottom, 1, 1 - bottom))
    else:
        fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, bottom + 0.08))


def _spans_decades(values, decades: float = 1.5) -> bool:
    """True when positive ``values`` span more than ``decades`` orders of magnitude."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return v.size > 1 and np.log10(v.max() / v.min()) > decades


def _check_x(x: str, allowed: Sequence[str] = ("flops", "params", "tokens")) -> str:
    if x not in allowed:
        raise ValueError(
            f"x must be one of {', '.join(map(repr, allowed))} (the quantity on the x axis), got {x!r}"
        )
    return x


def _band_words(ci: float, *, noise: bool, what: str = "mean loss") -> str:
    noise_words = "includes observation noise" if noise else "excludes observation noise"
    return f"{ci:.0%} {INTERVAL_KIND} credible band of the {what}; {noise_words}"


def _check_cis(cis) -> list[float]:
    values = [cis] if np.isscalar(cis) else list(cis)
    if not values:
        raise ValueError("cis must name at least one interval mass, e.g. (0.5, 0.9)")
    return sorted({check_ci(c) for c in values})


# ------------------------------------------------------------------ plot_fit
def _family_paths(fit: Fit, families: list[str], n_points: int) -> dict[str, xr.DataArray]:
    """Log inputs along each family's path: its runs' size range at their median ratios.

    Returns DataArrays over ``(family, point)`` for ``params``, ``tokens``,
    ``flops`` and, when the data have it, ``unique_tokens``.
    """
    table = fit.observations.table
    log_n = np.empty((len(families), n_points))
    ratio, c_ratio, u_ratio = [], [], []
    for i, fam in enumerate(families):
        runs = table[table["family"] == fam]
        lo, hi = np.log(runs["params"].min()), np.log(runs["params"].max())
        pad = 0.08 * max(hi - lo, np.log(2.0))
        log_n[i] = np.linspace(lo - pad, hi + pad, n_points)
        ratio.append(np.median(np.log(runs["tokens"] / runs["params"])))
        c_ratio.append(np.median(np.log(runs["flops"] / (6.0 * runs["params"] * runs["tokens"]))))
        if "unique_tokens" in runs:
            u_ratio.append(np.median(np.log(np.minimum(runs["unique_tokens"] / runs["tokens"], 1.0))))
    dims = ("family", "point")
    coords = {"family": families}
    lx = {"params": xr.DataArray(log_n, dims=dims, coords=coords)}
    lx["tokens"] = lx["params"] + xr.DataArray(ratio, dims="family", coords=coords)
    lx["flops"] = (
        np.log(6.0) + lx["params"] + lx["tokens"] + xr.DataArray(c_ratio, dims="family", coords=coords)
    )
    if u_ratio:
        lx["unique_tokens"] = lx["tokens"] + xr.DataArray(u_ratio, dims="family", coords=coords)
    return lx


def plot_fit(
    fit: Fit,
    *,
    ci: float = DEFAULT_CI,
    families: Sequence[str] | None = None,
    x: XAxis = "flops",
    n_points: int = 80,
    caption: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """The runs and each family's fitted mean loss with a credible band.

    Each family's curve follows its runs' size range at their median tokens
    per parameter ``r = median(D/N)`` (so ``D = r N`` and ``C = 6 N D``
    along the curve); runs trained at other ratios sit off the curve by more
    than noise, which is the law working, not misfit.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    ci : float, default 0.9
        Mass of the equal-tailed credible band of the mean loss.
    families : sequence of str, optional
        Fitted families to draw (default: all).
    x : {"flops", "params", "tokens"}, default "flops"
        Quantity on the (log) x axis.
    n_points : int, default 80
        Points along each curve.
    caption : bool, default True
        Add the caption line saying what the bands include (only on a figure
        this function creates; with ``ax=`` the layout is the caller's).
    ax : matplotlib Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> from forecast.plots import plot_fit
    >>> fig = plot_fit(fake_fit(draws=50), x="params")
    >>> fig.axes[0].get_xscale()
    'log'
    """
    ci = check_ci(ci)
    x = _check_x(x)
    names = list(fit.families if families is None else families)
    unknown = [f for f in names if f not in fit.families]
    if unknown:
        raise ValueError(f"unknown family {unknown[0]!r}; fitted families: {', '.join(fit.families)}")
    if not names:
        raise ValueError("families is empty: name at least one fitted family, or pass None for all")
    lx = _family_paths(fit, names, n_points)
    theta = fit.theta(names)
    log_mu = fit.law.log_mean({k: theta[k] for k in theta.data_vars}, lx, fit.centre, np)
    stats = interval_stats(np.exp(log_mu), ci)
    xs = np.exp(lx[x])

    many = len(names) > 4
    fig, ax, created = _new_figure(ax, figsize=(10.0, 5.2) if many else (7.5, 4.8))
    colours = _family_colours(names, fit.families)
    table = fit.observations.table
    for fam in names:
        runs = table[table["family"] == fam]
        xf = xs.sel(family=fam).values
        ax.fill_between(
            xf,
            stats["lower"].sel(family=fam).values,
            stats["upper"].sel(family=fam).values,
            color=colours[fam],
            alpha=0.22,
            linewidth=0,
        )
        ax.plot(
            xf,
            stats["median"].sel(family=fam).values,
            color=colours[fam],
            linewidth=1.6,
            label=f"{_short_family(fam, 40) if many else fam} ({len(runs)} runs)",
        )
        ax.scatter(
            runs[x], runs["loss"], s=14, color=colours[fam], edgecolor="white", linewidth=0.4, zorder=3
        )
    ax.set_xscale("log")
    if _spans_decades(table["loss"], decades=1.0):
        ax.set_yscale("log")
    ax.set_xlabel(AXIS_LABELS[x])
    ax.set_ylabel(AXIS_LABELS["loss"])
    ax.set_title(f"Runs and fitted {fit.law.name} law ({fit.law.formula})", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    if many and created:
        # beside the axes, not over the curves: with many families an inside legend hides the data
        fig.legend(fontsize=7, frameon=False, loc="outside right upper")
    else:
        ax.legend(fontsize=8, frameon=False)
    if caption and created:
        _add_caption(
            fig,
            (
                f"Points: observed runs. Lines: posterior median of each family's mean loss along its runs' "
                f"median tokens per parameter (C = 6ND). Bands: {_band_words(ci, noise=False)}. "
                "Runs trained at other tokens per parameter sit off their family's line."
            ),
        )
    return fig


# -------------------------------------------------------------- plot_forecast
def _interval_frame(draws: xr.DataArray, cis: list[float]) -> dict[float, dict[str, xr.DataArray]]:
    return {c: interval_stats(draws, c) for c in cis}


def plot_forecast(
    forecast,
    *,
    x: XAxis = "flops",
    cis: Sequence[float] = (0.5, 0.9),
    families: Sequence[str] | None = None,
    band_families: Sequence[str] | None = None,
    caption: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """Fan chart of forecast loss: the median and nested credible bands.

    Parameters
    ----------
    forecast : Forecast
        From :func:`forecast.predict.predict` / ``fit.predict(...)``.
    x : {"flops", "params", "tokens"}, default "flops"
        Quantity on the (log) x axis. Points sharing an x value (e.g. a
        crossed grid of sizes and tokens against compute) are drawn as
        points with interval bars instead of bands.
    cis : sequence of float, default (0.5, 0.9)
        Masses of the equal-tailed bands, drawn nested (widest lightest).
    families : sequence of str, optional
        Families in the forecast to draw (default: all).
    band_families : sequence of str, optional
        Families drawn with bands; the others get their median line only.
        Default: every family when there are at most two, else the first
        one (``"new"`` when present), because overlapping fans of many
        families hide each other.
    caption : bool, default True
        Add the caption line saying what the bands include.
    ax : matplotlib Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from forecast.testing import fake_fit
    >>> from forecast.plots import plot_forecast
    >>> n = np.logspace(10, 12, 5)
    >>> fc_ = fake_fit(draws=50).predict(params=n, tokens=20 * n, family="new")
    >>> fig = plot_forecast(fc_, cis=(0.5, 0.9))
    >>> len(fig.axes[0].collections)  # one band per mass
    2
    """
    x = _check_x(x)
    levels = _check_cis(cis)
    draws = forecast.draws
    names = [str(f) for f in draws["family"].values] if families is None else list(families)
    missing = [f for f in names if f not in draws["family"].values]
    if missing:
        raise ValueError(
            f"family {missing[0]!r} is not in this forecast; it has: "
            f"{', '.join(map(str, draws['family'].values))}"
        )
    noise = bool(getattr(forecast, "include_noise", False))
    stats = _interval_frame(draws.sel(family=names), levels)
    xs = np.asarray(draws[x].values, dtype=float)
    order = np.argsort(xs, kind="stable")
    as_bands = len(np.unique(xs)) == len(xs) and len(xs) > 1

    fig, ax, created = _new_figure(ax, figsize=(7.5, 4.8))
    fitted = (getattr(forecast, "fit_info", None) or {}).get("fitted_families")
    colours = _family_colours(names, fitted)
    # widest band first and lightest, so narrower bands sit on top of it, darker
    widest_first = levels[::-1]
    alphas = np.linspace(0.14, 0.3, len(levels))
    if band_families is None:
        banded = names if len(names) <= 2 else ["new" if "new" in names else names[0]]
    else:
        banded = list(band_families)
        stray = [f for f in banded if f not in names]
        if stray:
            raise ValueError(
                f"band_families names {stray[0]!r}, which is not drawn; drawn: {', '.join(names)}"
            )
    for fam in names:
        colour = colours[fam]
        median = stats[levels[0]]["median"].sel(family=fam).values[order]
        for rank, (level, alpha) in enumerate(zip(widest_first, alphas, strict=True)):
            if fam not in banded:
                break
            s = stats[level]
            lower = s["lower"].sel(family=fam).values[order]
            upper = s["upper"].sel(family=fam).values[order]
            label = (f"{level:.0%} {'band' if as_bands else 'interval'}") if fam == banded[0] else None
            if as_bands:
                ax.fill_between(xs[order], lower, upper, color=colour, alpha=alpha, linewidth=0, label=label)
            else:
                ax.errorbar(
                    xs[order],
                    median,
                    yerr=np.vstack([median - lower, upper - median]),
                    fmt="none",
                    ecolor=colour,
                    alpha=min(1.0, 2.2 * alpha),
                    elinewidth=1.2 + 2.5 * rank,
                    label=label,
                )
        ax.plot(
            xs[order],
            median,
            "-" if as_bands else "o",
            color=colour,
            linewidth=1.8,
            markersize=4,
            label=f"{_family_label(fam)}: median",
        )
    ax.set_xscale("log")
    ax.set_xlabel(AXIS_LABELS[x])
    ax.set_ylabel(AXIS_LABELS["loss"])
    what = "observed loss" if noise else "mean loss"
    ax.set_title(f"Forecast {what}", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    if caption and created:
        masses = " and ".join(f"{c:.0%}" for c in levels)
        noise_words = (
            "include observation noise (the loss a single run would show)"
            if noise
            else "exclude observation noise (uncertainty about the mean loss only)"
        )
        _add_caption(
            fig,
            (
                f"Lines: posterior medians. Bands: {masses} {INTERVAL_KIND} credible intervals of the {what}"
                + (
                    f" (for {', '.join(map(_family_label, banded))}; the other families: medians only)"
                    if len(banded) < len(names)
                    else ""
                )
                + f"; they {noise_words}."
                + (
                    " A 'new family' is one not among the fitted ones, drawn from the population."
                    if "new" in names
                    else ""
                )
            ),
        )
    return fig


# -------------------------------------------------------------- plot_frontier
def plot_frontier(
    frontier,
    *,
    ci: float = DEFAULT_CI,
    quantities: Sequence[str] | None = None,
    reference: bool = True,
    caption: bool = True,
    ax: Sequence[Axes] | None = None,
) -> Figure:
    """Compute-optimal model size N*, data D* and tokens per parameter against compute.

    Parameters
    ----------
    frontier : Frontier
        From :func:`forecast.frontier.frontier` / ``fit.frontier(flops)``.
    ci : float, default 0.9
        Mass of the equal-tailed credible bands.
    quantities : sequence of str, optional
        Panels to draw, from ``"params"``, ``"tokens"``, ``"tokens_per_param"``
        and ``"loss"``. Default: N*, D* and tokens per parameter, or the
        frontier loss alone for the compute-only law (which has no N/D split).
    reference : bool, default True
        Mark 20 tokens per parameter (the Hoffmann et al. 2022 rule of thumb)
        on the tokens-per-parameter panel, for orientation.
    caption : bool, default True
        Add the caption line saying what the bands include.
    ax : sequence of matplotlib Axes, optional
        One Axes per quantity.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from forecast.testing import fake_fit
    >>> from forecast.plots import plot_frontier
    >>> fig = plot_frontier(fake_fit(draws=50).frontier(np.logspace(22, 27, 11)))
    >>> [ax.get_yscale() for ax in fig.axes][:2]
    ['log', 'log']
    """
    ci = check_ci(ci)
    draws = frontier.draws
    if quantities is None:
        quantities = [q for q in ("params", "tokens", "tokens_per_param") if q in draws] or ["loss"]
    quantities = list(quantities)
    bad = [q for q in quantities if q not in FRONTIER_LABELS]
    if bad or not quantities:
        raise ValueError(f"quantities must be drawn from {', '.join(FRONTIER_LABELS)}; got {quantities!r}")
    absent = [q for q in quantities if q not in draws]
    if absent:
        raise ValueError(
            f"this frontier has no {absent[0]!r} (it holds {', '.join(draws.data_vars)}); "
            "a compute-only law has no split of compute between parameters and tokens"
        )
    flops = np.asarray(draws["flops"].values, dtype=float)
    order = np.argsort(flops)
    extra = [d for d in draws[quantities[0]].dims if d not in ("chain", "draw", "flops")]
    fig, axes, created = _new_figure_grid(ax, len(quantities), figsize=(3.6 * len(quantities), 4.2))
    for q, axq in zip(quantities, axes, strict=True):
        s = interval_stats(draws[q], ci)
        groups = [None] if not extra else [v for v in draws[extra[0]].values]
        for g in groups:
            pick = (lambda da, g=g: da) if g is None else (lambda da, g=g: da.sel({extra[0]: g}))
            med = pick(s["median"]).transpose("flops").values[order]
            lo = pick(s["lower"]).transpose("flops").values[order]
            hi = pick(s["upper"]).transpose("flops").values[order]
            colour = "C0" if g is None else None
            line = axq.plot(
                flops[order],
                med,
                color=colour,
                linewidth=1.8,
                label="posterior median" if g is None else str(g),
            )[0]
            axq.fill_between(
                flops[order],
                lo,
                hi,
                color=line.get_color(),
                alpha=0.25,
                linewidth=0,
                label=f"{ci:.0%} band" if g is None else None,
            )
        if q == "tokens_per_param" and reference:
            axq.axhline(
                REFERENCE_TOKENS_PER_PARAM,
                color="0.4",
                linestyle=":",
                linewidth=1,
                label="20 tokens/param (Hoffmann et al. 2022)",
            )
        axq.set_xscale("log")
        if q in ("params", "tokens") or _spans_decades(
            np.concatenate([s["lower"].values.ravel(), s["upper"].values.ravel()])
        ):
            axq.set_yscale("log")
        axq.set_xlabel(AXIS_LABELS["flops"])
        axq.set_ylabel(FRONTIER_LABELS[q])
        axq.set_title(FRONTIER_TITLES[q], fontsize=9)
        axq.grid(True, which="major", alpha=0.3)
        axq.legend(fontsize=7, frameon=False)
    if created:
        fig.suptitle(
            "Compute-optimal allocation"
            + ("" if getattr(frontier, "identified", True) else ": split NOT identified by the data (see text)"),
            fontsize=11,
        )
    if caption and created:
        _add_caption(
            fig,
            (
                f"Lines: posterior median of the compute-optimal allocation at each budget (C = 6ND). "
                f"Bands: {ci:.0%} {INTERVAL_KIND} credible bands from the posterior of the law's parameters; "
                "they describe the mean law and exclude observation noise."
            ),
        )
    return fig


# ------------------------------------------------------------------ plot_wall
def plot_wall(
    wall,
    *,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    caption: bool = True,
    ax: Sequence[Axes] | None = None,
) -> Figure:
    """Probability of hitting the data wall by each year, and the distribution of the wall year.

    The top panel is ``P(wall by year)`` (a cumulative probability); the
    bottom panel is the probability that the wall arrives in each year (its
    year-to-year increase). Dashed lines mark quantiles of the wall year.

    Parameters
    ----------
    wall : WallForecast
        From :func:`forecast.datawall.data_wall`.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Quantiles of the wall year to mark.
    caption : bool, default True
        Add the caption line saying what the probabilities include.
    ax : sequence of two matplotlib Axes, optional
        Axes for the cumulative and the per-year panels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from forecast.datawall import Scenario, data_wall
    >>> from forecast.testing import fake_fit
    >>> from forecast.plots import plot_wall
    >>> wall = data_wall(fake_fit(draws=50), Scenario.epoch2024(), n_samples=200)
    >>> fig = plot_wall(wall)
    >>> fig.axes[1].get_xlabel()
    'Year'
    """
    prob = wall.prob_by_year()
    if not {"year", "prob"} <= set(prob.columns):
        raise ValueError("wall.prob_by_year() must give a DataFrame with columns 'year' and 'prob'")
    years = prob["year"].to_numpy(dtype=float)
    p = prob["prob"].to_numpy(dtype=float)
    per_year = np.diff(p, prepend=0.0)
    q = pd.Series(wall.year_quantiles(tuple(quantiles)))

    fig, (top, bottom), created = _new_figure_grid(
        ax, 2, figsize=(7.5, 5.4), nrows=2, ncols=1, sharex=True, height_ratios=(3, 2)
    )
    top.plot(years, p, marker="o", markersize=3.5, color="C3", linewidth=1.8, label="P(wall by year)")
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("P(data wall reached by year)")
    bottom.bar(years, per_year, width=0.8, color="C3", alpha=0.55, label="P(wall arrives in year)")
    bottom.set_ylabel("P(wall in year)")
    bottom.set_xlabel("Year")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    # quantile lines are named in the legend, not beside the lines: adjacent years would overprint
    marked = [
        (float(level), float(year))
        for level, year in q.items()
        if np.isfinite(year) and years.min() - 0.5 <= year <= years.max() + 0.5
    ]
    for level, year in marked:
        median = np.isclose(level, 0.5)
        for a in (top, bottom):
            a.axvline(year, color="0.3", linestyle="-" if median else "--", linewidth=0.9)
    if marked:
        words = ", ".join(f"{level:.0%}: {year:.0f}" for level, year in marked)
        top.plot([], [], color="0.3", linestyle="--", linewidth=0.9, label=f"wall year quantiles ({words})")
    for a in (top, bottom):
        a.grid(True, alpha=0.3)
    top.legend(fontsize=8, frameon=False, loc="lower right")
    name = getattr(getattr(wall, "scenario", None), "name", None)
    if created:
        top.set_title(
            "Data wall" + (f": scenario {name}" if name else "")
            + ("" if getattr(wall, "identified", True) else "\n(NOT identified by the data: see text)"),
            fontsize=10,
        )
    if caption and created:
        never = 1.0 - (p[-1] if len(p) else 0.0)
        _add_caption(
            fig,
            (
                "Probability that demand for training tokens at the compute frontier exceeds the usable stock "
                "of text by each year, over the posterior and the scenario's uncertain assumptions (see the "
                f"assumptions table). Lines: {', '.join(f'{float(v):.0%}' for v in q.index)} quantiles of the "
                f"wall year; P(no wall by {years.max():.0f}) = {_percent(never)}."
            ),
        )
    return fig


# ------------------------------------------------------------- plot_shrinkage
def _percent(p: float) -> str:
    """A probability in words that never rounds a small chance to 0% or a near-certainty to 100%."""
    if 0 < p < 0.005:
        return "<1%"
    if 0.995 < p < 1:
        return ">99%"
    return f"{p:.0%}"


def _param_label(name: str) -> str:
    what, unit = PARAMETER_INFO.get(name, ("", ""))
    return f"{name} ({unit})" if unit else name


def _param_title(name: str) -> str:
    # on two lines: side-by-side panels are narrow, and one-line titles ran into each other
    what, _ = PARAMETER_INFO.get(name, ("", ""))
    return f"{name}\n{what}" if what else name


def _shrinkage_panel(
    ax: Axes,
    fit: Fit,
    param: str,
    unpooled: Fit | None,
    ci: float,
    y: np.ndarray,
    names: list[str],
    draws: dict[str, xr.Dataset],
) -> bool:
    """Draw one parameter's shrinkage panel; return whether the fit has a population for it."""
    pooled = interval_stats(draws["pooled"][param], ci)
    sampled = dict(zip(fit.law.user_params, fit.law.params, strict=True))[param]
    has_population = fit.model.pooling[sampled] != "none" and "population" in draws
    values = [pooled["lower"].values, pooled["upper"].values]
    if has_population:
        pop = interval_stats(draws["population"][param], ci)
        new = interval_stats(draws["new"][param], ci)
        ax.axvspan(
            float(pop["lower"]),
            float(pop["upper"]),
            color="0.6",
            alpha=0.25,
            linewidth=0,
            label=f"typical family, {ci:.0%} interval",
        )
        ax.axvline(float(pop["median"]), color="0.35", linewidth=1)
        for bound in ("lower", "upper"):
            ax.axvline(
                float(new[bound]),
                color="0.35",
                linestyle=":",
                linewidth=1,
                label=f"new family, {ci:.0%} interval" if bound == "lower" else None,
            )
        values += [np.atleast_1d(float(new["lower"])), np.atleast_1d(float(new["upper"]))]
    off = 0.0
    if unpooled is not None:
        alone = interval_stats(draws["unpooled"][param], ci)
        off = 0.18
        med = alone["median"].values
        ax.errorbar(
            med,
            y - off,
            xerr=[med - alone["lower"].values, alone["upper"].values - med],
            fmt="s",
            mfc="white",
            color="0.45",
            markersize=5,
            capsize=0,
            linewidth=1.2,
            label=f"no pooling (family alone), {ci:.0%} interval",
        )
        for yi, m0, m1 in zip(y, med, pooled["median"].values, strict=True):
            ax.annotate(
                "",
                xy=(m1, yi + off),
                xytext=(m0, yi - off),
                arrowprops={"arrowstyle": "->", "color": "0.45", "linewidth": 0.8},
            )
        values += [alone["lower"].values, alone["upper"].values]
    med = pooled["median"].values
    ax.errorbar(
        med,
        y + off,
        xerr=[med - pooled["lower"].values, pooled["upper"].values - med],
        fmt="o",
        color="C0",
        ecolor="C0",
        markersize=5,
        capsize=0,
        linewidth=1.6,
        label=f"{'partial pooling' if has_population else 'this fit'}, {ci:.0%} interval",
    )
    ax.set_ylim(y.min() - 0.7, y.max() + 0.7)
    if _spans_decades(np.concatenate([np.ravel(v) for v in values]), decades=1.0):
        ax.set_xscale("log")
    ax.set_xlabel(_param_label(param))
    ax.set_title(_param_title(param), fontsize=9)
    ax.grid(True, axis="x", alpha=0.3)
    return has_population


def plot_shrinkage(
    fit: Fit,
    *,
    param: str | Sequence[str] = "alpha",
    unpooled: Fit | None = None,
    ci: float = DEFAULT_CI,
    caption: bool = True,
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """Each family's estimate of a parameter under pooling, against the population.

    With ``unpooled=`` (a fit of the same law to the same families with
    ``pooling="none"``) each family also shows its estimate alone and an arrow
    to where pooling moved it: families with few runs move most. Without it,
    each family is drawn against the population: the typical family (shaded)
    and the interval for a new family (dotted), which is as wide as the spread
    between families.

    Parameters
    ----------
    fit : Fit
        The pooled fit.
    param : str or sequence of str, default "alpha"
        Parameter(s) of the law in the user's units (e.g. ``"E"``,
        ``"alpha"``); several give side-by-side panels sharing the families.
    unpooled : Fit, optional
        The comparison fit without pooling (same law, same families).
    ci : float, default 0.9
        Mass of the equal-tailed intervals.
    caption : bool, default True
        Add the caption line saying what the intervals include.
    ax : matplotlib Axes or sequence of Axes, optional
        Axes to draw into, one per parameter.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> from forecast.plots import plot_shrinkage
    >>> fig = plot_shrinkage(fake_fit(draws=50), param=["E", "alpha"])
    >>> len(fig.axes), len(fig.axes[0].get_yticklabels())
    (2, 4)
    """
    ci = check_ci(ci)
    params = [param] if isinstance(param, str) else list(param)
    bad = [p for p in params if p not in fit.law.user_params]
    if bad or not params:
        raise ValueError(
            f"law '{fit.law.name}' has no parameter {(bad or [None])[0]!r}; choose from "
            f"{', '.join(fit.law.user_params)}"
        )
    names = list(fit.families)
    if unpooled is not None:
        if unpooled.law.name != fit.law.name:
            raise ValueError(
                f"unpooled fit uses law '{unpooled.law.name}', the pooled fit '{fit.law.name}': "
                "compare fits of the same law"
            )
        missing = [f for f in names if f not in unpooled.families]
        if missing:
            raise ValueError(f"unpooled fit lacks family {missing[0]!r}: fit both to the same data")
    counts = fit.observations.table["family"].value_counts()
    if isinstance(ax, Axes):
        ax = [ax]
    fig, axes, created = _new_figure_grid(
        ax,
        len(params),
        figsize=(
            max(6.5, 2.0 + 2.7 * len(params) + (1.6 if max(map(len, names)) > 36 else 0.0)),
            2.6 + (0.62 if max(map(len, names)) > 36 else 0.45) * len(names),
        ),
    )
    y = np.arange(len(names))[::-1].astype(float)
    draws = {"pooled": fit.parameter_draws(None)}
    if all(fit.model.pooling[p] != "none" for p in fit.law.params):
        draws["population"] = fit.parameter_draws("population")
        draws["new"] = fit.parameter_draws("new")
    if unpooled is not None:
        draws["unpooled"] = unpooled.parameter_draws(names)
    populated = [
        _shrinkage_panel(a, fit, p, unpooled, ci, y, names, draws) for p, a in zip(params, axes, strict=True)
    ]
    for i, a in enumerate(axes):
        a.set_yticks(
            y,
            [f"{_short_family(fam, 36)} ({int(counts.get(fam, 0))} runs)" for fam in names] if i == 0 else [],
            fontsize=8 if len(names) > 6 else None,
        )
    if created:
        # the legend goes above the panels (not beside them) so the panels keep their width and the text stays
        # readable when the figure is scaled to a page; the panel titles name each parameter
        handles, labels = axes[-1].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="outside upper center",
            ncols=3 if len(labels) == 3 else 2,
            fontsize=8,
            frameon=False,
        )
    else:
        axes[-1].legend(fontsize=7, frameon=False, loc="best")
    if caption and created:
        text = (
            f"Each family's {', '.join(params)} under pooling"
            + (" and alone" if unpooled is not None else "")
            + f". Points: posterior median; bars: {ci:.0%} {INTERVAL_KIND} credible intervals "
            "of the parameter (no observation noise involved)."
        )
        if any(populated):
            text += " Shaded: the typical family (population median); dotted: where a new family's value would fall."
        if unpooled is not None:
            text += " Arrows run from each family's estimate alone to its pooled estimate."
        _add_caption(fig, text)
    return fig


# ------------------------------------------------------------- plot_exponents
def _prior_user_draws(fit: Fit, n: int, seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    theta = {p: xr.DataArray(fit.model.priors[p].sample(rng, n), dims="sample") for p in fit.law.params}
    theta.update({p: theta[src] for p, src in fit.model.tied.items()})  # a shared exponent
    user = fit.law.to_user(theta, fit.centre, np)
    return xr.Dataset({k: user[k] for k in fit.law.user_params})


def _three(median: float, lower: float, upper: float, ci: float) -> str:
    """``0.348 (90%: 0.337-0.360)``: three significant digits of the median, the same decimals for the bounds."""
    decimals = max(0, 2 - int(np.floor(np.log10(abs(median))))) if median else 3
    return f"{median:.{decimals}f} ({ci:.0%}: {lower:.{decimals}f}-{upper:.{decimals}f})"


def _density(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    from scipy.stats import gaussian_kde

    values = np.asarray(values, dtype=float).ravel()
    if np.ptp(values) == 0:
        return np.zeros_like(grid)
    return gaussian_kde(values)(grid)


def plot_exponents(
    fit: Fit,
    *,
    ci: float = DEFAULT_CI,
    families: Sequence[str] | None = None,
    prior: bool = True,
    caption: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """Posterior densities of the law's scaling exponents (e.g. alpha and beta).

    Parameters
    ----------
    fit : Fit
        A fitted model.
    ci : float, default 0.9
        Mass of the equal-tailed interval shaded under each density.
    families : sequence of str, optional
        Whose exponents to draw: fitted family names, ``"population"`` (the
        typical family) or ``"new"``. Default: ``["population"]`` when every
        parameter is pooled, else every fitted family.
    prior : bool, default True
        Also draw each exponent's prior (dashed), to show how much the data
        taught.
    caption : bool, default True
        Add the caption line.
    ax : matplotlib Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> from forecast.plots import plot_exponents
    >>> fig = plot_exponents(fake_fit(draws=50))
    >>> sorted(line.get_label().split(" ")[0] for line in fig.axes[0].lines if "posterior" in line.get_label())
    ['alpha', 'beta']
    """
    ci = check_ci(ci)
    exponents = [p for p in fit.law.user_params if p.startswith(("alpha", "beta"))]
    if not exponents:
        raise ValueError(f"law '{fit.law.name}' has no exponent parameters (named alpha*/beta*)")
    pooled = all(fit.model.pooling[p] != "none" for p in fit.law.params)
    default = ["population"] if pooled else list(fit.families)
    names = default if families is None else list(families)
    draws = fit.parameter_draws(names)
    lo_q, hi_q = quantile_bounds(ci)

    fig, ax, created = _new_figure(ax, figsize=(7.0, 4.2))
    all_values = np.concatenate([draws[p].values.ravel() for p in exponents])
    lo, hi = np.quantile(all_values, [0.0005, 0.9995])
    pad = 0.25 * (hi - lo) + 1e-9
    grid = np.linspace(lo - pad, hi + pad, 400)
    styles = ["-", "--", "-.", ":"]
    for i, p in enumerate(exponents):
        colour = f"C{i}"
        for j, fam in enumerate(names):
            values = draws[p].sel(family=fam).values.ravel()
            dens = _density(values, grid)
            a, b = np.quantile(values, [lo_q, hi_q])
            med = float(np.median(values))
            who = "" if names == ["population"] else f" [{fam}]"
            ax.plot(
                grid,
                dens,
                color=colour,
                linestyle=styles[j % len(styles)] if len(names) > 1 else "-",
                linewidth=1.6,
                label=f"{p}{who} posterior: {_three(med, a, b, ci)}",
            )
            inside = (grid >= a) & (grid <= b)
            ax.fill_between(grid[inside], dens[inside], color=colour, alpha=0.18, linewidth=0)
        if prior:
            prior_values = _prior_user_draws(fit, 4000, seed=i)[p].values
            ax.plot(
                grid,
                _density(prior_values, grid),
                color=colour,
                linestyle=(0, (2, 2)),
                linewidth=1,
                alpha=0.8,
                label=f"{p} prior",
            )
    ax.set_xlabel("Exponent (unitless)")
    ax.set_ylabel("Probability density (per unit of exponent)")
    ax.set_ylim(bottom=0)
    who = "a typical family" if names == ["population"] else ", ".join(map(_family_label, names))
    ax.set_title(f"Scaling exponents of {who}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    if caption and created:
        _add_caption(
            fig,
            (
                f"Solid: posterior density of each exponent; shaded: its {ci:.0%} {INTERVAL_KIND} credible "
                "interval" + ("; dashed: the prior, for how much the runs narrowed it" if prior else "") + "."
            ),
        )
    return fig


# ----------------------------------------------------------- capabilities
def plot_capabilities(
    fit: Any,
    *,
    benchmarks: Sequence[str] | None = None,
    family: str = "new",
    flops: Sequence[float] | None = None,
    ci: float = DEFAULT_CI,
    include_noise: bool = False,
    highlight: Sequence[str] | None = None,
    held_out: pd.DataFrame | None = None,
    ncols: int = 4,
    ax=None,
) -> Figure:
    """Benchmark score against training compute: one panel per benchmark, the forecast band and the models.

    Parameters
    ----------
    fit : CapabilityFit
        From :meth:`forecast.CapabilityModel.fit`.
    benchmarks : sequence of str, optional
        Panels to draw (default every fitted benchmark).
    family : str
        Family whose band is drawn (``"new"``: a family not seen).
    flops : sequence of float, optional
        Compute grid of the band (default: from a decade below the data to two above).
    ci : float
        Mass of the band (equal-tailed).
    include_noise : bool
        Band of one new model's score instead of the family's typical model.
    highlight : sequence of str, optional
        Families whose models are coloured (default: the family drawn, or the
        four with most models); the others are grey.
    held_out : DataFrame, optional
        Held-out scores to overlay as crosses (``flops, benchmark, score``), e.g.
        :func:`forecast.capabilities.capability_backtest`'s table.
    ncols : int
        Panels per row.
    ax : sequence of Axes, optional
        One axes per benchmark to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from forecast.testing import fake_capability_fit
    >>> fig = plot_capabilities(fake_capability_fit(draws=50), benchmarks=["MC-A"])
    >>> len(fig.axes)
    1
    """
    ci = check_ci(ci)
    names = list(benchmarks) if benchmarks is not None else list(fit.benchmarks)
    table = fit.scores.table
    if flops is None:
        lo, hi = np.log10(table["flops"].min()) - 1, np.log10(table["flops"].max()) + 2
        flops = np.logspace(lo, hi, 60)
    flops = np.asarray(flops, dtype=float)
    band = fit.predict(flops, family=family, benchmark=names, include_noise=include_noise).table(ci)
    if ax is not None:
        fig, axes, _ = _new_figure_grid(ax, len(names), figsize=(1, 1))
    else:
        fig, axes, _ = _grid_trimmed(len(names), min(ncols, len(names)))
    if highlight is None:
        counts = table.drop_duplicates("model")["family"].value_counts()
        highlight = [family] if family in fit.families else list(counts.index[:4])
    # colours by position in the highlighted list, avoiding the band's blue (C0) and the grey of other models (C7)
    palette = [f"C{k}" for k in (1, 2, 3, 4, 5, 6, 8, 9)]
    colours = {fam: palette[i % len(palette)] for i, fam in enumerate(highlight)}
    for a, b in zip(axes, names, strict=False):
        sub = band[band["benchmark"] == b]
        a.fill_between(sub["flops"], sub["lower"], sub["upper"], color="C0", alpha=0.25, lw=0)
        a.plot(sub["flops"], sub["median"], color="C0", lw=1.5)
        pts = table[table["benchmark"] == b]
        other = ~pts["family"].isin(highlight)
        a.scatter(pts.loc[other, "flops"], pts.loc[other, "score"], s=9, color="0.6", alpha=0.7, lw=0)
        for fam in highlight:
            mine = pts[pts["family"] == fam]
            a.scatter(mine["flops"], mine["score"], s=16, color=colours[fam], label=str(fam), lw=0)
        if held_out is not None:
            ho = held_out[held_out["benchmark"] == b]
            a.scatter(ho["flops"], ho["score"], marker="x", s=18, color="C3", lw=1, label="held out")
        a.axhline(fit.scores.chance[b], color="0.4", ls=":", lw=0.8)
        a.set_xscale("log")
        a.set_ylim(0, 1)
        a.set_title(b, fontsize=10)
        a.set_xlabel("Training compute C (FLOP)", fontsize=8)
        a.set_ylabel("Score (fraction)", fontsize=8)
    axes[0].legend(fontsize=6, loc="upper left")
    what = ("one new model's score (parameters, its own capability, benchmark noise)" if include_noise
            else "the score of the family's typical model (parameter uncertainty)")
    _add_caption(fig, f"Band: {ci:.0%} {INTERVAL_KIND} interval of {what}; family: {_family_label(family)}. "
                 "Dotted line: chance. Dots: fitted models.")
    return fig


def _grid_trimmed(n: int, ncols: int) -> tuple[Figure, list[Axes], bool]:
    nrows = int(np.ceil(n / ncols))
    fig, grid = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.9 * nrows), layout="constrained", squeeze=False)
    axes = list(grid.ravel())
    for extra in axes[n:]:
        extra.remove()
    return fig, axes[:n], True


def plot_family_offsets(fit: Any, *, ci: float = DEFAULT_CI, top: int | None = None, ax: Axes | None = None) -> Figure:
    """Compute-efficiency offsets of the families, ranked, with intervals.

    Parameters
    ----------
    fit : CapabilityFit
    ci : float
        Mass of the intervals (equal-tailed).
    top : int, optional
        Show only the ``top`` most and ``top`` least efficient families.
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from forecast.testing import fake_capability_fit
    >>> fig = plot_family_offsets(fake_capability_fit(draws=50))
    >>> fig.axes[0].get_xlabel()
    'Compute-efficiency offset (decades of training compute)'
    """
    table = fit.family_offsets(ci)
    if top is not None and len(table) > 2 * top:
        table = pd.concat([table.head(top), table.tail(top)])
    fig, a, _ = _new_figure(ax, figsize=(6.0, 0.22 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    a.errorbar(table["median"], y, xerr=[table["median"] - table["lower"], table["upper"] - table["median"]],
               fmt="o", ms=4, color="C0", ecolor="C0", elinewidth=1, capsize=0)
    a.axvline(0, color="0.4", lw=0.8, ls=":")
    a.set_yticks(y, [f"{f} ({n})" for f, n in zip(table["family"], table["n_models"], strict=True)], fontsize=7)
    a.set_xlabel("Compute-efficiency offset (decades of training compute)")
    _add_caption(fig, f"Median and {ci:.0%} {INTERVAL_KIND} interval; +1 means the family scores as if trained "
                 "with 10x its compute. In brackets: models in the family.")
    return fig


# ------------------------------------------------- posterior predictive check
def _family_grid(n: int, *, panel: tuple[float, float] = (3.0, 2.4), max_cols: int = 4):
    """A grid of small multiples for ``n`` families (unused panels hidden)."""
    ncols = min(max_cols, n)
    nrows = -(-n // ncols)
    if ncols <= 2:  # one or two families: panels wide enough for the title and the caption
        panel = (7.0 / ncols, 0.62 * 7.0 / ncols)
    fig, grid = plt.subplots(
        nrows, ncols, figsize=(panel[0] * ncols + 0.6, panel[1] * nrows + 0.9), layout="constrained",
        squeeze=False,
    )
    axes = list(grid.ravel())
    for a in axes[n:]:
        a.set_visible(False)
    return fig, axes[:n], ncols


def _short_family(name: str, width: int = 34) -> str:
    """A long family name wrapped onto lines of about ``width`` characters (at hyphens, slashes, spaces).

    Every character is kept: families of one study often differ only in the middle of their names.
    """
    name = str(name)
    if len(name) <= width:
        return name
    return textwrap.fill(name.replace("/", "/ "), width=width, break_on_hyphens=True).replace("/ ", "/")


def _run_predictions(fit: Fit, family: str, *, include_noise: bool, ci: float):
    """Predicted loss at each of ``family``'s runs (median and interval) and the runs themselves."""
    runs = fit.observations.table[fit.observations.table["family"] == family]
    extra = {"unique_tokens": runs["unique_tokens"].to_numpy()} if "unique_tokens" in fit.law.inputs else {}
    if "flops" in fit.law.inputs and not {"params", "tokens"} & set(fit.law.inputs):
        inputs = {"flops": runs["flops"].to_numpy()}
    else:
        inputs = {"params": runs["params"].to_numpy(), "tokens": runs["tokens"].to_numpy()}
    fc_ = fit.predict(**inputs, **extra, family=family, include_noise=include_noise)
    values = fc_.draws.sel(family=family).stack(sample=("chain", "draw")).transpose("sample", "point").values
    lo, hi = quantile_bounds(ci)
    q = np.quantile(values, [lo, 0.5, hi], axis=0)
    return runs, q


def plot_ppc(
    fit: Fit,
    *,
    ci: float = DEFAULT_CI,
    families: Sequence[str] | None = None,
    caption: bool = True,
) -> Figure:
    """Posterior predictive check: each run's observed loss against its predicted loss, one panel per family.

    For every run the posterior predictive interval (the law's mean plus the
    fitted observation noise) is drawn as a vertical bar at the observed loss;
    a run whose bar misses the diagonal is one the model did not expect. Each
    panel's title gives the share of runs inside their interval (about
    ``ci`` when the model fits).

    Parameters
    ----------
    fit : Fit
        A fitted model.
    ci : float, default 0.9
        Mass of the equal-tailed predictive interval.
    families : sequence of str, optional
        Fitted families to draw (default: all), one small panel each.
    caption : bool, default True
        Add the caption line.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> from forecast.plots import plot_ppc
    >>> fig = plot_ppc(fake_fit(draws=50))
    >>> len([a for a in fig.axes if a.get_visible()])
    4
    """
    ci = check_ci(ci)
    names = list(fit.families if families is None else families)
    fit._resolve_families(names)
    fig, axes, ncols = _family_grid(len(names))
    colours = _family_colours(names, fit.families)
    covered_all, total = 0, 0
    for i, (fam, ax) in enumerate(zip(names, axes, strict=True)):
        runs, q = _run_predictions(fit, fam, include_noise=True, ci=ci)
        observed = runs["loss"].to_numpy()
        inside = (observed >= q[0]) & (observed <= q[2])
        covered_all += int(inside.sum())
        total += len(observed)
        ax.errorbar(
            observed, q[1], yerr=np.vstack([q[1] - q[0], q[2] - q[1]]), fmt="o", markersize=3,
            color=colours[fam], ecolor=colours[fam], elinewidth=1, alpha=0.8,
        )
        ax.scatter(observed[~inside], q[1][~inside], s=28, facecolor="none", edgecolor="C3", zorder=4,
                   label="run outside its interval" if i == 0 else None)
        lo, hi = min(observed.min(), q[0].min()), max(observed.max(), q[2].max())
        ax.plot([lo, hi], [lo, hi], color="0.4", linestyle="--", linewidth=0.9)
        if _spans_decades(np.concatenate([observed, q[0], q[2]]), decades=1.0):
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_title(f"{_short_family(fam, 40)}\n{len(observed)} runs, {inside.mean():.0%} inside", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel("predicted loss (nats)", fontsize=8)
        if i >= len(names) - ncols:
            ax.set_xlabel("observed loss (nats)", fontsize=8)
    fig.suptitle(
        f"Posterior predictive check: {covered_all / max(total, 1):.0%} of {total} runs inside their "
        f"{ci:.0%} interval", fontsize=10,
    )
    if caption:
        _add_caption(
            fig,
            f"Each point is a run: observed loss (x) against the posterior median of its predicted loss (y); "
            f"bars: {ci:.0%} {INTERVAL_KIND} posterior predictive intervals, which include the fitted "
            "observation noise. Dashed: predicted = observed. Open red circles: runs outside their interval "
            f"(about {1 - ci:.0%} of runs when the model fits).",
        )
    return fig


def plot_residuals(
    fit: Fit,
    *,
    families: Sequence[str] | None = None,
    caption: bool = True,
) -> Figure:
    """Residuals of log loss against training compute, one panel per family.

    The residual of a run is ``log(observed loss) - log(predicted mean loss)``
    at the posterior median (so +0.01 is 1% above the law). A law that fits
    leaves residuals scattered about zero within the noise band at every
    compute; a trend with compute is misfit that extrapolation will amplify.

    Parameters
    ----------
    fit : Fit
    families : sequence of str, optional
        Fitted families to draw (default: all), one small panel each.
    caption : bool, default True

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> from forecast.plots import plot_residuals
    >>> fig = plot_residuals(fake_fit(draws=50))
    >>> fig.axes[0].get_xscale()
    'log'
    """
    names = list(fit.families if families is None else families)
    fit._resolve_families(names)
    fig, axes, ncols = _family_grid(len(names), panel=(3.0, 2.1))
    colours = _family_colours(names, fit.families)
    sigma = fit.noise_draws(names).median(("chain", "draw"))
    limit = 0.0
    for i, (fam, ax) in enumerate(zip(names, axes, strict=True)):
        runs, q = _run_predictions(fit, fam, include_noise=False, ci=DEFAULT_CI)
        resid = np.log(runs["loss"].to_numpy()) - np.log(q[1])
        s = float(sigma.sel(family=fam))
        ax.axhspan(-2 * s, 2 * s, color="0.85", linewidth=0, label="±2 sigma (fitted noise)" if i == 0 else None)
        ax.axhline(0.0, color="0.3", linewidth=0.9)
        ax.scatter(runs["flops"], resid, s=12, color=colours[fam], edgecolor="white", linewidth=0.3, zorder=3)
        ax.set_xscale("log")
        ax.set_title(f"{_short_family(fam, 40)} ({len(runs)} runs)", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        limit = max(limit, float(np.max(np.abs(resid))), 2.5 * s)
        if i % ncols == 0:
            ax.set_ylabel("log observed − log predicted", fontsize=8)
        if i >= len(names) - ncols:
            ax.set_xlabel(AXIS_LABELS["flops"], fontsize=8)
    for ax in axes:
        ax.set_ylim(-1.1 * limit, 1.1 * limit)
    fig.suptitle("Residuals of log loss against compute", fontsize=10)
    if caption:
        _add_caption(
            fig,
            "Residual of each run: log of its observed loss minus log of the posterior median of the law's mean "
            "loss at its N and D (0.01 = 1% above the law). Grey band: two fitted noise scales either side. "
            "Residuals should scatter about zero at every compute; a trend is misfit that grows when "
            "extrapolated. All panels share the y axis.",
        )
    return fig


# ------------------------------------------------------- cross-validation
def plot_pit(
    cv,
    *,
    methods: Sequence[str] | None = None,
    bins: int = 10,
    ax: Sequence[Axes] | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """PIT histograms and coverage by horizon of a rolling-origin cross-validation.

    Left: the probability integral transform of each held-out run (the share
    of forecast draws below the observed loss) per method; calibrated
    forecasts give a flat histogram, over-confident ones a U, biased ones a
    slope. Right: coverage of the 50% and 90% intervals against the horizon
    (decades of compute beyond the family's data), with the nominal masses.

    Parameters
    ----------
    cv : forecast.backtest.Backtest
        From :func:`forecast.cross_validate` (or :func:`forecast.backtest.backtest`).
    methods : sequence of str, optional
        Methods to draw (default: every method in ``cv``).
    bins : int
        Histogram bins of the PIT.
    ax : sequence of two Axes, optional
        Axes to draw into.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_pit(cv)   # doctest: +SKIP
    """
    points = cv.table()
    methods = list(methods or dict.fromkeys(points["method"]))
    unknown = [m for m in methods if m not in set(points["method"])]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; this cross-validation has {sorted(set(points['method']))}")
    if int(bins) < 2:
        raise ValueError(f"bins must be at least 2, got {bins!r}")
    fig, axes, _ = _new_figure_grid(ax, 2, figsize=figsize or (10.0, 3.8))
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    colours = {m: f"C{i}" for i, m in enumerate(methods)}
    for m in methods:
        pit = points.loc[points["method"] == m, "pit"].dropna().to_numpy()
        if pit.size:
            axes[0].hist(pit, bins=edges, density=True, histtype="step", lw=1.8, color=colours[m],
                         label=f"{m} ({pit.size} runs)")
    axes[0].axhline(1.0, color="0.4", ls=":", lw=1, label="calibrated")
    axes[0].set(xlim=(0, 1), xlabel="PIT: share of forecast draws below the observed loss",
                ylabel="density", title="Probability integral transform")
    axes[0].legend(fontsize="small")
    metrics = cv.metrics(by="horizon")
    for m in methods:
        g = metrics[metrics["method"] == m]
        for tag, style in (("90", "-"), ("50", "--")):
            if f"coverage_{tag}" in g and g[f"coverage_{tag}"].notna().any():
                axes[1].plot(g["mean_horizon"], g[f"coverage_{tag}"], style, marker="o", color=colours[m],
                             label=f"{m}, {tag}%")
    for tag in ("90", "50"):
        axes[1].axhline(int(tag) / 100, color="0.4", ls=":", lw=1)
    axes[1].set(ylim=(-0.02, 1.02), xlabel="horizon (decades of compute beyond the family's data)",
                ylabel="coverage of held-out runs", title="Coverage by horizon")
    axes[1].legend(fontsize="small")
    s = cv.settings
    _add_caption(fig, f"Rolling-origin cross-validation, origins {', '.join(s.get('folds', []))}; "
                      f"{INTERVAL_KIND} intervals of single held-out runs. bayes: "
                      f"{s.get('bayes_intervals', '')}; baseline: {s.get('baseline_intervals', '')}.")
    return fig
