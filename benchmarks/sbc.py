"""Simulation-based calibration of the default ScalingModel (forecast.calibration.sbc).

Draws parameters from the model's priors, simulates runs on one or more
families x runs designs, fits each simulated data set (in parallel through
fit_many) with the default sampler settings of ``ScalingModel.fit`` (including
its one retry of a fit that fails the gate), and tests the ranks of the truths
among the posterior draws for uniformity, per design and pooled over designs.

Run from the repository root::

    .venv/bin/python benchmarks/sbc.py --n 200                       # the full run (long)
    .venv/bin/python benchmarks/sbc.py --n 50 --designs 2x30 5x20 12x8 3x5 \
        --json benchmarks/results/sbc_designs_200.json --plot benchmarks/results/sbc_designs_200.png

Prints, per design and pooled, the share of fits that pass the convergence gate
(and how many needed the retry), the uniformity test per tracked quantity
(ECDF-band p-value, chi-square p-value, verdict with a Bonferroni correction),
and how many prior draws were redrawn because they implied losses above 12
nats; writes ranks and settings to JSON (saved after every batch, so a long run
that stops part-way keeps what it has).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path


def _design(text: str):
    from forecast.calibration import Design

    try:
        families, runs = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a design is FAMILIESxRUNS such as 5x20, got {text!r}") from None
    return Design(families, runs)


def main(argv: list[str] | None = None) -> int:
    from forecast.config import SAMPLER

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=200, help="simulations per design (default 200)")
    p.add_argument("--designs", nargs="+", type=_design, default=None,
                   help="designs FAMILIESxRUNS (default: 5x20)")
    p.add_argument("--draws", type=int, default=SAMPLER.draws)
    p.add_argument("--tune", type=int, default=SAMPLER.tune)
    p.add_argument("--chains", type=int, default=SAMPLER.chains)
    p.add_argument("--n-draws", type=int, default=100, help="thinned posterior draws per fit (L)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=10, help="simulations per batch (results saved after each)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    p.add_argument("--plot", type=Path, help="write the ECDF-difference plot of the pooled ranks here (PNG)")
    args = p.parse_args(argv)
    designs = args.designs or [_design("5x20")]

    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from forecast.calibration import ecdf_plot, sbc, uniformity_test
    from forecast.model import ScalingModel
    from forecast.parallel import default_executor

    started = dt.datetime.now(dt.UTC)
    meta = {
        "when": started.strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "load_avg_start": os.getloadavg(),
        "command": " ".join(["python", *sys.argv]),
    }
    t0 = time.perf_counter()
    results: dict[str, object] = {}

    def label(design) -> str:
        return f"{design.n_families}x{design.runs_per_family}"

    def save() -> None:
        if not args.json:
            return
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {**meta, "elapsed_s": round(time.perf_counter() - t0, 1), "designs": {}}
        for name, result in results.items():
            entry = {
                "settings": result.settings,
                "n_draws": result.n_draws,
                "ranks": result.ranks.to_dict(orient="list"),
                "fits": result.fits.round(4).to_dict(orient="list"),
            }
            if len(result.ranks) >= 5:
                entry["uniformity"] = result.uniformity().reset_index().to_dict(orient="records")
            payload["designs"][name] = entry
        args.json.write_text(json.dumps(payload, indent=1, default=float))

    with default_executor(args.workers) as executor:
        for i, design in enumerate(designs):
            name = label(design)

            def on_batch(result, name=name) -> None:
                results[name] = result
                print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {name}: {len(result.ranks)}/{args.n} simulations, "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)
                save()

            sbc(ScalingModel(), args.n, design=design, draws=args.draws, tune=args.tune, chains=args.chains,
                n_draws=args.n_draws, random_seed=args.seed + 100_000 * i, executor=executor,
                batch_size=args.batch, on_batch=on_batch)

    print(f"\n{meta['when']}: {args.n} simulations per design, {args.chains} chains x {args.draws} draws "
          f"(tune {args.tune}), ranks among L={args.n_draws}, {time.perf_counter() - t0:.0f} s, "
          f"load average at start {meta['load_avg_start'][0]:.1f}\n")
    rows = []
    for name, result in results.items():
        fits = result.fits
        rows.append({
            "design": name, "fits": len(fits), "pass": int(fits["gate_ok"].sum()),
            "pass_rate": round(float(fits["gate_ok"].mean()), 3), "retried": int(fits["retried"].sum()),
            "divergent": int((fits["divergences"] > 0).sum()), "rhat>1.01": int((fits["max_rhat"] > 1.01).sum()),
            "median_min_ess": round(float(fits["min_ess_bulk"].median())),
            "redrawn": int(fits["rejected_draws"].sum()),
            "non_uniform": ", ".join(result.uniformity().query("~uniform").index) or "none",
        })
    all_fits = pd.concat([r.fits for r in results.values()], ignore_index=True)
    pooled = pd.concat([r.ranks for r in results.values()], ignore_index=True).dropna(axis=1)
    pooled.attrs["n_draws"] = args.n_draws
    tests = uniformity_test(pooled, args.n_draws)
    rows.append({
        "design": "all", "fits": len(all_fits), "pass": int(all_fits["gate_ok"].sum()),
        "pass_rate": round(float(all_fits["gate_ok"].mean()), 3), "retried": int(all_fits["retried"].sum()),
        "divergent": int((all_fits["divergences"] > 0).sum()),
        "rhat>1.01": int((all_fits["max_rhat"] > 1.01).sum()),
        "median_min_ess": round(float(all_fits["min_ess_bulk"].median())),
        "redrawn": int(all_fits["rejected_draws"].sum()),
        "non_uniform": ", ".join(tests.query("~uniform").index) or "none",
    })
    with pd.option_context("display.width", 200):
        print(pd.DataFrame(rows).to_string(index=False))
        print("\nuniformity of the ranks pooled over designs:")
        print(tests.round(3).to_string())
    if args.plot:
        fig = ecdf_plot(pooled, args.n_draws)
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=90)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
