"""The capability report: benchmark forecasts, compute to reach a score, family efficiency, diagnostics.

See :func:`write_capability_report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forecast.config import DEFAULT_CI, INTERVAL_KIND, check_ci
from forecast.fit import atomic_write
from forecast.report.render import _FigureSink, _frame_table, _resolve_format, _versions

_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border-bottom:1px solid #ddd;padding:.2rem .5rem}
td.num{text-align:right;font-variant-numeric:tabular-nums}caption{caption-side:bottom;text-align:left;color:#555;
font-size:.8rem}.fail{color:#a00;font-weight:bold}.pass{color:#060}figure{margin:1rem 0}svg{width:100%;height:auto}
</style></head><body>
<h1>{{ title }}</h1>
<p class="{{ 'pass' if gate_ok else 'fail' }}">{{ gate }}</p>
{% for s in sections %}<section id="{{ s.id }}"><h2>{{ s.title }}</h2>
{% for p in s.text %}<p>{{ p }}</p>{% endfor %}
{% for f in s.figures %}<figure>{{ f.svg | safe }}<figcaption>Figure {{ f.number }}. {{ f.title }}</figcaption></figure>{% endfor %}
{% for t in s.tables %}<table id="{{ t.id }}"><caption>{{ t.caption }}</caption><thead><tr>
{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for r in t.rows %}<tr>{% for v in r %}<td{% if t.numeric[loop.index0] %} class="num"{% endif %}>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% endfor %}</section>
{% endfor %}</body></html>
"""

_MD = """# {{ title }}

**{{ gate }}**
{% for s in sections %}
## {{ s.title }}
{% for p in s.text %}
{{ p }}
{% endfor %}{% for f in s.figures %}
![Figure {{ f.number }}. {{ f.title }}]({{ f.png }})
{% endfor %}{% for t in s.tables %}
| {{ t.columns | join(" | ") }} |
|{% for c in t.columns %} --- |{% endfor %}
{% for r in t.rows %}| {{ r | join(" | ") }} |
{% endfor %}
*{{ t.caption }}*
{% endfor %}{% endfor %}
"""


