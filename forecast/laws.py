"""Scaling-law forms.

Each law writes its mean **once**, as ``log_mean(theta, logx, centre, xp)``:
the log of the predicted loss, given the sampled parameters ``theta``, the
logs of the inputs ``logx`` (``params``, ``tokens``, ``flops``,
``unique_tokens``), the centres of those logs in the training data, and an
array namespace ``xp`` that is either :mod:`numpy` (forecasts) or
:mod:`pytensor.tensor` (the PyMC model). Parameters are sampled in an
unconstrained space where the posterior is close to Gaussian (logs of E and of
the exponents; log amplitudes measured *at the centre of the data*, which
removes the near-perfect correlation between log A and alpha); ``to_user``
maps them back to the units users know (E, A, B, alpha, beta).

A user adds a law by building a :class:`Law` and passing it to
:class:`forecast.ScalingModel`; nothing in the model changes. What a law can do
beyond its mean is *declared* on it, never inferred from its name:

* ``frontier``: a closed-form compute-optimal allocation (Chinchilla's). A law
  of ``params`` and ``tokens`` without one gets the numerical frontier.
* ``loss_kernel``: a faster numpy evaluator of the loss for forecasts over
  large grids, checked against ``exp(log_mean)`` by the tests.
* ``fused_likelihood``: the likelihood and its gradient in one compiled pass
  for nutpie (Chinchilla's, :mod:`forecast.fused`), checked against the
  generic graph by the tests.
* ``example``: typical parameter values in the user's units (fake fits, docs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from forecast.priors import Prior

Array = Any


def _logsumexp(xp: ModuleType, *terms: Array) -> Array:
    if xp.__name__.startswith("pytensor"):
        # Inside the sampler the terms are logs of loss components (a few nats), far from overflow,
        # so the plain log of a sum of exponentials is exact enough. It costs one exp per term and
        # one log per run, against two stabilised logaddexp (and their gradients) per run: the
        # gradient of the Chinchilla model is 22% (4,000 runs) to 39% (1,000 runs) cheaper. A
        # position far enough out to overflow gives -inf log density, which NUTS rejects.
        return xp.log(sum(xp.exp(term) for term in terms))
    out = terms[0]
    for term in terms[1:]:
        out = xp.logaddexp(out, term)
    return out


@dataclass(frozen=True)
class Law:
    """A scaling-law form.

    Parameters
    ----------
    name : str
        Short identifier (``"chinchilla"``).
    formula : str
        The law in the user's units, for docs and reports.
    inputs : tuple of str
        Observation columns the law reads (``"params"``, ``"tokens"``, ...).
    params : tuple of str
        Names of the sampled (unconstrained) parameters.
    user_params : tuple of str
        Names of the parameters in the user's units, as reported.
    priors : dict of str to Prior
        Default prior of each sampled parameter, for a typical family.
    spread : dict of str to float
        Default scale of the half-normal prior on the between-family standard
        deviation of each sampled parameter (used with partial pooling).
    log_mean : callable
        ``log_mean(theta, logx, centre, xp) -> log L``.
    to_user : callable
        ``to_user(theta, centre, xp) -> dict`` of user-unit parameters.
    from_user : callable
        Inverse of ``to_user``.
    centred : tuple of str
        Inputs whose logs are centred on the training data.
    frontier : callable, optional
        Closed-form compute-optimal allocation under ``C = 6 N D``:
        ``frontier(user, flops) -> (N*, D*, L*)`` for user-unit parameters and
        budgets that broadcast (numpy or xarray). Without it, a law of
        ``params`` and ``tokens`` is optimised numerically.
    loss_kernel : callable, optional
        A fast numpy evaluator of the loss (not its log):
        ``loss_kernel(theta, centre)`` returns ``f(logx) -> L``, with the
        per-draw work done once in the outer call. It must equal
        ``exp(log_mean(theta, logx, centre, numpy))``; forecasts use it when given.
    fused_likelihood : callable, optional
        ``fused_likelihood(nu)`` returns a PyTensor Op giving the summed log
        density of observed log loss (Student-t with ``nu`` degrees of
        freedom, normal for ``nu = 0``) and its gradient in one pass. Inputs:
        the per-family vectors of ``params`` (in order), the per-family noise
        scale, ``offsets`` of each family's block of runs, the centred log
        inputs (``inputs`` order) and the observed log loss of the runs sorted
        by family. It must compute the same density as ``log_mean``; nutpie
        samples it when given (see :meth:`forecast.ScalingModel.build`).
    example : dict of str to float, optional
        Typical parameter values in the user's units (fake fits and docs use
        them; the prior medians otherwise).

    Examples
    --------
    A law typed by a user, ``L = (N_c / N)^alpha`` sampled as ``k = alpha log(N_c)`` and ``log alpha``:

    >>> import forecast as fc
    >>> law = fc.Law(
    ...     name="my_power_law", formula="L = (N_c / N)^alpha", inputs=("params",),
    ...     params=("k", "log_alpha"), user_params=("N_c", "alpha"),
    ...     priors={"k": fc.Prior("Normal", mu=1.0, sigma=0.5), "log_alpha": fc.Prior("Normal", mu=-2.5, sigma=0.5)},
    ...     spread={"k": 0.3, "log_alpha": 0.3},
    ...     log_mean=lambda t, lx, c, xp: t["k"] - xp.exp(t["log_alpha"]) * lx["params"],
    ...     to_user=lambda t, c, xp: {"N_c": xp.exp(t["k"] / xp.exp(t["log_alpha"])), "alpha": xp.exp(t["log_alpha"])},
    ...     from_user=lambda u, c, xp: {"k": u["alpha"] * xp.log(u["N_c"]), "log_alpha": xp.log(u["alpha"])})
    >>> round(float(law.loss({"N_c": 8.8e13, "alpha": 0.076}, params=1e9)), 3)
    2.376
    >>> law.frontier_method is None   # a law of N alone has no compute-optimal split
    True
    """

    name: str
    formula: str
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    user_params: tuple[str, ...]
    priors: Mapping[str, Prior]
    spread: Mapping[str, float]
    log_mean: Callable[..., Array]
    to_user: Callable[..., dict[str, Array]]
    from_user: Callable[..., dict[str, Array]]
    centred: tuple[str, ...] = ()
    description: str = ""
    references: tuple[str, ...] = field(default_factory=tuple)
    frontier: Callable[..., tuple[Array, Array, Array]] | None = None
    loss_kernel: Callable[..., Callable[[Mapping[str, Array]], Array]] | None = None
    fused_likelihood: Callable[[float], Any] | None = None
    example: Mapping[str, float] | None = None

    @property
    def frontier_method(self) -> str | None:
        """How :func:`forecast.frontier.frontier` finds this law's optimum, or None if it has none.

        ``"closed form"`` (the law declares ``frontier``), ``"numeric"`` (a law
        of ``params`` and ``tokens``), ``"compute law"`` (a law of ``flops``
        alone: loss only, no split).

        Examples
        --------
        >>> from forecast.laws import get_law
        >>> [get_law(n).frontier_method for n in ("chinchilla", "kaplan", "compute", "kaplan_n")]
        ['closed form', 'numeric', 'compute law', None]
        """
        inputs = set(self.inputs)
        if self.frontier is not None:
            return "closed form"
        if inputs == {"params", "tokens"}:
            return "numeric"
        if inputs == {"flops"}:
            return "compute law"
        return None

    def __repr__(self) -> str:
        return f"Law({self.name!r}: {self.formula})"

    def centres(self, logx: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Centres of the log inputs (their mean over the training data)."""
        return {k: float(np.mean(logx[k])) for k in self.centred}

    def loss(self, user: Mapping[str, Array], **inputs: Array) -> np.ndarray:
        """Evaluate the law in the user's units with numpy.

        Examples
        --------
        >>> import forecast as fc
        >>> law = fc.laws.get_law("chinchilla")
        >>> p = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
        >>> round(float(law.loss(p, params=7e10, tokens=1.4e12)), 3)
        1.937
        """
        centre = {k: 0.0 for k in self.centred}
        theta = self.from_user({k: np.asarray(v, dtype=float) for k, v in user.items()}, centre, np)
        logx = {k: np.log(np.asarray(inputs[k], dtype=float)) for k in self.inputs}
        return np.exp(self.log_mean(theta, logx, centre, np))


