"""Fit speed and quality: nutpie vs PyMC's NUTS vs ADVI / Pathfinder vs the Approach 3 bootstrap.

Simulated Chinchilla-law data (``forecast.datasets.simulate``, Besiroglu et al. 2024
population) at three sizes:

    small   5 families x 40 runs
    medium 20 families x 50 runs
    large  40 families x 100 runs

For each size and method, a fresh Python process measures

* ``cold_s``: the first fit in a new process (model build + compile included),
* ``warm_s``: a second fit of new data of the same structure in that process
  (compiled model cached by content and structure in ``forecast.compile_cache``),
* ``rewarm_s`` (nutpie): the cold fit's data and seed fitted again from the
  cache, the same sampling work as the cold fit, so ``setup_s`` =
  ``cold_s - rewarm_s`` is what the first fit in a process adds; ``cold_s -
  warm_s`` also holds the difference between two data sets' sampling times.
* ``build_s`` / ``compile_s``: ``ScalingModel.build`` and the rest of the first-fit
  set-up (nutpie's numba compile) separately,
* ``cold_disk_s``, ``setup_disk_s``, ``compile_disk_s`` (nutpie): the same in a
  second new process that finds the compiled model the first stored in the disk
  cache (``forecast.disk_cache``; both processes use a fresh temporary cache
  folder, so the first always starts empty),
* ``grad_us``: one log-density + gradient evaluation of the compiled model (nutpie only),
  timed in a numba loop so Python call overhead is excluded,
* on the warm fit: ``ess_s`` (min bulk ESS / sampling seconds), divergences,
  max R-hat, ``steps_per_draw`` (mean leapfrog steps per draw),
* ``pop_cov``: how many of the population truths (typical-family E, A, B, alpha,
  beta and the between-family sd of log E, log alpha, log beta) the 90%
  intervals cover, and ``fam_cov``: the share of the per-family E, A, B, alpha,
  beta truths covered.

Run from the repository root::

    .venv/bin/python benchmarks/bench_fit.py --sizes small --draws 200 --tune 200 --chains 2
    .venv/bin/python benchmarks/bench_fit.py --sizes small --json benchmarks/results/fit_small.json
    .venv/bin/python benchmarks/bench_fit.py --fit-many --draws 300 --tune 300 --chains 2
    .venv/bin/python benchmarks/bench_fit.py --fused-vs-generic --sizes small --json benchmarks/results/fused_vs_generic_small.json

``--fit-many`` instead times 8 small fits through :func:`forecast.parallel.fit_many`
on 2 worker processes against the same 8 fits one after another in this process,
and checks that the posteriors are identical.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

START = time.perf_counter()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SIZES = {"small": (5, 40), "medium": (20, 50), "large": (40, 100)}
SAMPLERS = ("nutpie", "pymc", "advi", "pathfinder", "bootstrap")
CI = 0.9
BOOTSTRAP_REPLICATES = 200


# ------------------------------------------------------------------ data
def make_data(size: str, seed: int):
    from forecast.data import Observations
    from forecast.datasets import simulate

    n_families, runs = SIZES[size]
    table, truth = simulate(n_families=n_families, runs_per_family=runs, seed=seed)
    return Observations(table), truth


def coverage_of_fit(fit, truth: pd.DataFrame) -> dict[str, float]:
    """Coverage of the truths by the 90% equal-tailed intervals of a posterior (any method)."""
    from forecast.config import quantile_bounds
    from forecast.datasets.simulate import BESIROGLU_2024, DEFAULT_SPREAD

    lo, hi = quantile_bounds(CI)
    fam = fit.parameter_draws(None)
    q = fam.quantile([lo, hi], dim=("chain", "draw"))
    covered = []
    for name in fit.law.user_params:
        true = truth[name].reindex(fam["family"].values).to_numpy()
        covered.append((q[name].sel(quantile=lo).values <= true) & (true <= q[name].sel(quantile=hi).values))
    fam_cov = float(np.mean(np.concatenate(covered)))
    pop = fit.parameter_draws("population")
    checks = []
    for name in fit.law.user_params:
        a, b = np.quantile(pop[name].values, [lo, hi])
        checks.append(a <= BESIROGLU_2024[name] <= b)
    post = fit.posterior
    for sampled, user in (("log_E", "E"), ("log_alpha", "alpha"), ("log_beta", "beta")):
        if f"{sampled}_tau" in post:
            a, b = np.quantile(post[f"{sampled}_tau"].values, [lo, hi])
            checks.append(a <= DEFAULT_SPREAD[user] <= b)
    return {"pop_cov": f"{int(np.sum(checks))}/{len(checks)}", "fam_cov": round(fam_cov, 3)}


def coverage_of_bootstrap(pf, truth: pd.DataFrame) -> dict[str, float]:
    from forecast.config import quantile_bounds
    from forecast.datasets.simulate import BESIROGLU_2024

    lo, hi = quantile_bounds(CI)
    boot = pf.bootstrap
    covered = []
    for family, g in boot[boot["family"] != "pooled"].groupby("family"):
        for name in ("E", "A", "B", "alpha", "beta"):
            a, b = np.quantile(g[name], [lo, hi])
            covered.append(a <= truth.loc[family, name] <= b)
    pooled = boot[boot["family"] == "pooled"]
    pop = [
        bool(np.quantile(pooled[n], lo) <= BESIROGLU_2024[n] <= np.quantile(pooled[n], hi))
        for n in ("E", "A", "B", "alpha", "beta")
    ]
    return {
        "pop_cov": f"{int(np.sum(pop))}/{len(pop)} (pooled curve)",
        "fam_cov": round(float(np.mean(covered)), 3),
    }


def gradient_us(model, obs, n_evals: int = 2000, *, fused: bool = True) -> float:
    """Microseconds per log-density + gradient evaluation of the nutpie-compiled model."""
    import numba

    from forecast.testing import compiled_function

    compiled, _ = model.compiled(obs, fused=fused)
    jit_fn, shared = compiled_function(compiled)
    x = np.full(compiled.n_dim, 0.01)

    @numba.njit
    def loop(f, n, x, shared):
        total = 0.0
        for _ in range(n):
            # use the gradient so the call cannot be optimised away
            total += np.sum(f(x, *shared)[1])
        return total

    loop(jit_fn, 1, x, shared)
    t = time.perf_counter()
    loop(jit_fn, n_evals, x, shared)
    return (time.perf_counter() - t) / n_evals * 1e6


def bench_gradients(args) -> dict:
    """Gradient cost of the generic PyTensor graph against the fused likelihood, both compiled in this process."""
    from forecast.model import ScalingModel

    rows = []
    for size in args.sizes.split(","):
        obs, _ = make_data(size, args.seed)
        model = ScalingModel()
        row = {"size": size, "runs": len(obs)}
        for fused in (False, True):
            row["fused_us" if fused else "generic_us"] = round(gradient_us(model, obs, fused=fused), 1)
        row["ratio"] = round(row["generic_us"] / row["fused_us"], 2)
        rows.append(row)
        print(row, flush=True)
    return {"benchmark": "gradients", "rows": rows}


def bench_fused_vs_generic(args) -> dict:
    """CPU seconds of whole warm fits: the law's fused likelihood against the generic graph.

    The generic model is the Chinchilla law with its ``fused_likelihood`` removed, so both fit the
    same density; same data, same seeds, fits alternated, chains on one core (CPU time is far less
    sensitive than wall time to other load on the machine).
    """
    import resource
    from dataclasses import replace

    from forecast.laws import CHINCHILLA
    from forecast.model import ScalingModel

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    models = {"generic": ScalingModel(law=replace(CHINCHILLA, fused_likelihood=None)), "fused": ScalingModel()}
    rows = []
    for size in args.sizes.split(","):
        obs, _ = make_data(size, args.seed)
        for model in models.values():  # compile outside the timing
            model.fit(obs, draws=20, tune=20, chains=1, cores=1, random_seed=0, progressbar=False, warn=False)
        for rep in range(args.repeats):
            for name in (("generic", "fused") if rep % 2 == 0 else ("fused", "generic")):
                start = cpu()
                fit = models[name].fit(obs, draws=args.draws, tune=args.tune, chains=args.chains, cores=1,
                                       random_seed=rep + 2, progressbar=False, warn=False)
                row = {"size": size, "likelihood": name, "rep": rep, "cpu_s": round(cpu() - start, 2),
                       "fused": fit.sampler_settings["fused_likelihood"],
                       "min_ess_bulk": round(fit.diagnostics().min_ess_bulk, 1)}
                rows.append(row)
                print(row, flush=True)
        cpu_s = {n: float(np.median([r["cpu_s"] for r in rows if r["size"] == size and r["likelihood"] == n]))
                 for n in models}
        print(f"{size}: median CPU s generic {cpu_s['generic']}, fused {cpu_s['fused']}, "
              f"ratio {cpu_s['generic'] / cpu_s['fused']:.2f}", flush=True)
    return {"benchmark": "fused_vs_generic", "rows": rows}


def mcmc_stats(fit) -> dict:
    d = fit.diagnostics()
    s = fit.sampler_settings
    sampling = s["seconds"] - s["compile_seconds"]
    stats = fit.idata["sample_stats"].to_dataset()
    steps = next((stats[k] for k in ("n_steps", "tree_size") if k in stats), None)
    return {
        "warm_sampling_s": round(sampling, 2),
        "min_ess_bulk": round(d.min_ess_bulk, 1),
        "ess_s": round(d.min_ess_bulk / sampling, 2),
        "divergences": d.divergences,
        "max_rhat": round(d.max_rhat, 4),
        "steps_per_draw": None if steps is None else round(float(steps.mean()), 1),
        "gate": "PASS" if d.ok else "FAIL",
    }


# ----------------------------------------------------------- one method
def run_child(size: str, sampler: str, args) -> dict:
    """Everything for one (size, method), in this (fresh) process."""
    from forecast.model import ScalingModel

    imported = time.perf_counter() - START
    obs1, truth1 = make_data(size, args.seed)
    obs2, truth2 = make_data(size, args.seed + 1)
    model = ScalingModel()
    out: dict = {"size": size, "method": sampler, "import_s": round(imported, 2)}
    kw = {"draws": args.draws, "tune": args.tune, "chains": args.chains, "progressbar": False, "warn": False}
    if sampler in ("nutpie", "pymc"):
        t = time.perf_counter()
        model.build(obs1)
        out["build_s"] = round(time.perf_counter() - t, 2)
        cold = model.fit(obs1, random_seed=1, sampler=sampler, **kw)
        out["cold_s"] = round(cold.sampler_settings["seconds"], 2)
        # PyMC compiles inside pm.sample, so its set-up split is not separable from sampling
        if sampler == "nutpie":
            out["compile_s"] = round(cold.sampler_settings["compile_seconds"] - out["build_s"], 2)
        warm = model.fit(obs2, random_seed=2, sampler=sampler, **kw)
        out["warm_s"] = round(warm.sampler_settings["seconds"], 2)
        out.update(mcmc_stats(warm))
        out.update(coverage_of_fit(warm, truth2))
        if sampler == "nutpie":
            again = model.fit(obs1, random_seed=1, sampler=sampler, **kw)
            out["rewarm_s"] = round(again.sampler_settings["seconds"], 2)
            out["setup_s"] = round(out["cold_s"] - out["rewarm_s"], 2)
            # same compiled function, data and seed: the same draws, so the same sampling work
            out["rewarm_identical"] = bool(again.posterior.equals(cold.posterior))
            out["grad_us"] = round(gradient_us(model, obs2), 1)
    elif sampler in ("advi", "pathfinder"):
        times = []
        # Pathfinder runs once (several minutes per run on the shared 2-core machine): cold only
        runs = ((obs1, truth1, 1), (obs2, truth2, 2)) if sampler == "advi" else ((obs1, truth1, 1),)
        for obs, truth_i, seed in runs:
            t = time.perf_counter()
            fit = approximate_fit(model, obs, sampler, seed)
            times.append(time.perf_counter() - t)
            truth = truth_i
        out["cold_s"] = round(times[0], 2)
        if len(times) > 1:
            out["warm_s"] = round(times[1], 2)
        out.update(coverage_of_fit(fit, truth))
        if sampler == "advi":
            out["note"] = f"sigma median {float(fit.posterior['sigma'].median()):.4f} (true noise sd 0.01)"
    elif sampler == "bootstrap":
        from forecast.baselines import fit_baseline

        times = []
        for obs, seed in ((obs1, 1), (obs2, 2)):
            t = time.perf_counter()
            pf = fit_baseline(obs, bootstrap=BOOTSTRAP_REPLICATES, random_seed=seed)
            times.append(time.perf_counter() - t)
        out["cold_s"], out["warm_s"] = round(times[0], 2), round(times[1], 2)
        out.update(coverage_of_bootstrap(pf, truth2))
        out["note"] = f"{BOOTSTRAP_REPLICATES} bootstrap replicates per family"
    return out


def approximate_fit(model, obs, method: str, seed: int):
    """ADVI or Pathfinder on the same PyMC model, wrapped as a Fit so coverage is computed the same way."""
    import pymc as pm

    from forecast.fit import Fit

    pm_model = model.build(obs)
    if method == "advi":
        with pm_model, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            approx = pm.fit(n=30_000, method="advi", random_seed=seed, progressbar=False)
            idata = approx.sample(1000, random_seed=seed)
    else:
        import pymc_extras as pmx

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = pmx.fit(
                method="pathfinder", model=pm_model, num_draws=1000, random_seed=seed, progressbar=False
            )
    posterior = idata["posterior"].to_dataset()
    import xarray as xr

    tree = xr.DataTree.from_dict({"/posterior": posterior})
    return Fit(
        idata=tree,
        observations=obs,
        model=model,
        sampler_settings={
            "sampler": method,
            "draws": posterior.sizes["draw"],
            "chains": 1,
            "random_seed": seed,
            "seconds": 0.0,
            "compile_seconds": 0.0,
        },
    )


def spawn(size: str, sampler: str, args, env: dict | None = None) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        f"{size}:{sampler}",
        "--draws",
        str(args.draws),
        "--tune",
        str(args.tune),
        "--chains",
        str(args.chains),
        "--seed",
        str(args.seed),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=None if env is None else {**os.environ, **env})
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"size": size, "method": sampler, "error": " | ".join(tail)}


# ------------------------------------------------------------- fit_many
def bench_fit_many(args) -> dict:
    from forecast.data import Observations
    from forecast.datasets import simulate
    from forecast.model import ScalingModel
    from forecast.parallel import FitJob, fit_many

    options = {"draws": args.draws, "tune": args.tune, "chains": args.chains, "warn": False}
    if args.fit_many_design == "same":
        data = [make_data("small", args.seed + i)[0] for i in range(8)]
    elif args.fit_many_design == "backtest":
        # a backtest's shape: the same 5 families with 26, 28, ..., 40 runs each
        data = [Observations(simulate(5, 26 + 2 * i, seed=args.seed + i)[0]) for i in range(8)]
    else:
        # different data sets: 3 to 10 families of 30 runs, one model structure each
        data = [Observations(simulate(3 + i, 30, seed=args.seed + i)[0]) for i in range(8)]
    jobs = [FitJob(obs, random_seed=100 + i, options=options) for i, obs in enumerate(data)]
    # Compile every structure once in throwaway workers, so that both timed runs load the same
    # code from PyTensor's disk cache (a first, fresh compile rounds differently: docs/model.md).
    quick = {"draws": 10, "tune": 10, "chains": 1, "warn": False}
    fit_many([FitJob(j.observations, random_seed=0, options=quick) for j in jobs], max_workers=2)
    t = time.perf_counter()
    parallel = fit_many(jobs, max_workers=2)
    t_par = time.perf_counter() - t
    # each timing starts from an empty compile cache in this process
    from forecast import clear_compile_cache

    clear_compile_cache()
    t = time.perf_counter()
    sequential = [
        ScalingModel().fit(j.observations, random_seed=j.random_seed, progressbar=False, **options)
        for j in jobs
    ]
    t_seq = time.perf_counter() - t
    same = all(
        np.array_equal(a.posterior[v].values, b.posterior[v].values)
        for a, b in zip(parallel, sequential, strict=True)
        for v in a.posterior.data_vars
    )
    from forecast.parallel import jobs_table

    per_fit = jobs_table(parallel)
    print(per_fit.to_string())
    return {
        "benchmark": "fit_many",
        "per_fit_parallel": json.loads(per_fit.to_json(orient="records")),
        "sequential_fit_s": [f.sampler_settings["seconds"] for f in sequential],
        "fits": 8,
        "size": "small",
        "design": args.fit_many_design,
        "workers": 2,
        "sampler": options,
        "fit_many_s": round(t_par, 1),
        "sequential_s": round(t_seq, 1),
        "speedup": round(t_seq / t_par, 2),
        "identical_posteriors": same,
    }


# ----------------------------------------------------------------- main
COLUMNS = [
    "size",
    "method",
    "cold_s",
    "warm_s",
    "rewarm_s",
    "setup_s",
    "cold_disk_s",
    "setup_disk_s",
    "build_s",
    "compile_s",
    "compile_disk_s",
    "grad_us",
    "warm_sampling_s",
    "min_ess_bulk",
    "ess_s",
    "divergences",
    "max_rhat",
    "steps_per_draw",
    "gate",
    "pop_cov",
    "fam_cov",
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="small", help="comma list of small, medium, large (default small)")
    p.add_argument("--samplers", default=",".join(SAMPLERS), help=f"comma list of {', '.join(SAMPLERS)}")
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--fit-many", action="store_true", help="time 8 small fits on 2 workers vs sequentially")
    p.add_argument("--gradients", action="store_true",
                   help="gradient cost of the generic graph vs the fused likelihood at --sizes")
    p.add_argument("--fused-vs-generic", action="store_true",
                   help="CPU seconds of whole fits, fused likelihood vs generic graph, at --sizes")
    p.add_argument("--repeats", type=int, default=4, help="fits of each kind with --fused-vs-generic")
    p.add_argument("--fit-many-design", choices=["same", "backtest", "families"], default="same",
                   help="same: 8 data sets of 5 x 40; backtest: 5 families of 26-40 runs; "
                        "families: 3-10 families of 30 runs (one structure each)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        size, sampler = args.child.split(":")
        print("RESULT " + json.dumps(run_child(size, sampler, args)), flush=True)
        return 0

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = {
        "when": stamp,
        "cpus": os.cpu_count(),
        "load_avg_start": os.getloadavg(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    if args.fit_many or args.gradients or args.fused_vs_generic:
        bench = bench_fit_many if args.fit_many else bench_gradients if args.gradients else bench_fused_vs_generic
        result = {**meta, **bench(args)}
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=2))
        return 0

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    bad = [s for s in sizes if s not in SIZES] + [s for s in samplers if s not in SAMPLERS]
    if bad:
        p.error(f"unknown size/sampler {bad}; sizes: {list(SIZES)}, samplers: {list(SAMPLERS)}")
    rows = []
    for size in sizes:
        for sampler in samplers:
            if sampler == "pathfinder":
                try:
                    import pymc_extras  # noqa: F401
                except ImportError:
                    rows.append(
                        {"size": size, "method": sampler, "note": "skipped: pymc-extras not installed"}
                    )
                    continue
            if sampler == "bootstrap":
                try:
                    import forecast.baselines  # noqa: F401
                except ImportError:
                    rows.append(
                        {"size": size, "method": sampler, "note": "skipped: forecast.baselines missing"}
                    )
                    continue
            if sampler == "nutpie":
                # first process with an empty disk cache of compiled models, then a second process
                # that finds what the first stored there (forecast.disk_cache)
                with tempfile.TemporaryDirectory() as cache:
                    row = spawn(size, sampler, args, env={"FORECAST_CACHE_DIR": cache})
                    again = spawn(size, sampler, args, env={"FORECAST_CACHE_DIR": cache})
                for name in ("cold_s", "compile_s", "setup_s"):
                    row[name.replace("_s", "_disk_s")] = again.get(name)
            else:
                row = spawn(size, sampler, args)
            rows.append(row)
            print(
                f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {size}/{sampler}: "
                + ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("size", "method")),
                flush=True,
            )
    table = pd.DataFrame(rows)
    for size in sizes:
        ref = table[(table["size"] == size)].set_index("method")
        if "nutpie" in ref.index and "warm_s" in ref:
            for m in ref.index:
                table.loc[(table["size"] == size) & (table["method"] == m), "warm_vs_nutpie"] = round(
                    ref.loc[m, "warm_s"] / ref.loc["nutpie", "warm_s"], 2
                )
    cols = [c for c in [*COLUMNS, "warm_vs_nutpie"] if c in table] + [
        c for c in ("note", "error") if c in table
    ]
    meta["load_avg_end"] = os.getloadavg()
    print(
        f"\n{stamp}, {args.chains} chains x {args.draws} draws (tune {args.tune}), "
        f"load average at start {meta['load_avg_start'][0]:.1f} on {meta['cpus']} CPUs"
    )
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(table[cols].to_string(index=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            **meta,
            "sampler": {"draws": args.draws, "tune": args.tune, "chains": args.chains},
            "rows": json.loads(table[cols].to_json(orient="records")),
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
