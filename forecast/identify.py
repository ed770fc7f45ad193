"""Can the data answer the question? Identifiability of the compute-optimal split and the data wall.

A law of N and D splits the loss into a parameter term ``A / N^alpha`` and a
data term ``B / D^beta``. The split of compute between them (tokens per
parameter, ``N* ~ C^a`` with ``a = beta / (alpha + beta)``) and the data wall
(demand ``D* ~ C^(1 - a)``) are learned only from runs that vary N and D
*independently*. When a family's runs all lie on one line in (log N, log D),
as runs on a recipe's compute-optimal line do, the likelihood sees the loss
along that line only, and the split comes from the prior and the law's form.

Two figures say how much the data taught:

* **lock-step**: for each family, the spread of its runs across the principal
  line of (log10 N, log10 D) (the smaller singular value of the centred
  points, in decades, see :func:`forecast.data.lockstep_spread`). Runs on a
  compute-optimal line spread by 0.03-0.08 decades (Porian et al. 2024);
  IsoFLOP sweeps by 0.5 (Chinchilla);
* **contraction**: ``1 - w_post / w_prior``, where ``w`` is the width of the
  90% interval of the answer (``a = beta / (alpha + beta)`` and log tokens per
  parameter at each budget) under the posterior and under the prior of the
  same family. 0 means the data taught nothing; 0.9 means the interval is a
  tenth of the prior's.

An answer is **identified** when its contraction is at least
:data:`forecast.config.IDENTIFIED_CONTRACTION` and the families it rests on
are not all in lock-step.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.config import DEFAULT_CI, IDENTIFIED_CONTRACTION, quantile_bounds
from forecast.data import LOCKSTEP_SPREAD, is_lockstep, lockstep_spread

if TYPE_CHECKING:
    from forecast.fit import Fit

__all__ = ["Identification", "IdentifiabilityWarning", "identify_split", "lockstep_table"]

PRIOR_DRAWS = 4000
"""Prior draws used for the prior side of the contraction."""

FIX = (
    "To identify it, add runs off the compute-optimal line (several model sizes at one compute budget, "
    "as in an IsoFLOP sweep); for questions about loss alone, fit the compute law "
    "(ScalingModel(law='compute'); on the command line --law compute)."
)


class IdentifiabilityWarning(UserWarning):
    """An answer (the compute-optimal split, the data wall) comes mostly from the prior, not the data."""


# ----------------------------------------------------------------- lock-step
def lockstep_table(fit_or_obs) -> pd.DataFrame:
    """Per family: runs, correlation of log N and log D, spread across their line, and the verdict.

    Parameters
    ----------
    fit_or_obs : Fit or Observations

    Returns
    -------
    pandas.DataFrame
        Columns ``family, runs, log_correlation, spread_decades, lockstep``;
        ``lockstep`` is True when the spread is below
        :data:`forecast.data.LOCKSTEP_SPREAD` decades (for families with at
        least :data:`forecast.data.LOCKSTEP_MIN_RUNS` distinct points; smaller
        ones only when their runs lie on a line exactly).

    Examples
    --------
    >>> import forecast as fc
    >>> t = lockstep_table(fc.datasets.load_demo())
    >>> bool(t["lockstep"].any())
    False
    """
    obs = getattr(fit_or_obs, "observations", fit_or_obs)
    rows = []
    for fam in obs.families:
        sub = obs.table[obs.table["family"] == fam]
        ln, ld = np.log10(sub["params"].to_numpy()), np.log10(sub["tokens"].to_numpy())
        spread = lockstep_spread(ln, ld)
        corr = float(np.corrcoef(ln, ld)[0, 1]) if ln.std() > 0 and ld.std() > 0 else float("nan")
        distinct = len(sub.drop_duplicates(["params", "tokens"]))
        rows.append({"family": fam, "runs": len(sub), "log_correlation": corr, "spread_decades": spread,
                     "lockstep": is_lockstep(spread, distinct)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------- contraction
@dataclass(frozen=True)
class Identification:
    """Whether the data identify an answer, the figures behind the verdict, and what would identify it.

    Attributes
    ----------
    identified : bool
    answer : str
        What was judged ("the compute-optimal split", "the data wall").
    contraction : dict of str to float
        ``1 - w_post / w_prior`` of each quantity judged (90% interval widths).
    lockstep : list of str
        Families whose runs lie on one line in (log N, log D).
    families : list of str
        Families the answer rests on.
    reason : str
        The verdict in a sentence or two, with what would identify it when it is not.
    """

    identified: bool
    answer: str
    contraction: dict[str, float] = field(default_factory=dict)
    lockstep: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    reason: str = ""

    def __str__(self) -> str:
        return self.reason

    def warn(self, stacklevel: int = 3) -> None:
        """Emit an :class:`IdentifiabilityWarning` with the reason, if not identified."""
        if not self.identified:
            warnings.warn(self.reason, IdentifiabilityWarning, stacklevel=stacklevel)


def _prior_theta(fit: Fit, family: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Prior draws of the sampled parameters of ``family`` (a fitted name, 'population' or 'new')."""
    model = fit.model
    out = {}
    for p in fit.law.params:
        mu = model.priors[p].sample(rng, n)
        mode = fit.pooling[p]
        # a fitted or new family under partial pooling sits a spread tau from the population
        partial = mode == "partial" or (mode == "complete" and family == "new" and model.pooling[p] == "partial")
        if partial and family != "population":
            mu = mu + model.spread_prior_of(p).sample(rng, n) * rng.standard_normal(n)
        out[p] = np.asarray(mu, dtype=float)
    out.update({p: out[src] for p, src in model.tied.items()})  # a shared exponent
    return out


