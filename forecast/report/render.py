"""Write a forecast report: one self-contained HTML file, or Markdown for documents.

The report puts the answers first, in sentences with intervals, then the
evidence a reader needs to trust them: the data used, the law with its priors
and pooling, the convergence diagnostics with a pass/fail verdict, the
parameters, the forecasts, the compute-optimal frontier, the data wall with
every assumption and its source, a backtest if one is given, and a footer with
what is needed to reproduce it. Every table says what its intervals include.

The HTML file embeds its figures as inline SVG and its style sheet inline; it
loads nothing from anywhere (no fonts, scripts or style sheets), so it opens
offline and can be mailed as one file.
"""

from __future__ import annotations

import io
import math
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from forecast.config import DEFAULT_CI, GATE, INTERVAL_KIND, check_ci, quantile_bounds
from forecast.fit import ConvergenceWarning, atomic_write
from forecast.report import formatting as F

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

    from forecast.fit import Fit

__all__ = ["write_report"]

Format = Literal["html", "markdown"]
VERSIONED = ("forecast", "pymc", "arviz", "nutpie", "numpy", "xarray", "pandas", "matplotlib", "jinja2")
SECTIONS = (
    ("answers", "Answers"),
    ("data", "Data used"),
    ("model", "The law, priors and pooling"),
    ("diagnostics", "Diagnostics"),
    ("fitcheck", "Does the law fit the runs?"),
    ("parameters", "Parameters"),
    ("forecasts", "Forecasts"),
    ("frontier", "Compute-optimal frontier"),
    ("wall", "Data wall"),
    ("backtest", "Backtest"),
    ("trust", "How far can this forecast be trusted?"),
    ("reproduce", "Reproducibility"),
)


# --------------------------------------------------------------- containers
@dataclass
class Table:
    """A table ready for either template: formatted cells and a caption saying what intervals include."""

    id: str
    columns: list[str]
    rows: list[list[str]]
    caption: str
    numeric: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.numeric:
            self.numeric = [False] * len(self.columns)


@dataclass
class Figure:
    """An embedded figure: inline SVG (HTML) or the relative path of a PNG file (Markdown)."""

    id: str
    title: str
    number: int
    svg: str | None = None
    png: str | None = None


# ------------------------------------------------------------------ figures
def _svg_markup(fig: MplFigure, salt: str, title: str) -> str:
    """The figure as inline SVG with nothing that points outside the document."""
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    # a fixed salt per figure gives stable ids that differ between figures of one page
    with mpl.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    text = text.replace("xlink:href", "href")
    width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', text)
    text = re.sub(r'(<svg[^>]*?)\s(width|height)="[^"]*"', r"\1", text, count=1)
    text = re.sub(r'(<svg[^>]*?)\s(width|height)="[^"]*"', r"\1", text, count=1)
    # allow a little enlargement on wide screens, never so much that small text looks oversized
    style = f' style="max-width:{1.25 * float(width.group(1)):.0f}pt"' if width else ""
    safe_title = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg", f'<svg role="img" aria-label="{safe_title}"{style}', 1).strip()


# Log axes wider than this many decades get no minor ticks in reports: each decade's eight unlabelled
# minor ticks are matplotlib objects laid out on every layout pass, and on a six-decade compute axis they
# cost about a quarter of the report's time while the labelled decade ticks carry what a reader reads.
MINOR_TICKS_MAX_DECADES = 3.0


def _drop_crowded_minor_ticks(fig: MplFigure) -> None:
    from matplotlib.ticker import NullLocator

    for ax in fig.axes:
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = sorted(limits)
            if axis.get_scale() == "log" and low > 0 and math.log10(high / low) > MINOR_TICKS_MAX_DECADES:
                axis.set_minor_locator(NullLocator())


