"""Does every plausible data set pass the convergence gate with the default sampler settings?

Fits :class:`forecast.ScalingModel` with its defaults (no sampler option given)
to the real tables in ``../shared/data`` and to simulated designs, and prints one
row per data set: the gate's verdict (0 divergences, R-hat <= 1.01, bulk and tail
ESS >= 400), its figures, whether ``fit()`` had to retry with its stronger
setting, and the seconds taken.

Data sets:

* ``chinchilla``: the 240 Chinchilla runs (Epoch AI's digitisation; like
  Besiroglu et al. 2024, the 5 highest-loss points are dropped);
* ``porian``: Porian et al. 2024's 10 recipes (10 families);
* ``opt+chinchilla``: OPT checkpoints of models up to 13B pooled with Chinchilla
  (2 families);
* ``datablations``: Muennighoff et al. 2023's C4 runs with the data-constrained law;
* ``sim-*``: simulated designs (:func:`forecast.datasets.simulate`, Besiroglu et
  al. 2024 population) across 2-12 families, 3-60 runs a family, noise 0.3-3% of
  loss, narrow (1.5 decades of N) and wide (3.5 decades) size ranges, and one
  sparse family of 3-5 runs.

Run from the repository root (the real data must sit in ``../shared/data``)::

    .venv/bin/python benchmarks/gate_designs.py --json benchmarks/results/gate_designs.json
    .venv/bin/python benchmarks/gate_designs.py --only porian sim-sparse   # a subset
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NARROW = (1e8, 10**9.5)  # 1.5 decades of model size
WIDE = (1e7, 10**10.5)  # 3.5 decades


def _real(name: str):
    import forecast as fc

    if name == "chinchilla":
        table = pd.read_csv(DATA / "chinchilla.csv")
        table = table.drop(table["loss"].nlargest(5).index)  # as Epoch AI / Besiroglu et al. 2024
        return fc.Observations(table), "chinchilla"
    if name == "porian":
        return fc.Observations.from_csv(DATA / "porian_compute_optimal.csv"), "chinchilla"
    if name == "opt+chinchilla":
        opt = pd.read_csv(DATA / "opt_checkpoints.csv")
        opt = opt[opt["params"] <= 13e9]
        chin = pd.read_csv(DATA / "chinchilla.csv")
        chin = chin.drop(chin["loss"].nlargest(5).index)
        cols = ["family", "params", "tokens", "loss"]
        return fc.Observations(pd.concat([opt[cols], chin[cols]], ignore_index=True)), "chinchilla"
    if name == "datablations":
        obs = fc.Observations.from_csv(DATA / "datablations_c4.csv", unique_tokens="unique_tokens",
                                       epochs="epochs")
        return obs, "data_constrained"
    raise KeyError(name)


# name: (families, runs per family (int or list), noise, params range)
SIMULATED = {
    "sim-2x60-wide-0.3%": (2, 60, 0.003, WIDE),
    "sim-2x60-narrow-3%": (2, 60, 0.03, NARROW),
    "sim-5x20-wide-1%": (5, 20, 0.01, WIDE),
    "sim-5x20-narrow-1%": (5, 20, 0.01, NARROW),
    "sim-12x10-narrow-3%": (12, 10, 0.03, NARROW),
    "sim-12x8-wide-0.3%": (12, 8, 0.003, WIDE),
    "sim-sparse-4x30+3-wide-1%": (5, [30, 30, 30, 30, 3], 0.01, WIDE),
    "sim-sparse-6x12+5-narrow-3%": (7, [12] * 6 + [5], 0.03, NARROW),
    "sim-mixed-3..60-wide-1%": (6, [60, 30, 15, 8, 5, 3], 0.01, WIDE),
}
REAL = ("chinchilla", "porian", "opt+chinchilla", "datablations")


def _simulated(name: str, seed: int):
    import forecast as fc
    from forecast.datasets import simulate

    families, runs, noise, params_range = SIMULATED[name]
    table, _ = simulate(n_families=families, runs_per_family=runs, noise=noise, params_range=params_range,
                        seed=seed)
    return fc.Observations(table), "chinchilla"


def run_one(name: str, seed: int) -> dict:
    import forecast as fc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data advice (sparse families, lock-step N and D) is part of the design
        obs, law = _simulated(name, seed) if name in SIMULATED else _real(name)
    start = time.perf_counter()
    fit = fc.ScalingModel(law=law).fit(obs, random_seed=seed, progressbar=False, warn=False)
    d = fit.diagnostics()
    s = fit.sampler_settings
    return {
        "data": name,
        "law": law,
        "families": len(obs.families),
        "runs": len(obs),
        "gate": "PASS" if d.ok else "FAIL",
        "max_rhat": round(d.max_rhat, 4),
        "min_ess_bulk": round(d.min_ess_bulk),
        "min_ess_tail": round(d.min_ess_tail),
        "divergences": d.divergences,
        "retried": bool(s.get("retry")),
        "first_problems": "; ".join(s["retry"]["first_problems"]) if s.get("retry") else "",
        "draws": s["draws"],
        "seconds": round(time.perf_counter() - start, 1),
        "problems": "; ".join(d.problems),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="*", help="data set names (default: all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    names = args.only or [*REAL, *SIMULATED]
    unknown = sorted(set(names) - set(REAL) - set(SIMULATED))
    if unknown:
        p.error(f"unknown data sets {unknown}; known: {[*REAL, *SIMULATED]}")
    meta = {"when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
            "load_avg_start": os.getloadavg(), "command": " ".join(["python", *sys.argv])}
    rows = []
    for name in names:
        rows.append(run_one(name, args.seed))
        print(json.dumps(rows[-1]), flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({**meta, "rows": rows}, indent=1))
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(table.drop(columns=["problems", "first_problems"]).to_string(index=False))
    print(f"\n{int((table['gate'] == 'PASS').sum())}/{len(table)} pass the gate; "
          f"{int(table['retried'].sum())} needed the retry")
    return 0 if (table["gate"] == "PASS").all() else 1


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
