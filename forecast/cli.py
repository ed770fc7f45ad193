"""The ``forecast`` command line: a thin layer over the Python API.

Every command does what a few lines of Python would do (see the docs'
getting-started page) and prints the answer as tables on the terminal. A user
mistake (a missing file, a bad table, an unknown family or law, a number that
is not a number) ends with one ``error: ...`` line on stderr and exit code 2,
never a Python traceback; set ``FORECAST_DEBUG=1`` to see the traceback.

Commands: ``demo``, ``fit``, ``predict``, ``wall``, ``report``, ``capabilities``; each has
``--help``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from forecast.capabilities import FIT_DRAWS as CAPABILITY_DRAWS
from forecast.capabilities import FIT_TUNE as CAPABILITY_TUNE
from forecast.config import CV_SAMPLER, DEFAULT_CI, DEFAULT_SEED, INTERVAL_KIND, SAMPLER

# pandas, xarray, PyMC and matplotlib load inside the commands, so `forecast --help` stays fast

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from forecast.fit import Fit

EXIT_USER_ERROR = 2

# Frontier budgets shown by `demo` and `report`: from today's mid-size runs to beyond the largest.
FRONTIER_FLOPS = np.logspace(21, 27, 13)
# Forecast scales relative to the largest run in the data.
SCALE_UPS = (10.0, 100.0)
QUICK = {"draws": 300, "tune": 300, "chains": 2}
MAX_PRINTED_ROWS = 200
"""Rows of a forecast table printed on the terminal; --csv writes them all."""

class _OneLineErrors(typer.core.TyperGroup):
    """Usage errors (a missing option, a bad number) as one ``error:`` line and exit code 2, not a boxed panel."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        # typer may bundle its own click: take its usage-error base class from a public typer name
        click_exception = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click_exception as err:
            if not err.format_message().strip():  # bare `forecast`: the help was printed already
                sys.exit(err.exit_code)
            where = f" (see '{err.ctx.command_path} --help')" if getattr(err, "ctx", None) is not None else ""
            typer.echo(f"error: {' '.join(err.format_message().split())}{where}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="forecast",
    cls=_OneLineErrors,
    help=(
        "Bayesian forecasts of neural scaling laws: loss at new scales, the compute-optimal "
        "frontier and the data wall, each with credible intervals. Start with `forecast demo`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class UserError(ValueError):
    """A mistake in the command line itself (a bad number, an option that needs another)."""


# ------------------------------------------------------------------ output
def _console() -> Console:
    """A console on the *current* stdout (so test runners that swap it see the output)."""
    from rich.console import Console

    # Tables of intervals need room; a pipe or a test runner has no width of its own.
    width = None if sys.stdout.isatty() else 120
    return Console(file=sys.stdout, highlight=False, width=width, soft_wrap=False)


# Python spellings in the package's messages and the command-line flags that do the same
_PY_TO_CLI = (
    (
        re.compile(r"pass family='<column>', or family_name='\.\.\.'"),
        "pass --family-col COLUMN, or --family-name NAME",
    ),
    (re.compile(r"pass (\w+)='<column>'"), lambda m: f"pass --{m.group(1).replace('_', '-')}-col COLUMN"),
    (
        re.compile(r"did you mean (\w+)='([^']*)'"),
        lambda m: f"did you mean --{m.group(1).replace('_', '-')}-col {m.group(2)}",
    ),
    (re.compile(r"family_name='\.\.\.'"), "--family-name NAME"),
    (re.compile(r"run more tune/draws, raise target_accept"), "run more --tune/--draws, raise --target-accept"),
    (re.compile(r"ScalingModel\(law='compute'\); on the command line --law compute"), "--law compute"),
    (re.compile(r"give params= or tokens= with flops="), "give --params or --tokens with --flops"),
    (re.compile(r"family='new'"), "--family new"),
)


def cli_words(text: str) -> str:
    """The package's message with Python spellings replaced by the command line's flags.

    Examples
    --------
    >>> cli_words("column 'n' (params) is missing; pass params='<column>' to name the column that holds it")
    "column 'n' (params) is missing; pass --params-col COLUMN to name the column that holds it"
    """
    for pattern, repl in _PY_TO_CLI:
        text = pattern.sub(repl, text)
    return text


def _error(message: str, details: Sequence[str] = ()) -> typer.Exit:
    message, details = cli_words(str(message)), [cli_words(str(d)) for d in details]
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {one_line}", err=True)
    for line in details:
        typer.echo(f"  - {' '.join(str(line).split())}", err=True)
    return typer.Exit(EXIT_USER_ERROR)


def _warn(message: str) -> None:
    typer.echo(f"warning: {' '.join(cli_words(str(message)).split())}", err=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the package's user-facing exceptions into one ``error:`` line and exit code 2.

    The package's own warnings (bad-looking data, a fit that fails the
    convergence gate) are printed as ``warning:`` lines instead of Python's
    file-and-line format.
    """
    from forecast.data import DataValidationError
    from forecast.fit import FitFileError

    debug = bool(os.environ.get("FORECAST_DEBUG"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except typer.Exit:
            raise
        except DataValidationError as err:
            if debug:
                raise
            raise _error(f"{len(err.problems)} problem(s) in the data:", err.problems) from None
        except (FileNotFoundError, IsADirectoryError, FitFileError, ValueError) as err:
            # FitFileError and UserError are ValueErrors; the clause names them for the reader.
            if debug:
                raise
            raise _error(str(err)) from None
        except OSError as err:
            # an output that cannot be written, a full disk: one line, not a traceback
            if debug:
                raise
            raise _error(str(err) if err.filename is None or str(err.filename) in str(err)
                         else f"{err.filename}: {err.strerror or err}") from None
        except MemoryError as err:
            if debug:
                raise
            raise _error(f"not enough memory: {err or 'ask for fewer points, samples or families'}") from None
        finally:
            shown: set[str] = set()
            for w in caught:
                if w.category.__name__ == "IdentifiabilityWarning":
                    continue  # each command prints the verdict beside the answer it concerns
                own = w.category.__module__.startswith("forecast")
                text = str(w.message) if own else f"[{w.category.__name__}] {w.message}"
                # summary() warns on every call; one line per distinct warning is enough
                if (own or debug) and text not in shown:
                    shown.add(text)
                    _warn(text)


# ---------------------------------------------------------------- parsing
def parse_numbers(text: str | None, *, option: str) -> np.ndarray | None:
    """Parse a comma-separated list of positive numbers (``"7e10,1.4e11"``).

    Raises
    ------
    UserError
        Naming the option and the entry that is not a positive finite number.

    Examples
    --------
    >>> parse_numbers("7e10, 1.4e11", option="--params")
    array([7.0e+10, 1.4e+11])
    """
    if text is None:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise UserError(f"{option} is empty; give numbers such as {option} 7e10,1.4e11")
    values = []
    for part in parts:
        if not part:
            raise UserError(f"{option} has an empty entry in {text!r}; separate numbers with single commas")
        try:
            value = float(part)
        except ValueError:
            raise UserError(
                f"{option}: {part!r} is not a number; write raw numbers such as 7e10 (not '70B')"
            ) from None
        if not math.isfinite(value) or value <= 0:
            raise UserError(f"{option}: {part!r} must be a positive finite number")
        values.append(value)
    return np.asarray(values, dtype=float)


def parse_range(text: str | None, *, option: str) -> tuple[float, float] | None:
    """Parse ``LOW:HIGH`` (a 90% interval) into two floats with ``LOW <= HIGH``; one number is a fixed value.

    Examples
    --------
    >>> parse_range("1e14:1e15", option="--stock")
    (100000000000000.0, 1000000000000000.0)
    >>> parse_range("1e15", option="--stock")
    (1000000000000000.0, 1000000000000000.0)
    """
    if text is None:
        return None
    parts = str(text).split(":")
    if len(parts) == 1:
        value = float(parse_numbers(parts[0], option=option)[0]) if "," not in parts[0] else None
        if value is not None:
            return value, value
    if len(parts) != 2:
        raise UserError(
            f"{option} must be a number or LOW:HIGH (a 90% interval, e.g. {option} 1e14:1e15), got {text!r}"
        )
    low, high = (parse_numbers(p, option=option)[0] for p in parts)
    if low > high:
        raise UserError(f"{option}: LOW must not exceed HIGH, got {text!r}")
    return float(low), float(high)


def parse_pooling(text: str) -> str | dict[str, str]:
    """Parse ``--pool``: one mode for all parameters, or ``param=mode,...``.

    Examples
    --------
    >>> parse_pooling("partial")
    'partial'
    >>> parse_pooling("alpha=partial, E=complete")
    {'alpha': 'partial', 'E': 'complete'}
    """
    text = str(text).strip()
    if "=" not in text:
        return text
    out: dict[str, str] = {}
    for item in text.split(","):
        name, sep, mode = item.partition("=")
        if not sep or not name.strip() or not mode.strip():
            raise UserError(
                f"--pool entry {item.strip()!r} must be param=mode, e.g. --pool alpha=partial,E=complete"
            )
        out[name.strip()] = mode.strip()
    return out


def _check_ci(ci: float) -> float:
    from forecast.config import check_ci

    return check_ci(ci)


def _families(text: str) -> list[str]:
    """``--family a,b`` as a list: blank entries dropped, each family once."""
    names = [f.strip() for f in str(text).split(",") if f.strip()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f"--family names {', '.join(repeated)} more than once; give each family once")
    return names


def _writable(*paths: Path | None) -> None:
    """Check every output path before any sampling or drawing (an OSError names the path)."""
    from forecast.fit import check_writable

    for path in paths:
        if path is not None:
            check_writable(path)


def _load(path: Path) -> Fit:
    from forecast.fit import FitFileError, load_fit

    if path.is_dir():
        raise FitFileError(f"{path} is a folder, not a saved fit (.nc file)")
    return load_fit(path)


def _splits_compute(fit: Fit) -> bool:
    """Whether the fit's law has a compute-optimal split of N and D (a closed-form or numerical frontier)."""
    return fit.law.frontier_method in ("closed form", "numeric")


def _needs_frontier(fit: Fit, what: str) -> None:
    if not _splits_compute(fit):
        raise UserError(
            f"{what} needs a law in N and D with a compute-optimal split (e.g. chinchilla); this fit uses "
            f"law '{fit.law.name}', which reads {', '.join(fit.law.inputs)}"
        )


# ---------------------------------------------------------------- tables
def _fmt(x: float, kind: str = "g") -> str:
    if x is None or not np.isfinite(x):
        return "-"
    if kind == "loss":
        return f"{x:.3f}"
    if kind == "count":
        return f"{x:.3g}"
    if kind == "prob":
        return f"{x:.2f}"
    return f"{x:.3g}"


def _parameter_table(fit: Fit, ci: float = DEFAULT_CI):
    """A rich table of the law's parameters: one row per family, median and interval per cell."""
    from rich.table import Table

    summary = fit.summary(ci)
    user = list(fit.law.user_params)
    rows = summary[summary["parameter"].isin(user)]
    table = Table(title=f"Parameters: median and {ci:.0%} {INTERVAL_KIND} interval", title_justify="left")
    table.add_column("family")
    for p in user:
        table.add_column(p, justify="right")
    for fam in dict.fromkeys(rows["family"]):
        cells = []
        for p in user:
            r = rows[(rows["family"] == fam) & (rows["parameter"] == p)]
            if r.empty:
                cells.append("-")
                continue
            r = r.iloc[0]
            cells.append(f"{_fmt(r['median'])}\n[{_fmt(r['lower'])}, {_fmt(r['upper'])}]")
        table.add_row(str(fam), *cells)
    return table


def _print_notes(console: Console, forecast_) -> None:
    """The forecast's notes: which family the default chose, and how N and D were set from compute alone."""
    for key in ("family_note", "split_note"):
        if forecast_.fit_info.get(key):
            text = forecast_.fit_info[key]
            console.print(cli_words(text[0].upper() + text[1:] + "."))


def _print_identification(console: Console, fit: Fit, answer: str, *, family: str = "population",
                          flops=None) -> bool:
    """Print whether the data identify ``answer`` (a split of compute, the data wall); True if they do."""
    from forecast.identify import identify_split

    if family not in fit.families and family not in ("new", "population"):
        family = "population"
    ident = identify_split(fit, family=family, flops=flops, answer=answer)
    if not ident.identified:
        console.print(f"[bold]NOT IDENTIFIED:[/bold] {cli_words(ident.reason)}")
    elif {"params", "tokens"} <= set(fit.law.inputs):
        console.print(f"Identified: {cli_words(ident.reason)}")
    return ident.identified


def _gate_line(fit: Fit) -> str:
    """One line with the convergence gate's verdict and, on failure, the reasons."""
    d = fit.diagnostics()
    figures = (
        f"{d.chains} chains x {d.draws} draws, {d.divergences} divergences, "
        f"max R-hat {d.max_rhat:.3f}, min ESS {min(d.min_ess_bulk, d.min_ess_tail):.0f}"
    )
    if d.ok:
        return f"Convergence gate: PASS ({figures})"
    return f"Convergence gate: FAIL: {'; '.join(d.problems)}. Do not trust these numbers yet ({figures})"


def _forecast_table(table: pd.DataFrame, *, title: str):
    """A rich table from :meth:`forecast.predict.Forecast.table`."""
    from rich.table import Table

    out = Table(title=title, title_justify="left")
    for col in ("family", "params", "tokens", "flops", "median", "lower", "upper", "ci"):
        out.add_column(col, justify="left" if col == "family" else "right")
    for _, r in table.iterrows():
        out.add_row(
            str(r["family"]),
            _fmt(r["params"], "count"),
            _fmt(r["tokens"], "count"),
            _fmt(r["flops"], "count"),
            _fmt(r["median"], "loss"),
            _fmt(r["lower"], "loss"),
            _fmt(r["upper"], "loss"),
            f"{r['ci']:.0%}",
        )
    return out


def _noise_caption(include_noise: bool, ci: float) -> str:
    if include_noise:
        return (
            f"Loss in nats/token; {ci:.0%} {INTERVAL_KIND} intervals include parameter uncertainty "
            "and the observation noise of a single run."
        )
    return (
        f"Loss in nats/token; {ci:.0%} {INTERVAL_KIND} intervals of the mean loss (parameter "
        "uncertainty only, without the noise of a single run; add --noise to include it)."
    )


def _wall_tables(wall, fixed=None):
    """Rich tables of P(wall by year) (from the fit, and from a fixed rule if given) and the assumptions."""
    from rich.table import Table

    prob = wall.prob_by_year()
    years = Table(title="P(data wall reached by year)", title_justify="left")
    years.add_column("year", justify="right")
    years.add_column("P (fitted frontier)", justify="right")
    other = None
    if fixed is not None:
        other = fixed.prob_by_year().set_index("year")["prob"]
        years.add_column(
            f"P (fixed {_describe(fixed.scenario.tokens_per_param)} tokens/param)", justify="right"
        )
    for _, r in prob.iterrows():
        cells = [str(int(r["year"])), _fmt(float(r["prob"]), "prob")]
        if other is not None:
            cells.append(_fmt(float(other.get(r["year"], np.nan)), "prob"))
        years.add_row(*cells)
    assumptions = Table(title="Scenario assumptions", title_justify="left")
    frame = wall.assumptions()
    columns = [c for c in ("assumption", "value", "source") if c in frame.columns]
    for col in columns:
        assumptions.add_column(col, overflow="fold")
    for _, r in frame.iterrows():
        assumptions.add_row(*(str(r[c]) for c in columns))
    return years, assumptions


def _describe(value) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


# --------------------------------------------------------------- pieces
def optimal_allocation(fit: Fit, flops: np.ndarray) -> dict[str, np.ndarray]:
    """Compute-optimal ``params`` and ``tokens`` at each budget: the posterior median of the typical family's.

    The same split :meth:`forecast.Fit.predict` uses for ``flops`` alone
    (:func:`forecast.predict.frontier_split`).

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> alloc = optimal_allocation(fake_fit(draws=50), np.array([5.76e23]))
    >>> 10 < float(alloc["tokens"][0] / alloc["params"][0]) < 30
    True
    """
    from forecast.predict import frontier_split

    params, tokens, _, _ = frontier_split(fit, np.asarray(flops, dtype=float), ["population"])
    return {"params": params, "tokens": tokens}


def _scale_up_forecast(fit: Fit, families: Sequence[str], *, flops: np.ndarray | None = None):
    """Forecast at 10x and 100x the largest compute in the data (or at given budgets)."""
    from forecast.predict import predict

    if flops is None:
        top = float(fit.observations.table["flops"].max())
        flops = np.asarray([top * s for s in SCALE_UPS])
    # compute alone: Python's predict puts a law of N and D on the compute-optimal frontier and says so
    family = families[0] if len(families) == 1 else list(families)  # "auto" resolves (and says so) in predict
    return predict(fit, flops=np.asarray(flops, dtype=float), family=family)


# ------------------------------------------------ scenario options, shared by `wall` and `report --wall`
ScenarioName = Annotated[str, typer.Option("--scenario", help="Named scenario: epoch2024 (Villalobos et al. 2024).")]
Stock = Annotated[
    str | None,
    typer.Option(
        "--stock",
        help="Effective stock of usable text in tokens: a number (1e15) or a 90% interval LOW:HIGH (1e14:1e15).",
    ),
]
ComputeGrowth = Annotated[
    str | None,
    typer.Option(
        "--compute-growth",
        help="Growth of frontier training compute per year: a number (4.5 for 4.5x) or a 90% interval "
        "LOW:HIGH (4:5).",
    ),
]
TokensPerParam = Annotated[
    float | None,
    typer.Option(
        "--tokens-per-param",
        help="Also forecast with a fixed tokens-per-parameter rule (Epoch's method; 20 in their projection) "
        "in place of the fitted frontier, and compare the two.",
    ),
]
Samples = Annotated[int, typer.Option("--samples", min=10, help="Monte Carlo samples of the data wall.")]


def scenario_from_options(
    name: str = "epoch2024", *, stock: str | None = None, compute_growth: str | None = None,
    tokens_per_param: float | None = None,
    **more,
):
    """The scenario the command line's options describe: a named scenario with its overrides.

    One helper for every command that takes scenario options (``wall``,
    ``report --wall``); an option added here is added to both. Interval
    options take a number (a fixed value) or ``LOW:HIGH`` (a 90% interval).
    ``more`` are further Scenario overrides, e.g. from :func:`efficiency_overrides`.

    Examples
    --------
    >>> scenario_from_options(stock="1e15").stock
    1000000000000000.0
    """
    from forecast.datawall import Scenario

    builders = {"epoch2024": Scenario.epoch2024}
    if name not in builders:
        close = difflib.get_close_matches(name, list(builders), n=1)
        raise UserError(
            f"unknown scenario {name!r}{f' (did you mean {close[0]!r}?)' if close else ''}; "
            f"known scenarios: {', '.join(builders)}"
        )
    if tokens_per_param is not None and not (math.isfinite(tokens_per_param) and tokens_per_param > 0):
        raise UserError(f"--tokens-per-param must be a positive number, got {tokens_per_param!r}")
    overrides = {}
    for field, value in (
        ("stock", parse_range(stock, option="--stock")),
        ("compute_growth", parse_range(compute_growth, option="--compute-growth")),
    ):
        if value is not None:
            overrides[field] = value[0] if value[0] == value[1] else value
    return builders[name](tokens_per_param=tokens_per_param, **overrides, **more)


def _number_or_range(text: str | None, *, option: str, presets: dict | None = None):
    """``LOW:HIGH`` as a 90% interval, one number as a fixed value, or a named preset."""
    if text is None:
        return None
    if presets and str(text).strip() in presets:
        return presets[str(text).strip()]
    if ":" not in str(text):
        return float(parse_numbers(text, option=option)[0])
    low, high = parse_range(text, option=option)
    return low if low == high else (low, high)


def efficiency_overrides(
    *,
    efficiency_growth: str | None = None,
    data_efficiency: str | None = None,
    overtraining: str | None = None,
    epochs: str | None = None,
    stock_growth: str | None = None,
    slowdown: Sequence[str] | None = None,
    compute_cap: str | None = None,
) -> dict:
    """Scenario overrides from the efficiency, slowdown and demand options of ``forecast wall``.

    Each option takes a number (a fixed value) or ``LOW:HIGH`` (a 90%
    interval); ``--efficiency-growth ho2024`` is Ho et al. (2024)'s estimate,
    and each ``--slowdown YEAR=LOW:HIGH`` sets compute growth from ``YEAR`` on
    (``--slowdown epoch2030``: :data:`forecast.scenarios.COMPUTE_SLOWDOWN_2030`).
    Meant to be shared by every command that builds a scenario.

    Examples
    --------
    >>> efficiency_overrides(epochs="4", slowdown=["2030=1.3:3.2"])
    {'epochs': 4.0, 'growth_changes': {'compute_growth': {2030: (1.3, 3.2)}}}
    """
    from forecast.scenarios import COMPUTE_SLOWDOWN_2030, DATA_EFFICIENCY_RANGE, EFFICIENCY_HO_2024

    out = {}
    for field, text, option, presets in (
        ("efficiency_growth", efficiency_growth, "--efficiency-growth", {"ho2024": EFFICIENCY_HO_2024}),
        ("data_efficiency_growth", data_efficiency, "--data-efficiency", {"range": DATA_EFFICIENCY_RANGE}),
        ("overtraining", overtraining, "--overtraining", None),
        ("epochs", epochs, "--epochs", None),
        ("stock_growth", stock_growth, "--stock-growth", None),
        ("compute_cap", compute_cap, "--compute-cap", None),
    ):
        value = _number_or_range(text, option=option, presets=presets)
        if value is not None:
            out[field] = value
    changes: dict[int, object] = {}
    for item in slowdown or []:
        if item.strip() == "epoch2030":
            changes.update(COMPUTE_SLOWDOWN_2030)
            continue
        year, sep, rate = item.partition("=")
        try:
            when = int(year)
        except ValueError:
            when = None
        if not sep or when is None:
            raise UserError(
                f"--slowdown must be YEAR=LOW:HIGH (compute growth from YEAR on, e.g. --slowdown 2030=1.3:3.2) "
                f"or epoch2030; got {item!r}"
            )
        changes[when] = _number_or_range(rate, option="--slowdown")
    if changes:
        out["growth_changes"] = {"compute_growth": changes}
    return out


def _data_wall(fit: Fit | None, scenario, *, samples: int, seed: int, console: Console, **options):
    """The data wall from the fitted frontier (or, with ``fit=None``, the scenario's fixed rule)."""
    from forecast.datawall import data_wall

    how = "the fitted frontier" if fit is not None else "a fixed tokens-per-parameter rule"
    with console.status(f"Simulating the data wall from {how} ({samples} Monte Carlo samples)..."):
        return data_wall(fit, scenario, n_samples=samples, random_seed=seed, **options)


# --------------------------------------------------------------- options
OutDir = Annotated[
    Path, typer.Option("--out", "-o", help="Folder to write report.html and the saved fit into.")
]
Draws = Annotated[int, typer.Option(min=1, help="Posterior draws kept per chain.")]
Tune = Annotated[int, typer.Option(min=1, help="Tuning (warm-up) steps per chain.")]
Chains = Annotated[int, typer.Option(min=1, help="Number of chains.")]
Seed = Annotated[
    int, typer.Option(min=0, max=2**32 - 1, help="Random seed of the sampler and the Monte Carlo.")
]
Ci = Annotated[float, typer.Option(help="Mass of the equal-tailed credible interval, in (0, 1).")]
Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show the sampler's progress bar.")]
ModelPath = Annotated[
    Path, typer.Argument(help="A fit saved by `forecast fit` or `forecast demo` (.nc).", show_default=False)
]
# scenario options on efficiency, demand and slowdowns (see efficiency_overrides)
EfficiencyGrowth = Annotated[
    str | None,
    typer.Option(
        help="Yearly multiplier on effective compute from better algorithms: a number, LOW:HIGH (90%), or "
        "ho2024 (Ho et al. 2024: compute for a given loss halves every ~8 months, 95% CI 5-14). Default 1 (off)."
    ),
]
DataEfficiency = Annotated[
    str | None,
    typer.Option(
        help="Yearly multiplier on what a token of the stock is worth: a number, LOW:HIGH (90%), or range "
        "(1:1.5, our reading of the published one-off gains). Default 1 (off)."
    ),
]
Overtraining = Annotated[
    str | None,
    typer.Option(help="Multiplier on compute-optimal tokens per parameter: a number or LOW:HIGH (90%)."),
]
Epochs = Annotated[
    str | None, typer.Option(help="Passes over the stock a run may make (>= 1): a number or LOW:HIGH (90%).")
]
StockGrowth = Annotated[
    str | None,
    typer.Option(help="Yearly growth factor of the stock (1.035 = +3.5%): a number or LOW:HIGH (90%)."),
]
Slowdown = Annotated[
    list[str] | None,
    typer.Option(
        help="Compute growth from a year on, YEAR=LOW:HIGH (e.g. 2030=1.3:3.2); repeat for several years. "
        "epoch2030: 4-5x to 2030, then 1.3-3.2x (compute per dollar, and spending growing as in 2016-2024)."
    ),
]
ComputeCap = Annotated[
    str | None,
    typer.Option(help="Largest training run possible in any year (FLOP): a number or LOW:HIGH (90%)."),
]
MinYearlyGain = Annotated[
    float,
    typer.Option(
        min=1e-12,
        help="Diminishing returns: report the year the loss improves by less than this per year (nats/token).",
    ),
]


# --------------------------------------------------------------- commands
@app.command()
def demo(
    out: OutDir = Path("demo-out"),
    draws: Draws = SAMPLER.draws,
    tune: Tune = SAMPLER.tune,
    chains: Chains = SAMPLER.chains,
    seed: Seed = DEFAULT_SEED,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help=f"Short run for a smoke test ({QUICK['chains']} chains x {QUICK['draws']} draws); "
            "its convergence gate may fail.",
        ),
    ] = False,
    samples: Annotated[int, typer.Option(min=10, help="Monte Carlo samples of the data wall.")] = 1000,
    progress: Progress = True,
) -> None:
    """Fit, forecast, frontier and data wall on real public runs; write DIR/report.html.

    Pools two families of published training runs bundled with the package:
    the Chinchilla runs (Hoffmann et al. 2022, digitised by Epoch AI) and late
    OPT checkpoints (Zhang et al. 2022). The report cites them. Nothing is
    downloaded.
    """
    with _user_errors():
        from forecast.datasets import DEMO_POOLING, DEMO_SELECTION, demo_runs
        from forecast.datawall import compare_text
        from forecast.model import ScalingModel
        from forecast.report import write_report

        console = _console()
        _writable(out / "demo.nc", out / "demo.json", out / "report.html")
        if quick:
            draws, tune, chains = QUICK["draws"], QUICK["tune"], QUICK["chains"]
            samples = min(samples, 400)
        obs = demo_runs()
        console.print(f"Data: {obs!r}: {DEMO_SELECTION}. Sources:")
        for line in obs.citation.splitlines():
            console.print(f"  - {line}")
        model = ScalingModel(law="chinchilla", pooling=DEMO_POOLING)
        console.print(
            f"Fitting {model.law.formula} (B and beta shared, E, A and alpha partially pooled): "
            f"{chains} chains x {draws} draws..."
        )
        fit = model.fit(
            obs, draws=draws, tune=tune, chains=chains, random_seed=seed, progressbar=progress, warn=False
        )
        families = ["new", *fit.families]
        forecast_ = _scale_up_forecast(fit, families)
        frontier = fit.frontier(FRONTIER_FLOPS)
        scenario = scenario_from_options("epoch2024", tokens_per_param=20.0)
        wall = _data_wall(fit, scenario, samples=samples, seed=seed, console=console)
        # Epoch's own method (a fixed 20 tokens per parameter) on the same scenario, for comparison
        fixed_rule = _data_wall(None, scenario, samples=samples, seed=seed, console=console)

        out.mkdir(parents=True, exist_ok=True)
        saved = fit.save(out / "demo.nc")
        with console.status("Writing the report (figures and tables)..."):
            report = write_report(
                out / "report.html",
                fit=fit,
                forecasts=[forecast_],
                frontier=frontier,
                wall=wall,
                title="forecast demo: Chinchilla and OPT training runs (real public data)",
            )

        console.print(_parameter_table(fit))
        console.print(_gate_line(fit))
        table = forecast_.table(DEFAULT_CI)
        console.print(
            _forecast_table(
                table[table["family"] == "new"],
                title=f"Forecast for a new family at {' and '.join(f'{s:g}x' for s in SCALE_UPS)} "
                "the largest compute in the data",
            )
        )
        console.print(_noise_caption(forecast_.include_noise, DEFAULT_CI))
        console.print(f"Data wall: {wall.text}")
        console.print(compare_text(wall, fixed_rule))
        console.print(f"Wrote {report} and {saved} (+ {saved.with_suffix('.json').name}).")