# --------------------------------------------------------------- Chinchilla
def _chinchilla_log_mean(t, lx, c, xp):
    x = lx["params"] - c["params"]
    y = lx["tokens"] - c["tokens"]
    return _logsumexp(
        xp, t["log_E"], t["a"] - xp.exp(t["log_alpha"]) * x, t["b"] - xp.exp(t["log_beta"]) * y
    )


def _chinchilla_to_user(t, c, xp):
    alpha, beta = xp.exp(t["log_alpha"]), xp.exp(t["log_beta"])
    return {
        "E": xp.exp(t["log_E"]),
        "A": xp.exp(t["a"] + alpha * c["params"]),
        "B": xp.exp(t["b"] + beta * c["tokens"]),
        "alpha": alpha,
        "beta": beta,
    }


def _chinchilla_from_user(u, c, xp):
    return {
        "log_E": xp.log(u["E"]),
        "a": xp.log(u["A"]) - u["alpha"] * c["params"],
        "b": xp.log(u["B"]) - u["beta"] * c["tokens"],
        "log_alpha": xp.log(u["alpha"]),
        "log_beta": xp.log(u["beta"]),
    }


def _chinchilla_frontier(user, flops):
    """N*, D*, L* of ``E + A N^-alpha + B D^-beta`` at ``C = 6 N D`` (Hoffmann et al. 2022, eq. 4).

    ``N* = G (C/6)^(beta/(alpha+beta))``, ``D* = (C/6) / N*``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``;
    works for any array type that broadcasts (numpy or xarray).
    """
    alpha, beta = user["alpha"], user["beta"]
    A, B, E = user["A"], user["B"], user["E"]
    s = alpha + beta
    log_g = (np.log(alpha * A) - np.log(beta * B)) / s
    log_c6 = np.log(flops / 6.0)
    log_n = log_g + (beta / s) * log_c6
    log_d = -log_g + (alpha / s) * log_c6
    n, d = np.exp(log_n), np.exp(log_d)
    loss = E + A * np.exp(-alpha * log_n) + B * np.exp(-beta * log_d)
    return n, d, loss


