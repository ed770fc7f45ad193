"""ScalingModel: a scaling law, how each parameter is pooled across families, and a likelihood.

The model (see ``docs/model.md`` for the full statement)::

    log L_i ~ StudentT(nu=4, mu_i, sigma)         (or Normal)
    mu_i    = law.log_mean(theta[family_i], log N_i - cN, log D_i - cD, ...)

For each sampled law parameter ``theta`` (e.g. ``log_alpha``), ``pooling``
chooses one of:

* ``"partial"`` (default): ``theta_f ~ N(mu, tau)`` (centred; or
  ``mu + tau * z_f`` non-centred), ``mu`` from the law's prior,
  ``tau ~ LogNormal(log(spread), 0.5)``; families share the population and a
  family with few runs borrows strength.
* ``"none"``: each family gets the prior independently; nothing is shared.
* ``"complete"``: one value for all families.

Pooling never changes the prior's distribution and the prior never changes the
pooling: they are set by separate arguments.

Checkpoints of one training run are not independent observations. By default
the model treats them as conditionally independent given the law, which
overstates how much 50 checkpoints of one run teach: intervals fitted to
checkpoint data are narrower than they should be, and backtests on checkpoints
show it. ``run_effects=True`` adds a run-level offset ``u_r ~ N(0, sigma_run)``
on log loss shared by a run's rows; it is off by default because when every run
has a single model size (as in OPT) the offset is confounded with the parameter
term ``A / N^alpha`` (on OPT the offsets absorbed the size effect and the
forecast for the largest model missed by 42%), so use it only when runs share
sizes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Mapping
from typing import Literal

import numpy as np

from forecast.compile_cache import COMPILED, law_fingerprint
from forecast.config import SAMPLER
from forecast.data import Observations
from forecast.laws import Law, get_law
from forecast.priors import Prior

PoolingMode = Literal["partial", "none", "complete"]
POOLING_MODES = ("partial", "none", "complete")
LIKELIHOODS = ("student_t", "normal")
STUDENT_T_NU = 4.0

# Centred effects for data-rich families, non-centred for sparse ones, a zero-avoiding
# log-normal spread prior and nutpie's low-rank mass matrix: on simulated 5 x 40 data
# this took ~25 leapfrog steps per draw with no divergence, against ~650 for
# non-centred effects with a diagonal mass matrix (numbers in benchmarks/README.md).
PARAMETRIZATIONS = ("auto", "centred", "noncentred")

_LOG = logging.getLogger("forecast")

DEFAULT_SIGMA_PRIOR = Prior("HalfNormal", sigma=0.05)
DEFAULT_RUN_SIGMA_PRIOR = Prior("HalfNormal", sigma=0.02)
# Spread of log noise between families: about a factor 1.6 (90%: 1.2x to 3x). Chinchilla's runs
# (0.0045 on log loss) and OPT's checkpoints (0.012) differ by a factor 2.7.
DEFAULT_SIGMA_SPREAD_PRIOR = Prior("LogNormal", mu=float(np.log(0.5)), sigma=0.5)

# Compiled models are cached in forecast.compile_cache (keyed by the law's content and the
# model's structure); refitting the same structure swaps data instead of recompiling.
_COMPILED = COMPILED


def _low_rank_settings(adaptation: str, n_dim: int) -> dict[str, float | int]:
    """nutpie settings for the low-rank mass matrix, scaled with the number of parameters.

    ``mass_matrix_gamma`` (nutpie's default 1e-5) regularises the two
    covariance estimates whose geometric mean is the mass matrix. At 1e-5
    their eigenvalues span about five decades, and nutpie's eigendecomposition
    of them turns slow above about 195 parameters: 66-84 ms per tuning draw at
    200-211 parameters against 1.8 ms at 192, on a model whose gradient costs
    microseconds (``benchmarks/nutpie_lowrank_cost.py``). At 1e-2 it costs
    1.4-2.2 ms there. Leapfrog steps per draw after tuning stayed the same (24
    at 5 x 40, 31 at 20 x 50 and 40 x 100), as did ESS.

    ``early_window_switch_freq``: a low-rank matrix estimated from ``k``
    draws has rank at most about ``2k`` (draws and gradients), and every
    partially pooled family brings its own E-vs-amplitude ridge. nutpie's
    early windows switch every 10 draws, too few for dozens of families. With
    40 families (211 parameters) and gamma 1e-2, windows of 50 draws cut the
    tuning steps of one chain from 206,000 (windows of 10) and 176,000 (26)
    to 148,000. Windows of about ``n_dim / 4`` draws (10 to 50) follow that,
    and leave models under 40 parameters at nutpie's default.
    """
    if adaptation != "low_rank":
        return {}
    return {
        "mass_matrix_gamma": SAMPLER.low_rank_gamma,
        "early_window_switch_freq": int(min(50, max(10, round(n_dim / 4)))),
    }


def _label(idata, coords: Mapping):
    """The draws labelled with this data's coordinates (a cached compile carries those it was built with)."""

    def relabel(ds):
        return ds.assign_coords({k: v for k, v in coords.items() if k in ds.dims})

    return idata.map_over_datasets(relabel)


class ScalingModel:
    """A hierarchical Bayesian scaling-law model.

    Parameters
    ----------
    law : str or Law
        ``"chinchilla"`` (default), ``"compute"``, ``"kaplan"``, ``"kaplan_n"``,
        ``"data_constrained"``, or a custom :class:`forecast.laws.Law`.
    pooling : str or dict, optional
        Pooling of each law parameter across families: ``"partial"``
        (default), ``"none"`` or ``"complete"``. A single string applies to
        all; a dict maps parameter names (user names such as ``"alpha"`` or
        sampled names such as ``"log_alpha"``) to modes, the rest partial.
        ``"sigma"`` (the noise scale on log loss) may be ``"partial"``
        (default: each family its own noise, informed by the others:
        ``log sigma_f ~ N(log sigma, sigma_tau)``), ``"complete"`` (one noise
        for all families) or ``"none"`` (one per family, nothing shared).
    priors : dict, optional
        Overrides of the law's default priors, keyed like ``pooling``; each a
        :class:`forecast.Prior` on the *sampled* parameter (e.g. a Normal on
        ``log_alpha``), plus ``"sigma"`` for the noise scale.
    spread : dict, optional
        Overrides of the prior mean of the between-family spread ``tau`` of
        each partially pooled parameter (sampled space).
    likelihood : {"student_t", "normal"}
        Noise on log loss; Student-t (nu=4) is robust to the occasional bad run.
    parametrization : {"auto", "centred", "noncentred"} or dict
        How partially pooled family effects are sampled. Centred suits a
        family whose many runs pin it down; non-centred suits a family with a
        handful of runs, whose effect the population mostly sets. ``"auto"``
        (default) chooses per family: centred with at least
        ``centred_min_runs`` distinct (N, D) points, non-centred below.
    centred_min_runs : int
        Threshold of the ``"auto"`` choice.
    shared_exponent : bool
        One exponent for both terms, ``alpha = beta`` (Muennighoff et al.
        2023 fit their data-constrained law this way). ``log_beta`` is then
        not sampled: it is ``log_alpha``, and its prior, pooling and spread are
        ``log_alpha``'s.
    family_forms : dict, optional
        The ``"auto"`` form (``"centred"``/``"noncentred"``) of named families,
        overriding the count of runs. Cross-validation fixes them from the full
        data so that every origin's fit has one structure and reuses one compile.
    spread_prior : {"lognormal", "gamma", "halfnormal"}
        Prior on each ``tau``: ``LogNormal(log(spread), 0.5)`` (default),
        ``Gamma(2, 2/spread)`` or ``HalfNormal(spread)``. The default is
        zero-avoiding (boundary-avoiding priors for variance parameters with
        few groups: Chung et al. 2013): it says families differ by about
        ``spread`` (90%: 0.44x to 2.3x that), and it removes the funnel at
        ``tau -> 0`` that makes centred family effects diverge.
    run_effects : bool
        Add a shared offset per training run (for checkpoints; needs a ``run``
        column). Off by default: with one model size per run the offsets are
        confounded with the parameter term (see the module notes).

    Examples
    --------
    >>> import forecast as fc
    >>> model = fc.ScalingModel(law="chinchilla", pooling={"alpha": "partial", "E": "complete"})
    >>> model.pooling["log_E"]
    'complete'
    """

    def __init__(
        self,
        law: str | Law = "chinchilla",
        pooling: str | Mapping[str, str] | None = None,
        priors: Mapping[str, Prior] | None = None,
        spread: Mapping[str, float] | None = None,
        likelihood: Literal["student_t", "normal"] = "student_t",
        parametrization: Literal["auto", "noncentred", "centred"] | Mapping[str, str] | None = None,
        centred_min_runs: int = 10,
        family_forms: Mapping[str, str] | None = None,
        run_effects: bool = False,
        spread_prior: Literal["gamma", "lognormal", "halfnormal"] = "lognormal",
        shared_exponent: bool = False,
    ) -> None:
        self.law = get_law(law)
        alias = dict(zip(self.law.user_params, self.law.params, strict=True))
        known = ", ".join(list(self.law.user_params) + ["sigma"])

        def key(name: str) -> str:
            if name == "sigma":
                return name
            if name in self.law.params:
                return name
            if name in alias:
                return alias[name]
            raise ValueError(f"law '{self.law.name}' has no parameter {name!r}; its parameters: {known}")

        if pooling is None or isinstance(pooling, str):
            mode = pooling or "partial"
            pooling = {p: mode for p in self.law.params}
        resolved = {p: "partial" for p in self.law.params}
        resolved["sigma"] = "partial"
        for name, mode in dict(pooling).items():
            k = key(name)
            if mode not in POOLING_MODES:
                raise ValueError(f"pooling for {name!r} must be one of {POOLING_MODES}, got {mode!r}")
            resolved[k] = mode
        self.pooling: dict[str, str] = resolved

        self.priors: dict[str, Prior] = dict(self.law.priors)
        self.priors["sigma"] = DEFAULT_SIGMA_PRIOR
        self.priors["sigma_run"] = DEFAULT_RUN_SIGMA_PRIOR
        self.priors["sigma_tau"] = DEFAULT_SIGMA_SPREAD_PRIOR
        for name, prior in (priors or {}).items():
            if not isinstance(prior, Prior):
                raise ValueError(f"prior for {name!r} must be a forecast.Prior, got {type(prior).__name__}")
            self.priors[name if name in ("sigma_run", "sigma_tau") else key(name)] = prior

        self.spread: dict[str, float] = dict(self.law.spread)
        for name, value in (spread or {}).items():
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"spread for {name!r} must be a positive number, got {value!r}")
            self.spread[key(name)] = float(value)

        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        self.likelihood = likelihood
        if isinstance(parametrization, str):
            parametrization = {p: parametrization for p in self.law.params}
        resolved_par = {p: "auto" for p in self.law.params}
        for name, form in dict(parametrization or {}).items():
            if form not in PARAMETRIZATIONS:
                raise ValueError(f"parametrization must be one of {PARAMETRIZATIONS}, got {form!r} for {name!r}")
            resolved_par[key(name)] = form
        self.parametrization: dict[str, str] = resolved_par
        self.centred_min_runs = int(centred_min_runs)
        bad = {f: v for f, v in dict(family_forms or {}).items() if v not in ("centred", "noncentred")}
        if bad:
            raise ValueError(f"family_forms must map family names to 'centred' or 'noncentred', got {bad}")
        self.family_forms_fixed: dict[str, str] = {str(f): v for f, v in dict(family_forms or {}).items()}
        self.run_effects = run_effects
        if spread_prior not in ("gamma", "lognormal", "halfnormal"):
            raise ValueError(f"spread_prior must be 'gamma', 'lognormal' or 'halfnormal', got {spread_prior!r}")
        self.spread_prior = spread_prior
        self.shared_exponent = bool(shared_exponent)
        self.tied: dict[str, str] = {}
        """Sampled parameters set equal to another (``{"log_beta": "log_alpha"}`` with a shared exponent)."""
        if self.shared_exponent:
            if not {"log_alpha", "log_beta"} <= set(self.law.params):
                raise ValueError(
                    f"shared_exponent=True ties beta to alpha, but law '{self.law.name}' has no alpha and beta "
                    "(use 'chinchilla' or 'data_constrained')"
                )
            self.tied = {"log_beta": "log_alpha"}

    # ------------------------------------------------------------ settings
    def settings(self) -> dict:
        """JSON-ready description of the model (stored with every saved fit)."""
        return {
            "law": self.law.name,
            "pooling": dict(self.pooling),
            "priors": {k: v.to_dict() for k, v in self.priors.items()},
            "spread": dict(self.spread),
            "likelihood": self.likelihood,
            "parametrization": self.parametrization,
            "centred_min_runs": self.centred_min_runs,
            "family_forms": dict(self.family_forms_fixed),
            "run_effects": self.run_effects,
            "spread_prior": self.spread_prior,
            "shared_exponent": self.shared_exponent,
        }

    @classmethod
    def from_settings(cls, settings: Mapping) -> ScalingModel:
        """Inverse of :meth:`settings`."""
        return cls(
            law=settings["law"],
            pooling=settings["pooling"],
            priors={k: Prior.from_dict(v) for k, v in settings["priors"].items()},
            spread=settings["spread"],
            likelihood=settings["likelihood"],
            parametrization=settings.get("parametrization"),
            centred_min_runs=settings.get("centred_min_runs", 10),
            family_forms=settings.get("family_forms"),
            run_effects=bool(settings.get("run_effects")),
            spread_prior=settings.get("spread_prior", "lognormal"),
            shared_exponent=bool(settings.get("shared_exponent", False)),
        )

    def __repr__(self) -> str:
        lines = [f"ScalingModel({self.law.formula})", f"  likelihood: {self.likelihood} on log loss"]
        for p in self.law.params:
            if p in self.tied:
                lines.append(f"  {p:<12} tied to {self.tied[p]} (shared exponent)")
                continue
            lines.append(f"  {p:<12} {self.pooling[p]:<9} prior {self.priors[p]!r}"
                         + (f", spread {self.spread_prior_of(p)!r}" if self.pooling[p] == "partial" else ""))
        lines.append(f"  {'sigma':<12} {self.pooling['sigma']:<9} prior {self.priors['sigma']!r}")
        return "\n".join(lines)

    def effective_pooling(self, n_families: int) -> dict[str, str]:
        """Pooling as built for data with ``n_families`` families.

        With a single family there is nothing to pool: partially pooled
        parameters are sampled as that family's own values (sampling a
        population mean and spread that only the prior informs would make a
        funnel and teach nothing). Forecasts for ``family="new"`` then add the
        between-family spread drawn from its prior, so they stay honest about
        how much a new family may differ.
        """
        if n_families > 1:
            return dict(self.pooling)
        return {p: ("complete" if m == "partial" else m) for p, m in self.pooling.items()}

    def _uses_runs(self, obs: Observations) -> bool:
        if self.run_effects and "run" not in obs.table:
            raise ValueError("run_effects=True needs a 'run' column in the observations (pass run='<column>')")
        return bool(self.run_effects)

    # ------------------------------------------------------------ building
    def inputs(self, obs: Observations) -> dict[str, np.ndarray]:
        """Log inputs the law reads, from the observations."""
        return {k: np.log(obs.column(k)) for k in self.law.inputs}

    def build(self, obs: Observations, *, fused: bool = False):
        """Build the PyMC model for these observations.

        Parameters
        ----------
        obs : Observations
            The runs to fit.
        fused : bool
            Write the likelihood as one fused term with a hand-written gradient
            where the model allows it (a law that declares
            ``fused_likelihood``, such as Chinchilla's, without run effects).
            Same free variables, priors and log density; nutpie samples this
            form. The default keeps the observed ``log_loss`` variable that
            prior predictive checks and PyMC's own sampler need.

        Returns
        -------
        pymc.Model
            With coords ``family`` and ``obs`` (and ``run`` with run effects).
        """
        import pymc as pm

        coords = self._coords(obs)
        with pm.Model(coords=coords) as model:
            pooling = self.effective_pooling(len(obs.families))
            theta = {p: self._family_parameter(p, pooling[p], self.parameter_forms(p, obs))
                     for p in self.law.params if p not in self.tied}
            theta.update({p: theta[src] for p, src in self.tied.items()})
            sigma = self._noise_scale(pooling["sigma"])
            if fused and self.fusable(obs):
                self._fused_likelihood(obs, theta, sigma)
            else:
                self._likelihood(obs, theta, sigma)
        return model

    def _noise_scale(self, mode: str):
        """Noise scale on log loss: one value, one per family, or per family partially pooled.

        Partial pooling is non-centred on the log scale: ``sigma_f = sigma *
        exp(sigma_tau * sigma_z_f)``, where ``sigma`` (the typical family's
        noise) keeps the prior of the complete-pooling model and ``sigma_tau``
        is the spread of log noise between families. A family with few runs
        takes the population's noise; a family with many (Chinchilla's 0.005,
        OPT's 0.012) keeps its own. The fused likelihood takes the per-family
        vector unchanged.
        """
        import pymc as pm
        import pytensor.tensor as pt

        if mode == "none":
            return self.priors["sigma"].create("sigma_family", dims="family")
        sigma = self.priors["sigma"].create("sigma")
        if mode == "complete":
            return sigma
        tau = self.priors["sigma_tau"].create("sigma_tau")
        z = pm.Normal("sigma_z", 0.0, 1.0, dims="family")
        return sigma * pt.exp(tau * z)

    def fusable(self, obs: Observations) -> bool:
        """Whether :meth:`build` can fuse the likelihood (the law declares ``fused_likelihood``; no run effects)."""
        return self.law.fused_likelihood is not None and not self._uses_runs(obs)

    def _likelihood(self, obs: Observations, theta: dict, sigma) -> None:
        import pymc as pm
        import pytensor.tensor as pt

        values = self._data_values(obs)
        fam = pm.Data("family_idx", values["family_idx"], dims="obs")
        x = {k: pm.Data(f"log_{k}", values[f"log_{k}"], dims="obs") for k in self.law.inputs}
        c = {k: pm.Data(f"centre_{k}", values[f"centre_{k}"]) for k in self.law.centred}
        mu = self.law.log_mean({p: v if v.ndim == 0 else v[fam] for p, v in theta.items()}, x, c, pt)
        if self._uses_runs(obs):
            run_idx = pm.Data("run_idx", values["run_idx"], dims="obs")
            sigma_run = self.priors["sigma_run"].create("sigma_run")
            z_run = pm.Normal("z_run", 0.0, 1.0, dims="run")
            mu = mu + sigma_run * z_run[run_idx]
        sigma = sigma if sigma.ndim == 0 else sigma[fam]
        y = pm.Data("log_loss_observed", values["log_loss_observed"], dims="obs")
        if self.likelihood == "student_t":
            pm.StudentT("log_loss", nu=STUDENT_T_NU, mu=mu, sigma=sigma, observed=y, dims="obs")
        else:
            pm.Normal("log_loss", mu=mu, sigma=sigma, observed=y, dims="obs")

    def _fused_likelihood(self, obs: Observations, theta: dict, sigma) -> None:
        import pymc as pm
        import pytensor.tensor as pt

        values = self._data_values(obs, fused=True)
        n_family = len(obs.families)
        data = {k: pm.Data(k, v) for k, v in values.items()}
        vectors = [theta[p] if theta[p].ndim == 1 else pt.alloc(theta[p], n_family) for p in self.law.params]
        sigma = sigma if sigma.ndim == 1 else pt.alloc(sigma, n_family)
        inputs = [data[f"log_{k}"] - data[f"centre_{k}"] if k in self.law.centred else data[f"log_{k}"]
                  for k in self.law.inputs]
        nu = STUDENT_T_NU if self.likelihood == "student_t" else 0.0
        loglik = self.law.fused_likelihood(nu)(
            *vectors, sigma, data["family_offsets"], *inputs, data["log_loss_observed"]
        )[0]
        pm.Potential("log_loss", loglik)

    def family_forms(self, obs: Observations) -> dict[str, str]:
        """Centred or non-centred effects for each family under ``parametrization="auto"``."""
        points = obs.table.drop_duplicates(["family", "params", "tokens"]).groupby("family").size()
        fixed = self.family_forms_fixed
        return {f: fixed.get(f) or ("centred" if points[f] >= self.centred_min_runs else "noncentred")
                for f in obs.families}

    def parameter_forms(self, p: str, obs: Observations) -> dict[str, str]:
        """The form of each family's effect for law parameter ``p``."""
        if self.parametrization[p] != "auto":
            return {f: self.parametrization[p] for f in obs.families}
        return self.family_forms(obs)

    def _family_parameter(self, p: str, mode: str, forms: dict[str, str]):
        """Parameter ``p``: a scalar (complete pooling) or one value per family."""
        import pymc as pm
        import pytensor.tensor as pt

        prior = self.priors[p]
        if mode == "complete":
            return prior.create(p)
        if mode == "none":
            return prior.create(f"{p}_family", dims="family")
        mu = prior.create(f"{p}_mu")
        tau = self.spread_prior_of(p).create(f"{p}_tau")
        families = list(forms)
        centred = [i for i, f in enumerate(families) if forms[f] == "centred"]
        if len(centred) == len(families):
            return pm.Normal(f"{p}_family", mu=mu, sigma=tau, dims="family")
        if not centred:
            z = pm.Normal(f"{p}_z", 0.0, 1.0, dims="family")
            return mu + tau * z
        # Mixed: data-rich families centred, sparse ones non-centred, in one vector.
        sparse = [i for i in range(len(families)) if i not in centred]
        rich = pm.Normal(f"{p}_family", mu=mu, sigma=tau, dims="family_centred")
        z = pm.Normal(f"{p}_z", 0.0, 1.0, dims="family_noncentred")
        vec = pt.zeros(len(families))
        vec = pt.set_subtensor(vec[np.array(centred)], rich)
        vec = pt.set_subtensor(vec[np.array(sparse)], mu + tau * z)
        return vec

    def spread_prior_of(self, p: str) -> Prior:
        """Prior on the between-family spread ``tau`` of parameter ``p``, with mean ``spread[p]``."""
        scale = self.spread[p]
        if self.spread_prior == "gamma":
            return Prior("Gamma", alpha=2.0, beta=2.0 / scale)
        if self.spread_prior == "lognormal":
            return Prior("LogNormal", mu=float(np.log(scale)), sigma=0.5)
        return Prior("HalfNormal", sigma=scale)

    def _data_values(self, obs: Observations, *, fused: bool = False) -> dict[str, np.ndarray]:
        logx = self.inputs(obs)
        values = {"family_idx": obs.family_index, "log_loss_observed": np.log(obs.column("loss"))}
        values.update({f"log_{k}": v for k, v in logx.items()})
        values.update({f"centre_{k}": np.asarray(v) for k, v in self.law.centres(logx).items()})
        if fused:
            from forecast.fused import sorted_runs

            # the fused likelihood reads each family's runs as one contiguous block
            order, values["family_offsets"] = sorted_runs(values.pop("family_idx"), len(obs.families))
            for k in ("log_loss_observed", *(f"log_{k}" for k in logx)):
                values[k] = values[k][order]
        elif self._uses_runs(obs):
            runs = list(dict.fromkeys(obs.table["run"]))
            values["run_idx"] = obs.table["run"].map({r: i for i, r in enumerate(runs)}).to_numpy(dtype=np.int64)
        return values

    def _structure_key(self, obs: Observations, *, fused: bool = False) -> str:
        # the fused likelihood reads the runs by offsets, so one compile serves any number of runs
        shape = {"fused": fused, "n_obs": None if fused else len(obs), "n_family": len(obs.families),
                 "forms": [self.family_forms(obs)[f] for f in obs.families],
                 "runs": (int(obs.table["run"].nunique()) if self._uses_runs(obs) else 0)}
        # the law by what it computes, not by its name (forecast.compile_cache)
        blob = json.dumps({"settings": self.settings(), "law": law_fingerprint(self.law), "shape": shape},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def compiled(self, obs: Observations, *, fused: bool = True):
        """nutpie-compiled model for these observations, reusing a cached compile when the structure matches.

        ``fused`` (default) compiles the fused likelihood where the model
        allows it (see :meth:`build`); the log density is the same. A cached
        model keeps the coordinates it was compiled with (nutpie has no public
        way to change them): :meth:`fit` labels the draws with this data's.
        """
        from forecast.disk_cache import compile_model

        fused = fused and self.fusable(obs)
        key = self._structure_key(obs, fused=fused)
        cached = COMPILED.get(key)
        if cached is not None:
            return cached.with_data(**self._data_values(obs, fused=fused)), True
        model = self.build(obs, fused=fused)
        compiled = compile_model(model, var_names=self._var_names(model))
        COMPILED.put(key, compiled)
        return compiled, False

    def _coords(self, obs: Observations) -> dict:
        """Named dimensions of the model for these observations (every family-indexed one)."""
        coords = {"family": obs.families, "obs": np.arange(len(obs))}
        forms = self.family_forms(obs)
        for form in ("centred", "noncentred"):
            coords[f"family_{form}"] = [f for f in obs.families if forms[f] == form]
        if self._uses_runs(obs):
            coords["run"] = list(dict.fromkeys(obs.table["run"]))
        return coords

    @staticmethod
    def _var_names(model) -> list[str]:
        return [v.name for v in model.free_RVs]

    # ------------------------------------------------------------- fitting
    def prior_predictive(self, obs: Observations, *, draws: int = 500, random_seed: int | None = None):
        """Draws of log loss at the observed inputs from the prior (a check that the priors make sense).

        Returns
        -------
        xarray.DataTree
            With ``prior`` and ``prior_predictive`` groups.
        """
        import pymc as pm

        with self.build(obs):
            return pm.sample_prior_predictive(draws=draws, random_seed=random_seed)

    def fit(
        self,
        obs: Observations,
        *,
        draws: int = SAMPLER.draws,
        tune: int = SAMPLER.tune,
        chains: int = SAMPLER.chains,
        random_seed: int | None = None,
        progressbar: bool = True,
        sampler: Literal["nutpie", "pymc"] = "nutpie",
        target_accept: float = SAMPLER.target_accept,
        adaptation: str = SAMPLER.adaptation,
        cores: int | None = None,
        warn: bool = True,
        retry: bool | None = None,
    ):
        """Sample the posterior.

        Parameters
        ----------
        obs : Observations
            The runs to fit.
        draws, tune, chains : int
            Kept draws and tuning steps per chain, and the number of chains.
        random_seed : int, optional
            Seed; one is drawn and recorded in the fit when not given.
        progressbar : bool
            Show the sampler's progress bar.
        sampler : {"nutpie", "pymc"}
            nutpie (default, compiled with numba and cached across fits of the
            same structure) or PyMC's own NUTS.
        target_accept : float
            Target acceptance rate of the step-size adaptation.
        adaptation : {"low_rank", "diag"}
            nutpie's mass-matrix adaptation. The default low-rank matrix learns
            the E vs A/alpha ridge within each family (about 30 leapfrog steps
            per draw instead of 100-650 with a diagonal one).
        cores : int, optional
            Chains run in parallel; defaults to ``min(chains, os.cpu_count())``.
        warn : bool
            Emit a :class:`forecast.ConvergenceWarning` if the fit fails the gate.
        retry : bool, optional
            If the fit fails the gate, sample once more with a stronger setting
            (:func:`retry_settings`: four times the draws, twice the tuning, and
            ``target_accept`` 0.99 after divergences) from the same seed, and
            keep that fit. The retry is logged (logger ``"forecast"``, level
            WARNING) and recorded in ``Fit.sampler_settings["retry"]`` with the
            first run's settings and problems; the gate then judges the second
            fit. Default (None): retry when
            :attr:`forecast.config.SamplerDefaults.retry` is on and the run is
            at least as long as the defaults (a run shortened on purpose is
            left as asked).

        Returns
        -------
        Fit
        """
        from forecast.fit import Fit

        if not isinstance(obs, Observations):
            raise TypeError(
                f"fit() takes forecast.Observations, got {type(obs).__name__}; "
                "wrap a DataFrame with forecast.Observations(df)"
            )
        if random_seed is None:
            random_seed = int(np.random.default_rng().integers(2**31 - 1))
        cores = cores or min(chains, os.cpu_count() or 1)
        start = time.perf_counter()
        cached = False
        if sampler == "nutpie":
            import nutpie

            compiled, cached = self.compiled(obs)
            compile_seconds = time.perf_counter() - start
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                idata = nutpie.sample(
                    compiled, draws=draws, tune=tune, chains=chains, cores=cores, seed=random_seed,
                    progress_bar=progressbar, target_accept=target_accept, save_warmup=False,
                    adaptation=adaptation, **_low_rank_settings(adaptation, compiled.n_dim),
                )
            idata = _label(idata, self._coords(obs))
        elif sampler == "pymc":
            import pymc as pm

            model = self.build(obs)
            compile_seconds = time.perf_counter() - start
            idata = pm.sample(
                model=model, draws=draws, tune=tune, chains=chains, cores=cores,
                random_seed=random_seed, progressbar=progressbar, target_accept=target_accept,
                compute_convergence_checks=False,
            )
        else:
            raise ValueError(f"sampler must be 'nutpie' or 'pymc', got {sampler!r}")
        seconds = time.perf_counter() - start
        sampler_settings = {
            "sampler": sampler, "draws": draws, "tune": tune, "chains": chains,
            "random_seed": int(random_seed), "target_accept": target_accept,
            "adaptation": adaptation if sampler == "nutpie" else "diag",
            **(_low_rank_settings(adaptation, compiled.n_dim) if sampler == "nutpie" else {}),
            # nutpie samples the fused likelihood where the model allows it (forecast.fused)
            "fused_likelihood": sampler == "nutpie" and self.fusable(obs),
            "seconds": round(seconds, 3), "compile_seconds": round(compile_seconds, 3),
            "compile_cached": cached,
        }
        fit = Fit(idata=idata, observations=obs, model=self, sampler_settings=sampler_settings)
        if retry is None:
            retry = SAMPLER.retry and draws >= SAMPLER.draws and tune >= SAMPLER.tune
        if retry and not fit.diagnostics().ok:
            fit = self._retry(fit, obs, progressbar=progressbar, sampler=sampler, adaptation=adaptation,
                              cores=cores)
        if warn:
            fit.diagnostics().warn_if_failed()
        return fit

    def _retry(self, first, obs: Observations, **options):
        """Refit once with :func:`retry_settings` (:func:`retry_once`), keeping the first run's compile time."""
        s = first.sampler_settings
        fit = retry_once(first, functools.partial(self.fit, obs, **options))
        # the first run's compile (the second reuses it)
        fit.sampler_settings.update(compile_seconds=s["compile_seconds"], compile_cached=s["compile_cached"])
        return fit


def retry_once(first, refit):
    """Sample a fit that failed the gate once more with :func:`retry_settings`; log it and record it.

    ``refit(**options)`` fits the same model to the same data (``ScalingModel.fit``
    or ``CapabilityModel.fit`` with its data bound); it is called with the first
    run's chains and seed, the stronger settings, ``warn=False`` and
    ``retry=False``. The returned fit's ``sampler_settings["retry"]`` holds the
    first run's settings and problems, and ``seconds`` covers both samplings.
    """
    s = first.sampler_settings
    problems = first.diagnostics().problems
    stronger = retry_settings(first.diagnostics(), draws=s["draws"], tune=s["tune"],
                              target_accept=s["target_accept"])
    _LOG.warning(
        "the fit failed the convergence gate (%s); sampling once more with draws=%d, tune=%d, "
        "target_accept=%g (recorded in the fit's sampler_settings['retry'])",
        "; ".join(problems), stronger["draws"], stronger["tune"], stronger["target_accept"],
    )
    fit = refit(chains=s["chains"], random_seed=s["random_seed"], warn=False, retry=False, **stronger)
    fit.sampler_settings["retry"] = {"first": {k: s[k] for k in ("draws", "tune", "target_accept")},
                                     "first_problems": problems}
    fit.sampler_settings["seconds"] = round(s["seconds"] + fit.sampler_settings["seconds"], 3)
    return fit


def retry_settings(diagnostics, *, draws: int, tune: int, target_accept: float) -> dict[str, float | int]:
    """The stronger sampler setting :meth:`ScalingModel.fit` retries a failed fit with.

    Fits that fail the gate at the defaults mostly have R-hat just above 1.01
    with bulk ESS near 400 and no divergence (simulation-based calibration,
    ``benchmarks/sbc.py``): the chains mix, slowly, along the curved ridge
    between a family's amplitude, exponent and E when its reducible loss is
    small. Four times the draws quadruples the ESS and steadies R-hat (twice
    left about one fit in 25 just above 1.01); twice the tuning gives the
    low-rank mass matrix more draws to learn the ridge. Divergences also raise
    ``target_accept`` to 0.99 (smaller steps).

    Examples
    --------
    >>> from forecast.fit import Diagnostics
    >>> d = Diagnostics(divergences=0, max_rhat=1.013, min_ess_bulk=350, min_ess_tail=500,
    ...                 min_bfmi=1.0, chains=4, draws=1000)
    >>> retry_settings(d, draws=1000, tune=1000, target_accept=0.97)
    {'draws': 4000, 'tune': 2000, 'target_accept': 0.97}
    """
    accept = max(target_accept, 0.99) if diagnostics.divergences > 0 else target_accept
    return {"draws": int(draws * SAMPLER.retry_draws_factor), "tune": int(tune * SAMPLER.retry_tune_factor),
            "target_accept": accept}