@app.command()
def fit(
    data: Annotated[
        Path,
        typer.Argument(
            help="CSV of runs: one row per run (family, params, tokens, loss).", show_default=False
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Where to save the fit (.nc; a .json card goes beside it).",
            show_default=False,
        ),
    ],
    law: Annotated[
        str, typer.Option(help="Scaling law: chinchilla, compute, kaplan, kaplan_n, data_constrained.")
    ] = "chinchilla",
    pool: Annotated[
        str,
        typer.Option(
            help="Pooling across families: partial, none or complete for all parameters, "
            "or per parameter as alpha=partial,E=complete (the rest partial)."
        ),
    ] = "partial",
    family_col: Annotated[str, typer.Option(help="Column holding the family name.")] = "family",
    family_name: Annotated[
        str | None,
        typer.Option(help="Treat every row as this one family (for a table without a family column)."),
    ] = None,
    params_col: Annotated[str, typer.Option(help="Column holding parameters N (raw count).")] = "params",
    tokens_col: Annotated[str, typer.Option(help="Column holding training tokens D (raw count).")] = "tokens",
    loss_col: Annotated[str, typer.Option(help="Column holding the loss (nats/token).")] = "loss",
    flops_col: Annotated[str | None, typer.Option(help="Column holding training FLOP (default 6ND).")] = None,
    unique_tokens_col: Annotated[
        str | None, typer.Option(help="Column holding unique tokens (for law data_constrained).")
    ] = None,
    run_col: Annotated[
        str | None,
        typer.Option(
            help="Column naming the training run of each checkpoint (kept with the data; see --run-effects)."
        ),
    ] = None,
    run_effects: Annotated[
        bool,
        typer.Option(
            "--run-effects/--no-run-effects",
            help="Add a shared offset per run (needs --run-col; only when several runs share a model size).",
        ),
    ] = False,
    epochs_col: Annotated[
        str | None, typer.Option(help="Column holding epochs (checked against tokens / unique tokens).")
    ] = None,
    min_points: Annotated[
        int, typer.Option(min=1, help="Fewest distinct (N, D) points a family must have.")
    ] = 3,
    likelihood: Annotated[
        str, typer.Option(help="Noise on log loss: student_t (robust to a bad run) or normal.")
    ] = "student_t",
    noise_pooling: Annotated[
        str,
        typer.Option(help="Noise scale sigma: complete (one shared by all families) or none (one per family)."),
    ] = "complete",
    spread_prior: Annotated[
        str, typer.Option(help="Prior on the spread between families: lognormal, gamma or halfnormal.")
    ] = "lognormal",
    shared_exponent: Annotated[
        bool,
        typer.Option(
            "--shared-exponent/--separate-exponents",
            help="One exponent for N and D (alpha = beta, as Muennighoff et al. 2023 fit the data-constrained law).",
        ),
    ] = False,
    draws: Draws = SAMPLER.draws,
    tune: Tune = SAMPLER.tune,
    chains: Chains = SAMPLER.chains,
    target_accept: Annotated[
        float,
        typer.Option(
            min=0.5, max=0.999, help="Target acceptance rate of the step size; raise it (0.99) on divergences."
        ),
    ] = SAMPLER.target_accept,
    sampler: Annotated[str, typer.Option(help="nutpie (fast, compiled) or pymc (PyMC's own NUTS).")] = "nutpie",
    adaptation: Annotated[
        str, typer.Option(help="nutpie's mass-matrix adaptation: low_rank or diag.")
    ] = SAMPLER.adaptation,
    seed: Seed = DEFAULT_SEED,
    ci: Ci = DEFAULT_CI,
    progress: Progress = True,
) -> None:
    """Fit a hierarchical scaling law to a CSV of runs and save it."""
    with _user_errors():
        from forecast.data import Observations
        from forecast.model import ScalingModel

        console = _console()
        _check_ci(ci)
        if out.suffix != ".nc":
            raise UserError(f"--out must end in .nc (got {out.name!r}); the JSON card is written beside it")
        if data.is_dir():
            raise UserError(f"{data} is a folder; give the CSV file of runs")
        _writable(out, out.with_suffix(".json"))
        from forecast.laws import LAWS

        if law not in LAWS:
            close = difflib.get_close_matches(law, list(LAWS), n=1)
            raise UserError(
                f"unknown law {law!r}{f' (did you mean {close[0]!r}?)' if close else ''}; "
                f"known laws: {', '.join(LAWS)}"
            )
        pooling = parse_pooling(pool)
        if noise_pooling != "complete":
            pooling = {p: pooling for p in ScalingModel(law=law).law.params} if isinstance(pooling, str) else pooling
            pooling = {**pooling, "sigma": noise_pooling}
        model = ScalingModel(
            law=law, pooling=pooling, run_effects=run_effects, likelihood=likelihood, spread_prior=spread_prior,
            shared_exponent=shared_exponent,
        )
        mapping = {
            "family": family_col,
            "params": params_col,
            "tokens": tokens_col,
            "loss": loss_col,
            "flops": flops_col,
            "unique_tokens": unique_tokens_col,
            "run": run_col,
            "epochs": epochs_col,
            "family_name": family_name,
        }
        obs = Observations.from_csv(data, min_points=min_points, **mapping)
        console.print(f"Data: {obs!r}")
        console.print(f"Fitting {model.law.formula}: {chains} chains x {draws} draws...")
        result = model.fit(
            obs, draws=draws, tune=tune, chains=chains, random_seed=seed, progressbar=progress, warn=False,
            target_accept=target_accept, sampler=sampler, adaptation=adaptation,
        )
        saved = result.save(out)
        console.print(_parameter_table(result, ci))
        console.print(_gate_line(result))
        console.print(f"Saved {saved} (+ {saved.with_suffix('.json').name}).")


