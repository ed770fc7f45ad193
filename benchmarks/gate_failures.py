"""Which parameters fail the convergence gate, on which simulated data sets?

Draws data sets from the model's priors on a families x runs design
(:func:`forecast.calibration.simulate_from_prior`, as in simulation-based
calibration), fits each with one sampler setting and *no retry*, and prints one
JSON line per data set: the gate's verdict, every variable with R-hat > 1.01 or
bulk/tail ESS < 400 (``[R-hat, bulk ESS, tail ESS]``), the mean leapfrog steps per
draw, and the truth (population means ``mu`` and spreads ``tau`` in the sampled
space, noise ``sigma``, and ``E_share``: each family's E over its smallest
observed loss, near 1 when the runs reach E and the reducible terms are small).

Run from the repository root::

    .venv/bin/python benchmarks/gate_failures.py --seeds 0 30 --old-priors \\
        --json benchmarks/results/gate_failures_old_priors.json
    .venv/bin/python benchmarks/gate_failures.py --seeds 100 124 --draws 2000

``--old-priors`` uses the priors before they were checked against realistic
losses (sd 1.2 on a and b around -1, sd 0.4 on the log exponents).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", nargs=2, type=int, default=(0, 30), metavar=("FIRST", "STOP"))
    p.add_argument("--families", type=int, default=5)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--draws", type=int, default=None, help="default: the fit's default")
    p.add_argument("--tune", type=int, default=None, help="default: the fit's default")
    p.add_argument("--old-priors", action="store_true")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    import arviz as az
    from prior_predictive import old_priors  # benchmarks/ is on the path when run as a script

    from forecast.calibration import Design, simulate_from_prior
    from forecast.config import SAMPLER
    from forecast.model import ScalingModel

    model = ScalingModel(priors=old_priors() if args.old_priors else {})
    design = Design(args.families, args.runs)
    kw = {"draws": args.draws or SAMPLER.draws, "tune": args.tune or SAMPLER.tune}
    rows = []
    for seed in range(*args.seeds):
        obs, truth = simulate_from_prior(model, design, random_seed=seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(obs, random_seed=seed, progressbar=False, warn=False, retry=False, **kw)
        post = fit.posterior
        rhat, bulk, tail = az.rhat(post), az.ess(post, method="bulk"), az.ess(post, method="tail")
        bad = {}
        for name in rhat.data_vars:
            figures = [round(float(rhat[name].max()), 4), round(float(bulk[name].min())),
                       round(float(tail[name].min()))]
            if figures[0] > 1.01 or figures[1] < 400 or figures[2] < 400:
                bad[name] = figures
        d = fit.diagnostics()
        e = np.exp(truth["theta"]["log_E"])
        smallest = obs.table.groupby("family", sort=False)["loss"].min().to_numpy()
        rows.append({
            "seed": seed, "ok": d.ok, "max_rhat": round(d.max_rhat, 4), "min_ess_bulk": round(d.min_ess_bulk),
            "bad": bad, "steps_per_draw": round(float(fit.idata["sample_stats"]["n_steps"].mean()), 1),
            "E_share": np.round(e / smallest, 2).tolist(), "sigma": round(float(truth["sigma"][0]), 4),
            "mu": {k: round(v, 2) for k, v in truth["mu"].items()},
            "tau": {k: round(v, 3) for k, v in truth["tau"].items()},
            "seconds": round(time.perf_counter() - start, 1),
        })
        print(json.dumps(rows[-1]), flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"settings": {**vars(args), "json": str(args.json), **kw},
                                             "rows": rows}, indent=1))
    failed = [r for r in rows if not r["ok"]]
    counts: dict[str, int] = {}
    for r in failed:
        for name in r["bad"]:
            counts[name] = counts.get(name, 0) + 1
    print(f"\n{len(failed)}/{len(rows)} fail the gate; variables failing, by number of fits: "
          f"{dict(sorted(counts.items(), key=lambda kv: -kv[1]))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