def _chinchilla_loss_kernel(t, c):
    """``E + exp(a - alpha x) + exp(b - beta y)``: two exponentials per point instead of a log-sum-exp's five."""
    E, alpha, beta, a, b = np.exp(t["log_E"]), np.exp(t["log_alpha"]), np.exp(t["log_beta"]), t["a"], t["b"]

    def loss(lx):
        out = np.exp(a - alpha * (lx["params"] - c["params"]))
        out += np.exp(b - beta * (lx["tokens"] - c["tokens"]))
        out += E
        return out

    return loss


def _chinchilla_fused_likelihood(nu: float):
    from forecast.fused import ChinchillaLogLik  # numba: imported when a model is compiled

    return ChinchillaLogLik(nu)


# Priors in the sampled space, for one typical family, grounded in published fits and checked
# against realistic losses (the ranges and sources are in docs/model.md, "Priors"):
# E: Hoffmann et al. 2022 1.69, Besiroglu et al. 2024 1.82, Muennighoff et al. 2023 1.87 nats on
#   web text -> median 1.75, 90% 1.07-2.86.
# exponents alpha, beta: 0.28-0.37 in those three fits -> median 0.35, 90% 0.23-0.53.
# a, b: the log of each reducible term at the centre of the data (nats). At their data's centres
#   the published fits give 0.36 and 0.39 (Besiroglu, Chinchilla runs), 0.47 and 0.35
#   (Muennighoff, C4 runs); Besiroglu's law at the centre of Porian et al. 2024's smaller
#   models (6e7 params, 2e9 tokens) gives about 0.9 each -> median 0.45, 90% 0.14-1.42 nats.
# Together these put the noise-free prior predictive loss of a typical family on a design of
# 3e7-3e9 params at 4-100 tokens/param (benchmarks/prior_predictive.py) at: 3e9 params, 100
# tokens/param: median 2.2 nats (90% 1.3-3.8); 3e8 params, 20 tokens/param: 3.0 (1.8-5.7);
# 3e7 params, 4 tokens/param (1 and 1.7 decades below the centre in N and D): 5.5 (2.7-16),
# 10% above 12 nats. Real runs of those sizes lie at 2-5.5 nats (Chinchilla, Porian,
# datablations tables); a uniform guess over a 50k-token vocabulary is 10.8. The earlier priors
# (sd 1.2 on a and b, 0.4 on the log exponents) put 20% of the smallest runs above 12 nats.
_E_PRIOR = Prior("Normal", mu=float(np.log(1.75)), sigma=0.3)
_EXP_PRIOR = Prior("Normal", mu=float(np.log(0.35)), sigma=0.25)
_TERM_PRIOR = Prior("Normal", mu=-0.8, sigma=0.7)

