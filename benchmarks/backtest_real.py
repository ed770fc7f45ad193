"""Rolling-origin cross-validation on the real tables: coverage by horizon, error, interval score, CRPS.

Cases (data read from ``../shared/data``, never copied):

* ``porian-top2``: Porian et al. (2024), 10 recipes; fit all but the two largest budgets of each recipe,
  forecast those 20 runs (the issue's headline check).
* ``porian-cv``: the same table, rolling origins 0.3, 0.6 and 1 decade below each recipe's largest run.
* ``opt-chinchilla``: OPT <= 13B (checkpoints) pooled with the 240 Chinchilla runs (Epoch AI's
  replication drops the 5 highest-loss points); forecast OPT-30B and OPT-175B, scored on their final
  checkpoints (``--all-checkpoints`` scores every held-out checkpoint).
* ``chinchilla-cv``: the 240 Chinchilla runs, rolling origins 0.3, 0.6, 1 decade.
* ``opt-cv``: OPT checkpoints alone, origins 0.5 and 1 decade below the largest run.

Every case scores three methods on the same held-out runs: ``bayes`` (the default forecast: parameters,
per-family observation noise and the extrapolation error), ``bayes_no_extrapolation`` (the same draws
without the extrapolation error: the package before it) and ``baseline`` (Approach 3 per family with
bootstrap prediction intervals: refit on resampled runs times a resampled residual).

The extrapolation error (bias and rate per decade) is learned from the ``bayes_no_extrapolation``
errors (:meth:`forecast.backtest.Backtest.extrapolation`): per table, pooled over the tables by
:func:`pooled_extrapolation` (the package default, :data:`forecast.config.EXTRAPOLATION_BIAS` and
:data:`forecast.config.EXTRAPOLATION_RATE`), and leave-one-table-out (learned from the other tables,
applied to this one: the honest out-of-sample figure for a table the default has not seen; rows
``bayes_loo``). Writes ``benchmarks/results/backtest_real.json`` and the per-point CSV.

Usage::

    .venv/bin/python benchmarks/backtest_real.py [--chains 4 --draws 1000 --tune 1000] [--cases porian-top2 ...]
    .venv/bin/python benchmarks/backtest_real.py --fake      # plumbing only: fake posteriors, no sampling
    # or each case in its own process, then the rates and tables over all of them:
    .venv/bin/python benchmarks/backtest_real.py --cases porian-top2 --save benchmarks/results/cv
    .venv/bin/python benchmarks/backtest_real.py --combine benchmarks/results/cv
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.backtest import cross_validate, estimate_extrapolation
from forecast.config import SAMPLER
from forecast.data import Observations
from forecast.predict import Extrapolation

# the tests' variable: from a git worktree the default ../shared/data does not exist
DATA = Path(os.environ.get("FORECAST_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
CASES = ("porian-top2", "porian-cv", "opt-chinchilla", "chinchilla-cv", "opt-cv")
TABLES = {"porian-top2": "porian", "porian-cv": "porian", "chinchilla-cv": "chinchilla",
          "opt-chinchilla": "opt", "opt-cv": "opt"}
"""The real table each case holds out runs of (leave-one-table-out leaves every case of a table out)."""
POOLED = ("porian-cv", "chinchilla-cv", "opt-cv")
"""The case that stands for each table when the tables are pooled: its rolling-origin cross-validation. The
other cases repeat runs of these (Porian's two largest budgets; OPT-30B and OPT-175B), so pooling them too
would count those runs twice."""
COLUMNS = ["case", "method", "n", "mean_horizon", "coverage_50", "coverage_90", "coverage_95",
           "median_abs_rel_error", "mean_rel_width_90", "mean_interval_score_90", "mean_crps"]


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def chinchilla_240(data: Path = DATA) -> pd.DataFrame:
    """The 240 Chinchilla runs of Besiroglu et al. (2024): the table without its 5 highest losses."""
    df = pd.read_csv(data / "chinchilla.csv")
    return df.drop(df["loss"].nlargest(5).index).reset_index(drop=True)


def load_case(name: str, data: Path = DATA) -> tuple[Observations, dict]:
    """Observations and cross_validate arguments of one case."""
    if name.startswith("porian"):
        obs = _quiet(Observations.from_csv, data / "porian_compute_optimal.csv")
        return obs, ({"top": [2]} if name == "porian-top2" else {"cutoffs": [0.3, 0.6, 1.0]})
    if name == "chinchilla-cv":
        return _quiet(Observations, chinchilla_240(data)), {"cutoffs": [0.3, 0.6, 1.0]}
    opt = pd.read_csv(data / "opt_checkpoints.csv")
    if name == "opt-cv":
        return _quiet(Observations, opt, run="model"), {"cutoffs": [0.5, 1.0]}
    chin = chinchilla_240(data).assign(model="chinchilla-" + pd.Series(range(240)).astype(str))
    both = pd.concat([chin[["family", "params", "tokens", "loss", "model"]],
                      opt[["family", "params", "tokens", "loss", "model"]]], ignore_index=True)
    obs = _quiet(Observations, both, run="model")
    t = obs.table
    mask = ((t["family"] == "opt") & (t["params"] > 2e10)).to_numpy()
    return obs, {"folds": [("OPT > 13B", mask)]}


def final_checkpoints(points: pd.DataFrame) -> pd.DataFrame:
    """Only the last checkpoint (most tokens) of each held-out run."""
    key = "run" if "run" in points else "params"
    last = points.groupby(["fold", "method", key])["tokens"].transform("max")
    return points[points["tokens"] == last]


def summarise(points: pd.DataFrame, case: str) -> pd.DataFrame:
    from forecast.backtest import Backtest

    return Backtest(points=points.reset_index(drop=True), settings={"folds": []}).metrics().assign(case=case)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--chains", type=int, default=SAMPLER.chains)
    parser.add_argument("--draws", type=int, default=SAMPLER.draws)
    parser.add_argument("--tune", type=int, default=SAMPLER.tune)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--all-checkpoints", action="store_true")
    parser.add_argument("--variant", help="a model variant of benchmarks/median_diagnosis.py instead of the "
                        "default model (e.g. E-unpooled)")
    parser.add_argument("--fake", action="store_true", help="fake posteriors (plumbing check, numbers meaningless)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/backtest_real"))
    parser.add_argument("--save", type=Path, help="pickle each case's result into this folder and stop "
                        "(run cases in separate processes, then --combine)")
    parser.add_argument("--combine", type=Path, help="combine the cases pickled in this folder")
    args = parser.parse_args()

    fit_fn = None
    if args.fake:
        from forecast.testing import fake_fit

        def fit_fn(obs, model, **kwargs):
            return fake_fit(obs, model, draws=100)

    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    results, runs = {}, {}
    if args.combine:
        import pickle

        for name in CASES:
            path = args.combine / f"cv_{name}.pkl"
            if path.exists():
                results[name], runs[name] = pickle.loads(path.read_bytes())
    model = None
    if args.variant:
        import sys

        from forecast.model import ScalingModel

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from variants import VARIANTS

        model = ScalingModel(**VARIANTS[args.variant])
    for name in [] if args.combine else args.cases:
        obs, origin = load_case(name)
        start = time.perf_counter()
        cv = cross_validate(obs, model, **origin, bootstrap=args.bootstrap, fit_fn=fit_fn, random_seed=args.seed,
                            fit_options=dict(chains=args.chains, draws=args.draws, tune=args.tune, warn=False))
        seconds = time.perf_counter() - start
        results[name] = cv
        runs[name] = {"seconds": round(seconds, 1), "folds": cv.settings["folds"],
                      "fold_diagnostics": cv.settings["fold_diagnostics"],
                      "fit_seconds": [f.sampler_settings.get("seconds") for f in cv.fits],
                      "compile_cached": [f.sampler_settings.get("compile_cached") for f in cv.fits]}
        print(f"\n=== {name}: {obs!r}; origins {cv.settings['folds']}; {seconds:.0f} s", flush=True)
        for fold, d in cv.settings["fold_diagnostics"].items():
            print(f"    {fold}: {d['n_train']} training runs, {d['n_test']} held out; {d['text']}")
        print(cv.metrics()[[c for c in COLUMNS if c != "case"]].round(4).to_string(index=False), flush=True)
        if args.save:
            import pickle

            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"cv_{name}.pkl").write_bytes(pickle.dumps((cv, runs[name])))
    if args.save:
        return

    def scored(name, cv):
        pts = cv.table()
        return pts if args.all_checkpoints or "run" not in pts else final_checkpoints(pts)

    # the extrapolation error: per table, pooled over the tables, and leave-one-table-out
    no_ext = {n: scored(n, cv).query("method == 'bayes_no_extrapolation'").assign(table=TABLES[n])
              for n, cv in results.items()}
    # one case per table (its rolling origins when present): the others repeat the same held-out runs
    pooled_cases = []
    for table in dict.fromkeys(TABLES[n] for n in results):
        cases = [n for n in results if TABLES[n] == table]
        pooled_cases.append(next((n for n in cases if n in POOLED), cases[0]))
    pooled_points = pd.concat([no_ext[n] for n in pooled_cases])
    own = {t: estimate_extrapolation(g) for t, g in pooled_points.groupby("table")}
    pooled = pooled_extrapolation(pooled_points)
    loo = {t: pooled_extrapolation(pooled_points[pooled_points["table"] != t]) for t in own if len(own) > 1}
    print(f"\nextrapolation error (bias, rate of log loss per decade): per table {own}; pooled over "
          f"{pooled_cases}: {pooled}; leave-one-table-out {loo}; package default {Extrapolation.default()}")

    tables, horizon_tables, all_points = [], [], []
    for n, cv in results.items():
        default = Extrapolation.default()
        same = (cv.settings.get("extrapolation_rate"), cv.settings.get("extrapolation_bias")) == (
            default.rate, default.bias)
        variants = {"default": cv if same else cv.rescore(extrapolation=True)}
        if TABLES[n] in loo:
            variants["loo"] = cv.rescore(extrapolation=loo[TABLES[n]], random_seed=args.seed)
        for tag, v in variants.items():
            pts = scored(n, v)
            if tag == "loo":
                pts = pts[pts["method"] == "bayes"].assign(method="bayes_loo")
            all_points.append(pts.assign(case=n))
            tables.append(summarise(pts, n))
            horizon_tables.append(by_horizon(pts, n))
    metrics = pd.concat(tables, ignore_index=True)[COLUMNS]
    by_h = pd.concat(horizon_tables, ignore_index=True)
    print("\n" + metrics.round(4).to_string(index=False))
    print("\nby horizon (decades beyond the family's data):")
    print(by_h[["case", "method", "horizon", "n", "coverage_50", "coverage_90", "median_abs_rel_error",
                "mean_interval_score_90"]].round(4).to_string(index=False))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    suffix = "_fake" if args.fake else ""
    pd.concat(all_points, ignore_index=True).to_csv(f"{args.out}{suffix}_points.csv", index=False)
    metrics.to_csv(f"{args.out}{suffix}_metrics.csv", index=False)
    Path(f"{args.out}{suffix}.json").write_text(json.dumps({
        "settings": {"chains": args.chains, "draws": args.draws, "tune": args.tune, "bootstrap": args.bootstrap,
                     "seed": args.seed, "fake": args.fake, "final_checkpoints_only": not args.all_checkpoints,
                     "package_default": vars(Extrapolation.default())},
        "extrapolation": {"per_table": {t: vars(e) for t, e in own.items()}, "pooled": vars(pooled),
                          "pooled_over": pooled_cases, "leave_one_table_out": {t: vars(e) for t, e in loo.items()}},
        "cases": runs,
        "metrics": metrics.to_dict(orient="records"),
        "by_horizon": by_h.to_dict(orient="records"),
    }, indent=2, default=str))
    print(f"\nwrote {args.out}{suffix}.json, _metrics.csv, _points.csv")


TAU_PRIOR_SD = 0.02
"""Scale of the half-normal prior on the between-table spread of the bias (log loss per decade)."""


def pooled_extrapolation(points: pd.DataFrame, *, tau_prior_sd: float = TAU_PRIOR_SD) -> Extrapolation:
    """The extrapolation error for a table not yet seen, from the errors of several (column ``table``).

    Each table ``t`` has its own bias ``b_t ~ N(bias, tau^2)`` and its own scatter ``r_t`` about it (the
    maximum-likelihood rate of :func:`forecast.backtest.estimate_extrapolation` on that table); its errors
    are ``e_i = h_i b_t + h_i r_t z_i + s_i eps_i``. The posterior of ``(bias, tau)`` (flat on ``bias``,
    half-normal ``tau_prior_sd`` on ``tau``) is computed on a grid. A new table's error per decade then has
    mean ``E[bias]`` and variance ``Var[bias] + E[tau^2] + mean(r_t^2)``: the bias as well as the pooled data
    know it, how far a table's bias strays from it, and a typical table's own scatter.
    """
    blocks = []
    rates = []
    for _, g in points.groupby("table"):
        h = g["horizon"].to_numpy(float)
        rate = estimate_extrapolation(g, bias_uncertainty=False).rate
        rates.append(rate)
        blocks.append((h, np.log(g["median"].to_numpy(float) / g["loss"].to_numpy(float)),
                       rate**2 * h**2 + g["log_sd"].to_numpy(float) ** 2))
    bias_grid = np.linspace(-0.05, 0.1, 301)
    tau_grid = np.linspace(0.0, 5 * tau_prior_sd, 201)
    logp = -0.5 * (tau_grid / tau_prior_sd) ** 2 + np.zeros((bias_grid.size, 1))
    for h, e, var in blocks:
        # covariance diag(var) + tau^2 h h': its inverse and determinant by the rank-one (Sherman-Morrison) update
        res = e[None, :] - bias_grid[:, None] * h[None, :]  # (bias, point)
        hh, hr, rr = np.sum(h * h / var), (res * h / var).sum(1), (res * res / var).sum(1)
        t2 = tau_grid[None, :] ** 2
        quad = rr[:, None] - t2 * hr[:, None] ** 2 / (1 + t2 * hh)
        logp -= 0.5 * (np.log(var).sum() + np.log1p(t2 * hh) + quad)
    w = np.exp(logp - logp.max())
    w /= w.sum()
    mean = float((w.sum(1) * bias_grid).sum())
    var = float((w.sum(1) * (bias_grid - mean) ** 2).sum() + (w.sum(0) * tau_grid**2).sum()
                + np.mean(np.square(rates)))
    return Extrapolation(bias=mean, rate=float(np.sqrt(var)))


def by_horizon(points: pd.DataFrame, case: str) -> pd.DataFrame:
    from forecast.backtest import Backtest

    return Backtest(points=points.reset_index(drop=True), settings={"folds": []}).metrics(by="horizon").assign(
        case=case)


if __name__ == "__main__":
    main()
