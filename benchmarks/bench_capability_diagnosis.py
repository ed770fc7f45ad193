"""Why the capability model under-forecast GSM8K and HumanEval: two cheap checks on the ObsScaling split.

No sampling; point fits per benchmark on the models with <= 1e23 FLOP, scored
on the larger ones (the backtest split of ``bench_capabilities.py``):

* ``likelihood``: the logistic-in-log-compute curve from the chance floor to 1
  fitted by least squares (``forecast.capabilities.logistic_baseline``'s fit)
  and by maximum likelihood under the model's beta noise (one precision per
  benchmark), no families, no pooling: slope, midpoint, MAE and mean signed
  error of the held-out scores.
* ``tokens_per_param``: the least-squares fit with ``c log10(D / N)`` added to
  log compute (a vintage covariate the table holds), total MAE with and without.

Run from the repository root::

    .venv/bin/python benchmarks/bench_capability_diagnosis.py --json benchmarks/results/capability_diagnosis.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, minimize
from scipy.stats import beta as beta_dist

CUTOFF = 1e23
CENTRE = 2.3  # log10 tokens per parameter around which the covariate enters


def _logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def _curve(c, a, m, x):
    return c + (1 - c) * _logistic(a * (x - m))


def _fits(c, x, y, z, *, clip):
    """Least squares, beta maximum likelihood, and least squares with the covariate ``z``: best of 7 starts."""

    def beta_nll(th):
        p = np.clip(_curve(c, th[0], th[1], x), 1e-6, 1 - 1e-6)
        phi = np.exp(th[2])
        return -beta_dist.logpdf(np.clip(y, clip, 1 - clip), p * phi, (1 - p) * phi).sum()

    starts = np.linspace(x.min() - 1, x.max() + 2, 7)
    ls = min((least_squares(lambda th: _curve(c, th[0], th[1], x) - y, [1.0, m0],
                            bounds=([1e-3, 10.0], [20.0, 35.0])) for m0 in starts), key=lambda r: r.cost)
    ml = min((minimize(beta_nll, [1.0, m0, 3.0], method="Nelder-Mead", options={"maxiter": 4000})
              for m0 in starts), key=lambda r: r.fun)
    cov = min((least_squares(lambda th: _curve(c, th[0], th[1], x + th[2] * z) - y, [1.0, m0, 0.0],
                             bounds=([1e-3, 10.0, -3.0], [20.0, 35.0, 3.0])) for m0 in starts),
              key=lambda r: r.cost)
    return ls.x, ml.x, cov.x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from forecast.capabilities import SCORE_CLIP
    from forecast.capability_data import load_obsscaling

    scores = load_obsscaling()
    wide = pd.read_csv(scores.source)
    ltpp = np.log10(wide["Pretraining Data Size (T)"] * 1e12 / (wide["Model Size (B)"] * 1e9))
    t = scores.table.merge(pd.DataFrame({"model": wide["Model"], "ltpp": ltpp}), on="model")
    train, test = t[t["flops"] <= CUTOFF], t[t["flops"] > CUTOFF]
    out: dict = {"command": " ".join([".venv/bin/python", *sys.argv]), "likelihood": [], "tokens_per_param": {}}
    errors: dict[str, list[float]] = {"without": [], "with": []}
    for b in scores.benchmarks:
        tr, te = train[train["benchmark"] == b], test[test["benchmark"] == b]
        c = float(tr["chance"].iloc[0])
        x, y, z = np.log10(tr["flops"].to_numpy()), tr["score"].to_numpy(), tr["ltpp"].to_numpy() - CENTRE
        xt, yt, zt = np.log10(te["flops"].to_numpy()), te["score"].to_numpy(), te["ltpp"].to_numpy() - CENTRE
        ls, ml, cov = _fits(c, x, y, z, clip=SCORE_CLIP)
        for name, (a, m) in (("least_squares", ls[:2]), ("beta_likelihood", ml[:2])):
            err = _curve(c, a, m, xt) - yt
            out["likelihood"].append({"benchmark": b, "fit": name, "slope": round(float(a), 3),
                                      "midpoint": round(float(m), 2), "mae": round(float(np.abs(err).mean()), 4),
                                      "mean_signed_error": round(float(err.mean()), 4)})
        with_cov = np.abs(_curve(c, cov[0], cov[1], xt + cov[2] * zt) - yt)
        errors["without"] += list(np.abs(_curve(c, ls[0], ls[1], xt) - yt))
        errors["with"] += list(with_cov)
        out["tokens_per_param"][b] = {"coefficient": round(float(cov[2]), 3), "mae_with": round(float(with_cov.mean()), 4)}
    out["tokens_per_param"]["mae_without"] = round(float(np.mean(errors["without"])), 4)
    out["tokens_per_param"]["mae_with"] = round(float(np.mean(errors["with"])), 4)
    print(pd.DataFrame(out["likelihood"]).to_string(index=False))
    print(json.dumps(out["tokens_per_param"], indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
