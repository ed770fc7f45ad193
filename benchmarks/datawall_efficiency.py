"""Efficiency and slowdowns in the data wall: the figures quoted in docs/datawall.md.

Fits the Chinchilla law to Epoch AI's digitised Chinchilla runs (as the
data-wall notebook does: the five highest losses dropped, complete pooling,
4 chains x 1000 draws, seed 2024), then runs ``data_wall`` (paired, 4,000
Monte Carlo samples, seed 0) on Epoch's scenario with, in turn, algorithmic
efficiency (Ho et al. 2024), a compute slowdown from 2030, data efficiency
and a compute cap. Prints a table and writes JSON.

Usage::

    .venv/bin/python benchmarks/datawall_efficiency.py [--data ../shared/data] \
        [--out benchmarks/results/datawall_efficiency.json]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import forecast as fc
from forecast.datawall import data_wall
from forecast.scenarios import COMPUTE_SLOWDOWN_2030, DATA_EFFICIENCY_RANGE, EFFICIENCY_HO_2024, Scenario

LEVELS = (0.05, 0.5, 0.95)


def scenarios() -> dict[str, Scenario]:
    ho = {"efficiency_growth": EFFICIENCY_HO_2024}
    slow = {"growth_changes": {"compute_growth": COMPUTE_SLOWDOWN_2030}}
    return {
        "epoch2024": Scenario.epoch2024(),
        "+ efficiency (Ho et al. 2024)": Scenario.epoch2024(**ho),
        "+ efficiency, slowdown from 2030": Scenario.epoch2024(**ho, **slow),
        "+ efficiency, slowdown, data efficiency 1-1.5": Scenario.epoch2024(
            **ho, **slow, data_efficiency_growth=DATA_EFFICIENCY_RANGE
        ),
        "+ efficiency, cap 1e28-3e29 FLOP": Scenario.epoch2024(**ho, compute_cap=(1e28, 3e29)),
    }


def summary(wall) -> dict:
    loss = wall.loss_by_year().set_index("year")
    q = wall.year_quantiles(LEVELS)
    return {
        "wall_year": [float(v) for v in q],
        "p_wall_by_2030": float(wall.prob_by_year().set_index("year").loc[2030, "prob"]),
        "efficiency_doublings": [float(v) for v in wall.efficiency_doublings(LEVELS)],
        "diminishing_returns_year": [float(v) for v in wall.diminishing_returns(q=LEVELS)],
        "loss_2030_without_wall": float(loss.loc[2030, "without_wall_median"]),
        "loss_2030_with_wall": float(loss.loc[2030, "with_wall_median"]),
        "loss_2040_with_wall": float(loss.loc[2040, "with_wall_median"]),
        "text": wall.text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/datawall_efficiency.json"))
    args = parser.parse_args()

    raw = pd.read_csv(args.data / "chinchilla.csv")
    runs = raw.drop(raw["loss"].nlargest(5).index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fc.DataWarning)  # one family: nothing to pool, by design
        obs = fc.Observations(runs, flops="flops")
    start = time.perf_counter()
    fit = fc.ScalingModel(law="chinchilla", pooling="complete").fit(
        obs, draws=1000, tune=1000, chains=4, random_seed=2024, progressbar=False
    )
    print(f"fit: {time.perf_counter() - start:.1f} s; {fit.diagnostics()!r}")

    results = {"fit_id": fit.id, "diagnostics_ok": bool(fit.diagnostics().ok), "scenarios": {}}
    fixed = data_wall(None, Scenario.epoch2024(tokens_per_param=20), n_samples=4000, random_seed=0)
    results["fixed_rule_epoch2024_wall_year"] = [float(v) for v in fixed.year_quantiles((0.1, 0.5, 0.9))]
    rows = []
    for name, scenario in scenarios().items():
        s = summary(data_wall(fit, scenario, n_samples=4000, random_seed=0))
        results["scenarios"][name] = s
        rows.append(
            {
                "scenario": name,
                "wall year (5/50/95%)": "/".join(f"{v:.0f}" for v in s["wall_year"]),
                "P(wall by 2030)": round(s["p_wall_by_2030"], 2),
                "doublings to the wall": "/".join(f"{v:.1f}" for v in s["efficiency_doublings"]),
                "gain < 0.005 in": "/".join(f"{v:.0f}" for v in s["diminishing_returns_year"]),
                "loss 2030 (with wall)": round(s["loss_2030_with_wall"], 4),
                "loss 2040 (with wall)": round(s["loss_2040_with_wall"], 4),
            }
        )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))
    print("fixed rule (20 tokens/param), 10/50/90%:", results["fixed_rule_epoch2024_wall_year"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=lambda o: float(np.asarray(o))) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
