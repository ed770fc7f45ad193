"""Coverage, median error and 90% interval score of the default forecast against the extrapolation error.

Reads the cross-validations pickled by ``backtest_real.py --save DIR`` and rescores each (no refitting) on a
grid of biases and rates (log loss per decade beyond the data); OPT cases are scored on final checkpoints.
Prints one row per case and setting, and the mean over cases (each case weighs the same). The package
default is not the grid's best (that puts the rate near 0, which leave-one-table-out shows under-covers
Chinchilla): it is :func:`benchmarks.backtest_real.pooled_extrapolation`, printed by ``backtest_real.py
--combine``; this grid shows how the scores move around it.

Usage::

    .venv/bin/python benchmarks/extrapolation_grid.py benchmarks/results/cv
"""

from __future__ import annotations

import pickle
import sys
import warnings
from pathlib import Path

import pandas as pd

from benchmarks.backtest_real import CASES, final_checkpoints
from forecast.predict import Extrapolation

BIASES = (0.0, 0.01, 0.015, 0.019, 0.025)
RATES = (0.0, 0.01, 0.014, 0.02, 0.03)


def main() -> None:
    folder = Path(sys.argv[1])
    rows = []
    for name in CASES:
        path = folder / f"cv_{name}.pkl"
        if not path.exists():
            continue
        cv, _ = pickle.loads(path.read_bytes())
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


if __name__ == "__main__":
    main()
