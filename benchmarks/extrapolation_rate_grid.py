"""Mean 90% interval score and coverage of the default forecast against the extrapolation-error rate.

Reads the cross-validations pickled by ``backtest_real.py --save DIR`` and rescores each (no refitting) at a
grid of rates; OPT cases are scored on final checkpoints. Prints one row per case and rate, and the mean over
cases (each table weighs the same), which is how the package default rate was chosen.

Usage::

    .venv/bin/python benchmarks/extrapolation_rate_grid.py benchmarks/results/cv
"""

from __future__ import annotations

import pickle
import sys
import warnings
from pathlib import Path

import pandas as pd

from benchmarks.backtest_real import CASES, final_checkpoints

RATES = (0.0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04)


def main() -> None:
    folder = Path(sys.argv[1])
    rows = []
    for name in CASES:
        path = folder / f"cv_{name}.pkl"
        if not path.exists():
            continue
        cv, _ = pickle.loads(path.read_bytes())
        for rate in RATES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pts = cv.rescore(extrapolation=rate).table()
            if "run" in pts:
                pts = final_checkpoints(pts)
            b = pts[pts["method"] == "bayes"]
            rows.append({"case": name, "rate": rate, "n": len(b), "coverage_90": b["covered_90"].mean(),
                         "coverage_50": b["covered_50"].mean(), "interval_score_90": b["interval_score_90"].mean(),
                         "crps": b["crps"].mean()})
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(df.round(4).to_string(index=False))
    print("\nmean over cases (each case weighs the same):")
    print(df.groupby("rate")[["coverage_90", "interval_score_90", "crps"]].mean().round(4).to_string())


if __name__ == "__main__":
    main()