CHINCHILLA = Law(
    name="chinchilla",
    formula="L = E + A / N^alpha + B / D^beta",
    inputs=("params", "tokens"),
    params=("log_E", "a", "b", "log_alpha", "log_beta"),
    user_params=("E", "A", "B", "alpha", "beta"),
    priors={"log_E": _E_PRIOR, "a": _TERM_PRIOR, "b": _TERM_PRIOR,
            "log_alpha": _EXP_PRIOR, "log_beta": _EXP_PRIOR},
    # between-family spread (sd of the sampled parameter), e.g. E 1.69-2.3 nats across
    # datasets, exponents 0.28-0.37 across published fits of similar recipes
    spread={"log_E": 0.1, "a": 0.5, "b": 0.5, "log_alpha": 0.15, "log_beta": 0.15},
    log_mean=_chinchilla_log_mean,
    to_user=_chinchilla_to_user,
    from_user=_chinchilla_from_user,
    centred=("params", "tokens"),
    description="Loss from parameters N and training tokens D (Hoffmann et al. 2022).",
    references=("Hoffmann et al. 2022, Training Compute-Optimal Large Language Models",),
    frontier=_chinchilla_frontier,
    loss_kernel=_chinchilla_loss_kernel,
    fused_likelihood=_chinchilla_fused_likelihood,
    # Besiroglu et al. (2024) refit of Hoffmann et al. (2022) on Epoch's digitised Chinchilla runs
    example={"E": 1.817, "A": 482.01, "B": 2085.43, "alpha": 0.348, "beta": 0.366},
)


# ------------------------------------------------------------- compute-only
def _compute_log_mean(t, lx, c, xp):
    x = lx["flops"] - c["flops"]
    return _logsumexp(xp, t["log_E"], t["a"] - xp.exp(t["log_alpha"]) * x)


def _compute_to_user(t, c, xp):
    alpha = xp.exp(t["log_alpha"])
    return {"E": xp.exp(t["log_E"]), "A": xp.exp(t["a"] + alpha * c["flops"]), "alpha": alpha}


def _compute_from_user(u, c, xp):
    return {"log_E": xp.log(u["E"]), "a": xp.log(u["A"]) - u["alpha"] * c["flops"],
            "log_alpha": xp.log(u["alpha"])}


COMPUTE = Law(
    name="compute",
    formula="L = E + A * C^-alpha",
    inputs=("flops",),
    params=("log_E", "a", "log_alpha"),
    user_params=("E", "A", "alpha"),
    priors={"log_E": _E_PRIOR,
            # the whole reducible loss at the centre of the data, both Chinchilla terms together
            # (0.75 nats for Besiroglu et al. 2024 at the centre of the Chinchilla runs): median
            # 0.37, 90% 0.05-2.7 nats. Prior predictive (benchmarks/prior_predictive.py --law
            # compute, design 3e7-3e9 params at 4-100 tokens/param): 2.2e16 FLOP median 3.1 nats
            # (90% 1.5-15, 7% above 12), 1.1e19: 2.3 (1.3-5.4), 5.4e21: 2.0 (1.2-3.8). Porian et al.
            # 2024's compute-optimal runs lie at 4.1-5.5 nats below 3e16 FLOP and 2.6-3.4 at 3e18-1e20:
            # inside the 90% ranges, so this prior is kept
            "a": Prior("Normal", mu=-1.0, sigma=1.2),
            # compute exponents are roughly alpha*beta/(alpha+beta) ~ 0.15
            "log_alpha": Prior("Normal", mu=float(np.log(0.15)), sigma=0.5)},
    spread={"log_E": 0.1, "a": 0.5, "log_alpha": 0.15},
    log_mean=_compute_log_mean,
    to_user=_compute_to_user,
    from_user=_compute_from_user,
    centred=("flops",),
    description="Loss from training compute C alone, for compute-optimal runs.",
    references=("Hoffmann et al. 2022", "Kaplan et al. 2020"),
)


