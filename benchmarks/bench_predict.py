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
    .venv/bin/python benchmarks/bench_predict.py --memory [--out benchmarks/results/predict_memory.json]

``--memory`` measures bounded memory instead, each case in a fresh process
whose peak resident set size is read with ``resource.getrusage``: a forecast
of 1,000,000 points x 4,000 draws and its table under a 6 GB address-space
limit (``RLIMIT_AS``), and ``Forecast.table(0.9)`` of 10,000 points x 4,000
draws (best of 3, CPU seconds of all threads; from draws already in memory,
and computed block by block), against ``np.quantile`` on the same draws.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
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


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_case(case: str) -> dict:
    """One bounded-memory case, run in a fresh process; returns its figures."""
    fit = fake_fit(chains=4, draws=1000, seed=0)
    family = fit.families[0]
    if case == "million":
        n = np.logspace(8, 11, 1_000_000)
        t0, c0 = time.perf_counter(), time.process_time()
        fc_ = predict(fit, params=n, tokens=20 * n, family=family)
        table = fc_.table(0.9)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        return {"points": n.size, "draws": 4000, "seconds_predict_and_table": round(seconds, 2),
                "cpu_seconds_predict_and_table": round(cpu, 2),
                "table_mb": round(table.memory_usage(deep=True).sum() / 2**20, 1),
                "draws_if_held_gb": round(n.size * 4000 * 8 / 2**30, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}
    if case == "table10k":
        n = np.logspace(8, 11, 10_000)
        fc_ = predict(fit, params=n, tokens=20 * n, family=family)
        best_lazy = min(_seconds(lambda: fc_.table(0.9)) for _ in range(3))
        _ = fc_.draws
        best_held = min(_seconds(lambda: fc_.table(0.9)) for _ in range(3))
        values = fc_.draws.values.reshape(4000, -1)
        # the previous method, for reference: one np.quantile over the sample axis of every draw
        best_np = min(_seconds(lambda: np.quantile(values, [0.5, 0.05, 0.95], axis=0)) for _ in range(3))
        return {"points": n.size, "draws": 4000, "table_cpu_seconds_draws_held": round(best_held, 3),
                "np_quantile_cpu_seconds_reference": round(best_np, 3),
                "table_cpu_seconds_computed_in_blocks": round(best_lazy, 3), "peak_rss_mb": round(peak_rss_mb(), 1)}
    raise ValueError(case)


def _seconds(fn) -> float:
    """CPU seconds of the process (all threads) running ``fn``: on a shared machine wall time measures the load."""
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def run_memory_cases(out: Path) -> None:
    limit = 6 * 2**30

    def limit_address_space():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    results = {}
    for case, preexec in (("million", limit_address_space), ("table10k", None)):
        proc = subprocess.run([sys.executable, __file__, "--case", case], capture_output=True, text=True,
                              preexec_fn=preexec)
        if proc.returncode != 0:
            results[case] = {"failed": proc.stderr.strip().splitlines()[-1:]}
        else:
            results[case] = json.loads(proc.stdout.strip().splitlines()[-1])
        if case == "million":
            results[case]["address_space_limit_gb"] = limit / 2**30
        print(case, results[case])
    results.update({"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "load_average": os.getloadavg()})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


def main() -> None:
    if "--case" in sys.argv:
        print(json.dumps(memory_case(sys.argv[sys.argv.index("--case") + 1])))
        return
    if "--memory" in sys.argv:
        out = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else Path(
            "benchmarks/results/predict_memory.json")
        run_memory_cases(out)
        return
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