@app.command()
def predict(
    model: ModelPath,
    params: Annotated[
        str | None, typer.Option(help="Parameter counts N, comma-separated (7e10,4e11).")
    ] = None,
    tokens: Annotated[
        str | None, typer.Option(help="Token counts D, comma-separated, one per --params.")
    ] = None,
    flops: Annotated[
        str | None,
        typer.Option(help="Compute budgets C in FLOP, comma-separated (instead of --params/--tokens)."),
    ] = None,
    family: Annotated[
        str,
        typer.Option(
            help="A fitted family, 'new' (a family not seen, drawn from the population), or several "
            "comma-separated. Default 'auto': the fit's family when it has one, else 'new'."
        ),
    ] = "auto",
    grid: Annotated[bool, typer.Option("--grid", help="Cross every --params with every --tokens.")] = False,
    ci: Ci = DEFAULT_CI,
    noise: Annotated[
        bool, typer.Option("--noise", help="Include the observation noise of a single run.")
    ] = False,
    seed: Seed = 0,
    csv: Annotated[Path | None, typer.Option(help="Also write the forecast table to this CSV.")] = None,
) -> None:
    """Forecast the loss at new scales (N and D, or compute C) with credible intervals."""
    with _user_errors():
        from forecast.predict import grid as make_grid
        from forecast.predict import predict as run_predict

        console = _console()
        _check_ci(ci)
        given = {
            "params": parse_numbers(params, option="--params"),
            "tokens": parse_numbers(tokens, option="--tokens"),
            "flops": parse_numbers(flops, option="--flops"),
        }
        given = {k: v for k, v in given.items() if v is not None}
        if not given:
            raise UserError("nothing to forecast: give --params and --tokens, or --flops")
        if grid:
            if len(given) < 2:
                raise UserError("--grid crosses two inputs (e.g. --params with --tokens); give both")
            given = make_grid(**given)
        else:
            sizes = {f"--{k}": len(v) for k, v in given.items() if len(v) > 1}
            if len(set(sizes.values())) > 1:
                raise UserError(
                    f"{', '.join(f'{k} has {n}' for k, n in sizes.items())} values: give the same number "
                    "of each (they are paired), or add --grid to cross them"
                )
        families = _families(family)
        if not families:
            raise UserError("--family is empty; give a fitted family name or 'new'")
        _writable(csv)
        loaded = _load(model)
        if families != ["auto"]:
            loaded._resolve_families(families)  # an unknown family fails before any work
        result = run_predict(
            loaded,
            **given,
            family=families if len(families) > 1 else families[0],
            include_noise=noise,
            random_seed=seed,
        )
        table = result.table(ci)
        shown = table if len(table) <= MAX_PRINTED_ROWS else table.head(MAX_PRINTED_ROWS)
        console.print(_forecast_table(shown, title=f"Forecast loss ({loaded.law.name}, {model.name})"))
        if len(shown) < len(table):
            console.print(f"(first {MAX_PRINTED_ROWS} of {len(table):,} rows" + (f"; all in {csv})" if csv
                          else "; add --csv FILE for all of them)"))
        console.print(_noise_caption(result.include_noise, ci))
        _print_notes(console, result)
        if "split_note" in result.fit_info:
            _print_identification(console, loaded, "the compute-optimal split behind these budgets",
                                  family=families[0] if len(families) == 1 else "population",
                                  flops=result.draws["flops"].values)
        console.print(_gate_line(loaded))
        if csv is not None:
            from forecast.fit import atomic_write

            csv.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(csv, lambda tmp: table.to_csv(tmp, index=False))
            console.print(f"Wrote {csv}.")


