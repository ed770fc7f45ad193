"""Constants that users see, kept in one place.

Every interval the package reports uses :data:`DEFAULT_CI` unless the caller
asks for another mass, and every interval is equal-tailed (the 5% and 95%
quantiles for a 90% interval), which is what :data:`INTERVAL_KIND` says in
every table and report.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CI: float = 0.9
"""Default credible-interval mass for tables, reports and the CLI."""

INTERVAL_KIND: str = "equal-tailed"
"""How intervals are formed: quantiles ``(1-ci)/2`` and ``(1+ci)/2`` of the draws."""

EXTRAPOLATION_BIAS: float = 0.021
"""Default over-prediction of a law beyond its data: the log loss per decade of compute beyond a family's
largest training run by which the forecast is lowered (``-bias x decades``; 0.021 is about 2% of the loss
per decade). Laws fitted to smaller runs over-predicted the larger ones on every real table held out
(Porian, Chinchilla, OPT: 92% of the held-out forecasts). It is the posterior mean bias of a table, pooled over
the three tables by rolling-origin cross-validation (``benchmarks/backtest_real.py``,
``pooled_extrapolation``; ``docs/model.md``, "Extrapolation error"). A fit's own comes from
:meth:`forecast.backtest.Backtest.extrapolation`."""

EXTRAPOLATION_RATE: float = 0.023
"""Default growth of the law's own error with distance beyond the data: the standard deviation of
log loss added per decade of compute beyond a family's largest training run (sd = rate x decades).
For a table not yet seen: the uncertainty of the pooled bias, how far one table's bias strays from it,
and a typical table's own scatter about its bias, together (``pooled_extrapolation``)."""

DEFAULT_SEED: int = 20240601
"""Seed used by the CLI and the demo when the user gives none."""

IDENTIFIED_CONTRACTION: float = 0.5
"""Least posterior-to-prior contraction (``1 - width_post / width_prior`` of the 90% interval) for an
answer (the compute-optimal split, the data wall) to count as identified by the data
(:mod:`forecast.identify`)."""


@dataclass(frozen=True)
class Gate:
    """Thresholds of the convergence gate a fit must pass to be trusted.

    The defaults follow Vehtari et al. (2021): rank-normalised split R-hat at
    most 1.01, bulk and tail ESS at least 400, and no divergent transitions.
    """

    max_rhat: float = 1.01
    min_ess: float = 400.0
    max_divergences: int = 0
    min_bfmi: float = 0.3


GATE = Gate()


@dataclass(frozen=True)
class SamplerDefaults:
    """Default sampler settings used by :meth:`forecast.ScalingModel.fit`."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.97
    adaptation: str = "low_rank"
    # regularisation of nutpie's low-rank mass-matrix estimate (forecast.model._low_rank_settings)
    low_rank_gamma: float = 1e-2
    sampler: str = "nutpie"
    # a fit at least as long as these defaults that fails the gate is sampled once more with
    # retry_draws_factor x draws and retry_tune_factor x tune (forecast.model.retry_settings), logged and
    # recorded in the fit card. Fits that still failed after twice the draws had R-hat 1.0105-1.021 and
    # bulk ESS 290-680; four times the draws passed all of them (benchmarks/sbc.py, docs/calibration.md)
    retry: bool = True
    retry_draws_factor: int = 4
    retry_tune_factor: int = 2


SAMPLER = SamplerDefaults()

CV_SAMPLER: dict[str, int | bool] = {"draws": 1500, "tune": 2000, "retry": False}
"""Sampler settings of each fold's fit in :func:`forecast.cross_validate` (and ``forecast cv``) unless
``fit_options`` say otherwise; chains and ``target_accept`` are the package defaults. On the Porian table's
folds (origins 0.3, 0.6 and 1 decade below each recipe's largest run) the chains of the 1-decade fold disagree
after 1000 tuning steps (R-hat 1.03 at 4 x 500 draws, 1.09 at 4 x 1000); after 2000, 4 x 1000 draws leave it
just short of the gate (R-hat 1.013, bulk ESS 320) and 4 x 1500 pass it on every fold at the command's seed
(R-hat at most 1.009, bulk ESS at least 450) but not at every seed (seed 1: R-hat 1.019 and 1.013 on two
folds; 3000 tuning steps: 1.010 on one). The retry is off: a fold that still fails is named as such
(``settings["fold_diagnostics"]``, the warning of ``forecast cv``) rather than sampled four times longer
(``benchmarks/bench_cv.py``; ``benchmarks/README.md``, "Cross-validation")."""


def check_ci(ci: float) -> float:
    """Return ``ci`` as a float after checking it is a mass strictly in (0, 1)."""
    try:
        value = float(ci)
    except (TypeError, ValueError):
        raise ValueError(f"ci must be a number in (0, 1), got {ci!r}") from None
    if not 0.0 < value < 1.0:
        raise ValueError(
            f"ci must be an interval mass strictly between 0 and 1 (e.g. 0.9 for a 90% "
            f"interval), got {ci!r}"
        )
    return value


def quantile_bounds(ci: float) -> tuple[float, float]:
    """Lower and upper quantile levels of an equal-tailed interval of mass ``ci``."""
    ci = check_ci(ci)
    return (1.0 - ci) / 2.0, (1.0 + ci) / 2.0