# ------------------------------------------------------------------ Kaplan
def _kaplan_n_log_mean(t, lx, c, xp):
    return t["k"] - xp.exp(t["log_alpha_N"]) * (lx["params"] - c["params"])


def _kaplan_n_to_user(t, c, xp):
    alpha = xp.exp(t["log_alpha_N"])
    return {"N_c": xp.exp(t["k"] / alpha + c["params"]), "alpha_N": alpha}


def _kaplan_n_from_user(u, c, xp):
    return {"k": u["alpha_N"] * (xp.log(u["N_c"]) - c["params"]), "log_alpha_N": xp.log(u["alpha_N"])}


_KAPLAN_EXP = Prior("Normal", mu=float(np.log(0.08)), sigma=0.5)
_KAPLAN_LEVEL = Prior("Normal", mu=float(np.log(3.0)), sigma=0.5)

KAPLAN_N = Law(
    name="kaplan_n",
    formula="L = (N_c / N)^alpha_N",
    inputs=("params",),
    params=("k", "log_alpha_N"),
    user_params=("N_c", "alpha_N"),
    priors={"k": _KAPLAN_LEVEL, "log_alpha_N": _KAPLAN_EXP},
    spread={"k": 0.3, "log_alpha_N": 0.3},
    log_mean=_kaplan_n_log_mean,
    to_user=_kaplan_n_to_user,
    from_user=_kaplan_n_from_user,
    centred=("params",),
    description="Kaplan et al. (2020) loss from parameters, data not limiting (no irreducible term).",
    references=("Kaplan et al. 2020, Scaling Laws for Neural Language Models",),
)


def _kaplan_log_mean(t, lx, c, xp):
    a_n, a_d = xp.exp(t["log_alpha_N"]), xp.exp(t["log_alpha_D"])
    x = lx["params"] - c["params"]
    y = lx["tokens"] - c["tokens"]
    return a_d * xp.logaddexp((t["k_N"] - a_n * x) / a_d, (t["k_D"] - a_d * y) / a_d)


def _kaplan_to_user(t, c, xp):
    a_n, a_d = xp.exp(t["log_alpha_N"]), xp.exp(t["log_alpha_D"])
    return {"N_c": xp.exp(t["k_N"] / a_n + c["params"]), "D_c": xp.exp(t["k_D"] / a_d + c["tokens"]),
            "alpha_N": a_n, "alpha_D": a_d}


def _kaplan_from_user(u, c, xp):
    return {"k_N": u["alpha_N"] * (xp.log(u["N_c"]) - c["params"]),
            "k_D": u["alpha_D"] * (xp.log(u["D_c"]) - c["tokens"]),
            "log_alpha_N": xp.log(u["alpha_N"]), "log_alpha_D": xp.log(u["alpha_D"])}


KAPLAN = Law(
    name="kaplan",
    formula="L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D",
    inputs=("params", "tokens"),
    params=("k_N", "k_D", "log_alpha_N", "log_alpha_D"),
    user_params=("N_c", "D_c", "alpha_N", "alpha_D"),
    priors={"k_N": _KAPLAN_LEVEL, "k_D": _KAPLAN_LEVEL,
            "log_alpha_N": _KAPLAN_EXP, "log_alpha_D": Prior("Normal", mu=float(np.log(0.1)), sigma=0.5)},
    spread={"k_N": 0.3, "k_D": 0.3, "log_alpha_N": 0.3, "log_alpha_D": 0.3},
    log_mean=_kaplan_log_mean,
    to_user=_kaplan_to_user,
    from_user=_kaplan_from_user,
    centred=("params", "tokens"),
    description="Kaplan et al. (2020) joint law in N and D (no irreducible term).",
    references=("Kaplan et al. 2020, eq. 1.5",),
)


