"""Benchmark of forecasting: 10,000 points over every draw of a 4 x 1,000-draw posterior.

Times :func:`forecast.predict.predict` (40 million loss evaluations of the
Chinchilla law) for a known family without noise and for ``family="new"``
with Student-t observation noise, in double and in single precision, then
``Forecast.table([0.5, 0.9])`` and a 13-budget frontier with its returns.
Prints wall time, CPU time of the process and the machine's load average (the
box is shared: a load above the core count inflates the wall times) and
writes JSON. Each figure is the best of ``--repeat`` runs.

Usage::

    .venv/bin/python benchmarks/bench_predict.py [--points 10000] [--repeat 3] [--out benchmarks/results/predict.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from forecast.frontier import frontier
from forecast.predict import predict
from forecast.testing import fake_fit


def timed(label: str, fn, results: dict, repeat: int):
    best_wall, best_cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    load = os.getloadavg()[0]
    results[label] = {"seconds": round(best_wall, 3), "cpu_seconds": round(best_cpu, 3), "load_1min": load}
    print(f"{label:<44s} {best_wall:7.3f} s wall  {best_cpu:7.3f} s CPU   (load {load:.1f})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (4 chains)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/predict.json"))
    args = parser.parse_args()

    fit = fake_fit(chains=4, draws=args.draws, seed=0)
    family = fit.families[0]
    n = np.logspace(8, 12, args.points)
    d = 20 * n
    print(
        f"predict: {args.points:,} points x {4 * args.draws:,} draws = {args.points * 4 * args.draws:,} "
        f"evaluations; {os.cpu_count()} CPUs visible"
    )
    predict(fit, params=n[:10], tokens=d[:10], family=family)  # warm up imports and caches
    results: dict = {}
    timed(
        "predict (known family, no noise)",
        lambda: predict(fit, params=n, tokens=d, family=family),
        results,
        args.repeat,
    )
    fc_ = timed(
        "predict (new family, Student-t noise)",
        lambda: predict(fit, params=n, tokens=d, family="new", include_noise=True),
        results,
        args.repeat,
    )
    timed(
        "predict single precision (known, no noise)",
        lambda: predict(fit, params=n, tokens=d, family=family, precision="single"),
        results,
        args.repeat,
    )
    timed(
        "predict single precision (new, noise)",
        lambda: predict(fit, params=n, tokens=d, family="new", include_noise=True, precision="single"),
        results,
        args.repeat,
    )
    timed("Forecast.table([0.5, 0.9])", lambda: fc_.table([0.5, 0.9]), results, args.repeat)
    fr = timed(
        "frontier (13 budgets)", lambda: frontier(fit, flops=np.logspace(20, 26, 13)), results, args.repeat
    )
    timed(
        "Frontier.returns + compute_for_loss(3 targets)",
        lambda: (fr.returns(), fr.compute_for_loss([2.2, 2.0, 1.9])),
        results,
        args.repeat,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "points": args.points,
        "draws": 4 * args.draws,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
