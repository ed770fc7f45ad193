"""Where a large fit's tuning time goes: nutpie's low-rank mass-matrix adaptation.

Two measurements, printed as tables (and written as JSON with ``--json``):

1. A trivial model (independent normals with spread-out scales; the gradient
   costs microseconds) sampled with ``adaptation="low_rank"`` at several
   numbers of parameters, with nutpie's default regularisation
   ``mass_matrix_gamma=1e-5`` and with the package's: the time is nutpie's
   own, per tuning draw.
2. ``--large``: the 40 x 100 Chinchilla model on one chain with the
   package's settings (``--gamma`` overrides its regularisation), tune 1000
   with 1000 and then 3000 draws. The extra 2000 draws time one leapfrog step
   after tuning; the rest of the tuning time is spent outside the model.

    .venv/bin/python benchmarks/nutpie_lowrank_cost.py --large --json benchmarks/results/nutpie_lowrank_gamma.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np


def trivial(n: int, adaptation: str, gamma: float | None = None, tune: int = 500, seed: int = 0) -> dict:
    import nutpie
    import pymc as pm

    scales = np.exp(np.random.default_rng(seed).normal(0, 2, n))
    with pm.Model() as model:
        pm.Normal("x", 0, scales, shape=n)
    compiled = nutpie.compile_pymc_model(model)
    start = time.perf_counter()
    trace = nutpie.sample(compiled, draws=10, tune=tune, chains=1, cores=1, seed=1, progress_bar=False,
                          target_accept=0.97, adaptation=adaptation, save_warmup=True,
                          **({} if gamma is None else {"mass_matrix_gamma": gamma}))
    seconds = time.perf_counter() - start
    steps = int(trace["warmup_sample_stats"].to_dataset().n_steps.sum())
    return {"n": n, "adaptation": adaptation, "gamma": gamma, "seconds": round(seconds, 2), "tuning_steps": steps,
            "ms_per_tuning_draw": round(seconds / tune * 1e3, 2)}


def large(gamma: float | None = None) -> dict:
    import nutpie

    import forecast as fc
    from forecast.datasets import simulate
    from forecast.model import _low_rank_settings

    obs = fc.Observations(simulate(n_families=40, runs_per_family=100, seed=1)[0])
    compiled, _ = fc.ScalingModel().compiled(obs)
    settings = _low_rank_settings("low_rank", compiled.n_dim)
    if gamma is not None:
        settings["mass_matrix_gamma"] = gamma
    out = {"n_dim": int(compiled.n_dim), **settings}
    for draws in (1000, 3000):
        start = time.perf_counter()
        trace = nutpie.sample(compiled, draws=draws, tune=1000, chains=1, cores=1, seed=1, progress_bar=False,
                              target_accept=0.97, adaptation="low_rank", save_warmup=True, **settings)
        out[f"seconds_{draws}"] = round(time.perf_counter() - start, 2)
        out["tuning_steps"] = int(trace["warmup_sample_stats"].to_dataset().n_steps.sum())
        out[f"sampling_steps_{draws}"] = int(trace["sample_stats"].to_dataset().n_steps.sum())
    per_step = (out["seconds_3000"] - out["seconds_1000"]) / (out["sampling_steps_3000"] - out["sampling_steps_1000"])
    out["us_per_step_after_tuning"] = round(per_step * 1e6, 1)
    tuning_s = out["seconds_1000"] - out["sampling_steps_1000"] * per_step
    out["tuning_s"] = round(tuning_s, 1)
    out["tuning_s_outside_model"] = round(tuning_s - out["tuning_steps"] * per_step, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,192,200,211,400")
    parser.add_argument("--large", action="store_true", help="also profile the 40 x 100 Chinchilla model")
    parser.add_argument("--gamma", type=float, help="mass_matrix_gamma of the --large run (default: the package's)")
    parser.add_argument("--json")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from forecast.config import SAMPLER

    sizes = [int(n) for n in args.sizes.split(",")]
    rows = [trivial(n, "low_rank", gamma) for gamma in (1e-5, SAMPLER.low_rank_gamma) for n in sizes]
    rows.append(trivial(sizes[-1], "diag"))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.1f}")
    print("trivial model, 1 chain, tune 500 + 10 draws")
    for r in rows:
        gamma = "" if r["gamma"] is None else f"gamma={r['gamma']:g}"
        print(f"  n={r['n']:>4} {r['adaptation']:<8} {gamma:<11} {r['seconds']:>7.2f} s  {r['tuning_steps']:>6} tuning steps"
              f"  {r['ms_per_tuning_draw']:>6.2f} ms per tuning draw")
    result = {"trivial": rows}
    if args.large:
        result["large"] = large(args.gamma)
        print("40 x 100 Chinchilla, 1 chain:", result["large"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