# --------------------------------------------------------- data-constrained
def effective_data(tokens, unique_tokens, r_star, xp=np):
    """Effective data D' when ``tokens`` are drawn from ``unique_tokens`` by repetition.

    ``D' = U + U R* (1 - exp(-R / R*))`` with ``R = D / U - 1`` repetitions
    (Muennighoff et al. 2023, eq. 5): repeated tokens are worth less and less,
    and D' never exceeds ``U (1 + R*)``.
    """
    unique = xp.minimum(unique_tokens, tokens)  # a pool larger than the run: no repeats, D' = D
    repeats = tokens / unique - 1.0
    return unique * (1.0 - r_star * xp.expm1(-repeats / r_star))


def _dc_log_mean(t, lx, c, xp):
    alpha, beta = xp.exp(t["log_alpha"]), xp.exp(t["log_beta"])
    r_d, r_n = xp.exp(t["log_rd"]), xp.exp(t["log_rn"])
    n, d, u_d = xp.exp(lx["params"]), xp.exp(lx["tokens"]), xp.exp(lx["unique_tokens"])
    d_eff = effective_data(d, u_d, r_d, xp)
    # U_N: the compute-optimal size for the unique data, capped at N; excess parameters
    # decay in value like repeated tokens (Muennighoff et al. 2023, eq. 6).
    log_A = t["a"] + alpha * c["params"]
    log_B = t["b"] + beta * c["tokens"]
    log_g = (xp.log(alpha) + log_A - xp.log(beta) - log_B) / (alpha + beta)
    log_un = xp.minimum(lx["params"], log_g + (beta / alpha) * (lx["unique_tokens"] + log_g))
    u_n = xp.exp(log_un)
    n_eff = effective_data(n, u_n, r_n, xp)
    x = xp.log(n_eff) - c["params"]
    y = xp.log(d_eff) - c["tokens"]
    return _logsumexp(xp, t["log_E"], t["a"] - alpha * x, t["b"] - beta * y)


def _dc_to_user(t, c, xp):
    out = _chinchilla_to_user(t, c, xp)
    # the paper's R_D* and R_N* (decay constants); R_D = D/U_D - 1 is the number of repetitions
    out["R_D_star"] = xp.exp(t["log_rd"])
    out["R_N_star"] = xp.exp(t["log_rn"])
    return out


def _dc_from_user(u, c, xp):
    out = _chinchilla_from_user(u, c, xp)
    out["log_rd"] = xp.log(u["R_D_star"])
    out["log_rn"] = xp.log(u["R_N_star"])
    return out


DATA_CONSTRAINED = Law(
    name="data_constrained",
    formula="L = E + A / N'^alpha + B / D'^beta,  D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),  R_D = D/U_D - 1",
    inputs=("params", "tokens", "unique_tokens"),
    params=("log_E", "a", "b", "log_alpha", "log_beta", "log_rd", "log_rn"),
    user_params=("E", "A", "B", "alpha", "beta", "R_D_star", "R_N_star"),
    priors={**CHINCHILLA.priors,
            # Muennighoff et al. 2023: R_D* = 15.4, R_N* = 5.3 on C4
            "log_rd": Prior("Normal", mu=float(np.log(15.0)), sigma=0.7),
            "log_rn": Prior("Normal", mu=float(np.log(5.0)), sigma=0.7)},
    spread={**CHINCHILLA.spread, "log_rd": 0.3, "log_rn": 0.3},
    log_mean=_dc_log_mean,
    to_user=_dc_to_user,
    from_user=_dc_from_user,
    centred=("params", "tokens"),
    description=("Muennighoff et al. (2023) law for repeated data: tokens seen more than once "
                 "count as effective data D' that saturates at U_D (1 + R_D*), R_D* = R_D_star."),
    references=("Muennighoff et al. 2023, Scaling Data-Constrained Language Models",),
    # a compute-optimal run repeats no data (U -> infinity), where the law is Chinchilla's
    frontier=_chinchilla_frontier,
)

LAWS: dict[str, Law] = {law.name: law for law in (CHINCHILLA, COMPUTE, KAPLAN_N, KAPLAN, DATA_CONSTRAINED)}


def get_law(law: str | Law) -> Law:
    """Look a law up by name (or pass a :class:`Law` through).

    Raises
    ------
    ValueError
        For an unknown name, listing the known laws.
    """
    if isinstance(law, Law):
        return law
    try:
        return LAWS[law]
    except (KeyError, TypeError):
        raise ValueError(f"unknown law {law!r}; known laws: {', '.join(LAWS)}") from None
