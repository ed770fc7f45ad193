"""Benchmark of the data-wall Monte Carlo: 4,000 posterior draws x 1,000 scenario samples x 17 years.

Runs ``data_wall(pairing="cross")`` (every posterior draw with every scenario
sample: 4 million joint samples) on a fake posterior of 4 chains x 1,000 draws
around Besiroglu et al. (2024), then the summaries a report asks for
(``prob_by_year``, ``year_quantiles``, ``text``, ``loss_by_year``), and the
paired default for comparison. Prints wall time and peak memory (tracemalloc:
numpy allocations; and the process's peak resident set size) and writes JSON.

Usage::

    .venv/bin/python benchmarks/bench_datawall.py [--out benchmarks/results/datawall.json] [--exact]

``--exact`` also times ``loss_by_year(max_pairs=None)``: quantiles over all 4
million pairs for every year instead of 200,000 random pairs.

``--memory`` measures bounded memory instead: ``data_wall(pairing="cross")``
with ``--samples`` scenario samples (e.g. 100,000: 400 million joint samples),
then ``prob_by_year``, ``year_quantiles`` and ``text``, reporting the peak
resident set size (``resource.getrusage``) above the process's size before
the call, against the size of the result (``wall.draws.nbytes``)::

    .venv/bin/python benchmarks/bench_datawall.py --memory --samples 100000 --out benchmarks/results/datawall_memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
import tracemalloc
from pathlib import Path

import numpy as np

from forecast.datawall import Scenario, data_wall
from forecast.testing import fake_fit


def timed(label: str, fn, results: dict):
    tracemalloc.reset_peak()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    results[label] = {"seconds": round(seconds, 3), "peak_traced_mb": round(peak / 2**20, 1)}
    print(f"{label:<38s} {seconds:7.2f} s   peak traced {peak / 2**20:8.1f} MB")
    return out


def memory_run(args) -> None:
    """Peak resident memory of the crossed Monte Carlo and its summaries against the size of its result."""
    fit = fake_fit(chains=4, draws=args.draws, seed=0)
    data_wall(fit, Scenario.epoch2024(), n_samples=10, pairing="cross")  # warm up imports
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    wall = data_wall(fit, Scenario.epoch2024(), n_samples=args.samples, pairing="cross")
    built = time.perf_counter() - start
    start = time.perf_counter()
    summaries = (wall.prob_by_year(), wall.year_quantiles(), wall.text)
    summary_seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result_mb = wall.draws.nbytes / 2**20
    figures = {
        "posterior_draws": 4 * args.draws,
        "scenario_samples": args.samples,
        "joint_samples": wall.n_mc,
        "data_wall_seconds": round(built, 2),
        "summaries_seconds": round(summary_seconds, 2),
        "result_mb": round(result_mb, 1),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_above_before_over_result": round((peak - before) / result_mb, 2),
        "year_quantiles": {str(k): float(v) for k, v in summaries[1].items()},
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    for k, v in figures.items():
        print(f"{k}: {v}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))
    print(f"wrote {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/datawall.json"))
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (4 chains)")
    parser.add_argument("--samples", type=int, default=1000, help="scenario samples")
    parser.add_argument("--exact", action="store_true", help="also time loss_by_year over every pair")
    parser.add_argument("--memory", action="store_true", help="peak memory of the crossed Monte Carlo only")
    args = parser.parse_args()
    if args.memory:
        memory_run(args)
        return

    fit = fake_fit(chains=4, draws=args.draws, seed=0)
    scenario = Scenario.epoch2024()
    n_draws = 4 * args.draws
    print(
        f"data wall: {n_draws:,} posterior draws x {args.samples:,} scenario samples x 17 years "
        f"= {n_draws * args.samples * 17:,} draw-sample-years; {os.cpu_count()} CPUs visible"
    )
    results: dict = {}
    tracemalloc.start()
    wall = timed(
        "data_wall(cross)", lambda: data_wall(fit, scenario, n_samples=args.samples, pairing="cross"), results
    )
    timed(
        "prob_by_year + year_quantiles + text",
        lambda: (wall.prob_by_year(), wall.year_quantiles(), wall.text),
        results,
    )
    loss = timed("loss_by_year (200k pairs)", lambda: wall.loss_by_year(), results)
    if args.exact:
        exact = timed("loss_by_year (all 4M pairs)", lambda: wall.loss_by_year(max_pairs=None), results)
        cols = [c for c in loss.columns if c.endswith(("median", "lower", "upper"))]
        diff = float(np.abs(loss[cols].to_numpy() - exact[cols].to_numpy()).max())
        results["max_abs_diff_subsample_vs_exact_nats"] = diff
        print(f"  largest difference, 200k pairs vs all pairs: {diff:.2e} nats")

    def paired_run():
        w = data_wall(fit, scenario, n_samples=args.samples)
        w.loss_by_year()
        return w

    paired = timed("data_wall(paired) + loss_by_year", paired_run, results)
    tracemalloc.stop()
    parts = ("data_wall(cross)", "prob_by_year + year_quantiles + text", "loss_by_year (200k pairs)")
    total = sum(results[k]["seconds"] for k in parts)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'full cross Monte Carlo + summaries':<38s} {total:7.2f} s")
    print(f"peak resident set size of the process: {rss:.0f} MB")
    print(wall.text)
    print(paired.text)
    results.update(
        {
            "total_cross_seconds": round(total, 3),
            "peak_rss_mb": round(rss, 1),
            "posterior_draws": n_draws,
            "scenario_samples": args.samples,
            "years": 17,
            "joint_samples": wall.n_mc,
            "year_quantiles": {str(k): float(v) for k, v in wall.year_quantiles().items()},
            "text": wall.text,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        }
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