@app.command()
def wall(
    model: ModelPath,
    scenario: ScenarioName = "epoch2024",
    stock: Stock = None,
    compute_growth: ComputeGrowth = None,
    tokens_per_param: TokensPerParam = None,
    samples: Samples = 1000,
    seed: Seed = 0,
    csv: Annotated[Path | None, typer.Option(help="Also write P(wall by year) to this CSV.")] = None,
    efficiency_growth: EfficiencyGrowth = None,
    data_efficiency: DataEfficiency = None,
    overtraining: Overtraining = None,
    epochs: Epochs = None,
    stock_growth: StockGrowth = None,
    slowdown: Slowdown = None,
    compute_cap: ComputeCap = None,
    min_yearly_gain: MinYearlyGain = 0.005,
) -> None:
    """When does the stock of human text run out? P(data wall by year) under a scenario."""
    with _user_errors():
        console = _console()
        _writable(csv)
        scen = scenario_from_options(
            scenario,
            stock=stock,
            compute_growth=compute_growth,
            tokens_per_param=tokens_per_param,
            **efficiency_overrides(
                efficiency_growth=efficiency_growth,
                data_efficiency=data_efficiency,
                overtraining=overtraining,
                epochs=epochs,
                stock_growth=stock_growth,
                slowdown=slowdown,
                compute_cap=compute_cap,
            ),
        )
        loaded = _load(model)
        _needs_frontier(loaded, "the data wall")
        result = _data_wall(
            loaded, scen, samples=samples, seed=seed, console=console, min_yearly_gain=min_yearly_gain
        )
        fixed = None
        if tokens_per_param is not None:
            fixed = _data_wall(None, scen, samples=samples, seed=seed, console=console)
        years, assumptions = _wall_tables(result, fixed)
        console.print(years)
        q = result.year_quantiles()
        console.print(
            "Wall year quantiles (fitted frontier): "
            + ", ".join(f"{float(k):.0%}: {_year(v)}" for k, v in q.items())
        )
        console.print(assumptions)
        ident = result.identification
        console.print(result.text.replace(f" {ident.reason}", "") if ident is not None else result.text)
        loss = result.loss_by_year()
        console.print(
            "Loss reachable (nats/token, median) without / with the wall: "
            + ", ".join(
                f"{int(r.year)}: {r.without_wall_median:.4f} / {r.with_wall_median:.4f}"
                for r in loss.iloc[:: max(1, len(loss) // 6)].itertuples()
            )
        )
        if ident is not None:
            verdict = "Identified" if ident.identified else "[bold]NOT IDENTIFIED[/bold]"
            console.print(f"{verdict}: {cli_words(ident.reason)}")
        if fixed is not None:
            from forecast.datawall import compare_text

            console.print(compare_text(result, fixed))
        console.print(_gate_line(loaded))
        if csv is not None:
            table = result.prob_by_year()
            if fixed is not None:
                table["prob_fixed_rule"] = fixed.prob_by_year()["prob"].to_numpy()
            from forecast.fit import atomic_write

            csv.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(csv, lambda tmp: table.to_csv(tmp, index=False))
            console.print(f"Wrote {csv}.")


def _year(value) -> str:
    v = float(value)
    return "beyond horizon" if not np.isfinite(v) else f"{v:.0f}"


@app.command()
def report(
    model: ModelPath,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Report file: .html (self-contained) or .md.", show_default=False),
    ],
    with_wall: Annotated[
        bool, typer.Option("--wall", help="Add the data wall under the scenario the options below describe.")
    ] = False,
    flops: Annotated[
        str | None,
        typer.Option(
            help="Budgets to forecast, comma-separated FLOP (default: 10x and 100x the largest run)."
        ),
    ] = None,
    family: Annotated[
        str,
        typer.Option(
            help="Families to forecast, comma-separated ('new' = unseen). Default 'auto': the fit's family "
            "when it has one, else 'new'."
        ),
    ] = "auto",
    title: Annotated[str | None, typer.Option(help="Report title.")] = None,
    figures: Annotated[
        bool,
        typer.Option(
            "--figures/--no-figures", help="Embed figures (leave them out for a quick text report)."
        ),
    ] = True,
    scenario: ScenarioName = "epoch2024",
    stock: Stock = None,
    compute_growth: ComputeGrowth = None,
    tokens_per_param: TokensPerParam = None,
    samples: Samples = 1000,
    seed: Seed = 0,
    efficiency_growth: EfficiencyGrowth = None,
    data_efficiency: DataEfficiency = None,
    overtraining: Overtraining = None,
    epochs: Epochs = None,
    stock_growth: StockGrowth = None,
    slowdown: Slowdown = None,
    compute_cap: ComputeCap = None,
    min_yearly_gain: MinYearlyGain = 0.005,
) -> None:
    """Write a report (HTML or Markdown) of a saved fit: answers, diagnostics, forecasts, frontier, wall."""
    with _user_errors():
        from forecast.report import write_report

        console = _console()
        fmt = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}.get(
            out.suffix.lower()
        )
        if fmt is None:
            raise UserError(f"--out must end in .html or .md (got {out.name!r})")
        budgets = parse_numbers(flops, option="--flops")
        families = _families(family)
        _writable(out)
        more = efficiency_overrides(
            efficiency_growth=efficiency_growth,
            data_efficiency=data_efficiency,
            overtraining=overtraining,
            epochs=epochs,
            stock_growth=stock_growth,
            slowdown=slowdown,
            compute_cap=compute_cap,
        )
        scen = scenario_from_options(
            scenario, stock=stock, compute_growth=compute_growth, tokens_per_param=tokens_per_param, **more
        )
        loaded = _load(model)
        if families != ["auto"]:
            loaded._resolve_families(families)  # an unknown family fails before any work
        # Budgets in FLOP need a law that maps compute to loss (directly, or through the frontier).
        forecasts = (
            [_scale_up_forecast(loaded, families, flops=budgets)]
            if (_splits_compute(loaded) and set(loaded.law.inputs) <= {"params", "tokens"})
            or loaded.law.frontier_method == "compute law"
            else []
        )
        frontier = loaded.frontier(FRONTIER_FLOPS) if _splits_compute(loaded) else None
        wall_ = fixed = None
        if with_wall:
            _needs_frontier(loaded, "--wall")
            wall_ = _data_wall(
                loaded, scen, samples=samples, seed=seed, console=console, min_yearly_gain=min_yearly_gain
            )
            if tokens_per_param is not None:
                fixed = _data_wall(None, scen, samples=samples, seed=seed, console=console)
        elif any(v is not None for v in (stock, compute_growth, tokens_per_param)) or more or (
            scenario != "epoch2024"
        ):
            raise UserError("the scenario options (--scenario, --stock, --compute-growth, --tokens-per-param, "
                            "--efficiency-growth, ...) describe the data wall: add --wall")
        out.parent.mkdir(parents=True, exist_ok=True)
        with console.status("Writing the report (figures and tables)..."):
            written = write_report(
                out,
                fit=loaded,
                forecasts=forecasts,
                frontier=frontier,
                wall=wall_,
                title=title,
                fmt=fmt,
                figures=figures,
                compare_wall=fixed,
            )
        if forecasts:
            _print_notes(console, forecasts[0])
        if frontier is not None:
            _print_identification(console, loaded, "the compute-optimal split (tokens per parameter)",
                                  flops=[FRONTIER_FLOPS.min(), FRONTIER_FLOPS.max()])
        if wall_ is not None and wall_.identification is not None and not wall_.identification.identified:
            console.print(f"[bold]NOT IDENTIFIED:[/bold] {cli_words(wall_.identification.reason)}")
        console.print(_gate_line(loaded))
        console.print(f"Wrote {written}.")