def _split_quantities(fit: Fit, theta: dict[str, np.ndarray], log_flops: np.ndarray) -> dict[str, np.ndarray]:
    """``a = beta/(alpha+beta)`` (when the law has alpha and beta) and log tokens per parameter at each budget."""
    from forecast.frontier import optimum_function

    law = fit.law
    out = {}
    user = law.to_user(theta, fit.centre, np)
    if "alpha" in user and "beta" in user:
        out["a"] = np.asarray(user["beta"] / (user["alpha"] + user["beta"]))
    optimum = optimum_function(law, theta, fit.centre)
    if optimum is not None:
        with np.errstate(all="ignore"):
            solved = optimum(log_flops)
        if "tokens" in solved:
            ratio = np.log(solved["tokens"] / solved["params"])
            for j, lf in enumerate(np.atleast_1d(log_flops)):
                out[f"log_tokens_per_param@{np.exp(lf):.0e}"] = ratio[..., j]
    return out


def _width(values: np.ndarray, ci: float) -> float:
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size < 10:
        return float("nan")
    lo, hi = quantile_bounds(ci)
    q = np.quantile(v, [lo, hi])
    return float(q[1] - q[0])


def identify_split(
    fit: Fit,
    *,
    family: str = "population",
    flops=None,
    answer: str = "the compute-optimal split (tokens per parameter)",
    random_seed: int = 0,
) -> Identification:
    """Judge whether the data identify the compute-optimal split of ``family``'s law.

    Parameters
    ----------
    fit : Fit
    family : str
        ``"population"`` (typical family), ``"new"`` or a fitted family.
    flops : array-like, optional
        Budgets at which to judge tokens per parameter (default 1e21 and 1e27 FLOP).
    answer : str
        The answer's name in the reason's text.
    random_seed : int
        Seed of the prior draws.

    Returns
    -------
    Identification

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> ident = identify_split(fake_fit(draws=100))
    >>> ident.identified, ident.lockstep
    (True, [])
    """
    law = fit.law
    if not {"params", "tokens"} <= set(law.inputs):
        return Identification(
            identified=True, answer=answer, families=[family],
            reason=f"the {law.name} law has no split of compute between parameters and tokens",
        )
    log_flops = np.log(np.atleast_1d(np.asarray([1e21, 1e27] if flops is None else flops, dtype=float)))
    rng = np.random.default_rng(random_seed)
    prior = _split_quantities(fit, _prior_theta(fit, family, PRIOR_DRAWS, rng), log_flops)
    theta = fit.theta([family], random_seed=random_seed).squeeze("family", drop=True)
    post_theta = {p: theta[p].transpose("chain", "draw").values.ravel() for p in law.params}
    post = _split_quantities(fit, post_theta, log_flops)
    contraction = {}
    for k in post:
        wp, wq = _width(prior[k], DEFAULT_CI), _width(post[k], DEFAULT_CI)
        if np.isfinite(wp) and wp > 0 and np.isfinite(wq):
            contraction[k] = float(1.0 - wq / wp)
    table = lockstep_table(fit)
    rests_on = list(fit.families) if family in ("population", "new") else [family]
    locked = [f for f in table.loc[table["lockstep"], "family"] if f in rests_on]
    worst = min(contraction.values()) if contraction else float("nan")
    all_locked = len(locked) == len(rests_on)
    identified = bool(np.isfinite(worst) and worst >= IDENTIFIED_CONTRACTION and not all_locked)
    figures = []
    if "a" in contraction:
        figures.append(
            f"the {DEFAULT_CI:.0%} interval of beta/(alpha+beta) is {1 - contraction['a']:.0%} as wide as "
            "its prior's"
        )
    tpp = {k: v for k, v in contraction.items() if k.startswith("log_tokens")}
    if tpp:
        key = min(tpp, key=tpp.get)
        figures.append(
            f"that of tokens per parameter at {key.split('@')[1].replace('e+', 'e')} FLOP "
            f"{1 - tpp[key]:.0%} as wide"
        )
    spreads = table.set_index("family").loc[rests_on, "spread_decades"]
    if identified:
        reason = (
            f"{answer[0].upper() + answer[1:]} is identified by the data: " + "; ".join(figures)
            + f" (contraction {worst:.2f} >= {IDENTIFIED_CONTRACTION:g}), and N and D vary independently "
            f"in {len(rests_on) - len(locked)} of {len(rests_on)} famil{'y' if len(rests_on) == 1 else 'ies'}."
        )
    else:
        why = []
        if locked:
            why.append(
                f"in {len(locked)} of {len(rests_on)} famil{'y' if len(rests_on) == 1 else 'ies'} N and D "
                f"move in lock-step (runs on one line in log N, log D; spread across it "
                f"{spreads.loc[locked].min():.2f}-{spreads.loc[locked].max():.2f} decades, below "
                f"{LOCKSTEP_SPREAD:g}), so the data cannot separate the parameter term from the data term"
            )
        if figures and worst >= IDENTIFIED_CONTRACTION:
            why.append(
                "; ".join(figures) + ", but with N and D in lock-step that narrowing comes from the curvature "
                "the law's form imposes along the one line, not from runs that separate the two terms"
            )
        elif figures:
            why.append("; ".join(figures) + f" (contraction {worst:.2f}, identified needs >= "
                       f"{IDENTIFIED_CONTRACTION:g})")
        reason = (
            f"{answer[0].upper() + answer[1:]} is NOT identified by these data and comes mostly from the "
            f"prior and the law's form: " + "; ".join(why) + ". " + FIX
        )
    return Identification(identified=identified, answer=answer, contraction=contraction, lockstep=locked,
                          families=rests_on, reason=reason)
