"""Time `forecast cv` on a table of runs (default: the Porian et al. 2024 table) and split it into phases.

The command runs in a fresh Python process, as a user would run it, with a thin
timer around the stages of :func:`forecast.backtest.cross_validate`:

* ``startup``: interpreter, imports and reading the CSV, up to the call of ``cross_validate``;
* ``bayes_fits``: all folds' Bayesian fits through ``fit_many`` (worker start, compile, sampling), with
  each fold's compile and sampling seconds, its worker's CPU seconds and its gate verdict;
* ``baseline``: the Approach 3 point fits and bootstrap of every fold (they run in the calling process
  while the worker samples, so this phase overlaps ``bayes_fits``; its CPU is that thread's);
* ``forecast_score``: forecasting and scoring the held-out runs; ``diagnostics``: the gate of each fold;
* the rest (the table, the printout) is ``total`` minus the above.

CPU is user + system seconds: the command's process (every thread) plus the sampling worker's fits
plus the fork server that starts the worker. The machine's load average is recorded beside the times.

    .venv/bin/python benchmarks/bench_cv.py --json benchmarks/results/cv_porian.json
    .venv/bin/python benchmarks/bench_cv.py --data ../shared/data/porian_compute_optimal.csv -- --draws 1000

Arguments after ``--`` go to ``forecast cv`` unchanged.

``--baseline-equivalence SEED ...`` instead compares the baseline's cross-validation scores with the
vectorised bootstrap refits (:func:`forecast.baselines.refit_bootstrap`) against one L-BFGS-B refit per
replicate (:func:`forecast.baselines.fit_approach3` from the point fit, as the bootstrap was computed
before), on the same folds, resamples and residual draws, for each seed; the Bayesian fits are fake (the
baseline does not read them):

    .venv/bin/python benchmarks/bench_cv.py --baseline-equivalence 20240601 1 2 3 \
        --json benchmarks/results/cv_baseline_equivalence.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORECAST_SHARED_DATA", ROOT.parent / "shared" / "data")) / "porian_compute_optimal.csv"


def _proc_cpu(pid: int) -> float | None:
    """User + system seconds of a live process (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(phase_file: str, cv_args: list[str]) -> None:
    """Run `forecast cv` in this process with timers around its stages; write them to ``phase_file``."""
    import importlib
    import threading

    start_wall = time.perf_counter()
    records: list[dict] = []
    state: dict = {}

    def timed(module, name: str, phase: str, *, thread_cpu: bool = False):
        fn = getattr(module, name)

        def inner(*args, **kwargs):
            clock = time.thread_time if thread_cpu else time.process_time
            t, c = time.perf_counter(), clock()
            out = fn(*args, **kwargs)
            records.append({"phase": phase, "wall": time.perf_counter() - t, "cpu": clock() - c,
                            "thread": threading.current_thread().name})
            if phase == "bayes_fits":
                state["fits"] = out
            return out

        setattr(module, name, inner)

    backtest = importlib.import_module("forecast.backtest")
    parallel = importlib.import_module("forecast.parallel")
    baselines = importlib.import_module("forecast.baselines")
    fit_mod = importlib.import_module("forecast.fit")
    original_cv = backtest.cross_validate

    def cross_validate(*args, **kwargs):
        state["startup"] = time.perf_counter() - start_wall
        return original_cv(*args, **kwargs)

    backtest.cross_validate = cross_validate
    timed(parallel, "fit_many", "bayes_fits")
    timed(baselines, "fit_baseline", "baseline", thread_cpu=True)
    timed(backtest, "_forecast_fold", "forecast_score")
    timed(fit_mod.Fit, "diagnostics", "diagnostics")
    from forecast.cli import app

    try:
        app(["cv", *cv_args], standalone_mode=False)
    finally:
        forkserver_cpu = None
        try:
            from multiprocessing import forkserver

            pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
            forkserver_cpu = _proc_cpu(pid) if pid else None
        except Exception:  # noqa: BLE001 - a missing fork server only leaves its CPU uncounted
            pass
        folds = []
        for fit in state.get("fits") or []:
            s, d = fit.sampler_settings, fit.diagnostics()
            folds.append({"n_train": len(fit.observations), "draws": s["draws"], "tune": s["tune"],
                          "chains": s["chains"], "target_accept": s["target_accept"],
                          "compile_s": s["compile_seconds"], "sampling_s": round(s["seconds"] - s["compile_seconds"], 2),
                          "worker_cpu_s": s.get("worker_cpu_seconds"), "retry": "retry" in s, "gate": d.ok,
                          "max_rhat": round(d.max_rhat, 4), "min_ess_bulk": round(d.min_ess_bulk),
                          "min_ess_tail": round(d.min_ess_tail), "divergences": d.divergences})
        self_ru = resource.getrusage(resource.RUSAGE_SELF)
        Path(phase_file).write_text(json.dumps({
            "records": records, "startup_s": state.get("startup"), "folds": folds,
            "main_cpu_s": self_ru.ru_utime + self_ru.ru_stime, "forkserver_cpu_s": forkserver_cpu,
        }))


def summarise_points(csv: Path) -> list[dict]:
    """Coverage, median ARE and interval score per method from the per-point CSV of `forecast cv`."""
    import pandas as pd

    points = pd.read_csv(csv)
    rows = []
    for method, g in points.groupby("method", sort=False):
        rows.append({"method": method, "n": len(g),
                     **{f"coverage_{t}": round(float(g[f"covered_{t}"].mean()), 4) for t in (50, 80, 90, 95)},
                     "median_abs_rel_error": round(float(g["abs_rel_error"].median()), 5),
                     "mean_interval_score_90": round(float(g["interval_score_90"].mean()), 4),
                     "mean_crps": round(float(g["crps"].mean()), 5)})
    return rows


def _one_refit_per_replicate(inputs, loss, *, start, law="chinchilla", delta=None, max_iter=None):
    """The bootstrap's refits as they were: one L-BFGS-B run per replicate from the point fit."""
    import numpy as np

    from forecast.baselines import HUBER_DELTA, fit_approach3

    delta = HUBER_DELTA if delta is None else delta
    rows = [fit_approach3(loss=y, law=law, delta=delta, n_starts=0, start=start,
                          **{k: v[i] for k, v in inputs.items()}) for i, y in enumerate(loss)]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def baseline_equivalence(data: Path, seeds: list[int], out: Path | None) -> None:
    """The baseline's CV scores with vectorised and with per-replicate bootstrap refits, seed by seed."""
    import importlib
    import warnings

    import numpy as np
    import pandas as pd

    from forecast.data import Observations
    from forecast.testing import fake_fit

    backtest = importlib.import_module("forecast.backtest")
    baselines = importlib.import_module("forecast.baselines")
    vectorised = baselines.refit_bootstrap
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs = Observations.from_csv(data)
    scores, seconds, flips = [], {}, {}
    for seed in seeds:
        tables = {}
        for solver, fn in (("vectorised", vectorised), ("per_replicate", _one_refit_per_replicate)):
            baselines.refit_bootstrap = fn
            try:
                cpu = time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cv = backtest.cross_validate(obs, fit_fn=lambda o, m, **kw: fake_fit(o, m, draws=20),
                                                 random_seed=seed)
                seconds[f"{solver} {seed}"] = round(time.process_time() - cpu, 1)
            finally:
                baselines.refit_bootstrap = vectorised
            t = cv.table()
            tables[solver] = t = t[t["method"] == "baseline"].reset_index(drop=True)
            scores.append({"seed": seed, "solver": solver, "n": len(t),
                           **{f"coverage_{c}": float(t[f"covered_{c}"].mean()) for c in (50, 80, 90, 95)},
                           "median_abs_rel_error": float(t["abs_rel_error"].median()),
                           "mean_interval_score_90": float(t["interval_score_90"].mean()),
                           "median_rel_width_90": float(t["rel_width_90"].median()),
                           "mean_crps": float(t["crps"].mean())})
            print(f"seed {seed} {solver:14s} " + "  ".join(f"{k} {v:.4g}" for k, v in scores[-1].items()
                                                         if k not in ("seed", "solver", "n")), flush=True)
        a, b = tables["vectorised"], tables["per_replicate"]
        flips[str(seed)] = {
            "points_whose_90_verdict_differs": int((a["covered_90"] != b["covered_90"]).sum()),
            "median_abs_log_ratio_of_90_bounds": float(np.median(np.abs(np.log(
                np.r_[a["lower_90"] / b["lower_90"], a["upper_90"] / b["upper_90"]])))),
        }
    table = pd.DataFrame(scores)
    cols = [c for c in table.columns if c not in ("seed", "solver", "n")]
    wide = table.pivot(index="seed", columns="solver", values=cols)
    diff = pd.DataFrame({c: wide[c]["vectorised"] - wide[c]["per_replicate"] for c in cols})
    spread = table[table["solver"] == "per_replicate"][cols].std(ddof=1)
    print("vectorised - per replicate, mean over seeds:", diff.mean().round(4).to_dict())
    print("sd across seeds of the per-replicate scores:", spread.round(4).to_dict())
    print("CPU seconds of each cross-validation's baseline:", seconds)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            "command": "benchmarks/bench_cv.py " + " ".join(sys.argv[1:]), "data": str(data.name),
            "scores": scores, "difference_mean": diff.mean().to_dict(), "difference_sd": diff.std(ddof=1).to_dict(),
            "per_replicate_seed_sd": spread.to_dict(), "points": flips, "cpu_seconds": seconds,
        }, indent=2) + "\n")
        print(f"wrote {out}")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="CSV of runs (default: the Porian table)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--baseline-equivalence", type=int, nargs="+", metavar="SEED",
                        help="compare the baseline's scores with vectorised and per-replicate bootstrap refits")
    parser.add_argument("cv_args", nargs="*", help="options of `forecast cv`, after --")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"no such data file: {args.data}; give --data or set FORECAST_SHARED_DATA")
    if args.baseline_equivalence:
        baseline_equivalence(args.data, args.baseline_equivalence, args.json)
        return
    with tempfile.TemporaryDirectory() as tmp:
        phases_file, points_csv = Path(tmp) / "phases.json", Path(tmp) / "points.csv"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(phases_file),
               str(args.data), "--csv", str(points_csv), *args.cv_args]
        load_before = os.getloadavg()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()
        if proc.returncode != 0:
            sys.exit(f"forecast cv failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        info = json.loads(phases_file.read_text())
        metrics = summarise_points(points_csv)
    process_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    worker_cpu = sum(f["worker_cpu_s"] or 0.0 for f in info["folds"])
    total_cpu = process_cpu + worker_cpu + (info["forkserver_cpu_s"] or 0.0)
    phases: dict[str, dict] = {"startup": {"wall_s": round(info["startup_s"] or 0.0, 2)}}
    for r in info["records"]:
        p = phases.setdefault(r["phase"], {"n": 0, "wall_s": 0.0, "cpu_s": 0.0})
        p["n"] += 1
        p["wall_s"] = round(p["wall_s"] + r["wall"], 2)
        p["cpu_s"] = round(p["cpu_s"] + r["cpu"], 2)
    phases["bayes_fits"]["cpu_s"] = round(worker_cpu, 2)  # the fits' CPU is the worker's, not this process's
    result = {
        "command": "forecast cv " + " ".join([str(args.data), *args.cv_args]),
        "wall_s": round(wall, 1), "cpu_s": round(total_cpu, 1),
        "cpu_split_s": {"command_process": round(process_cpu, 1), "sampling_worker": round(worker_cpu, 1),
                        "fork_server": info["forkserver_cpu_s"]},
        "load_average_1min": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "cpus": os.cpu_count(), "phases": phases, "folds": info["folds"],
        "gate_all_folds": all(f["gate"] for f in info["folds"]), "metrics": metrics,
        "script": "benchmarks/bench_cv.py " + " ".join(sys.argv[1:]),
    }
    print(f"forecast cv {args.data.name} {' '.join(args.cv_args)}: wall {wall:.1f} s, CPU {total_cpu:.1f} s "
          f"(command {process_cpu:.1f}, sampling worker {worker_cpu:.1f}, fork server "
          f"{info['forkserver_cpu_s'] or 0:.1f}); load average {load_before[0]:.2f} -> {load_after[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'phase':16s} {'n':>3s} {'wall s':>8s} {'CPU s':>8s}")
    for name, p in phases.items():
        print(f"{name:16s} {p.get('n', 1):3d} {p['wall_s']:8.1f} {p.get('cpu_s', float('nan')):8.1f}")
    print("folds (Bayesian fits):")
    for f in info["folds"]:
        print(f"  {f['n_train']:3d} runs  {f['chains']}x{f['draws']} (+{f['tune']} tune)  compile {f['compile_s']:.1f} s"
              f"  sampling {f['sampling_s']:.1f} s  worker CPU {f['worker_cpu_s']} s  gate {'PASS' if f['gate'] else 'FAIL'}"
              f" (R-hat {f['max_rhat']}, ESS {f['min_ess_bulk']}/{f['min_ess_tail']}){'  retried' if f['retry'] else ''}")
    print("scores over all folds:")
    for m in metrics:
        print(f"  {m['method']:24s} n={m['n']:3d} cov90 {m['coverage_90']:.3f}  median ARE "
              f"{100 * m['median_abs_rel_error']:.2f}%  IS90 {m['mean_interval_score_90']:.4f}  CRPS {m['mean_crps']:.4f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
