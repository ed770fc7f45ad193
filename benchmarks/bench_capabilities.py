"""Capability model on the ObsScaling table: fit time and gate, and the held-out backtest.

* ``fit``: :class:`forecast.CapabilityModel` on all 123 models with known FLOP
  (963 scores, 8 benchmarks): seconds (compile included), compile seconds,
  diagnostics and the gate.
* ``backtest``: train on models with <= 1e23 FLOP, forecast every benchmark of
  the larger ones (own family when it has training members, else "new"),
  noise included: coverage of the 90% intervals, mean absolute error of the
  median, against a per-benchmark logistic-in-log-compute least-squares fit
  with the chance floor on the same split. Run for ``latent=True`` (a
  per-model capability shared by benchmarks) and ``latent=False``.

``--set OPTION=VALUE`` changes a :class:`forecast.CapabilityModel` option for
every fit (the candidates compared in ``docs/capabilities.md``).

Run from the repository root::

    .venv/bin/python benchmarks/bench_capabilities.py --json benchmarks/results/capabilities.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-fit", action="store_true", help="only the backtest")
    parser.add_argument("--fit-seeds", default=None, help="comma-separated seeds of full fits (default: --seed)")
    parser.add_argument("--draws", type=int, default=None, help="draws per chain of every fit "
                        "(default: the package's, forecast.capabilities.FIT_DRAWS)")
    parser.add_argument("--tune", type=int, default=None, help="tuning steps per chain of every fit "
                        "(default: the package's, forecast.capabilities.FIT_TUNE)")
    parser.add_argument("--target-accept", type=float, default=None, help="nutpie's target acceptance rate "
                        "(default: the package's, forecast.capabilities.FIT_TARGET_ACCEPT)")
    parser.add_argument("--variants", default="latent,plain", help="backtest variants ('' for none)")
    parser.add_argument("--points", type=Path, default=None, help="write held-out rows (CSV) here")
    parser.add_argument("--save", type=Path, default=None, help="save the full fit here (.nc)")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="a CapabilityModel option for every fit, e.g. --set family_by_benchmark=False "
                        "(repeatable; how the candidates in docs/capabilities.md were compared)")
    args = parser.parse_args()

    import forecast as fc
    from forecast.capabilities import CapabilityModel, capability_backtest
    from forecast.capability_data import load_obsscaling

    scores = load_obsscaling()
    options = dict(_option(o) for o in args.set)
    sampler = {k: v for k, v in (("draws", args.draws), ("tune", args.tune),
                                 ("target_accept", args.target_accept)) if v is not None}
    out: dict = {"command": " ".join([".venv/bin/python", *sys.argv]), "cpu_count": os.cpu_count(),
                 "data": repr(scores), "models_without_flops": len(scores.dropped_models)}
    if not args.skip_fit:
        out["fits"] = []
        seeds = [int(x) for x in args.fit_seeds.split(",")] if args.fit_seeds else [args.seed]
        for seed in seeds:
            start, cpu = time.perf_counter(), time.process_time()
            fit = CapabilityModel(**options).fit(scores, random_seed=seed, progressbar=False, warn=False,
                                                 **sampler)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            d = fit.diagnostics()
            card = fit.sampler_settings
            # CPU seconds of this process (all of nutpie's threads) / 2 bounds the wall time on 2 idle cores
            row = {"seed": seed, "draws": card["draws"], "tune": card["tune"],
                   "target_accept": card["target_accept"], "retried": "retry" in card,
                   "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                   "compile_seconds": card["compile_seconds"],
                   "sampling_seconds": round(wall - card["compile_seconds"], 1),
                   "gate_ok": d.ok, "diagnostics": repr(d),
                   "steps_per_draw": float(fit.idata["sample_stats"]["n_steps"].mean())}
            out["fits"].append(row)
            print("fit:", json.dumps(row, indent=1), flush=True)
        out["fit"] = out["fits"][0]
        offsets = fit.family_offsets()
        out["top_families"] = offsets.head(5)[["family", "median", "lower", "upper"]].round(2).to_dict("records")
        if args.save is not None:
            fit.save(args.save)

    out["backtest"] = {}
    for variant in filter(None, args.variants.split(",")):
        model = CapabilityModel(**{**options, "latent": variant == "latent"})
        start = time.perf_counter()
        bt = capability_backtest(scores, model=model, random_seed=args.seed, **sampler)
        summ = bt.summary()
        summ["wall_seconds"] = round(time.perf_counter() - start, 1)
        summ["by_benchmark"] = bt.by_benchmark().round(4).to_dict("records")
        new = bt.table["as_family"] == "new"
        summ["coverage_own_family"] = float(bt.table.loc[~new, "covered"].mean())
        summ["coverage_new_family"] = float(bt.table.loc[new, "covered"].mean())
        summ["interval_score"] = float(_interval_score(bt.table, bt.ci))
        out["backtest"][variant] = summ
        print(variant, json.dumps({k: v for k, v in summ.items() if k != "by_benchmark"}, indent=1))
        print(bt.by_benchmark().round(3).to_string())
        if args.points is not None:
            bt.table.to_csv(args.points.with_name(f"{args.points.stem}_{variant}.csv"), index=False)
    out["model_options"] = options
    out["forecast_version"] = fc.__version__
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=str))


def _option(text: str) -> tuple[str, object]:
    """``name=value`` with the value read as JSON where it parses (numbers, true/false), else a string."""
    name, _, value = text.partition("=")
    value = {"True": "true", "False": "false"}.get(value, value)
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def _interval_score(table, ci: float) -> float:
    """Mean interval score (Gneiting & Raftery 2007) of the held-out scores: lower is better."""
    alpha = 1 - ci
    lo, hi, y = table["lower"], table["upper"], table["score"]
    return ((hi - lo) + 2 / alpha * (lo - y).clip(lower=0) + 2 / alpha * (y - hi).clip(lower=0)).mean()


if __name__ == "__main__":
    main()