class _FigureSink:
    """Turns matplotlib figures into report figures for one output format."""

    def __init__(self, fmt: Format, path: Path, enabled: bool) -> None:
        self.fmt = fmt
        self.enabled = enabled
        self.count = 0
        self.folder = path.with_name(f"{path.stem}_figures")
        self.relative = self.folder.name

    def __call__(self, make: Callable[[], MplFigure], id: str, title: str) -> Figure | None:
        if not self.enabled:
            return None
        import matplotlib.pyplot as plt

        self.count += 1
        fig = make()
        _drop_crowded_minor_ticks(fig)
        if self.fmt == "html":
            return Figure(
                id=id, title=title, number=self.count, svg=_svg_markup(fig, f"{id}-{self.count}", title)
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{id}.png"  # ids are unique within a report
        atomic_write(self.folder / name, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
        plt.close(fig)
        return Figure(id=id, title=title, number=self.count, png=f"{self.relative}/{name}")


# ------------------------------------------------------------------- tables
def _frame_table(df: pd.DataFrame, id: str, caption: str, *, rename: dict[str, str] | None = None) -> Table:
    """A DataFrame as a Table: numbers to :data:`formatting.TABLE_DIGITS` significant digits."""
    df = df.reset_index(drop=not _named_index(df))
    columns = [" ".join(map(str, c)).strip() if isinstance(c, tuple) else str(c) for c in df.columns]
    numeric = [
        pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns
    ]
    rows = [
        [F.num(v) if isinstance(v, bool | np.bool_ | int | float | np.number) else str(v) for v in record]
        for record in df.itertuples(index=False, name=None)
    ]
    names = [(rename or {}).get(c, c) for c in columns]
    return Table(id=id, columns=names, rows=rows, caption=caption, numeric=numeric)


def _named_index(df: pd.DataFrame) -> bool:
    return any(n is not None for n in df.index.names)


def _interval_words(ci: float, *, noise: bool | None) -> str:
    lo, hi = quantile_bounds(ci)
    text = (
        f"{ci:.0%} {INTERVAL_KIND} credible intervals, from the {lo * 100:g}% to the {hi * 100:g}% "
        "posterior quantile"
    )
    if noise is True:
        text += "; they include the observation noise of a single run"
    elif noise is False:
        text += "; they describe the mean loss and exclude observation noise"
    return text + "."


# ---------------------------------------------------------------- sections
def _law_sentence(fit: Fit, summary: pd.DataFrame, ci: float) -> str:
    law = fit.law
    shown = [p for p in law.user_params if p == "E" or p.startswith(("alpha", "beta"))] or list(
        law.user_params
    )
    pop = summary[(summary["family"] == "population") & summary["parameter"].isin(shown)]
    units = {"E": " nats per token"}
    if set(pop["parameter"]) == set(shown):
        parts = []
        for p in shown:
            row = pop[pop["parameter"] == p].iloc[0]
            med, lo, hi = F.same_decimals(row["median"], row["lower"], row["upper"])
            parts.append(f"{p} = {med}{units.get(p, '')} ({ci:.0%} interval {lo}–{hi})")
        return (
            f"For a typical family the fitted law {law.formula} has "
            + ", ".join(parts)
            + f" (posterior medians; {INTERVAL_KIND} intervals)."
        )
    return (
        f"The law {law.formula} has no typical family here because some of its parameters are not pooled "
        "across families (pooling 'none'); each family's estimates are in the parameter table."
    )


def _who(family: str) -> str:
    if family == "new":
        return "A new family (one not among the fitted families, drawn from the population)"
    if family == "population":
        return "A typical family (the population median)"
    return f"Family '{family}'"


def _families_words(families: list[str]) -> str:
    """``new family and 4 fitted families``; names listed when there are at most two."""
    if len(families) <= 2:
        return " and ".join(_short_who(f) for f in families)
    special = [_short_who(f) for f in families if f in ("new", "population")]
    fitted = len(families) - len(special)
    return " and ".join(
        [*special, f"{fitted} fitted famil{'y' if fitted == 1 else 'ies'}"] if fitted else special
    )


def _short_who(family: str) -> str:
    return {"new": "new family", "population": "typical family"}.get(family, f"family '{family}'")


def _point_words(row: pd.Series) -> str:
    def ok(k):
        return k in row and pd.notna(row[k]) and np.isfinite(float(row[k]))

    parts = []
    if ok("params"):
        parts.append(f"with {F.count(row['params'])} parameters")
    if ok("tokens"):
        parts.append(f"trained on {F.count(row['tokens'])} tokens")
    if ok("flops"):
        parts.append(
            f"({F.flop(row['flops'])} FLOP)" if parts else f"trained with {F.flop(row['flops'])} FLOP"
        )
    return " ".join(parts)


def _forecast_sentences(
    table: pd.DataFrame, index: int, ci: float, noise: bool, split_note: str | None = None
) -> list[str]:
    out = []
    key = next((k for k in ("flops", "params", "tokens") if k in table and table[k].notna().all()), None)
    for fam, rows in table.groupby("family", sort=False):
        row = rows.loc[rows[key].idxmax()] if key else rows.iloc[-1]
        what = "loss" if noise else "mean loss"
        noise_words = (
            "including the noise of a single run"
            if noise
            else "for the mean loss, excluding observation noise"
        )
        text = (
            f"{_who(str(fam))} {_point_words(row)} reaches a {what} of {F.loss(row['median'])} nats per "
            f"token (median; {ci:.0%} interval {F.loss(row['lower'])}–{F.loss(row['upper'])}, "
            f"{noise_words})."
        )
        if len(rows) > 1:
            text += (
                f" That is the largest of the {len(rows)} points of forecast {index}; all are in its table."
            )
        if split_note:
            text += f" {split_note[0].upper()}{split_note[1:]}."
        out.append(text)
    return out


def _frontier_rows(frontier, ci: float) -> pd.DataFrame:
    table = frontier.table(ci)
    need = {"flops", "quantity", "median", "lower", "upper"}
    if not need <= set(table.columns):
        raise ValueError(f"frontier.table() must have columns {sorted(need)}; got {list(table.columns)}")
    return table


def _frontier_sentences(frontier, table: pd.DataFrame, ci: float) -> list[str]:
    biggest = table["flops"].max()
    at = table[table["flops"] == biggest].set_index("quantity")

    def value(q: str, fmt) -> str:
        r = at.loc[q]
        return f"{fmt(r['median'])} ({ci:.0%} interval {fmt(r['lower'])}–{fmt(r['upper'])})"

    family = getattr(frontier, "family", "population")
    who = {"population": "a typical family", None: "a typical family", "new": "a new family"}.get(
        family, f"family '{family}'"
    )
    head = f"At the largest budget in the report, {F.flop(biggest)} FLOP, the compute-optimal model for {who}"
    if not getattr(frontier, "identified", True):
        head = "Not identified by these data (the split comes mostly from the prior; see below): " + head[0].lower() + head[1:]
    parts = []
    if {"params", "tokens"} <= set(at.index):
        parts.append(
            f"has {value('params', F.count)} parameters trained on {value('tokens', F.count)} tokens"
        )
    if "tokens_per_param" in at.index:
        parts.append(f"that is {value('tokens_per_param', F.ratio)} tokens per parameter")
    if "loss" in at.index:
        parts.append(f"reaches a mean loss of {value('loss', F.loss)} nats per token")
    if not parts:
        return []
    body = ", ".join(parts[:-1]) + (", and " if len(parts) > 1 else "") + parts[-1]
    sentences = [f"{head} {body} (medians; excluding observation noise)."]
    returns = _frontier_returns(frontier, ci)
    if returns is not None:
        sentences.append(returns)
    return sentences


def _frontier_returns(frontier, ci: float) -> str | None:
    """One sentence on diminishing returns at the largest budget, if the frontier offers ``returns(ci)``."""
    if not hasattr(frontier, "returns"):
        return None
    r = frontier.returns(ci)
    if not isinstance(r, pd.DataFrame) or "quantity" not in r.columns or not len(r):
        return None
    last = r[r["flops"] == r["flops"].max()].set_index("quantity")
    if "loss_drop" not in last.index:
        return None
    drop = last.loc["loss_drop"]
    text = (
        f"Ten times more compute than that ({F.flop(drop['flops'])} to {F.flop(drop['to_flops'])} FLOP) "
        f"lowers the compute-optimal mean loss by {F.num(drop['median'], 3)} nats per token "
        f"({ci:.0%} interval {F.num(drop['lower'], 3)}–{F.num(drop['upper'], 3)})"
    )
    if "fraction" in last.index:
        frac = last.loc["fraction"]
        text += (
            f", removing {F.percent(frac['median'])} ({F.percent(frac['lower'])}–{F.percent(frac['upper'])}) "
            "of the loss still above the irreducible E"
        )
    return text + "."


def _data_table(fit: Fit) -> Table:
    from forecast.identify import lockstep_table

    table = fit.observations.table
    spread = lockstep_table(fit).set_index("family")
    rows = []
    for fam in fit.families:
        t = table[table["family"] == fam]
        ratio = t["tokens"] / t["params"]
        rows.append(
            [
                fam,
                str(len(t)),
                F.interval(t["params"].min(), t["params"].max()),
                F.interval(t["tokens"].min(), t["tokens"].max()),
                F.interval(ratio.min(), ratio.max()),
                F.interval(t["flops"].min(), t["flops"].max()),
                F.interval(t["loss"].min(), t["loss"].max()),
                F.num(spread.loc[fam, "spread_decades"], 2)
                + (" (lock-step)" if spread.loc[fam, "lockstep"] else ""),
            ]
        )
    rows.append(
        [
            "all",
            str(len(table)),
            F.interval(table["params"].min(), table["params"].max()),
            F.interval(table["tokens"].min(), table["tokens"].max()),
            F.interval((table["tokens"] / table["params"]).min(), (table["tokens"] / table["params"]).max()),
            F.interval(table["flops"].min(), table["flops"].max()),
            F.interval(table["loss"].min(), table["loss"].max()),
            "",
        ]
    )
    flops_source = getattr(fit.observations, "flops_source", None)
    caption = (
        "Observed ranges (minimum – maximum) of the runs each family contributed; no intervals. "
        "Compute C is " + ("6ND (not given in the data)." if flops_source == "6 N D" else "as given.")
        + " N–D spread: how far a family's runs spread across their line in (log10 N, log10 D), in decades; "
        "near 0 ('lock-step', as on a compute-optimal line) the runs cannot separate the parameter term "
        "from the data term."
    )
    return Table(
        id="data-table",
        caption=caption,
        columns=[
            "family",
            "runs",
            "N (parameters)",
            "D (tokens)",
            "D/N (tokens per parameter)",
            "C (FLOP)",
            "loss (nats per token)",
            "N–D spread (decades)",
        ],
        rows=rows,
        numeric=[False, True, True, True, True, True, True, True],
    )


def _prior_table(fit: Fit) -> Table:
    from forecast.plots import _prior_user_draws

    model, law = fit.model, fit.law
    implied = _prior_user_draws(fit, 4000, seed=0)
    lo, hi = quantile_bounds(DEFAULT_CI)
    rows = []
    for p, user in zip(law.params, law.user_params, strict=True):
        q = np.quantile(implied[user].values, [lo, 0.5, hi])
        pooling = model.pooling[p]
        spread = _prior_text(model.spread_prior_of(p)) if pooling == "partial" else "—"
        rows.append(
            [
                p,
                user,
                pooling,
                _prior_text(model.priors[p]),
                spread,
                f"{F.num(q[1], 3)} ({F.num(q[0], 3)} – {F.num(q[2], 3)})",
            ]
        )
    rows.append(
        [
            "sigma",
            "sigma (noise sd on log loss)",
            model.pooling["sigma"],
            _prior_text(model.priors["sigma"]),
            "—",
            "—",
        ]
    )
    if "sigma_run" in fit.posterior:
        rows.append(
            [
                "sigma_run",
                "run offset sd on log loss",
                "complete",
                _prior_text(model.priors["sigma_run"]),
                "—",
                "—",
            ]
        )
    return Table(
        id="prior-table",
        columns=[
            "sampled parameter",
            "reported as",
            "pooling",
            "prior (sampled space)",
            "prior on between-family spread tau",
            f"implied prior of the reported parameter: median ({DEFAULT_CI:.0%})",
        ],
        rows=rows,
        caption=(
            f"Priors of a typical family in the space the sampler works in (logs of E and the exponents, "
            f"log amplitudes at the centre of the data), and the {DEFAULT_CI:.0%} {INTERVAL_KIND} interval they "
            "imply for each reported parameter (from 4000 prior draws)."
        ),
    )


def _prior_text(prior) -> str:
    args = ", ".join(f"{k}={v:.4g}" for k, v in prior.kwargs.items())
    return f"{prior.dist}({args})"


def _likelihood_text(fit: Fit) -> str:
    from forecast.model import STUDENT_T_NU

    model = fit.model
    shared = (
        "one noise scale sigma shared by all families"
        if model.pooling["sigma"] != "none"
        else "a noise scale sigma for each family"
    )
    if model.likelihood == "student_t":
        dist = (
            f"a Student-t distribution with nu = {STUDENT_T_NU:g} degrees of freedom, which tolerates the "
            "occasional bad run"
        )
    else:
        dist = "a normal distribution"
    text = f"Each run's log loss scatters around the law's log mean by {dist}, with {shared}."
    if "sigma_run" in fit.posterior:
        text += (
            " Checkpoints of one training run share a run offset (sd sigma_run), so many checkpoints of "
            "one run do not count as many independent runs."
        )
    return text


def _centre_text(fit: Fit) -> str:
    names = {"params": "parameters", "tokens": "tokens", "flops": "FLOP"}
    parts = [
        f"{F.count(math.exp(v), 3) if k != 'flops' else F.flop(math.exp(v), 3)} {names.get(k, k)}"
        for k, v in fit.centre.items()
    ]
    if not parts:
        return ""
    return (
        "The sampler works with the logs of the inputs centred on the data (at "
        + " and ".join(parts)
        + ", the geometric means of the runs), which removes the near-perfect correlation between an "
        "amplitude and its exponent; amplitudes are reported back in the usual units."
    )


POOLING_TEXT = (
    "Pooling says how each parameter is shared between families. 'partial': each family's value is drawn from "
    "a population (a typical value plus a spread tau learned from the data), so a family with few runs borrows "
    "strength from the others; 'none': each family alone; 'complete': one value for all. A new family's "
    "forecast draws its parameters from the population."
)


def _diagnostics(fit: Fit) -> tuple[Table, dict[str, Any]]:
    d = fit.diagnostics()
    worst = d.worst or {}

    def verdict(ok: bool) -> str:
        return "pass" if ok else "FAIL"

    rows = [
        [
            "divergent transitions",
            str(d.divergences),
            f"≤ {GATE.max_divergences}",
            verdict(d.divergences <= GATE.max_divergences),
        ],
        [
            "largest R-hat (rank-normalised, split)",
            f"{d.max_rhat:.4f}" + _at(worst.get("rhat")),
            f"≤ {GATE.max_rhat}",
            verdict(d.max_rhat <= GATE.max_rhat),
        ],
        [
            "smallest bulk ESS",
            f"{d.min_ess_bulk:.0f}" + _at(worst.get("ess_bulk")),
            f"≥ {GATE.min_ess:.0f}",
            verdict(d.min_ess_bulk >= GATE.min_ess),
        ],
        [
            "smallest tail ESS",
            f"{d.min_ess_tail:.0f}" + _at(worst.get("ess_tail")),
            f"≥ {GATE.min_ess:.0f}",
            verdict(d.min_ess_tail >= GATE.min_ess),
        ],
        [
            "smallest E-BFMI",
            "n/a" if not np.isfinite(d.min_bfmi) else f"{d.min_bfmi:.2f}",
            f"≥ {GATE.min_bfmi}",
            verdict(not np.isfinite(d.min_bfmi) or d.min_bfmi >= GATE.min_bfmi),
        ],
    ]
    table = Table(
        id="diagnostics-table",
        columns=["check", "value", "threshold", "result"],
        rows=rows,
        caption=(
            f"Convergence checks over {d.chains} chains x {d.draws} draws (Vehtari et al. 2021); "
            "the gate passes only if every check passes. No intervals."
        ),
    )
    s = fit.sampler_settings
    words = {
        "sampler": "{} sampler",
        "chains": "{} chains",
        "draws": "{} draws per chain",
        "tune": "{} tuning steps",
        "target_accept": "target_accept {}",
    }
    settings = ", ".join(w.format(s[k]) for k, w in words.items() if s.get(k) is not None)
    if s.get("seconds"):
        settings += f", {s['seconds']:.0f} s sampling"
    if s.get("retry"):
        first = s["retry"]["first"]
        settings += (f"; sampled a second time after a first run of {first['draws']} draws and "
                     f"{first['tune']} tuning steps failed the gate ({'; '.join(s['retry']['first_problems'])})")
    return table, {"ok": d.ok, "problems": d.problems, "settings": settings}


def _at(name: str | None) -> str:
    return f" ({name})" if name else ""


def _parameter_table(summary: pd.DataFrame, ci: float) -> Table:
    cols = ["parameter", "family", "mean", "sd", "median", "lower", "upper", "r_hat", "ess_bulk"]
    rows = [
        [str(r["parameter"]), str(r["family"]), *(F.num(r[c]) for c in cols[2:])]
        for _, r in summary[cols].iterrows()
    ]
    caption = (
        _interval_words(ci, noise=None) + " These are parameters of the law for the mean loss (E in nats "
        "per token); sigma is the observation noise on log loss and tau[...] the spread between "
        "families in the sampled space. Family 'population' is a typical family (the population median)."
    )
    return Table(
        id="parameter-table",
        columns=["parameter", "family", "mean", "sd", "median", "lower", "upper", "R-hat", "ESS (bulk)"],
        rows=rows,
        caption=caption,
        numeric=[False, False] + [True] * 7,
    )


def _short_parameter_table(summary: pd.DataFrame, ci: float) -> Table:
    """The law's parameters of the typical family (or the only family) and the noise: one row each."""
    families = [f for f in dict.fromkeys(summary["family"]) if f != "population"]
    who = "population" if "population" in set(summary["family"]) and len(families) > 1 else families[0]
    rows_ = summary[(summary["family"] == who) & ~summary["parameter"].str.startswith("tau[")]
    if who != "population":  # the noise scales are listed under 'population'
        rows_ = pd.concat([rows_, summary[summary["parameter"].isin(["sigma", "sigma_run"])]])
    rows = []
    for _, r in rows_.iterrows():
        med, lo, hi = F.same_decimals(r["median"], r["lower"], r["upper"])
        rows.append([str(r["parameter"]), med, f"{lo} – {hi}", F.num(r["r_hat"])])
    label = "a typical family (the population median)" if who == "population" else f"family '{who}'"
    return Table(
        id="parameter-short",
        columns=["parameter", "median", f"{ci:.0%} interval", "R-hat"],
        rows=rows,
        caption=(
            f"The law's parameters for {label} and the noise sigma on log loss: {ci:.0%} {INTERVAL_KIND} "
            "credible intervals. Every family, the spreads tau and the ESS are in the full table below."
        ),
        numeric=[False, True, True, True],
    )


def _ppc_coverage(fit: Fit, ci: float) -> str:
    """One sentence: the share of runs inside their posterior predictive interval, overall and worst family."""
    from forecast.plots import _run_predictions

    shares, total, inside = {}, 0, 0
    for fam in fit.families:
        runs, q = _run_predictions(fit, fam, include_noise=True, ci=ci)
        hit = (runs["loss"].to_numpy() >= q[0]) & (runs["loss"].to_numpy() <= q[2])
        shares[fam] = float(hit.mean())
        total += hit.size
        inside += int(hit.sum())
    worst = min(shares, key=shares.get)
    text = (
        f"{inside} of {total} runs ({inside / total:.0%}) lie inside their {ci:.0%} posterior predictive "
        f"interval (which includes the fitted observation noise); about {ci:.0%} is expected when the law fits."
    )
    if len(shares) > 1:
        text += f" Lowest family: '{worst}', {shares[worst]:.0%}."
    return text


FORECAST_COLUMNS = ("family", "params", "tokens", "flops", "mean", "median", "lower", "upper", "ci")
FORECAST_HEADERS = {
    "family": "family",
    "params": "N (parameters)",
    "tokens": "D (tokens)",
    "flops": "C (FLOP)",
    "unique_tokens": "U (unique tokens)",
    "mean": "mean (nats)",
    "median": "median (nats)",
    "lower": "lower (nats)",
    "upper": "upper (nats)",
    "ci": "mass",
}


def _forecast_table(table: pd.DataFrame, index: int, ci: float, noise: bool, notes: str = "") -> Table:
    cols = [c for c in FORECAST_COLUMNS if c in table] + (
        ["unique_tokens"] if "unique_tokens" in table else []
    )
    rows = [[str(r[c]) if c == "family" else F.num(r[c]) for c in cols] for _, r in table[cols].iterrows()]
    return Table(
        id=f"forecast-table-{index}",
        columns=[FORECAST_HEADERS[c] for c in cols],
        rows=rows,
        caption=_interval_words(ci, noise=noise) + " Loss in nats per token; C = 6ND." + notes,
        numeric=[c != "family" for c in cols],
    )


FRONTIER_QUANTITIES = (
    ("params", "N* (parameters)"),
    ("tokens", "D* (tokens)"),
    ("tokens_per_param", "D*/N* (tokens per parameter)"),
    ("loss", "L* (nats per token)"),
)


def _frontier_table(table: pd.DataFrame, ci: float) -> Table:
    quantities = [(q, name) for q, name in FRONTIER_QUANTITIES if q in set(table["quantity"])]
    columns = ["C (FLOP)"]
    for _, name in quantities:
        columns += [f"{name} median", f"{name} {ci:.0%} interval"]
    rows = []
    for flops, block in table.groupby("flops", sort=True):
        b = block.set_index("quantity")
        row = [F.num(flops)]
        for q, _ in quantities:
            row += [F.num(b.loc[q, "median"]), F.interval(b.loc[q, "lower"], b.loc[q, "upper"])]
        rows.append(row)
    return Table(
        id="frontier-table",
        columns=columns,
        rows=rows,
        numeric=[True] * len(columns),
        caption=(
            _interval_words(ci, noise=None) + " Compute-optimal allocation at each budget C = 6ND, "
            "from the posterior of the law's parameters; L* is the mean loss on the frontier and "
            "excludes observation noise."
        ),
    )


def _returns_table(frontier, ci: float) -> Table | None:
    if not hasattr(frontier, "returns"):
        return None
    r = frontier.returns(ci)
    if (
        not isinstance(r, pd.DataFrame)
        or "quantity" not in r.columns
        or "loss_drop" not in set(r["quantity"])
    ):
        return None
    has_fraction = "fraction" in set(r["quantity"])
    columns = ["from C (FLOP)", "to C (FLOP)", "loss drop median (nats)", f"loss drop {ci:.0%} interval"]
    if has_fraction:
        columns += ["share of reducible loss removed, median", f"share {ci:.0%} interval"]
    rows = []
    for flops, block in r.groupby("flops", sort=True):
        b = block.set_index("quantity")
        d = b.loc["loss_drop"]
        row = [F.num(flops), F.num(d["to_flops"]), F.num(d["median"]), F.interval(d["lower"], d["upper"])]
        if has_fraction:
            f = b.loc["fraction"]
            row += [F.num(f["median"]), F.interval(f["lower"], f["upper"])]
        rows.append(row)
    return Table(
        id="frontier-returns",
        columns=columns,
        rows=rows,
        numeric=[True] * len(columns),
        caption=(
            _interval_words(ci, noise=False)
            + " Diminishing returns: how much the compute-optimal mean loss falls when compute grows tenfold, "
            "and what share of the loss above the irreducible E that removes."
        ),
    )


def _wall_section(wall, ci: float, figure) -> dict[str, Any]:
    out: dict[str, Any] = {"text": str(getattr(wall, "text", "")), "figure": figure, "tables": [],
                           "comparison": None}
    ident = getattr(wall, "identification", None)
    out["identification"] = None if ident is None or ident.identified else ident.reason
    if out["identification"]:
        out["text"] = out["text"].replace(" " + out["identification"], "")  # said once, in the banner
    assumptions = wall.assumptions()
    out["tables"].append(
        _frame_table(
            assumptions,
            "wall-assumptions",
            "Every assumption of the scenario, its value (ranges are 90% intervals of the input's distribution "
            "unless the value says otherwise) and its source.",
        )
    )
    prob = wall.prob_by_year()
    p = prob["prob"].to_numpy(dtype=float)
    rows = [
        [f"{int(y)}", F.num(v), F.num(dv)]
        for y, v, dv in zip(prob["year"], p, np.diff(p, prepend=0.0), strict=True)
    ]
    out["tables"].append(
        Table(
            id="wall-probability",
            columns=["year", "P(wall by year)", "P(wall in year)"],
            rows=rows,
            numeric=[True, True, True],
            caption=(
                "Probabilities over the posterior and the scenario's uncertain inputs "
                "(Monte Carlo); not intervals."
            ),
        )
    )
    q = pd.Series(wall.year_quantiles())
    out["tables"].append(
        Table(
            id="wall-year-quantiles",
            columns=["quantile", "wall year"],
            rows=[[F.num(float(k)), F.num(v)] for k, v in q.items()],
            numeric=[True, True],
            caption=(
                "Quantiles of the year the wall is reached ('inf': not reached in the "
                "years modelled at that quantile)."
            ),
        )
    )
    if hasattr(wall, "loss_by_year"):
        try:
            frame = wall.loss_by_year(ci)
        except ValueError:
            frame = None  # a wall forecast without a fitted law has no loss model
        if frame is not None:
            note = frame.attrs.get("note")
            frame = frame.drop(columns=[c for c in ("ci", "interval") if c in frame.columns])
            rename = {c: c.replace("_", " ") for c in frame.columns}
            out["tables"].append(
                _frame_table(
                    frame.rename(columns=rename),
                    "wall-loss",
                    _interval_words(ci, noise=False)
                    + " Loss (nats per token) reachable at the frontier compute of each year without the wall "
                    "and with it, and their difference (cost)." + (f" Note: {note}." if note else ""),
                )
            )
    efficiency = _wall_efficiency_table(wall, ci)
    if efficiency is not None:
        out["tables"].append(efficiency)
    return out


def _wall_efficiency_table(wall, ci: float) -> Table | None:
    """Efficiency doublings before the wall and the year of diminishing returns, with intervals."""
    if not hasattr(wall, "efficiency_doublings"):
        return None
    lo, hi = quantile_bounds(ci)
    base = wall.scenario.base_year
    rows = []
    d = wall.efficiency_doublings((lo, 0.5, hi)).to_numpy()
    rows.append(
        [f"doublings of algorithmic efficiency, {base} to the wall", F.num(d[1]), F.interval(d[0], d[2])]
    )
    if getattr(wall, "fit", None) is not None:
        y = wall.diminishing_returns(q=(lo, 0.5, hi)).to_numpy()
        rows.append(
            [
                f"first year the loss reachable with the wall improves by < {wall.min_yearly_gain:g} nats/token",
                F.num(y[1]),
                F.interval(y[0], y[2]),
            ]
        )
    return Table(
        id="wall-efficiency",
        columns=["answer", "median", f"{ci:.0%} interval"],
        rows=rows,
        numeric=[False, True, True],
        caption=(
            f"Monte Carlo over the posterior and the scenario's inputs ({ci:.0%} {INTERVAL_KIND}). 'inf': the "
            "wall (or the threshold) lies beyond the years modelled. Efficiency multiplies effective compute "
            "(the loss reachable); the wall counts physical tokens against the effective stock."
        ),
    )


METHOD_NAMES = {"bayes": "Bayesian (this package)", "baseline": "Approach 3 point fit (Hoffmann et al. 2022)"}


def _backtest_result(backtest, ci: float) -> dict[str, Any]:
    """A :class:`forecast.backtest.Backtest`: a sentence, the scores per method and the held-out points."""
    s = backtest.settings
    metrics = backtest.metrics()
    cis = [float(c) for c in s.get("ci", [ci])]
    tag = f"{round(100 * (ci if ci in cis else cis[-1])):d}"
    level = int(tag) / 100
    parts = []
    for _, row in metrics.iterrows():
        name = METHOD_NAMES.get(row["method"], str(row["method"]))
        cover = row.get(f"coverage_{tag}")
        text = f"{name}: mean absolute relative error {row['mean_abs_rel_error']:.2%}"
        if cover is not None and np.isfinite(cover):
            text += f", {level:.0%} intervals cover {cover:.0%} of the held-out runs"
        parts.append(text)
    if "threshold" in s:
        lead = (f"Backtest: fitted to the {s['n_train']} runs with {s['split']} below "
                f"{F.num(s['threshold'], 3)} and forecast the {s['n_test']} larger held-out runs. ")
    else:
        lead = (f"Rolling-origin cross-validation: fitted at {len(s.get('folds', []))} origin(s) "
                f"({', '.join(s.get('folds', []))} below each family's largest run) and forecast the larger "
                "runs. ")
    sentence = lead + "; ".join(parts) + "."
    if s.get("diagnostics_ok") is False:
        sentence += " The backtest's own fit failed the convergence gate."
    intervals = (
        f"Bayesian intervals: {s.get('bayes_intervals', 'posterior predictive')}; "
        f"baseline intervals: {s.get('baseline_intervals', 'n/a')}."
    )
    renamed = metrics.rename(columns=lambda c: c.replace("_", " "))
    renamed["method"] = [METHOD_NAMES.get(m, m) for m in metrics["method"]]
    tables = [
        _frame_table(
            renamed,
            "backtest-metrics",
            "Scores on the held-out runs: absolute relative error of the median forecast, the share of runs "
            f"inside each {INTERVAL_KIND} interval (coverage, against its nominal mass) and the mean interval "
            f"width (nats per token). {intervals}",
        )
    ]
    points = backtest.table()
    keep = [
        c
        for c in (
            "method",
            "family",
            "forecast_family",
            "params",
            "tokens",
            "loss",
            "median",
            f"lower_{tag}",
            f"upper_{tag}",
            "abs_rel_error",
            f"covered_{tag}",
        )
        if c in points
    ]
    tables.append(
        _frame_table(
            points[keep].rename(columns=lambda c: c.replace("_", " ")),
            "backtest-points",
            f"Each held-out run: its observed loss, the median forecast and the {level:.0%} {INTERVAL_KIND} "
            f"interval (lower/upper; covered = 1 if the run falls inside). {intervals}",
        )
    )
    return {"text": sentence, "tables": tables}


def _trust_section(forecasts, backtest, ci: float, sink) -> dict[str, Any]:
    """"How far can this forecast be trusted?": coverage by horizon, each forecast's horizon, PIT plot, warning."""
    from forecast import plots

    cv = backtest if hasattr(backtest, "metrics") and "horizon" in getattr(backtest, "points", {}) else None
    tag = f"{round(100 * ci):d}"
    tables, checked, warning, figure = [], None, "", None
    text = ("A forecast is only as good as the law's fit beyond the data. The horizon of a forecast is the "
            "number of decades of compute between it and the largest training run of its family; the "
            "intervals widen with it, and move with the law's known bias, by the extrapolation error "
            "(forecast.predict.extrapolation_error).")
    ext = getattr(forecasts[0], "extrapolation", None) if forecasts else None
    if ext is not None:
        text += f" These forecasts: {ext.describe()}."
    if cv is not None:
        metrics = cv.metrics(by="horizon")
        keep = [c for c in ("method", "horizon", "n", "coverage_50", f"coverage_{tag}", "median_abs_rel_error",
                            f"mean_interval_score_{tag}", "mean_crps") if c in metrics]
        tables.append(_frame_table(
            metrics[keep].rename(columns=lambda c: c.replace("_", " ")), "trust-coverage",
            f"Coverage of held-out runs by horizon (decades of compute beyond the family's data) in the "
            f"rolling-origin cross-validation; nominal 50% and {ci:.0%}. Interval score: width plus "
            f"{2 / (1 - ci):g}x each miss (lower is better). "
            f"bayes: {cv.settings.get('bayes_intervals', '')}.",
        ))
        checked = float(cv.points["horizon"].max())
        text += f" The cross-validation checked forecasts up to {checked:.2g} decades beyond the data."
        figure = sink(lambda: plots.plot_pit(cv), "pit", "PIT and coverage by horizon")
    else:
        text += (" No cross-validation was given, so the coverage at these horizons is not checked for this "
                 "data: run `forecast cv` (forecast.cross_validate) and pass it as backtest=.")
    rows = []
    for i, fc_ in enumerate(forecasts, start=1):
        if getattr(fc_, "horizon", None) is None:
            continue
        t = fc_.table(ci)
        rows.append(t.assign(forecast=i)[["forecast", "family", "params", "tokens", "flops", "horizon",
                                          "includes"]])
    if rows:
        frame = pd.concat(rows, ignore_index=True)
        tables.append(_frame_table(frame, "trust-horizons",
                                   "Each forecast point's horizon (decades of compute beyond its family's "
                                   "largest training run; 0 within the data) and what its interval includes."))
        beyond = frame[frame["horizon"] > (checked if checked is not None else 0.0) + 1e-9]
        if checked is not None and len(beyond):
            warning = (f"Warning: {len(beyond)} forecast point(s) reach up to {beyond['horizon'].max():.2g} "
                       f"decades beyond the data, further than the {checked:.2g} decades the cross-validation "
                       "could check; their intervals rest on the extrapolation-error model alone.")
    return {"text": text, "tables": tables, "figure": figure, "warning": warning, "has_cv": cv is not None}


def _backtest_section(backtest, ci: float = DEFAULT_CI) -> dict[str, Any]:
    if hasattr(backtest, "metrics") and isinstance(getattr(backtest, "settings", None), dict):
        return _backtest_result(backtest, ci)
    out: dict[str, Any] = {"text": str(getattr(backtest, "text", "") or ""), "tables": []}
    frames: list[tuple[str, pd.DataFrame]] = []
    if isinstance(backtest, pd.DataFrame):
        frames.append(("backtest-table", backtest))
    else:
        for name in ("table", "summary", "to_frame"):
            attr = getattr(backtest, name, None)
            if callable(attr):
                value = attr()
                if isinstance(value, pd.DataFrame):
                    frames.append((f"backtest-{name}", value))
    if not frames and not out["text"]:
        raise TypeError(
            "backtest must be a forecast.backtest.Backtest, a DataFrame, or an object with a .table() or "
            ".summary() DataFrame or a .text"
        )
    for id_, frame in frames:
        caption = str(
            frame.attrs.get("caption")
            or "Held-out extrapolation: fitted on the smaller runs, scored on the largest. "
            + (
                _interval_words(frame.attrs["ci"], noise=frame.attrs.get("includes_noise"))
                if "ci" in frame.attrs
                else "Interval coverage is the share of held-out runs inside the stated interval."
            )
        )
        out["tables"].append(_frame_table(frame, id_, caption))
    return out


def _versions() -> list[tuple[str, str]]:
    from forecast import __version__

    out = [("python", sys.version.split()[0])]
    for name in VERSIONED:
        if name == "forecast":  # the import name; the distribution is called scaling-forecast
            out.append((name, __version__))
            continue
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return out


# ------------------------------------------------------------------- public
def write_report(
    path: str | Path,
    *,
    fit: Fit,
    forecasts: Sequence[Any] | Any = (),
    frontier: Any | None = None,
    wall: Any | None = None,
    backtest: Any | None = None,
    title: str | None = None,
    fmt: Format | None = None,
    ci: float = DEFAULT_CI,
    unpooled: Fit | None = None,
    figures: bool = True,
    compare_wall: Any | None = None,
) -> Path:
    """Write a forecast report as one self-contained HTML file or as Markdown.

    Parameters
    ----------
    path : str or Path
        Where to write; ``.html``/``.htm`` gives HTML and ``.md`` Markdown
        unless ``fmt`` says otherwise. Markdown figures are PNG files in a
        folder ``<stem>_figures`` beside it.
    fit : Fit
        The fitted model the report describes.
    forecasts : Forecast or sequence of Forecast
        Forecasts to tabulate and chart (from ``fit.predict(...)``).
    frontier : Frontier, optional
        Compute-optimal frontier (from ``fit.frontier(flops)``).
    wall : WallForecast, optional
        Data-wall forecast (from :func:`forecast.datawall.data_wall`).
    backtest : DataFrame or object, optional
        Backtest results: a DataFrame, or an object with ``.table()`` or
        ``.summary()`` returning one, and optionally ``.text``.
    title : str, optional
        Report title (default names the law and the data).
    fmt : {"html", "markdown"}, optional
        Output format; inferred from the suffix when omitted.
    ci : float, default 0.9
        Mass of the equal-tailed intervals in tables and sentences.
    unpooled : Fit, optional
        A fit of the same data without pooling, to show how pooling moved each
        family (shrinkage plots).
    figures : bool, default True
        Embed figures (HTML) or write them beside the file (Markdown). With
        False the report says figures were left out.
    compare_wall : WallForecast, optional
        A second data-wall forecast on the same scenario (typically Epoch's
        fixed tokens-per-parameter rule, ``data_wall(None, scenario)``),
        compared with ``wall`` in the data-wall section.

    Returns
    -------
    pathlib.Path
        The file written.

    Warns
    -----
    ConvergenceWarning
        When the fit fails the convergence gate; the report then opens with a
        red warning and its diagnostics section says FAIL.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from forecast.testing import fake_fit
    >>> from forecast.report import write_report
    >>> fit = fake_fit(chains=4, draws=500)
    >>> fc_ = fit.predict(params=[7e10], tokens=[1.4e12], family="new")
    >>> out = write_report(Path(tempfile.mkdtemp()) / "report.html", fit=fit, forecasts=[fc_])
    >>> "A new family" in out.read_text()
    True
    """
    path = Path(path)
    fmt = _resolve_format(path, fmt)
    ci = check_ci(ci)
    if hasattr(forecasts, "draws"):
        forecasts = [forecasts]
    forecasts = list(forecasts)
    sink = _FigureSink(fmt, path, figures)
    with warnings.catch_warnings():
        # the report states a failed gate itself (banner, diagnostics); one warning is raised below
        warnings.simplefilter("ignore", ConvergenceWarning)
        context = _build_context(
            fit,
            forecasts=forecasts,
            frontier=frontier,
            wall=wall,
            backtest=backtest,
            title=title,
            ci=ci,
            unpooled=unpooled,
            sink=sink,
            figures=figures,
        )
    if wall is not None and compare_wall is not None and context["wall"] is not None:
        from forecast.datawall import compare_text

        context["wall"]["comparison"] = compare_text(wall, compare_wall)
    text = _render(fmt, context)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a failed write (disk full, interrupted) leaves the previous report whole
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    fit.diagnostics().warn_if_failed(stacklevel=2)
    return path


def _resolve_format(path: Path, fmt: str | None) -> Format:
    if fmt is None:
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm"):
            return "html"
        if suffix in (".md", ".markdown"):
            return "markdown"
        raise ValueError(
            f"cannot tell the report format from {path.name!r}: end the path in .html or .md, "
            "or pass fmt='html' or fmt='markdown'"
        )
    if fmt in ("md",):
        return "markdown"
    if fmt not in ("html", "markdown"):
        raise ValueError(f"fmt must be 'html' or 'markdown', got {fmt!r}")
    return fmt


def _build_context(
    fit: Fit, *, forecasts, frontier, wall, backtest, title, ci, unpooled, sink, figures: bool
) -> dict[str, Any]:
    from forecast import plots

    obs = fit.observations
    summary = fit.summary(ci)
    diag_table, gate = _diagnostics(fit)

    answers = [_law_sentence(fit, summary, ci)]
    forecast_blocks = []
    cis = tuple(sorted({0.5, ci})) if ci != 0.5 else (0.5,)
    for i, fc_ in enumerate(forecasts, start=1):
        table = fc_.table(ci)
        noise = bool(getattr(fc_, "include_noise", False))
        answers += _forecast_sentences(table, i, ci, noise, getattr(fc_, "fit_info", {}).get("split_note"))
        fams = _families_words([str(f) for f in table["family"].unique()])
        forecast_blocks.append(
            {
                "title": f"Forecast {i}: {fams}, {'with' if noise else 'without'} observation noise",
                "table": _forecast_table(
                    table, i, ci, noise,
                    "".join(
                        f" {n[0].upper()}{n[1:]}."
                        for n in (getattr(fc_, "fit_info", {}).get(k) for k in ("family_note", "split_note"))
                        if n
                    ),
                ),
                "figure": sink(
                    lambda fc_=fc_: plots.plot_forecast(fc_, cis=cis),
                    f"forecast-{i}",
                    f"Forecast {i}: loss against compute",
                ),
            }
        )
    frontier_block = None
    ident = None
    if frontier is not None:
        ftable = _frontier_rows(frontier, ci)
        answers += _frontier_sentences(frontier, ftable, ci)
        ident = getattr(frontier, "identification", None)
        if ident is not None and not ident.identified:
            answers.append(ident.reason)
        frontier_block = {
            "identification": None if ident is None or ident.identified else ident.reason,
            "table": _frontier_table(ftable, ci),
            "returns": _returns_table(frontier, ci),
            "figure": sink(
                lambda: plots.plot_frontier(frontier, ci=ci),
                "frontier",
                "Compute-optimal allocation against compute",
            ),
        }
    wall_block = None
    if wall is not None:
        if getattr(wall, "text", ""):
            text = str(wall.text)
            wall_ident = getattr(wall, "identification", None)
            if wall_ident is not None and not wall_ident.identified and ident is not None and not ident.identified:
                # the split's verdict is the answer above; the wall rests on the same split
                text = text.replace(
                    wall_ident.reason,
                    "NOT identified by these data: its demand is the compute-optimal split, which these data "
                    "do not identify (see above).",
                )
            answers.append(text)
        wall_block = _wall_section(
            wall,
            ci,
            sink(lambda: plots.plot_wall(wall), "wall", "Probability of reaching the data wall by each year"),
        )
    backtest_block = _backtest_section(backtest, ci) if backtest is not None else None
    if backtest_block and backtest_block["text"]:
        answers.append(backtest_block["text"])
    trust_block = _trust_section(forecasts, backtest, ci, sink)
    if trust_block["warning"]:
        answers.append(trust_block["warning"])

    shrink_params = [
        u
        for p, u in zip(fit.law.params, fit.law.user_params, strict=True)
        if fit.model.pooling[p] != "complete" and (u == "E" or u.startswith(("alpha", "beta")))
    ]
    shrinkage = (
        [
            sink(
                lambda: plots.plot_shrinkage(fit, param=shrink_params, unpooled=unpooled, ci=ci),
                "shrinkage",
                f"{', '.join(shrink_params)} by family under pooling",
            )
        ]
        if shrink_params
        else []
    )
    has_exponents = any(u.startswith(("alpha", "beta")) for u in fit.law.user_params)
    exponents = (
        sink(lambda: plots.plot_exponents(fit, ci=ci), "exponents", "Posterior of the scaling exponents")
        if has_exponents
        else None
    )

    families = obs.families
    default_title = (
        f"Scaling-law forecast: {fit.law.name} law fitted to {len(obs)} runs of {len(families)} "
        f"famil{'y' if len(families) == 1 else 'ies'}"
    )
    seed = fit.sampler_settings.get("random_seed")
    data_figure = sink(lambda: plots.plot_fit(fit, ci=ci), "fit", "Runs and fitted curves by family")
    fitcheck = {
        "ppc": sink(
            lambda: plots.plot_ppc(fit, ci=ci),
            "ppc",
            "Posterior predictive check: observed against predicted loss, by family",
        ),
        "residuals": sink(
            lambda: plots.plot_residuals(fit), "residuals", "Residuals of log loss against compute, by family"
        ),
        "coverage": _ppc_coverage(fit, ci),
    }
    in_order = [
        data_figure,
        *shrinkage,
        fitcheck["ppc"],
        fitcheck["residuals"],
        exponents,
        *(b["figure"] for b in forecast_blocks),
        frontier_block and frontier_block["figure"],
        wall_block and wall_block["figure"],
        trust_block["figure"],
    ]
    for number, figure in enumerate((f for f in in_order if f is not None), start=1):
        figure.number = number  # numbered in reading order, not in the order they were drawn
    return {
        "title": title or default_title,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "sections": [
            s
            for s in SECTIONS
            if not (
                (s[0] == "forecasts" and not forecast_blocks)
                or (s[0] == "frontier" and frontier_block is None)
                or (s[0] == "wall" and wall_block is None)
                or (s[0] == "backtest" and backtest_block is None)
                or (s[0] == "trust" and not (forecasts or trust_block["tables"]))
            )
        ],
        "ci": ci,
        "ci_pct": f"{ci:.0%}",
        "interval_kind": INTERVAL_KIND,
        "gate": gate,
        "answers": answers,
        "figures_enabled": figures,
        "trust": trust_block if (forecasts or trust_block["tables"]) else None,
        "data": {
            "table": _data_table(fit),
            "figure": data_figure,
            "source": getattr(obs, "source", None),
            # one line per source (pooled bundled datasets join theirs with newlines)
            "citations": [c for c in (getattr(obs, "citation", None) or "").splitlines() if c.strip()],
            "n_runs": len(obs),
            "n_families": len(families),
        },
        "model": {
            "formula": fit.law.formula,
            "name": fit.law.name,
            "description": fit.law.description,
            "references": list(fit.law.references),
            "likelihood": _likelihood_text(fit),
            "centre": _centre_text(fit),
            "pooling_text": POOLING_TEXT,
            "table": _prior_table(fit),
            "shrinkage": [f for f in shrinkage if f is not None],
            "unpooled": unpooled is not None,
        },
        "diagnostics": {"table": diag_table, **gate},
        "fitcheck": fitcheck,
        "parameters": {
            "short": _short_parameter_table(summary, ci),
            "table": _parameter_table(summary, ci),
            "figure": exponents,
        },
        "forecasts": forecast_blocks,
        "frontier": frontier_block,
        "wall": wall_block,
        "backtest": backtest_block,
        "footer": {
            "versions": _versions(),
            "seed": seed,
            "data_hash": obs.hash(),
            "fit_id": fit.id,
            "sampler": fit.sampler_settings.get("sampler"),
            "source": getattr(obs, "source", None),
        },
    }


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _render(fmt: Format, context: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("forecast.report", "templates"),
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["mdcell"] = _md_cell
    name = "report.html.j2" if fmt == "html" else "report.md.j2"
    return env.get_template(name).render(**context)
