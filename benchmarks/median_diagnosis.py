"""Which part of the model moves the forecast's median away from the per-family point fit?

Runs one case of ``benchmarks/backtest_real.py`` under model variants (priors, pooling, noise, law) and
prints each held-out run's signed relative error of the median (and of the posterior mean) beside the
Approach 3 point fit's. Each variant's fit is pickled into ``--out`` (a
folder, not kept in the repository); ``--summarise CASE ...`` prints the table and writes
``OUT.csv`` (per variant) and ``OUT_points.csv`` (per run); with the default ``--out`` these are
``benchmarks/results/median_diagnosis.csv`` and ``median_diagnosis_points.csv``.

Usage::

    .venv/bin/python benchmarks/median_diagnosis.py --case porian-top2 --variants default old-priors ...
    .venv/bin/python benchmarks/median_diagnosis.py --case porian-cv --cutoffs 1 --variants default E-unpooled
    .venv/bin/python benchmarks/median_diagnosis.py --summarise porian-top2 porian-cv-1 opt-chinchilla
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np
import pandas as pd
from variants import VARIANTS  # benchmarks/variants.py (the script's folder is on sys.path)

from forecast import ScalingModel
from forecast.backtest import cross_validate, fit_bayes


def summarise(folder: Path, tag: str, *, replicates: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Median ARE of each variant against the point fit's, with a bootstrap over families of the gap.

    The held-out runs of one family share its fit, so families (not runs) are resampled.
    """
    rows = []
    rng = np.random.default_rng(seed)
    for path in sorted(folder.glob(f"{tag}_*.pkl")):
        pts = pickle.loads(path.read_bytes())["points"]
        key = ["fold", "family", "params", "tokens"]
        b = pts[pts.method == "bayes_no_extrapolation"].set_index(key)
        p = pts[pts.method == "baseline"].set_index(key).loc[b.index]
        fam = b.index.get_level_values("family").to_numpy()
        families = np.unique(fam)
        eb, ep = b["err_median"].abs().to_numpy(), p["err_median"].abs().to_numpy()
        gaps = []
        for _ in range(replicates):
            idx = np.concatenate([np.flatnonzero(fam == f) for f in rng.choice(families, len(families))])
            gaps.append(np.median(eb[idx]) - np.median(ep[idx]))
        lo, hi = np.quantile(gaps, [0.05, 0.95])
        rows.append({"variant": path.stem[len(tag) + 1:], "n": len(eb), "median_are": 100 * np.median(eb),
                     "point_fit": 100 * np.median(ep), "gap": 100 * (np.median(eb) - np.median(ep)),
                     "gap_lo90": 100 * lo, "gap_hi90": 100 * hi,
                     "mean_signed": 100 * b["err_median"].mean(), "point_fit_signed": 100 * p["err_median"].mean(),
                     "closer_than_point_fit": float(np.mean(eb < ep))})
    return pd.DataFrame(rows).sort_values("median_are")


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from backtest_real import final_checkpoints, load_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="porian-top2")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cutoffs", type=float, nargs="*", help="rolling origins instead of the case's own")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/median_diagnosis"))
    parser.add_argument("--summarise", nargs="*", metavar="TAG",
                        help="print the saved variants of these cases (e.g. porian-top2 porian-cv-1) and stop")
    args = parser.parse_args()
    if args.summarise:
        tables, points = [], []
        for tag in args.summarise:
            table = summarise(args.out, tag)
            print(f"\n{tag} (median ARE %, gap to the point fit with a 90% bootstrap interval over families)")
            print(table.round(2).to_string(index=False))
            tables.append(table.assign(case=tag))
            for path in sorted(args.out.glob(f"{tag}_*.pkl")):
                pts = pickle.loads(path.read_bytes())["points"]
                points.append(pts[["variant", "fold", "method", "family", "params", "tokens", "flops", "loss",
                                   "horizon", "median", "mean", "err_median", "err_mean"]].assign(case=tag))
        pd.concat(tables).round(4).to_csv(f"{args.out}.csv", index=False)
        pd.concat(points).to_csv(f"{args.out}_points.csv", index=False)
        print(f"\nwrote {args.out}.csv and {args.out}_points.csv")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    obs, origin = load_case(args.case)
    tag = args.case
    if args.cutoffs:
        origin = {"cutoffs": args.cutoffs}
        tag = f"{args.case}-{'-'.join(f'{c:g}' for c in args.cutoffs)}"
    for name in args.variants:
        model = ScalingModel(**VARIANTS[name])
        start = time.perf_counter()
        cv = cross_validate(obs, model, **origin, bootstrap=0, fit_fn=fit_bayes, random_seed=args.seed,
                            fit_options=dict(chains=args.chains, draws=args.draws, tune=args.tune, warn=False))
        pts = cv.table()
        if "run" in pts:
            pts = final_checkpoints(pts)
        pts = pts[pts["method"].isin(["bayes_no_extrapolation", "baseline"])].assign(variant=name)
        pts["err_median"] = (pts["median"] - pts["loss"]) / pts["loss"]
        pts["err_mean"] = (pts["mean"] - pts["loss"]) / pts["loss"]
        (args.out / f"{tag}_{name}.pkl").write_bytes(pickle.dumps(
            {"points": pts, "diagnostics": cv.settings["fold_diagnostics"],
             "summaries": [f.summary() for f in cv.fits]}))
        b = pts[pts.method == "bayes_no_extrapolation"]
        base = pts[pts.method == "baseline"]
        print(f"{tag} {name:<16} median ARE {100 * b.err_median.abs().median():.2f}% "
              f"(mean-of-draws {100 * b.err_mean.abs().median():.2f}%; point fit "
              f"{100 * base.err_median.abs().median():.2f}%), mean signed {100 * b.err_median.mean():+.2f}% "
              f"vs {100 * base.err_median.mean():+.2f}%; gate "
              f"{'PASS' if cv.settings['diagnostics_ok'] else 'FAIL'}; {time.perf_counter() - start:.0f} s",
              flush=True)


if __name__ == "__main__":
    main()
