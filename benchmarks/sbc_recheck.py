"""Refit the simulation-based-calibration fits that failed the gate, at the retry ``fit()`` samples now.

``fit()`` samples a fit that fails the convergence gate once more from the same
seed with :func:`forecast.model.retry_settings`. When that setting changes, the
fits of an earlier ``benchmarks/sbc.py`` run that passed without a retry are
unchanged; the ones that failed after the old retry are refitted here with
the current retry setting (same simulated data, same seed) and their gate
printed. (A fit that passed after the old retry is not refitted.)

Run from the repository root::

    .venv/bin/python benchmarks/sbc_recheck.py benchmarks/results/sbc_designs_200.json
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results", type=Path, help="JSON written by benchmarks/sbc.py --json")
    args = p.parse_args(argv)

    from forecast.calibration import Design, simulate_from_prior
    from forecast.config import SAMPLER
    from forecast.model import ScalingModel, retry_settings

    d = json.loads(args.results.read_text())
    model = ScalingModel()
    print(f"{'design':<8} {'seed':>7} {'gate':>5} {'max R-hat':>9} {'bulk ESS':>8} {'tail ESS':>8} {'div':>4}  setting")
    for key, design in d["designs"].items():
        families, runs = (int(x) for x in key.split("x"))
        fits = design["fits"]
        for seed, ok in zip(fits["seed"], fits["gate_ok"], strict=True):
            if ok:
                continue
            obs, _ = simulate_from_prior(model, Design(families, runs), random_seed=seed)
            first = model.fit(obs, random_seed=seed, progressbar=False, retry=False, warn=False)
            setting = retry_settings(first.diagnostics(), draws=SAMPLER.draws, tune=SAMPLER.tune,
                                     target_accept=SAMPLER.target_accept)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = model.fit(obs, random_seed=seed, progressbar=False, retry=False, warn=False, **setting)
            g = fit.diagnostics()
            print(f"{key:<8} {seed:>7} {'PASS' if g.ok else 'FAIL':>5} {g.max_rhat:9.4f} {g.min_ess_bulk:8.0f} "
                  f"{g.min_ess_tail:8.0f} {g.divergences:4d}  {setting}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
