"""Coverage, median error and 90% interval score of the default forecast against the extrapolation error.

Reads the cross-validations pickled by ``backtest_real.py --save DIR`` and rescores each (no refitting) on a
grid of biases and rates (log loss per decade beyond the data); OPT cases are scored on final checkpoints.
Prints one row per case and setting, and the mean over cases (each case weighs the same). The package
default is not the grid's best (that puts the rate near 0, which leave-one-table-out shows under-covers
Chinchilla): it is :func:`benchmarks.backtest_real.pooled_extrapolation`, printed by ``backtest_real.py
--combine``; this grid shows how the scores move around it.

Then the rules that could set the default, compared out of sample: each table is scored with the error a
rule learns from the other two tables (leave one table out). The default's rule is the one with the lowest
mean 90% interval score among those whose 90% coverage stays within 0.8-1.0 on every case.

Usage::

    .venv/bin/python benchmarks/extrapolation_grid.py benchmarks/results/cv
"""

from __future__ import annotations

import pickle
import sys
import warnings
from pathlib import Path

import pandas as pd

from benchmarks.backtest_real import CASES, POOLED, TABLES, final_checkpoints, pooled_extrapolation
from forecast.backtest import estimate_extrapolation
from forecast.predict import Extrapolation

BIASES = (0.0, 0.01, 0.015, 0.019, 0.025)
RATES = (0.0, 0.01, 0.014, 0.02, 0.03)


def _scored(cv, extrapolation=True) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pts = cv.rescore(extrapolation=extrapolation, random_seed=1).table()
    return final_checkpoints(pts) if "run" in pts else pts


def _hierarchical(tau_prior_sd: float):
    return lambda points: pooled_extrapolation(points, tau_prior_sd=tau_prior_sd)


RULES = {
    "rate only, maximum likelihood (the earlier default)": lambda points: estimate_extrapolation(points, bias=0.0),
    "bias and rate, maximum likelihood over all points": estimate_extrapolation,
    "hierarchical, tau prior half-normal 0.005": _hierarchical(0.005),
    "hierarchical, tau prior half-normal 0.01": _hierarchical(0.01),
    "hierarchical, tau prior half-normal 0.02 (the default)": _hierarchical(0.02),
}


def compare_rules(cvs: dict) -> pd.DataFrame:
    """Each rule learned from two tables, scored on the third."""
    no_ext = {n: _scored(cv, False).query("method == 'bayes'").assign(table=TABLES[n]) for n, cv in cvs.items()}
    pool = pd.concat([no_ext[n] for n in POOLED if n in no_ext])  # one case per table: no run counted twice
    rows = []
    for rule, learn in RULES.items():
        for table in sorted(set(pool["table"])):
            ext = learn(pool[pool["table"] != table])
            for name in [n for n in cvs if TABLES[n] == table]:
                b = _scored(cvs[name], ext).query("method == 'bayes'")
                rows.append({"rule": rule, "case": name, "bias": ext.bias, "rate": ext.rate, "n": len(b),
                             "coverage_90": b["covered_90"].mean(), "coverage_50": b["covered_50"].mean(),
                             "median_abs_rel_error": b["abs_rel_error"].median(),
                             "interval_score_90": b["interval_score_90"].mean(), "crps": b["crps"].mean()})
    return pd.DataFrame(rows)


def main() -> None:
    folder = Path(sys.argv[1])
    rows, cvs = [], {}
    for name in CASES:
        path = folder / f"cv_{name}.pkl"
        if not path.exists():
            continue
        cv, _ = pickle.loads(path.read_bytes())
        cvs[name] = cv
        for bias in BIASES:
            for rate in RATES:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    pts = cv.rescore(extrapolation=Extrapolation(bias=bias, rate=rate)).table()
                if "run" in pts:
                    pts = final_checkpoints(pts)
                b = pts[pts["method"] == "bayes"]
                rows.append({"case": name, "bias": bias, "rate": rate, "n": len(b),
                             "coverage_90": b["covered_90"].mean(), "coverage_50": b["covered_50"].mean(),
                             "median_abs_rel_error": b["abs_rel_error"].median(),
                             "interval_score_90": b["interval_score_90"].mean(), "crps": b["crps"].mean()})
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(df.round(4).to_string(index=False))
    print("\nmean over cases (each case weighs the same):")
    print(df.groupby(["bias", "rate"])[["coverage_90", "median_abs_rel_error", "interval_score_90", "crps"]]
          .mean().round(4).to_string())
    rules = compare_rules(cvs)
    print("\nleave one table out: each rule learned from the other tables, scored on this one")
    print(rules.round(4).to_string(index=False))
    summary = rules.groupby("rule", sort=False).agg(
        min_coverage_90=("coverage_90", "min"), coverage_90=("coverage_90", "mean"),
        coverage_50=("coverage_50", "mean"), median_abs_rel_error=("median_abs_rel_error", "mean"),
        interval_score_90=("interval_score_90", "mean"), crps=("crps", "mean"))
    print("\nmean over cases:")
    print(summary.round(4).to_string())
    ok = summary[summary["min_coverage_90"] >= 0.8]
    print(f"\nlowest interval score with 90% coverage >= 0.8 on every case: {ok['interval_score_90'].idxmin()}")


if __name__ == "__main__":
    main()
