"""The report: every section, numbers equal to the Python API's, a failed gate shown, nothing external."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from forecast.backtest import Backtest  # noqa: E402
from forecast.datawall import Scenario, data_wall  # noqa: E402
from forecast.fit import ConvergenceWarning  # noqa: E402
from forecast.model import ScalingModel  # noqa: E402
from forecast.report import write_report  # noqa: E402
from forecast.report.render import SECTIONS  # noqa: E402
from forecast.testing import fake_fit  # noqa: E402

FLOPS = np.logspace(22, 27, 6)


# ---------------------------------------------------------------- parsing
class Page(HTMLParser):
    """Tables (by id: caption, header, rows of cell text), section ids in order, and every tag's attributes."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict] = {}
        self.section_ids: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self._table = None
        self._row = None
        self._cell = None
        self._in_caption = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for k, v in attrs.items():
            self.attributes.append((tag, k, v or ""))
        if tag in ("section", "footer") and "id" in attrs:
            self.section_ids.append(attrs["id"])
        if tag == "table":
            self._table = self.tables.setdefault(
                attrs.get("id", f"t{len(self.tables)}"), {"caption": "", "header": [], "rows": []}
            )
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(("th" if tag == "th" else "td", "".join(self._cell).strip()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if all(kind == "th" for kind, _ in self._row):
                self._table["header"] = [text for _, text in self._row]
            else:
                self._table["rows"].append([text for _, text in self._row])
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption and self._table is not None:
            self._table["caption"] += data

    def frame(self, table_id: str) -> pd.DataFrame:
        t = self.tables[table_id]
        return pd.DataFrame(t["rows"], columns=t["header"])


def shown(value: float, digits: int = 4) -> float:
    """A number rounded to the report's displayed precision (significant digits)."""
    return float(f"{value:.{digits}g}")


def assert_shown(cells, values):
    """Each cell, read back as a number, equals the API value at the displayed precision."""
    got = [float(c) for c in cells]
    want = [shown(v) for v in values]
    assert got == want


def interval_cells(cells) -> tuple[list[float], list[float]]:
    pairs = [c.split(" – ") for c in cells]
    return [float(a) for a, _ in pairs], [float(b) for _, b in pairs]


# --------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def fit():
    return fake_fit(chains=4, draws=500, seed=3)  # iid draws: enough for the gate to pass


@pytest.fixture(scope="module")
def forecast_(fit):
    n = np.logspace(9.5, 12, 5)
    return fit.predict(params=n, tokens=20 * n, family=["new", "small-lab"])


@pytest.fixture(scope="module")
def frontier(fit):
    return fit.frontier(FLOPS)


@pytest.fixture(scope="module")
def wall(fit):
    return data_wall(fit, Scenario.epoch2024(), n_samples=300, random_seed=1)


@pytest.fixture(scope="module")
def backtest():
    """A real Backtest result built from known held-out points (no sampling needed to test the report)."""
    rng = np.random.default_rng(0)
    n = 6
    loss = 2.0 + 0.1 * rng.random(n)
    rows = []
    for method, bias, half in (("bayes", 0.01, 0.06), ("baseline", 0.04, 0.01)):
        median = loss + bias * rng.standard_normal(n)
        frame = pd.DataFrame(
            {
                "method": method,
                "family": "besiroglu-2024",
                "params": np.logspace(10, 11, n),
                "tokens": np.logspace(11.3, 12.3, n),
                "loss": loss,
                "forecast_family": "besiroglu-2024",
                "forecast_kind": "known family",
                "median": median,
            }
        )
        for c, scale in ((0.5, 0.4), (0.9, 1.0)):
            tag = f"{round(100 * c)}"
            frame[f"lower_{tag}"], frame[f"upper_{tag}"] = median - scale * half, median + scale * half
            frame[f"covered_{tag}"] = (
                (frame[f"lower_{tag}"] <= loss) & (loss <= frame[f"upper_{tag}"])
            ) * 1.0
            frame[f"width_{tag}"] = 2 * scale * half
            frame[f"rel_width_{tag}"] = frame[f"width_{tag}"] / median
        frame["abs_rel_error"] = (frame["median"] - loss).abs() / loss
        rows.append(frame)
    settings = {
        "split": "flops",
        "threshold": 3e21,
        "holdout": 0.2,
        "n_train": 88,
        "n_test": n,
        "trained_families": ["besiroglu-2024"],
        "new_families": [],
        "ci": [0.5, 0.9],
        "law": "chinchilla",
        "likelihood": "student_t",
        "bayes_intervals": "posterior predictive, include the observation noise of a single run",
        "baseline_intervals": "bootstrap percentiles (200 replicates), parameter uncertainty only",
        "diagnostics_ok": True,
        "diagnostics": "PASS",
    }
    return Backtest(points=pd.concat(rows, ignore_index=True), settings=settings, cis=(0.5, 0.9))


@pytest.fixture(scope="module")
def report(tmp_path_factory, fit, forecast_, frontier, wall, backtest):
    path = tmp_path_factory.mktemp("report") / "report.html"
    out = write_report(
        path,
        fit=fit,
        forecasts=[forecast_],
        frontier=frontier,
        wall=wall,
        backtest=backtest,
        title="Test report",
    )
    assert out == path
    html = path.read_text()
    return html, Page(html)


# ----------------------------------------------------------------- sections
def test_every_section_in_order(report):
    html, page = report
    assert page.section_ids == [sid for sid, _ in SECTIONS]
    assert "<title>Test report</title>" in html
    for _, name in SECTIONS:
        assert f">{name}</a>" in html, f"contents lack {name}"


def test_answers_come_first_in_sentences_with_intervals(report, forecast_, frontier, wall):
    html, _ = report
    answers = html[html.index('id="answers"') : html.index('id="data"')]
    table = forecast_.table(0.9)
    row = table[(table["family"] == "new")].sort_values("flops").iloc[-1]
    assert "A new family (one not among the fitted families" in answers
    assert (
        f"reaches a mean loss of {row['median']:.3f} nats per token (median; 90% interval "
        f"{row['lower']:.3f}–{row['upper']:.3f}"
    ) in answers
    assert "1.2e26 FLOP" in answers and "1.0T parameters" in answers and "20T tokens" in answers
    assert "At the largest budget in the report, 1e27 FLOP" in answers
    assert "tokens per parameter" in answers
    assert wall.text.replace("'", "&#39;").split(" (")[0] in answers


def test_data_table_counts_runs_per_family(report, fit):
    _, page = report
    data = page.frame("data-table")
    counts = fit.observations.table["family"].value_counts()
    for fam, runs in zip(data["family"], data["runs"], strict=True):
        assert int(runs) == (len(fit.observations) if fam == "all" else counts[fam])
    lo, hi = interval_cells(data["N (parameters)"])
    n = fit.observations.table.groupby("family")["params"]
    assert lo[:-1] == [shown(v) for v in n.min()[fit.families]]
    assert hi[:-1] == [shown(v) for v in n.max()[fit.families]]


def test_law_priors_and_pooling_are_stated(report, fit):
    html, page = report
    priors = page.frame("prior-table")
    assert list(priors["sampled parameter"]) == [*fit.law.params, "sigma"]
    assert set(priors["pooling"]) == {"partial"}  # the noise too: each family its own, partially pooled
    assert "L = E + A / N^alpha + B / D^beta" in html
    assert "Student-t distribution with nu = 4" in html


# ------------------------------------------------------- numbers equal API
def test_parameter_table_equals_fit_summary(report, fit):
    _, page = report
    table = page.frame("parameter-table")
    summary = fit.summary(0.9)
    assert len(table) == len(summary)
    assert list(table["parameter"]) == list(summary["parameter"])
    assert list(table["family"]) == list(summary["family"])
    for col, api in [
        ("mean", "mean"),
        ("sd", "sd"),
        ("median", "median"),
        ("lower", "lower"),
        ("upper", "upper"),
        ("R-hat", "r_hat"),
        ("ESS (bulk)", "ess_bulk"),
    ]:
        assert_shown(table[col], summary[api])


def test_forecast_table_equals_forecast_table(report, forecast_):
    _, page = report
    table = page.frame("forecast-table-1")
    api = forecast_.table(0.9)
    assert list(table["family"]) == list(api["family"])
    for col, name in [
        ("N (parameters)", "params"),
        ("D (tokens)", "tokens"),
        ("C (FLOP)", "flops"),
        ("mean (nats)", "mean"),
        ("median (nats)", "median"),
        ("lower (nats)", "lower"),
        ("upper (nats)", "upper"),
        ("mass", "ci"),
    ]:
        assert_shown(table[col], api[name])


def test_frontier_table_equals_frontier_table(report, frontier):
    _, page = report
    table = page.frame("frontier-table")
    api = frontier.table(0.9)
    assert_shown(table["C (FLOP)"], sorted(api["flops"].unique()))
    for q, name in [
        ("params", "N* (parameters)"),
        ("tokens", "D* (tokens)"),
        ("tokens_per_param", "D*/N* (tokens per parameter)"),
        ("loss", "L* (nats per token)"),
    ]:
        rows = api[api["quantity"] == q].sort_values("flops")
        assert_shown(table[f"{name} median"], rows["median"])
        lo, hi = interval_cells(table[f"{name} 90% interval"])
        assert lo == [shown(v) for v in rows["lower"]] and hi == [shown(v) for v in rows["upper"]]


def test_wall_lists_every_assumption_with_its_source(report, wall):
    _, page = report
    table = page.frame("wall-assumptions")
    api = wall.assumptions()
    assert list(table["assumption"]) == list(api["assumption"])
    assert list(table["source"]) == [str(s) for s in api["source"]]
    prob = page.frame("wall-probability")
    assert_shown(prob["P(wall by year)"], wall.prob_by_year()["prob"])


def test_backtest_scores_equal_the_backtest_api(report, backtest):
    html, page = report
    metrics = backtest.metrics()
    table = page.frame("backtest-metrics")
    assert list(table["method"]) == ["Bayesian (this package)", "Approach 3 point fit (Hoffmann et al. 2022)"]
    for col in ("mean abs rel error", "coverage 90", "mean width 90"):
        assert_shown(table[col], metrics[col.replace(" ", "_")])
    caption = page.tables["backtest-metrics"]["caption"]
    assert (
        "include the observation noise of a single run" in caption and "parameter uncertainty only" in caption
    )
    points = backtest.table()
    bayes = points[points["method"] == "bayes"]
    error = float((bayes["median"] - bayes["loss"]).abs().div(bayes["loss"]).mean())
    cover = float(bayes["covered_90"].mean())
    answers = html[html.index('id="answers"') : html.index('id="data"')]
    assert (
        f"Bayesian (this package): mean absolute relative error {error:.2%}, 90% intervals cover "
        f"{cover:.0%} of the held-out runs"
    ) in answers
    assert len(page.frame("backtest-points")) == len(points)


def test_backtest_as_a_plain_table(tmp_path, fit):
    frame = pd.DataFrame({"method": ["bayes", "point fit"], "abs_rel_error": [0.0123, 0.0311]})
    frame.attrs["caption"] = "Backtest on the three largest runs per family; 90% equal-tailed intervals."
    page = Page(write_report(tmp_path / "r.html", fit=fit, backtest=frame, figures=False).read_text())
    t = page.tables["backtest-table"]
    assert t["caption"].strip() == frame.attrs["caption"]
    assert [r[0] for r in t["rows"]] == ["bayes", "point fit"]
    with pytest.raises(TypeError, match="backtest must be"):
        write_report(tmp_path / "r.html", fit=fit, backtest=object(), figures=False)


def test_every_table_says_what_its_intervals_include(report):
    _, page = report
    for tid, t in page.tables.items():
        assert t["caption"].strip(), f"table {tid} has no caption"
        header = " ".join(t["header"]).lower()
        if "lower" in header or "interval" in header:
            assert "90% equal-tailed" in t["caption"], tid
    assert "exclude observation noise" in page.tables["forecast-table-1"]["caption"]
    assert "excludes observation noise" in page.tables["frontier-table"]["caption"]


def test_footer_makes_the_report_reproducible(report, fit):
    html, _ = report
    footer = html[html.index('<footer id="reproduce">') :]
    for needle in (fit.id, fit.observations.hash(), "pymc", "arviz", "nutpie", "numpy", "seed"):
        assert needle in footer
    assert f"<dd>{fit.sampler_settings['random_seed']}</dd>" in footer


# ------------------------------------------------------------ self-contained
def test_nothing_is_loaded_from_outside(report):
    html, page = report
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert set(re.findall(r"url\((.)", html)) <= {"#"}  # only clip paths inside the SVGs
    assert "<img" not in html and "<iframe" not in html
    for tag, attr, value in page.attributes:
        if attr in ("src", "href", "xlink:href", "data", "action"):
            assert value.startswith("#"), f"<{tag} {attr}={value!r}> points outside the document"
    assert "http" not in "".join(v for _, _, v in page.attributes)


def test_figures_are_inline_svg(report):
    html, _ = report
    figures = re.findall(r"<figure id=\"figure-([\w-]+)\">\s*<svg", html)
    assert figures == ["fit", "shrinkage", "ppc", "residuals", "exponents", "forecast-1", "frontier", "wall"]
    numbers = re.findall(r"<figcaption>Figure (\d+)\.", html)
    assert numbers == [str(i) for i in range(1, 9)]  # incl. the posterior predictive check and residuals


# --------------------------------------------------------------- the gate
def failing_fit():
    fit = fake_fit(chains=4, draws=500, seed=3)
    stats = fit.idata["sample_stats"].to_dataset()
    diverging = stats["diverging"].values.copy()
    diverging[0, :7] = True
    stats["diverging"] = (("chain", "draw"), diverging)
    fit.idata["sample_stats"] = xr.DataTree(stats)
    return fit


def test_a_failing_gate_is_shown_at_the_top_and_in_diagnostics(tmp_path):
    fit = failing_fit()
    with pytest.warns(ConvergenceWarning, match="7 divergent"):
        path = write_report(tmp_path / "fail.html", fit=fit, figures=False)
    html = path.read_text()
    top = html[: html.index('id="answers"')]
    assert 'id="gate-warning"' in top and "FAILS the convergence gate" in top
    assert "7 divergent transition(s)" in top
    diagnostics = Page(html).frame("diagnostics-table").set_index("check")
    assert diagnostics.loc["divergent transitions", "result"] == "FAIL"
    assert diagnostics.loc["divergent transitions", "value"] == "7"
    assert '<div class="verdict fail" id="gate-verdict">FAIL</div>' in html
    assert "Figure left out" in html and "<svg" not in html


def test_a_passing_gate_says_pass_without_a_warning(report):
    html, page = report
    assert 'id="gate-warning"' not in html
    assert '<div class="verdict pass" id="gate-verdict">PASS</div>' in html
    assert set(page.frame("diagnostics-table")["result"]) == {"pass"}


# ---------------------------------------------------------------- markdown
def test_markdown_variant_with_png_figures(tmp_path, fit, forecast_, frontier):
    path = write_report(tmp_path / "report.md", fit=fit, forecasts=forecast_, frontier=frontier)
    text = path.read_text()
    for _, name in SECTIONS:
        if name not in ("Data wall", "Backtest"):
            assert f"## {name}" in text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) == 7
    for rel in images:
        png = tmp_path / rel
        assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the parameter table is a pipe table whose numbers equal the API's
    summary = fit.summary(0.9)
    header = "| parameter | family | mean | sd | median | lower | upper | R-hat | ESS (bulk) |"
    lines = text[text.index(header) :].splitlines()[2 : 2 + len(summary)]
    medians = [float(line.strip("|").split("|")[4]) for line in lines]
    assert medians == [shown(v) for v in summary["median"]]
    assert "<svg" not in text and "http" not in text


def test_markdown_without_figures_says_so(tmp_path, fit):
    path = write_report(tmp_path / "r.md", fit=fit, figures=False)
    text = path.read_text()
    assert "Figure left out" in text and not (tmp_path / "r_figures").exists()


def test_format_is_inferred_or_given(tmp_path, fit):
    with pytest.raises(ValueError, match=r"end the path in \.html or \.md"):
        write_report(tmp_path / "r.txt", fit=fit, figures=False)
    path = write_report(tmp_path / "r.txt", fit=fit, fmt="markdown", figures=False)
    assert path.read_text().startswith(
        "# Scaling-law forecast: chinchilla law fitted to 94 runs of 4 families"
    )
    with pytest.raises(ValueError, match="fmt must be"):
        write_report(tmp_path / "r.html", fit=fit, fmt="pdf")


def test_a_failed_write_leaves_the_previous_report_whole(tmp_path, fit, monkeypatch):
    """Disk full half-way through: the report already on disk survives and no temporary file is left."""
    path = write_report(tmp_path / "r.html", fit=fit, figures=False)
    before = path.read_text()
    real_write_text = Path.write_text

    def disk_full(self, text, *args, **kwargs):
        real_write_text(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_report(path, fit=fit, title="A new title", figures=False)
    monkeypatch.undo()
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_report_without_optional_parts_leaves_their_sections_out(tmp_path, fit):
    html = Path(write_report(tmp_path / "r.html", fit=fit, figures=False)).read_text()
    assert Page(html).section_ids == [
        "answers", "data", "model", "diagnostics", "fitcheck", "parameters", "reproduce"
    ]
    assert 'href="#frontier"' not in html


def test_report_for_a_compute_only_law(tmp_path):
    """A law of compute alone: no N/D split, so the frontier is loss only and forecasts are stated in FLOP."""
    fit = fake_fit(model=ScalingModel(law="compute"), chains=4, draws=500, seed=4)
    forecast_ = fit.predict(flops=np.logspace(22, 25, 4))
    frontier = fit.frontier(np.logspace(22, 26, 5))
    html = write_report(tmp_path / "c.html", fit=fit, forecasts=[forecast_], frontier=frontier).read_text()
    page = Page(html)
    answers = html[html.index('id="answers"') : html.index('id="data"')]
    row = forecast_.table(0.9).sort_values("flops").iloc[-1]
    assert f"trained with 1e25 FLOP reaches a mean loss of {row['median']:.3f}" in answers
    assert page.tables["frontier-table"]["header"] == [
        "C (FLOP)",
        "L* (nats per token) median",
        "L* (nats per token) 90% interval",
    ]
    assert re.findall(r"<figure id=\"figure-([\w-]+)\">", html) == [
        "fit",
        "shrinkage",
        "ppc",
        "residuals",
        "exponents",
        "forecast-1",
        "frontier",
    ]


def test_report_for_an_unpooled_fit_says_there_is_no_typical_family(tmp_path):
    fit = fake_fit(model=ScalingModel(pooling="none"), chains=4, draws=500, seed=6)
    forecast_ = fit.predict(params=[1e11], tokens=[2e12], family="small-lab")
    html = write_report(tmp_path / "none.html", fit=fit, forecasts=[forecast_]).read_text()
    answers = html[html.index('id="answers"') : html.index('id="data"')]
    assert (
        "has no typical family here" in answers
        and "Family &#39;small-lab&#39; with 100B parameters" in answers
    )
    assert set(Page(html).frame("prior-table")["pooling"]) == {"none", "partial"}  # noise: partial by default
    assert "population" not in set(
        Page(html).frame("parameter-table").query("parameter == 'alpha'")["family"]
    )