def write_capability_report(
    path: str | Path,
    *,
    fit: Any,
    forecasts: Sequence[Any] | Any = (),
    reach: float | Sequence[float] = (),
    backtest: Any | None = None,
    title: str | None = None,
    fmt: str | None = None,
    ci: float = DEFAULT_CI,
    figures: bool = True,
) -> Path:
    """Write a report of a capability fit as one self-contained HTML file or as Markdown.

    Parameters
    ----------
    path : str or Path
        ``.html`` or ``.md`` (or pass ``fmt``); Markdown figures go to ``<stem>_figures/``.
    fit : CapabilityFit
        From :meth:`forecast.CapabilityModel.fit`.
    forecasts : CapabilityForecast or sequence of them
        From ``fit.predict(...)``, tabulated.
    reach : float or sequence of float
        Scores for which to tabulate the compute needed (family ``"new"``).
    backtest : CapabilityBacktest, optional
        From :func:`forecast.capability_backtest`: coverage and errors against the baseline.
    title, fmt, ci, figures
        Title, ``"html"``/``"markdown"``, interval mass, and whether to draw figures.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> fc.write_capability_report("capabilities.html", fit=fit, reach=[0.8])   # doctest: +SKIP
    """
    import jinja2

    from forecast.capabilities import CapabilityForecast
    from forecast.plots import plot_capabilities, plot_family_offsets

    ci = check_ci(ci)
    path = Path(path)
    form = _resolve_format(path, fmt)
    sink = _FigureSink(form, path, figures)
    if isinstance(forecasts, CapabilityForecast):
        forecasts = [forecasts]
    reach = [reach] if isinstance(reach, int | float) else list(reach)
    diag = fit.diagnostics()
    gate = (f"Convergence gate: PASS ({diag!r})" if diag.ok else
            f"Convergence gate: FAIL: {'; '.join(diag.problems)}. Do not trust these numbers yet.")
    scores = fit.scores
    interval = f"{ci:.0%} {INTERVAL_KIND} intervals"
    sections: list[dict[str, Any]] = []

    summary = fit.summary(ci)
    per_bench = summary[summary["parameter"].isin(["midpoint", "slope", "ceiling"])]
    wide = per_bench.pivot(index="group", columns="parameter", values="median").reindex(fit.benchmarks)
    text = [f"{len(scores)} scores of {len(scores.models)} models in {len(scores.families)} families on "
            f"{len(fit.benchmarks)} benchmarks (source: {scores.source or 'a DataFrame'}). Each benchmark's score "
            "rises from its chance level to a ceiling along a logistic curve in log10 training compute; slopes, "
            "midpoints and ceilings are pooled across benchmarks, and each family's compute efficiency across "
            "families" + (", and each model has its own capability shared by its benchmarks." if fit.model.latent
                          else ".")]
    sat = wide["ceiling"].idxmax()
    text.append(f"Highest ceiling: {sat} ({wide.loc[sat, 'ceiling']:.2f}); the median midpoints (halfway from "
                f"chance to ceiling) run from 1e{wide['midpoint'].min():.1f} to 1e{wide['midpoint'].max():.1f} FLOP.")
    figs = [sink(lambda: plot_capabilities(fit, ci=ci), "capability-curves",
                 "Score against training compute, family 'new'")]
    sections.append({"id": "curves", "title": "Scores against compute", "text": text,
                     "figures": [f for f in figs if f], "tables": [
                         _frame_table(per_bench.drop(columns=["r_hat", "ess_bulk"]), "benchmark-parameters",
                                      f"Per benchmark: midpoint (log10 FLOP), slope (per decade), ceiling; {interval}.")]})

    tables = []
    for i, fc_ in enumerate(forecasts):
        t = fc_.table(ci)
        what = "one new model's score" if fc_.include_noise else "the family's typical model"
        tables.append(_frame_table(t, f"forecast-{i}", f"Forecast scores, {interval} of {what}."))
    for s in reach:
        need = fit.compute_to_reach(s, family="new", ci=ci)
        tables.append(_frame_table(need, f"reach-{s:g}", f"Training FLOP at which a new family's typical model "
                                   f"reaches {s:g}: {interval} over draws (inf: the draw's ceiling is below the "
                                   "score); p_reachable is the posterior probability that the ceiling exceeds it."))
    if tables:
        sections.append({"id": "forecasts", "title": "Forecasts", "text": [], "figures": [], "tables": tables})

    offsets = fit.family_offsets(ci)
    fig = sink(lambda: plot_family_offsets(fit, ci=ci, top=12), "family-offsets", "Family compute efficiency")
    top = offsets.iloc[0]
    sections.append({"id": "families", "title": "Family compute efficiency", "text": [
        f"Most efficient: {top['family']}, scoring as if trained with {10 ** top['median']:.1f}x its compute "
        f"({interval}: {10 ** top['lower']:.1f}x to {10 ** top['upper']:.1f}x). Spread between families "
        f"(sd, decades): {float(np.median(fit.parameters()['family_tau'])):.2f}."],
        "figures": [fig] if fig else [],
        "tables": [_frame_table(offsets.drop(columns=["ci"]), "family-offsets",
                                f"Offsets in decades of compute, ranked; {interval}.")]})

    if backtest is not None:
        b = backtest.summary()
        sections.append({"id": "backtest", "title": "Backtest", "text": [
            f"Trained on {b['n_train_models']} models with <= {b['cutoff']:.0e} FLOP; forecast {b['n_test_scores']} "
            f"scores of {b['n_test_models']} larger models (noise included). {b['ci']:.0%} intervals cover "
            f"{b['coverage']:.0%}; mean absolute error of the median {b['mae_median']:.3f} against "
            f"{b['mae_baseline']:.3f} for a per-benchmark logistic point fit."],
            "figures": [], "tables": [_frame_table(backtest.by_benchmark(), "backtest", "Per benchmark.")]})

    sections.append({"id": "reproduce", "title": "Reproducibility", "text": [
        f"Fit id {fit.id}; sampler {fit.sampler_settings}; model settings {fit.model.settings()}.",
        "Versions: " + ", ".join(f"{n} {v}" for n, v in _versions())], "figures": [], "tables": []})
    template = jinja2.Environment(autoescape=form == "html").from_string(_HTML if form == "html" else _MD)
    text = template.render(title=title or "Benchmark capability forecast", gate=gate, gate_ok=diag.ok,
                           sections=sections)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path