def _df_table(df, *, title: str, columns: Sequence[str], kinds: dict[str, str] | None = None):
    """A rich table of some columns of a DataFrame."""
    from rich.table import Table

    kinds = kinds or {}
    out = Table(title=title, title_justify="left")
    for col in columns:
        out.add_column(col, justify="left" if df[col].dtype == object else "right")
    for _, r in df.iterrows():
        cells = []
        for col in columns:
            v = r[col]
            if isinstance(v, str | bool | np.bool_):
                cells.append(str(v))
            elif kinds.get(col) == "score":
                cells.append(f"{v:.3f}")
            elif kinds.get(col) == "pct":
                cells.append(f"{v:.0%}")
            elif kinds.get(col) == "offset":
                cells.append(f"{v:+.2f}")
            else:
                cells.append("inf" if np.isinf(v) else _fmt(v, "count"))
        out.add_row(*cells)
    return out


@app.command()
def capabilities(
    source: Annotated[
        str,
        typer.Argument(help="A tidy CSV (model, family, flops, benchmark, score), a saved capability fit "
                       "(.nc), or 'obsscaling' for the ObsScaling table (Ruan et al. 2024)."),
    ],
    flops: Annotated[str, typer.Option(help="Training FLOP to forecast, comma-separated.")] = "1e24,1e25,1e26",
    family: Annotated[str, typer.Option(help="A fitted family, or 'new' (a family not seen).")] = "new",
    benchmark: Annotated[
        str | None, typer.Option(help="Benchmarks to forecast, comma-separated (default all).")
    ] = None,
    reach: Annotated[
        float | None, typer.Option(help="Also show the compute at which each benchmark reaches this score.")
    ] = None,
    chance: Annotated[
        str | None, typer.Option(help="Chance scores of benchmarks the package does not know: 'Bench=0.25,X=0'.")
    ] = None,
    noise: Annotated[
        bool, typer.Option("--noise", help="Forecast one new model's score (its own capability and noise).")
    ] = False,
    save: Annotated[Path | None, typer.Option(help="Save the fit to this .nc file.")] = None,
    csv: Annotated[Path | None, typer.Option(help="Also write the forecast table to this CSV.")] = None,
    ci: Ci = DEFAULT_CI,
    draws: Draws = CAPABILITY_DRAWS,
    tune: Tune = CAPABILITY_TUNE,
    chains: Chains = SAMPLER.chains,
    seed: Seed = DEFAULT_SEED,
    progress: Progress = False,
) -> None:
    """Forecast benchmark scores at new training compute, pooled across benchmarks and families."""
    with _user_errors():
        import pandas as pd

        from forecast.capabilities import CapabilityModel, load_capability_fit
        from forecast.capability_data import BenchmarkScores, load_obsscaling
        from forecast.fit import atomic_write

        console = _console()
        _check_ci(ci)
        _writable(save, csv)
        grid = parse_numbers(flops, option="--flops")
        benches = [b.strip() for b in benchmark.split(",") if b.strip()] if benchmark else None
        if source.endswith(".nc"):
            fitted = load_capability_fit(Path(source))
        else:
            if source == "obsscaling":
                scores = load_obsscaling()
            else:
                path = Path(source)
                if not path.exists():
                    raise FileNotFoundError(f"no such data file: {path}")
                levels = {}
                for part in (chance or "").split(","):
                    if part.strip():
                        name, _, value = part.partition("=")
                        levels[name.strip()] = parse_numbers(value, option="--chance")[0]
                scores = BenchmarkScores(pd.read_csv(path), chance=levels or None)
                scores.source = str(path)
            with console.status(f"Fitting {scores!r}..."):
                fitted = CapabilityModel().fit(scores, draws=draws, tune=tune, chains=chains, random_seed=seed,
                                               progressbar=progress)
        result = fitted.predict(grid, family=family, benchmark=benches, include_noise=noise, random_seed=seed)
        table = result.table(ci)
        console.print(_df_table(table, title=f"Forecast scores ({family})",
                                columns=["benchmark", "flops", "median", "lower", "upper"],
                                kinds={"median": "score", "lower": "score", "upper": "score"}))
        what = ("one new model's score (parameters, its own capability and benchmark noise)" if noise
                else "the score of the family's typical model (parameter uncertainty; --noise for one model)")
        console.print(f"Scores are fractions; {ci:.0%} {INTERVAL_KIND} intervals of {what}.")
        offsets = fitted.family_offsets(ci)
        console.print(_df_table(offsets.head(10), title="Most compute-efficient families (decades of compute)",
                                columns=["rank", "family", "n_models", "median", "lower", "upper"],
                                kinds={"median": "offset", "lower": "offset", "upper": "offset"}))
        if reach is not None:
            need = fitted.compute_to_reach(reach, benchmark=benches, family=family, ci=ci)
            console.print(_df_table(need, title=f"Training FLOP to reach a score of {reach:g} ({family})",
                                    columns=["benchmark", "p_reachable", "median", "lower", "upper"],
                                    kinds={"p_reachable": "pct"}))
        console.print(_gate_line(fitted))
        if save is not None:
            fitted.save(save)
            console.print(f"Saved the fit to {save}.")
        if csv is not None:
            csv.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(csv, lambda tmp: table.to_csv(tmp, index=False))
            console.print(f"Wrote {csv}.")


