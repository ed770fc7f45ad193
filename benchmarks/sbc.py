"""Simulation-based calibration of the default ScalingModel (forecast.calibration.sbc).

Draws parameters from the model's priors, simulates runs on a families x runs
design, fits each simulated data set (in parallel through fit_many), and tests
the ranks of the truths among the posterior draws for uniformity.

Run from the repository root::

    .venv/bin/python benchmarks/sbc.py --n 200                       # the full run (long)
    .venv/bin/python benchmarks/sbc.py --n 40 --json benchmarks/results/sbc_40.json \\
        --plot benchmarks/results/sbc_40.png

Prints the uniformity test per tracked quantity (ECDF-band p-value, chi-square
p-value, verdict with a Bonferroni correction), how many fits failed the
convergence gate, and how many prior draws were redrawn because they implied
losses above 12 nats; writes ranks and settings to JSON (saved after every
batch, so a long run that stops part-way keeps what it has).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=200, help="simulations (default 200)")
    p.add_argument("--families", type=int, default=5)
    p.add_argument("--runs", type=int, default=20, help="runs per family")
    p.add_argument("--draws", type=int, default=400)
    p.add_argument("--tune", type=int, default=400)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--n-draws", type=int, default=100, help="thinned posterior draws per fit (L)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=10, help="simulations per batch (results saved after each)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    p.add_argument("--plot", type=Path, help="write the ECDF-difference plot here (PNG)")
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from forecast.calibration import Design, sbc
    from forecast.model import ScalingModel

    started = dt.datetime.now(dt.UTC)
    meta = {
        "when": started.strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "load_avg_start": os.getloadavg(),
        "command": " ".join(["python", *sys.argv]),
    }
    t0 = time.perf_counter()

    def save(result) -> None:
        done = len(result.ranks)
        print(
            f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {done}/{args.n} simulations, "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            payload = {
                **meta,
                "elapsed_s": round(time.perf_counter() - t0, 1),
                "settings": result.settings,
                "n_draws": result.n_draws,
                "ranks": result.ranks.to_dict(orient="list"),
                "fits": result.fits.round(4).to_dict(orient="list"),
            }
            if done >= 5:
                payload["uniformity"] = result.uniformity().reset_index().to_dict(orient="records")
            args.json.write_text(json.dumps(payload, indent=1, default=float))

    result = sbc(
        ScalingModel(),
        args.n,
        design=Design(args.families, args.runs),
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        n_draws=args.n_draws,
        random_seed=args.seed,
        max_workers=args.workers,
        batch_size=args.batch,
        on_batch=save,
    )
    tests = result.uniformity()
    fits = result.fits
    print(
        f"\n{meta['when']}: {len(result.ranks)} simulations of {args.families} families x {args.runs} runs, "
        f"{args.chains} chains x {args.draws} draws (tune {args.tune}), ranks among L={result.n_draws}, "
        f"{time.perf_counter() - t0:.0f} s, load average at start {meta['load_avg_start'][0]:.1f}"
    )
    with pd.option_context("display.width", 200):
        print(tests.round(3).to_string())
    print(
        f"\nfits failing the gate: {int((~fits['gate_ok']).sum())}/{len(fits)} "
        f"(with divergences: {int((fits['divergences'] > 0).sum())}, R-hat > 1.01: "
        f"{int((fits['max_rhat'] > 1.01).sum())}); median min bulk ESS {fits['min_ess_bulk'].median():.0f}"
    )
    print(
        f"prior draws redrawn for losses > 12 nats: {int(fits['rejected_draws'].sum())} "
        f"(for {len(fits)} accepted)"
    )
    print(f"quantities failing uniformity: {list(tests.index[~tests['uniform']]) or 'none'}")
    if args.plot:
        fig = result.plot()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=90)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
