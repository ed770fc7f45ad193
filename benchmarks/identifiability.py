"""Does the data identify the compute-optimal split and the data wall? Porian et al. 2024 against Chinchilla.

Fits the Chinchilla law with the command line's defaults (4 chains x 1000 draws, partial pooling) to

* ``porian_compute_optimal.csv``: 116 compute-optimal runs of 10 recipes (each family on its own
  compute-optimal line, so N and D move in lock-step), and
* ``chinchilla.csv`` without the 5 highest-loss runs (240 runs, IsoFLOP sweeps: N and D vary
  independently),

and prints, for each, the lock-step spread of every family, the posterior-to-prior contraction of
``a = beta / (alpha + beta)`` and of tokens per parameter, the verdict for the split and the wall,
the frontier's tokens per parameter at 1e23 and 1e27 FLOP and the wall year, and (Chinchilla) the
default forecast at 70B parameters and 1.4T tokens against ``family="new"``. Results go to
``benchmarks/results/identifiability.json``.

Run: ``python benchmarks/identifiability.py`` (about 4 minutes on 2 idle cores).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import pandas as pd

import forecast as fc
from forecast.identify import identify_split, lockstep_table

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OUT = Path(__file__).resolve().parent / "results" / "identifiability.json"


def tables() -> dict[str, fc.Observations]:
    chin = pd.read_csv(DATA / "chinchilla.csv")
    chin = chin.drop(chin["loss"].nlargest(5).index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fc.DataWarning)
        return {"porian": fc.Observations.from_csv(DATA / "porian_compute_optimal.csv"),
                "chinchilla": fc.Observations(chin)}


def main() -> None:
    results = {}
    for name, obs in tables().items():
        start = time.perf_counter()
        fit = fc.ScalingModel().fit(obs, random_seed=20240601, progressbar=False, warn=False)
        seconds = time.perf_counter() - start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            split = identify_split(fit, flops=[1e23, 1e27])
            frontier = fit.frontier([1e23, 1e27]).table().query("quantity == 'tokens_per_param'")
            wall = fc.data_wall(fit, fc.Scenario.epoch2024())
        spreads = lockstep_table(fit)
        out = {
            "runs": len(obs), "families": len(obs.families), "fit_seconds": round(seconds, 1),
            "gate": fit.diagnostics().ok, "gate_problems": fit.diagnostics().problems,
            "lockstep_families": int(spreads["lockstep"].sum()),
            "spread_decades": [round(float(v), 3) for v in spreads["spread_decades"]],
            "log_correlation": [round(float(v), 3) for v in spreads["log_correlation"]],
            "contraction": {k: round(v, 3) for k, v in split.contraction.items()},
            "split_identified": split.identified, "wall_identified": wall.identified,
            "tokens_per_param": {f"{f:.0e}": [round(float(r[k]), 1) for k in ("median", "lower", "upper")]
                                 for f, r in frontier.set_index("flops").iterrows()},
            "wall_year_quantiles": [float(v) for v in wall.year_quantiles().to_numpy()],
        }
        if name == "chinchilla":
            for family in ("auto", "new"):
                t = fit.predict(params=7e10, tokens=1.4e12, family=family).table().iloc[0]
                out[f"predict_70B_1.4T_{family}"] = [round(float(t[k]), 3) for k in ("median", "lower", "upper")]
        results[name] = out
        print(name, json.dumps(out, indent=1), flush=True)
    OUT.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