@app.command()
def cv(
    data: Annotated[
        Path, typer.Argument(help="CSV of runs: one row per run (family, params, tokens, loss).", show_default=False)
    ],
    law: Annotated[
        str, typer.Option(help="Scaling law: chinchilla, compute, kaplan, kaplan_n, data_constrained.")
    ] = "chinchilla",
    cutoffs: Annotated[
        str | None,
        typer.Option(help="Origins in decades of compute below each family's largest run, comma-separated "
                     "(default 0.3,0.6,1)."),
    ] = None,
    top: Annotated[
        str | None,
        typer.Option(help="Origins as the number of each family's largest budgets held out, e.g. 2 "
                     "(instead of --cutoffs)."),
    ] = None,
    family_col: Annotated[str, typer.Option(help="Column holding the family name.")] = "family",
    run_col: Annotated[str | None, typer.Option(help="Column naming the training run of each checkpoint.")] = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap replicates of the baseline (0: none).")] = 200,
    draws: Draws = CV_SAMPLER["draws"],
    tune: Tune = CV_SAMPLER["tune"],
    chains: Chains = SAMPLER.chains,
    seed: Seed = DEFAULT_SEED,
    csv: Annotated[Path | None, typer.Option(help="Write the per-point results to this CSV.")] = None,
) -> None:
    """Rolling-origin cross-validation: coverage, error and interval score by horizon, against the baseline."""
    with _user_errors():
        from rich.table import Table

        from forecast.backtest import cross_validate
        from forecast.data import Observations
        from forecast.model import ScalingModel

        console = _console()
        if cutoffs is not None and top is not None:
            raise UserError("give --cutoffs or --top, not both")
        if data.is_dir():
            raise UserError(f"{data} is a folder; give the CSV file of runs")
        obs = Observations.from_csv(data, family=family_col, run=run_col)
        cut = parse_numbers(cutoffs, option="--cutoffs")
        tops = parse_numbers(top, option="--top")
        if tops is not None and (np.any(tops != np.round(tops)) or np.any(tops < 1)):
            raise UserError(f"--top must be whole numbers of budgets >= 1, got {top!r}")
        console.print(f"Data: {obs!r}")
        result = cross_validate(
            obs, ScalingModel(law=law),
            cutoffs=None if cut is None else [float(c) for c in cut],
            top=None if tops is None else [int(t) for t in tops],
            bootstrap=bootstrap, random_seed=seed,
            fit_options={"draws": draws, "tune": tune, "chains": chains, "warn": False},
        )
        metrics = result.metrics(by="horizon")
        cols = ["method", "horizon", "n", "coverage_50", "coverage_90", "median_abs_rel_error",
                "mean_interval_score_90", "mean_crps"]
        table = Table(title="Cross-validation by horizon (decades of compute beyond the data), origins "
                      + ", ".join(result.settings["folds"]), title_justify="left")
        for c in cols:
            table.add_column(c.replace("_", " "), justify="left" if c in ("method", "horizon") else "right")
        for _, row in metrics[cols].iterrows():
            table.add_row(*[str(row[c]) if c in ("method", "horizon", "n") else f"{row[c]:.4g}" for c in cols])
        console.print(table)
        console.print(f"bayes: {result.settings['bayes_intervals']}; baseline: {result.settings['baseline_intervals']}.")
        own = result.extrapolation()
        console.print(f"Extrapolation error these errors call for: bias {own.bias:.4g}, rate {own.rate:.4g} "
                      f"({own.describe()}; pass Extrapolation(bias=..., rate=...) as predict(extrapolation=...)).")
        if not result.settings["diagnostics_ok"]:
            failed = [k for k, v in result.settings["fold_diagnostics"].items() if not v["ok"]]
            _warn(f"the fit of {len(failed)} of {len(result.settings['folds'])} origin(s) ({', '.join(failed)}) "
                  "failed the convergence gate, so their scores rest on an unreliable posterior; rerun with "
                  f"more draws (e.g. --draws {4 * draws} --tune {max(tune, 2 * SAMPLER.tune)}). "
                  + result.settings["diagnostics"])
        if csv is not None:
            result.table().to_csv(csv, index=False)
            console.print(f"Wrote {csv}.")


def main() -> None:
    """Entry point of the ``forecast`` console script.

    Examples
    --------
    From a shell::

        forecast --help
        forecast demo --out demo-out
    """
    app(prog_name="forecast")


if __name__ == "__main__":  # pragma: no cover
    main()
