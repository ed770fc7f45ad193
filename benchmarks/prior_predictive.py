"""Prior predictive losses of the default Chinchilla-law priors, against realistic ranges.

Draws a typical family from the priors of ``ScalingModel()`` (10,000 draws,
:func:`forecast.calibration.prior_draw`), centres the law on a simulation-based
calibration design (3e7-3e9 parameters, 4-100 tokens per parameter), and
prints the median, 90% interval and share above 12 nats of the noise-free loss
at three runs: 3e9 parameters at 100 tokens per parameter, 3e8 at 20 and 3e7
at 4 (the smallest, least-trained corner). Then counts how many simulated
5 x 20 data sets (:func:`forecast.calibration.simulate_from_prior`) are redrawn
because some loss exceeds 12 nats, per 200 accepted. ``--old-priors`` uses the
priors before they were checked against realistic losses (sd 1.2 on a and b
around -1, sd 0.4 on the log exponents).

Run from the repository root::

    .venv/bin/python benchmarks/prior_predictive.py
    .venv/bin/python benchmarks/prior_predictive.py --old-priors
    .venv/bin/python benchmarks/prior_predictive.py --law compute   # the compute law at the runs' 6ND
"""

from __future__ import annotations

import argparse

import numpy as np


def old_priors() -> dict:
    """The Chinchilla priors before they were checked against realistic losses (``--old-priors``)."""
    from forecast.priors import Prior

    term = Prior("Normal", mu=-1.0, sigma=1.2)
    exponent = Prior("Normal", mu=float(np.log(0.35)), sigma=0.4)
    return {"a": term, "b": term, "log_alpha": exponent, "log_beta": exponent}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--old-priors", action="store_true")
    p.add_argument("--draws", type=int, default=10_000)
    p.add_argument("--datasets", type=int, default=200, help="simulated data sets to accept")
    p.add_argument("--law", default="chinchilla", choices=["chinchilla", "compute"],
                   help="compute: the compute law L(C), at the same runs' compute 6ND")
    args = p.parse_args(argv)
    if args.old_priors and args.law != "chinchilla":
        p.error("--old-priors are the Chinchilla law's earlier priors; use them without --law compute")

    from forecast.calibration import Design, prior_draw, simulate_from_prior
    from forecast.model import ScalingModel

    model = ScalingModel(law=args.law, priors=old_priors() if args.old_priors else {})
    law = model.law
    design = Design(5, 20)
    rng = np.random.default_rng(0)
    draws = [prior_draw(model, 1, rng) for _ in range(args.draws)]
    theta = {k: np.array([d["theta"][k][0] for d in draws]) for k in law.params}
    runs = design.sample(np.random.default_rng(1))
    inputs = {"params": np.log(runs["params"].to_numpy()), "tokens": np.log(runs["tokens"].to_numpy())}
    inputs["flops"] = np.log(6.0) + inputs["params"] + inputs["tokens"]
    centre = law.centres({k: v for k, v in inputs.items() if k in law.inputs})
    print(f"{'run':<32} {'median':>7} {'5%':>6} {'95%':>6} {'> 12 nats':>10}")
    for params, tokens_per_param in [(3e9, 100), (3e8, 20), (3e7, 4)]:
        logx = {"params": np.log(params), "tokens": np.log(params * tokens_per_param),
                "flops": np.log(6.0 * params * params * tokens_per_param)}
        loss = np.exp(law.log_mean(theta, logx, centre, np))
        q05, q50, q95 = np.quantile(loss, [0.05, 0.5, 0.95])
        label = f"{params:.0e} params, {tokens_per_param} tokens/param"
        if args.law == "compute":
            label = f"{6.0 * params * params * tokens_per_param:.1e} FLOP"
        print(f"{label:<32} {q50:7.2f} {q05:6.2f} {q95:6.2f} {np.mean(loss > 12):10.1%}")
    redrawn = sum(simulate_from_prior(model, design, random_seed=s)[1]["rejected"] for s in range(args.datasets))
    print(f"\nsimulated 5 x 20 data sets redrawn for a loss above 12 nats: {redrawn} per {args.datasets} accepted "
          f"({redrawn / (redrawn + args.datasets):.1%} of those drawn)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
