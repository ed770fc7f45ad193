"""Backtests on real scaling data: the Bayesian model against the Chinchilla Approach 3 point fit.

Cases (data read from ``../shared/data``, never copied):

* ``porian-flops``: Porian et al. (2024) compute-optimal runs, 10 families
  (5 recipes x 2 datasets); hold out the top 20% by compute.
* ``porian-flops-compute-law``: the same split with the compute-only law
  ``L(C) = E + A C^-alpha`` (the natural law for compute-optimal runs; the
  baseline is still the Chinchilla point fit).
* ``opt-flops``: OPT 125M-175B checkpoints (one family; checkpoints grouped by
  ``run="model"``); hold out the top 20% by compute.
* ``opt-params``: the same, holding out the two largest models (N > 2e10) whole.

For each case the Bayesian model (Chinchilla law, partial pooling, Student-t
likelihood) is fitted to the training runs and the held-out losses are
forecast with observation noise; the baseline is fitted per family with 200
bootstrap replicates. Prints each case's metrics (error of the median,
coverage of 50%/90% intervals, widths) and writes them as CSV and JSON, with
the per-point table as CSV.

Usage::

    .venv/bin/python benchmarks/backtest_real.py [--chains 4 --draws 500 --tune 500] [--cases porian-flops ...]
    .venv/bin/python benchmarks/backtest_real.py --fake      # plumbing only: fake posteriors, no sampling
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import pandas as pd

from forecast.backtest import backtest
from forecast.data import Observations
from forecast.model import ScalingModel

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

CASES = {
    "porian-flops": dict(file="porian_compute_optimal.csv", load={}, split="flops", holdout=0.2),
    "porian-flops-compute-law": dict(
        file="porian_compute_optimal.csv", load={}, split="flops", holdout=0.2, law="compute"
    ),
    "opt-flops": dict(file="opt_checkpoints.csv", load={"run": "model"}, split="flops", holdout=0.2),
    "opt-params": dict(file="opt_checkpoints.csv", load={"run": "model"}, split="params", holdout=2e10),
    # not in the default run: OPT has one N per run, so run offsets alias the N term (see the report)
    "opt-params-no-run-effects": dict(
        file="opt_checkpoints.csv", load={"run": "model"}, split="params", holdout=2e10, run_effects=False
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", nargs="*", default=[c for c in CASES if "no-run-effects" not in c], choices=list(CASES)
    )
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fake", action="store_true", help="fake posteriors (plumbing check, numbers meaningless)"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/backtest_real"))
    args = parser.parse_args()

    fit_fn = None
    if args.fake:
        from forecast.testing import fake_fit

        def fit_fn(obs, model, **kwargs):
            return fake_fit(obs, model, draws=100)

    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    all_metrics, all_points, runs = [], [], {}
    for name in args.cases:
        case = CASES[name]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obs = Observations.from_csv(DATA / case["file"], **case["load"])
        for w in caught:
            print(f"[{name}] data warning: {w.message}")
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bt = backtest(
                obs,
                model=ScalingModel(law=case.get("law", "chinchilla"), run_effects=case.get("run_effects")),
                split=case["split"],
                holdout=case["holdout"],
                bootstrap=args.bootstrap,
                fit_fn=fit_fn,
                fit_kwargs=dict(chains=args.chains, draws=args.draws, tune=args.tune, warn=False),
                random_seed=args.seed,
            )
        seconds = time.perf_counter() - start
        s = bt.settings
        print(
            f"\n=== {name}: {s['n_train']} training runs, {s['n_test']} held out "
            f"({case['split']} > {s['threshold']:.3g}); {seconds:.0f} s"
        )
        print(f"    fit: {s['diagnostics']}")
        metrics = bt.metrics(by="forecast_kind").assign(case=name)
        cols = [
            "case",
            "method",
            "forecast_kind",
            "n",
            "mean_abs_rel_error",
            "median_abs_rel_error",
            "coverage_50",
            "coverage_90",
            "mean_rel_width_50",
            "mean_rel_width_90",
            "median_rel_width_90",
        ]
        print(metrics[cols].round(4).to_string(index=False))
        all_metrics.append(metrics[cols])
        all_points.append(bt.table().assign(case=name))
        runs[name] = {
            "seconds": round(seconds, 1),
            "n_train": s["n_train"],
            "n_test": s["n_test"],
            "threshold": s["threshold"],
            "split": s["split"],
            "diagnostics_ok": s["diagnostics_ok"],
            "diagnostics": s["diagnostics"],
            "warnings": sorted({str(w.message)[:200] for w in caught}),
        }
    metrics = pd.concat(all_metrics, ignore_index=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    suffix = "_fake" if args.fake else ""
    metrics.to_csv(f"{args.out}{suffix}_metrics.csv", index=False)
    pd.concat(all_points, ignore_index=True).to_csv(f"{args.out}{suffix}_points.csv", index=False)
    Path(f"{args.out}{suffix}.json").write_text(
        json.dumps(
            {
                "settings": {
                    "chains": args.chains,
                    "draws": args.draws,
                    "tune": args.tune,
                    "bootstrap": args.bootstrap,
                    "seed": args.seed,
                    "fake": args.fake,
                },
                "cases": runs,
                "metrics": metrics.to_dict(orient="records"),
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwrote {args.out}{suffix}_metrics.csv, _points.csv, .json")


if __name__ == "__main__":
    main()
