"""Time ``write_report`` on the demo fit: HTML with figures, HTML without, and Markdown.

By default the fit is the saved demo fit (``forecast demo --out demo-out`` writes
``demo-out/demo.nc``); without it a fake posterior of the same shape (4 chains x
1000 draws on the demo's 301 real runs) stands in, which costs the report the
same. The forecast, frontier and data wall are the ones ``forecast demo`` puts
in its report. Figures are CPU seconds of this process (``time.process_time``,
single-threaded work) and wall-clock seconds, the median of ``--repeat`` runs
after one warm-up run (which pays matplotlib's font and mathtext caches).

Run::

    python benchmarks/bench_report.py --fit demo-out/demo.nc --json benchmarks/results/report.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, default=Path("demo-out/demo.nc"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import forecast as fc
    from forecast.cli import FRONTIER_FLOPS, _scale_up_forecast, scenario_from_options
    from forecast.datawall import data_wall
    from forecast.testing import fake_fit

    if args.fit.exists():
        fit, source = fc.load_fit(args.fit), str(args.fit)
    else:
        model = fc.ScalingModel(law="chinchilla", pooling=fc.datasets.DEMO_POOLING)
        fit = fake_fit(obs=fc.datasets.demo_runs(), model=model, chains=4, draws=1000, seed=3)
        source = "fake posterior, 4 chains x 1000 draws on fc.datasets.demo_runs()"
    forecast_ = _scale_up_forecast(fit, ["new", *fit.families])
    frontier = fit.frontier(FRONTIER_FLOPS)
    wall = data_wall(fit, scenario_from_options("epoch2024", tokens_per_param=20.0), n_samples=1000, random_seed=0)
    print(f"fit: {source}")

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, kwargs in (
            ("html with figures", "r.html", {}),
            ("html without figures", "r.html", {"figures": False}),
            ("markdown with figures", "r.md", {"fmt": "markdown"}),
        ):
            def run(name=name, kwargs=kwargs):
                return fc.write_report(Path(tmp) / name, fit=fit, forecasts=[forecast_], frontier=frontier,
                                       wall=wall, **kwargs)

            run()  # warm-up
            cpu, wall_s = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                path = run()
                cpu.append(time.process_time() - c0)
                wall_s.append(time.perf_counter() - t0)
            results[label] = {"cpu_s": statistics.median(cpu), "wall_s": statistics.median(wall_s),
                              "bytes": path.stat().st_size}
            print(f"{label:22s} cpu {results[label]['cpu_s']:.2f} s   wall {results[label]['wall_s']:.2f} s   "
                  f"{results[label]['bytes'] / 1e3:.0f} kB")
    if args.json:
        args.json.write_text(json.dumps({"fit": source, "results": results, "command":
                                         f"python benchmarks/bench_report.py --fit {args.fit} "
                                         f"--repeat {args.repeat}"}, indent=2) + "\n")


if __name__ == "__main__":
    main()
