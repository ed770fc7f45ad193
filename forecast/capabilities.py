r"""Benchmark scores against training compute, pooled across benchmarks and model families.

The model (:class:`CapabilityModel`) for the score of model ``i`` (family
``f``) on benchmark ``b``, with ``x_i = log10(C_i) - centre``:

.. math::

    x^{eff}_{ib} = x_i + \delta_f + e_{fb} + u_i, \qquad
    p_{ib} = c_b + (h_b - c_b)\,\mathrm{logistic}\big(a_b (x^{eff}_{ib} - m_b)\big)

* ``c_b`` the chance score (known), ``h_b = c_b + (1 - c_b)\,\mathrm{logistic}(k_b) \le 1``
  the ceiling, ``a_b`` the slope per decade of compute and ``m_b`` the midpoint
  (in decades from ``centre``); ``log a_b`` and ``m_b`` are partially pooled
  across benchmarks; ``k_b ~ Normal(3, 0.75)`` truncated at 1 each (ceilings near, not at, 1,
  and at least 73% of the way from chance to 1).
* ``delta_f ~ Normal(0, tau_delta)``: the family's compute efficiency, it
  scores as if trained with ``10**delta_f`` times its compute.
* ``e_fb = s z_fb - mean_b(s z_fb)``, ``z_fb ~ Normal(0, 1)``
  (``family_by_benchmark=True``): how much more (or less) efficient the family
  is on benchmark ``b`` than on its average benchmark (its data mix: a family
  trained on code gains on HumanEval); zero-sum over benchmarks so that
  ``delta_f`` stays the family's mean efficiency.
* ``u_i ~ Normal(0, sigma_u)`` (``latent=True``): a model's own capability,
  shared by all its benchmarks (item-response style, as in observational
  scaling laws), in decades of effective compute.
* Noise: ``score ~ Beta(p phi_b, (1 - p) phi_b)`` (scores clipped to
  ``[SCORE_CLIP, 1 - SCORE_CLIP]``) or, where ``n_items`` is known,
  ``right answers ~ BetaBinomial(n, p phi_b, (1 - p) phi_b)``.

A forecast with ``include_noise=False`` is the score of the family's typical
model (``u = 0``); with ``include_noise=True`` it is the score of one new model
(its own ``u`` and the benchmark's noise), which is what a held-out model scores.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import warnings
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from forecast.capability_data import BenchmarkScores
from forecast.config import DEFAULT_CI, INTERVAL_KIND, SAMPLER, check_ci, quantile_bounds
from forecast.fit import (
    CARD_ATTR,
    Diagnostics,
    FitFileError,
    _json_default,
    atomic_write,
    compute_diagnostics,
    interval_stats,
)

FORMAT_VERSION = 1
KIND = "capability"
FIT_DRAWS = 2000
FIT_TUNE = 500
FIT_TARGET_ACCEPT = 0.85
"""Default draws and tuning steps per chain and nutpie's target acceptance rate.

On the full ObsScaling fit (513 parameters) a tuning step costs several
times a draw (nutpie re-estimates the low-rank mass matrix while tuning; 1000
tuning steps took 103 CPU s, 700 took 69 s): 500 were enough for every seed
tried, and 2000 draws rather than 1000 keep R-hat clear of the gate (at 1000
one seed in five missed it, R-hat 1.0114) for about 7 s more
(``benchmarks/README.md``, ``bench_capabilities.py``). A fit that fails the
gate is sampled once more with :func:`forecast.model.retry_settings` (as
:meth:`forecast.ScalingModel.fit` does)."""
CENTRED_MIN_MODELS = 3
"""Families with at least this many models have their offset sampled centred, the others non-centred.

With ``family_by_benchmark`` every family is centred: on the ObsScaling backtest (4 chains x 500 draws) the
bulk ESS of ``family_tau`` was 258 with this split, 84 with all non-centred and 1279 with all centred."""
CENTRED_MIN_MODELS_BY_BENCHMARK = 1
""":data:`CENTRED_MIN_MODELS` for a model with ``family_by_benchmark=True``."""
SCORE_CLIP = 1e-3
LEGACY_SETTINGS: dict[str, Any] = {"family_benchmark_spread": "shared", "family_benchmark_zero_sum": False,
                                   "latent_loadings": False, "prior_slope_spread": 0.5, "prior_ceiling_lower": 0.0,
                                   "model_effects": "noncentred"}
"""Model settings added after format 1 was first written, at the values that reproduce the older fits."""
"""Scores are clipped to [SCORE_CLIP, 1 - SCORE_CLIP] for the beta likelihood (a 0 has no beta density)."""


def _logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def _family_benchmark_offset(sd, z, *, zero_sum: bool):
    """Family x benchmark offsets ``sd * z`` (``sd`` scalar or per benchmark, the last axis of ``z``).

    With ``zero_sum`` each family's offsets are centred over benchmarks, so the
    shared offset ``delta_f`` is the family's mean efficiency and the two do
    not trade off in the posterior.
    """
    e = sd * z
    if zero_sum:
        e = e - e.mean(axis=-1, keepdims=True)
    return e


# ------------------------------------------------------------------ the model
@dataclass(frozen=True)
class CapabilityModel:
    """Hierarchical model of benchmark score against log compute; see the module docstring for the maths.

    Parameters
    ----------
    latent : bool
        Give each model its own capability ``u_i`` shared by its benchmarks.
        The ObsScaling backtest (``benchmarks/bench_capabilities.py``) scores
        both variants on held-out models.
    prior_midpoint_sd, prior_slope_median : float
        Scale of the population priors: midpoints ~ Normal(0, sd) decades from
        the centre; slope median per decade.
    prior_ceiling_logit, prior_ceiling_sd : float
        Each benchmark's ceiling is ``chance + (1 - chance) logistic(k)`` with
        ``k ~ Normal(3, 0.75)`` truncated at ``prior_ceiling_lower`` (not pooled):
        90% prior mass from 85% to 98.6% of the way from chance to 1.
    prior_family_sd, prior_model_sd : float
        HalfNormal scales of the spread of family offsets and of model effects (decades).
    family_by_benchmark : bool
        Let a family's offset differ by benchmark around its shared offset
        (``delta_f + e_fb``, non-centred ``e_fb = sd_fb z_fb``): a family
        trained on code or maths is more efficient on HumanEval or GSM8K than
        on the rest. ``prior_family_benchmark_sd`` is the HalfNormal scale of
        ``sd_fb``. On by default: without it the ObsScaling backtest
        under-forecast GSM8K and HumanEval by 0.32 and 0.21 (a shared offset
        cannot carry a family's maths or code strength to its larger models)
        and the median lost to the per-benchmark point fit (``docs/capabilities.md``).
    prior_precision : float
        Median of the beta precision phi (sd of a score at 0.5 is ``0.5 / sqrt(1 + phi)``).

    Other Parameters
    ----------------
    family_benchmark_spread : {"shared", "per_benchmark"}
        One spread ``sd_fb`` for all benchmarks (default), or one per benchmark.
    family_benchmark_zero_sum : bool
        Centre each family's ``e_fb`` over benchmarks (default), so ``delta_f``
        is the family's mean efficiency and does not trade off with them.
    latent_loadings : bool
        Per-benchmark loadings on ``u_i`` (``exp(l_b)``, ``l_b`` zero-sum,
        item-response style). Off: on the ObsScaling backtest its chains did not
        agree (R-hat 1.5) and the median's error rose.
    prior_slope_spread : float
        HalfNormal scale of the spread of log slopes across benchmarks.
    prior_ceiling_lower : float
        Lower truncation of ``k``: 1 keeps every ceiling at least 73% of the way
        from chance to 1 (the prior's mass below is 0.4%). A benchmark still low
        in the data (MMLU below 1e23 FLOP) otherwise also fits as "saturating
        just above the best scores seen", a second mode the chains visit in turn.
    model_effects : {"centred", "noncentred"}
        How the per-model capabilities ``u_i ~ Normal(0, model_sd)`` are
        sampled. Centred (default): each model has up to eight scores, enough to
        pin its ``u_i``, and on the full ObsScaling fit (4 x 1000 draws) the
        bulk ESS of ``model_sd`` was 1576 against 230 non-centred.

    Examples
    --------
    >>> import forecast as fc
    >>> fit = fc.CapabilityModel().fit(fc.load_obsscaling(), random_seed=1)   # doctest: +SKIP
    >>> fit.predict(flops=[1e25, 1e26], family="new").table()                 # doctest: +SKIP
    """

    latent: bool = True
    prior_midpoint_sd: float = 2.0
    prior_slope_median: float = 1.0
    prior_ceiling_logit: float = 3.0
    prior_ceiling_sd: float = 0.75
    prior_family_sd: float = 0.5
    prior_model_sd: float = 0.3
    family_by_benchmark: bool = True
    prior_family_benchmark_sd: float = 0.3
    prior_precision: float = 50.0
    _: KW_ONLY
    family_benchmark_spread: Literal["shared", "per_benchmark"] = "shared"
    family_benchmark_zero_sum: bool = True
    latent_loadings: bool = False
    prior_slope_spread: float = 0.5
    prior_ceiling_lower: float = 1.0
    model_effects: Literal["centred", "noncentred"] = "centred"

    def __post_init__(self) -> None:
        if self.family_benchmark_spread not in ("shared", "per_benchmark"):
            raise ValueError(f"family_benchmark_spread must be 'shared' or 'per_benchmark', "
                             f"got {self.family_benchmark_spread!r}")
        if self.model_effects not in ("centred", "noncentred"):
            raise ValueError(f"model_effects must be 'centred' or 'noncentred', got {self.model_effects!r}")
        if not self.prior_ceiling_lower < self.prior_ceiling_logit:
            raise ValueError(f"prior_ceiling_lower ({self.prior_ceiling_lower}) must lie below "
                             f"prior_ceiling_logit ({self.prior_ceiling_logit})")

    def settings(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> CapabilityModel:
        """The model of a saved card; settings the card lacks take the values of the version that saved it."""
        return cls(**{**LEGACY_SETTINGS, **settings})

    # ------------------------------------------------------------ data
    @staticmethod
    def _arrays(scores: BenchmarkScores, centre: float) -> dict[str, np.ndarray]:
        t = scores.table
        models, fams, benches = scores.models, scores.families, scores.benchmarks
        model_flops = t.drop_duplicates("model").set_index("model")["flops"].reindex(models)
        model_family = t.drop_duplicates("model").set_index("model")["family"].reindex(models)
        n = t["n_items"].to_numpy(dtype=float)
        return {
            "x_model": np.log10(model_flops.to_numpy(dtype=float)) - centre,
            "family_of_model": model_family.map({f: i for i, f in enumerate(fams)}).to_numpy(np.int64),
            "model_idx": t["model"].map({m: i for i, m in enumerate(models)}).to_numpy(np.int64),
            "bench_idx": t["benchmark"].map({b: i for i, b in enumerate(benches)}).to_numpy(np.int64),
            "chance": np.array([scores.chance[b] for b in benches]),
            "score": t["score"].to_numpy(dtype=float),
            "n_items": n,
            "models_per_family": np.bincount(
                model_family.map({f: i for i, f in enumerate(fams)}).to_numpy(np.int64), minlength=len(fams)),
        }

    @staticmethod
    def centre_of(scores: BenchmarkScores) -> float:
        """Mean log10 training FLOP of the models (the x origin)."""
        return float(np.log10(scores.table.drop_duplicates("model")["flops"]).mean())

    def build(self, scores: BenchmarkScores, *, centre: float | None = None):
        """The PyMC model for these scores (coords ``benchmark``, ``family``, ``model``)."""
        import pymc as pm
        import pytensor.tensor as pt

        centre = self.centre_of(scores) if centre is None else centre
        d = self._arrays(scores, centre)
        min_models = CENTRED_MIN_MODELS_BY_BENCHMARK if self.family_by_benchmark else CENTRED_MIN_MODELS
        rich = [f for f, n in zip(scores.families, d["models_per_family"], strict=True) if n >= min_models]
        coords = {"benchmark": scores.benchmarks, "family": scores.families, "model": scores.models,
                  "family_centred": rich, "family_noncentred": [f for f in scores.families if f not in rich]}
        with pm.Model(coords=coords) as model:
            # benchmark-level parameters are centred: each benchmark has ~100 scores (non-centred
            # versions of these gave divergences and R-hat 1.03 on the ObsScaling table)
            mid_mu = pm.Normal("midpoint_mu", 0.0, self.prior_midpoint_sd)
            mid_tau = pm.HalfNormal("midpoint_tau", 1.5)
            mid = pm.Normal("midpoint", mid_mu, mid_tau, dims="benchmark")
            lslope_mu = pm.Normal("log_slope_mu", float(np.log(self.prior_slope_median)), 1.0)
            lslope_tau = pm.HalfNormal("log_slope_tau", self.prior_slope_spread)
            log_slope = pm.Normal("log_slope", lslope_mu, lslope_tau, dims="benchmark")
            # ceilings are not pooled: a benchmark that still rises in the data says little about its
            # ceiling, and pooling with benchmarks that look saturated pulled every ceiling down (the
            # ObsScaling backtest under-predicted MMLU by 0.17 with pooled ceilings)
            # truncated at 0 (a ceiling at least halfway from chance to 1): the Normal prior puts 3e-5 of
            # its mass below, but a benchmark that stays flat in the data (TruthfulQA) otherwise has a
            # second mode "saturated at a ceiling near chance" that the chains visit in turn
            ceil_logit = pm.TruncatedNormal("ceiling_logit", self.prior_ceiling_logit, self.prior_ceiling_sd,
                                            lower=self.prior_ceiling_lower, dims="benchmark")
            fam_tau = pm.HalfNormal("family_tau", self.prior_family_sd)
            # families with several models are centred, the others non-centred (as forecast.model does)
            rich = np.array([n >= min_models for n in d["models_per_family"]])
            offset = pt.zeros(len(scores.families))
            if rich.any():
                fam_c = pm.Normal("family_offset_centred", 0.0, fam_tau, dims="family_centred")
                offset = pt.set_subtensor(offset[np.flatnonzero(rich)], fam_c)
            if (~rich).any():
                fam_z = pm.Normal("family_z", 0.0, 1.0, dims="family_noncentred")
                offset = pt.set_subtensor(offset[np.flatnonzero(~rich)], fam_tau * fam_z)
            log_phi = pm.Normal("log_precision", float(np.log(self.prior_precision)), 1.0, dims="benchmark")

            chance = pt.as_tensor(d["chance"])
            slope = pt.exp(log_slope)
            ceiling = chance + (1.0 - chance) * pm.math.sigmoid(ceil_logit)
            x_eff = pt.as_tensor(d["x_model"]) + offset[d["family_of_model"]]
            b = d["bench_idx"]
            x_row = x_eff[d["model_idx"]]
            if self.latent:
                model_sd = pm.HalfNormal("model_sd", self.prior_model_sd)
                if self.model_effects == "centred":
                    u = pm.Normal("model_effect", 0.0, model_sd, dims="model")
                else:
                    u = model_sd * pm.Normal("model_z", 0.0, 1.0, dims="model")
                u_row = u[d["model_idx"]]
                if self.latent_loadings:
                    # item-response loadings: a model's own capability counts more on some benchmarks;
                    # log loadings sum to zero so model_sd stays the spread of the typical benchmark
                    loading = pt.exp(pm.ZeroSumNormal("log_loading", sigma=0.5, dims="benchmark"))
                    u_row = u_row * loading[b]
                x_row = x_row + u_row
            if self.family_by_benchmark:
                shape = () if self.family_benchmark_spread == "shared" else "benchmark"
                fb_sd = pm.HalfNormal("family_benchmark_sd", self.prior_family_benchmark_sd,
                                      dims=None if shape == () else shape)
                fb_z = pm.Normal("family_benchmark_z", 0.0, 1.0, dims=("family", "benchmark"))
                fb = _family_benchmark_offset(fb_sd, fb_z, zero_sum=self.family_benchmark_zero_sum)
                x_row = x_row + fb[d["family_of_model"][d["model_idx"]], b]
            p = chance[b] + (ceiling - chance)[b] * pm.math.sigmoid(slope[b] * (x_row - mid[b]))
            p = pt.clip(p, 1e-6, 1 - 1e-6)
            phi = pt.exp(log_phi)[b]
            known = np.isfinite(d["n_items"])
            if (~known).any():
                y = np.clip(d["score"][~known], SCORE_CLIP, 1 - SCORE_CLIP)
                pm.Beta("score_obs", alpha=p[~known] * phi[~known], beta=(1 - p[~known]) * phi[~known],
                        observed=y)
            if known.any():
                n = d["n_items"][known].astype(np.int64)
                k = np.round(d["score"][known] * n).astype(np.int64)
                pm.BetaBinomial("right_obs", n=n, alpha=p[known] * phi[known],
                                beta=(1 - p[known]) * phi[known], observed=k)
        return model

    # ------------------------------------------------------------- fit
    def fit(
        self,
        scores: BenchmarkScores,
        *,
        draws: int = FIT_DRAWS,
        tune: int = FIT_TUNE,
        chains: int = SAMPLER.chains,
        random_seed: int | None = None,
        progressbar: bool = True,
        target_accept: float = FIT_TARGET_ACCEPT,
        cores: int | None = None,
        warn: bool = True,
        retry: bool | None = None,
    ) -> CapabilityFit:
        """Sample the posterior with nutpie (low-rank mass matrix) and return a :class:`CapabilityFit`.

        Defaults: 4 chains x 2000 draws after 500 tuning steps, target
        acceptance 0.85 (:data:`FIT_DRAWS`, :data:`FIT_TUNE`,
        :data:`FIT_TARGET_ACCEPT`).

        ``retry``: when the fit fails the convergence gate
        (:data:`forecast.GATE`), sample once more with four times the draws and
        twice the tuning (:func:`forecast.model.retry_settings`), log it
        (logger ``"forecast"``) and record the first run's problems in
        ``sampler_settings["retry"]``. Default (None): retry when
        ``SamplerDefaults.retry`` is on and the run is at least as long as the
        defaults. A fit that still fails emits a
        :class:`forecast.ConvergenceWarning` (unless ``warn=False``) and says
        so in :meth:`CapabilityFit.summary`.

        Examples
        --------
        >>> fit = fc.CapabilityModel().fit(scores, random_seed=1, progressbar=False)   # doctest: +SKIP
        """
        import nutpie

        from forecast.disk_cache import compile_model
        from forecast.model import _low_rank_settings, retry_once

        if not isinstance(scores, BenchmarkScores):
            raise TypeError(f"fit() takes forecast.BenchmarkScores, got {type(scores).__name__}; "
                            "wrap a DataFrame with forecast.BenchmarkScores(df)")
        if random_seed is None:
            random_seed = int(np.random.default_rng().integers(2**31 - 1))
        cores = cores or min(chains, os.cpu_count() or 1)
        start = time.perf_counter()
        centre = self.centre_of(scores)
        model = self.build(scores, centre=centre)
        compiled = compile_model(model, var_names=[v.name for v in model.free_RVs])
        compile_seconds = time.perf_counter() - start
        low_rank = _low_rank_settings("low_rank", compiled.n_dim)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=cores,
                                  seed=random_seed, progress_bar=progressbar, target_accept=target_accept,
                                  save_warmup=False, adaptation="low_rank", **low_rank)
        settings = {"sampler": "nutpie", "draws": draws, "tune": tune, "chains": chains,
                    "random_seed": int(random_seed), "target_accept": target_accept,
                    "adaptation": "low_rank", **low_rank,
                    "seconds": round(time.perf_counter() - start, 3), "compile_seconds": round(compile_seconds, 3)}
        groups = {"/posterior": idata["posterior"].to_dataset()}
        if "sample_stats" in idata:
            groups["/sample_stats"] = idata["sample_stats"].to_dataset()
        fit = CapabilityFit(xr.DataTree.from_dict(groups), scores, self, settings, centre=centre)
        if retry is None:
            retry = SAMPLER.retry and draws >= FIT_DRAWS and tune >= FIT_TUNE
        if retry and not fit.diagnostics().ok:
            fit = retry_once(fit, functools.partial(self.fit, scores, progressbar=progressbar, cores=cores))
        if warn:
            fit.diagnostics().warn_if_failed()
        return fit


# --------------------------------------------------------------- the fit
class CapabilityFit:
    """A fitted :class:`CapabilityModel`: posterior, data, settings; forecasts and answers hang off it.

    Examples
    --------
    >>> fit.summary().query("parameter == 'ceiling'")            # doctest: +SKIP
    >>> fit.predict(flops=[1e25], family="new").table()          # doctest: +SKIP
    >>> fit.compute_to_reach(0.8, benchmark="MMLU")              # doctest: +SKIP
    >>> fit.family_offsets()                                     # doctest: +SKIP
    """

    def __init__(self, idata: xr.DataTree, scores: BenchmarkScores, model: CapabilityModel,
                 sampler_settings: dict[str, Any], *, centre: float) -> None:
        self.idata = idata
        self.scores = scores
        self.model = model
        self.sampler_settings = dict(sampler_settings)
        self.centre = float(centre)
        self._diagnostics: Diagnostics | None = None

    # ---------------------------------------------------------- accessors
    @property
    def posterior(self) -> xr.Dataset:
        return self.idata["posterior"].to_dataset()

    @property
    def benchmarks(self) -> list[str]:
        return self.scores.benchmarks

    @property
    def families(self) -> list[str]:
        return self.scores.families

    @property
    def id(self) -> str:
        """Stable id: a hash of the model settings, sampler settings and data."""
        blob = json.dumps({"model": self.model.settings(), "data": self.scores.hash(),
                           "sampler": {k: v for k, v in self.sampler_settings.items()
                                       if k not in ("seconds", "compile_seconds")}}, sort_keys=True,
                          default=_json_default)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def diagnostics(self) -> Diagnostics:
        """R-hat, bulk/tail ESS, divergences and E-BFMI with the gate's verdict (as :meth:`forecast.Fit.diagnostics`)."""
        if self._diagnostics is None:
            stats = self.idata["sample_stats"].to_dataset() if "sample_stats" in self.idata else None
            self._diagnostics = compute_diagnostics(self.posterior, stats)
        return self._diagnostics

    def __repr__(self) -> str:
        d = self.diagnostics()
        return (f"CapabilityFit({len(self.scores)} scores, {len(self.scores.models)} models, "
                f"{len(self.families)} families, {len(self.benchmarks)} benchmarks, "
                f"{d.chains}x{d.draws} draws, gate {'PASS' if d.ok else 'FAIL'})")

    # ------------------------------------------------- derived parameters
    def parameters(self) -> xr.Dataset:
        """Parameters in the user's units over ``(chain, draw[, benchmark | family])``.

        ``slope`` (per decade of compute), ``midpoint`` (log10 FLOP at which the
        typical family is halfway from chance to ceiling), ``ceiling``,
        ``precision``, ``chance``, ``family_offset`` (decades of compute) and,
        with ``latent=True``, ``model_sd``.
        """
        post = self.posterior
        chance = xr.DataArray([self.scores.chance[b] for b in self.benchmarks], dims="benchmark",
                              coords={"benchmark": self.benchmarks})
        out = {
            "midpoint": post["midpoint"] + self.centre,
            "slope": np.exp(post["log_slope"]),
            "ceiling": chance + (1 - chance) * _logistic(post["ceiling_logit"]),
            "precision": np.exp(post["log_precision"]),
            "family_offset": self._family_offsets(post),
            "family_tau": post["family_tau"],
            "chance": chance,
        }
        if "model_sd" in post:
            out["model_sd"] = post["model_sd"]
        if "log_loading" in post:
            out["loading"] = np.exp(post["log_loading"])
        if "family_benchmark_sd" in post:
            sd, z = post["family_benchmark_sd"], post["family_benchmark_z"]
            out["family_benchmark_sd"] = sd
            e = sd * z
            if self.model.family_benchmark_zero_sum:
                e = e - e.mean("benchmark")
            out["family_benchmark_offset"] = e.transpose("chain", "draw", "family", "benchmark")
        ds = xr.Dataset(out)
        return ds.assign_coords(benchmark=self.benchmarks, family=self.families)

    def _family_offsets(self, post: xr.Dataset) -> xr.DataArray:
        parts = []
        if "family_offset_centred" in post:
            parts.append(post["family_offset_centred"].rename(family_centred="family"))
        if "family_z" in post:
            z = post["family_z"]
            parts.append((post["family_tau"] * z).rename(family_noncentred="family") if "family_noncentred" in z.dims
                         else post["family_tau"] * z)
        out = xr.concat(parts, dim="family") if len(parts) > 1 else parts[0]
        return out.sel(family=self.families).transpose("chain", "draw", "family")

    def _flat(self) -> dict[str, np.ndarray]:
        """Parameters as numpy arrays over samples (chain x draw flattened) first."""
        ds = self.parameters()
        out = {}
        for k, da in ds.data_vars.items():
            if "chain" in da.dims:
                da = da.stack(sample=("chain", "draw")).transpose("sample", ...)
            out[k] = np.asarray(da.values, dtype=float)
        return out

    def summary(self, ci: float = DEFAULT_CI) -> pd.DataFrame:
        """Posterior summary: per benchmark slope, midpoint, ceiling, precision; per family offset; spreads.

        Returns
        -------
        pandas.DataFrame
            Columns ``parameter, group, mean, sd, median, lower, upper, r_hat,
            ess_bulk``; ``group`` is the benchmark, the family or
            ``"population"``. ``attrs`` hold ``ci``, ``interval`` and the
            diagnostics; a fit that fails the gate warns on every call.
        """
        import arviz as az

        ds = self.parameters().drop_vars(["chance", "family_benchmark_offset"], errors="ignore")
        rows = []
        for name, da in ds.data_vars.items():
            rhat, ess = az.rhat(da), az.ess(da, method="bulk")
            stats = interval_stats(da, ci)
            groups = [d for d in da.dims if d not in ("chain", "draw")]
            labels = list(da[groups[0]].values) if groups else ["population"]
            for lab in labels:
                sel = {groups[0]: lab} if groups else {}
                rows.append({"parameter": name, "group": str(lab),
                             **{k: float(v.sel(sel)) for k, v in stats.items()},
                             "r_hat": float(rhat.sel(sel)), "ess_bulk": float(ess.sel(sel))})
        df = pd.DataFrame(rows)
        diag = self.diagnostics()
        df.attrs.update({"ci": ci, "interval": INTERVAL_KIND, "diagnostics_ok": diag.ok,
                         "diagnostics": repr(diag)})
        diag.warn_if_failed(stacklevel=3)
        return df

    # ----------------------------------------------------------- forecasts
    def _check_benchmarks(self, benchmark) -> list[str]:
        if benchmark is None:
            return list(self.benchmarks)
        names = [benchmark] if isinstance(benchmark, str) else list(benchmark)
        unknown = [b for b in names if b not in self.benchmarks]
        if unknown:
            raise ValueError(f"unknown benchmark {unknown[0]!r}; fitted benchmarks: {', '.join(self.benchmarks)}")
        return names

    def _check_family(self, family: str) -> str:
        if family != "new" and family not in self.families:
            raise ValueError(f"unknown family {family!r}; fitted families: {', '.join(self.families)} "
                             "(or 'new' for a family not seen)")
        return family

    def _offset_draws(self, family: str, bidx: np.ndarray, p: dict[str, np.ndarray], rng: np.random.Generator,
                      cache: dict) -> np.ndarray:
        """Effective-compute offset (decades) of ``family`` on benchmarks ``bidx``, shape ``(samples, len(bidx))``.

        A family not fitted draws its shared offset and, per benchmark, its
        benchmark-specific part from the population, once per name (``cache``).
        """
        s = p["family_tau"].shape[0]
        if family in self.families:
            f = self.families.index(family)
            out = np.repeat(p["family_offset"][:, f][:, None], len(bidx), axis=1)
            if "family_benchmark_offset" in p:
                out = out + p["family_benchmark_offset"][:, f, :][:, bidx]
            return out
        if family not in cache:
            shared = p["family_tau"] * rng.standard_normal(s)
            per = np.zeros((s, len(self.benchmarks)))
            if "family_benchmark_sd" in p:
                sd = p["family_benchmark_sd"]
                per = _family_benchmark_offset(sd if sd.ndim == 2 else sd[:, None],
                                               rng.standard_normal((s, len(self.benchmarks))),
                                               zero_sum=self.model.family_benchmark_zero_sum)
            cache[family] = shared[:, None] + per
        return cache[family][:, bidx]

    def score_draws(self, flops, family, benchmark, *, model_key=None, include_noise: bool = True,
                    random_seed: int | None = 0) -> np.ndarray:
        """Posterior predictive scores at rows ``(flops, family, benchmark)``, shape ``(samples, rows)``.

        A family not fitted (or ``"new"``) draws its offset from the population,
        one draw per distinct name. With noise, rows that share ``model_key``
        (default: the same flops and family) share one model effect ``u``.
        """
        rng = np.random.default_rng(random_seed)
        p = self._flat()
        flops = np.atleast_1d(np.asarray(flops, dtype=float))
        fam = np.broadcast_to(np.asarray(family, dtype=object), flops.shape)
        bench = np.broadcast_to(np.asarray(benchmark, dtype=object), flops.shape)
        s = p["slope"].shape[0]
        bidx = np.array([self.benchmarks.index(b) for b in bench])
        delta = np.empty((s, flops.size))
        cache: dict[str, np.ndarray] = {}
        for f in dict.fromkeys(fam):
            cols = np.flatnonzero(fam == f)
            delta[:, cols] = self._offset_draws(f, bidx[cols], p, rng, cache)
        x = np.log10(flops)[None, :] - self.centre + delta
        if include_noise and "model_sd" in p:
            keys = (list(zip(flops, fam, strict=True)) if model_key is None
                    else list(np.broadcast_to(np.asarray(model_key, dtype=object), flops.shape)))
            codes = {k: i for i, k in enumerate(dict.fromkeys(keys))}
            u = p["model_sd"][:, None] * rng.standard_normal((s, len(codes)))
            u = u[:, [codes[k] for k in keys]]
            x = x + (u * p["loading"][:, bidx] if "loading" in p else u)
        chance = p["chance"][bidx][None, :]
        mean = chance + (p["ceiling"][:, bidx] - chance) * _logistic(
            p["slope"][:, bidx] * (x - (p["midpoint"][:, bidx] - self.centre)))
        if not include_noise:
            return mean
        mean = np.clip(mean, 1e-6, 1 - 1e-6)
        phi = p["precision"][:, bidx]
        q = rng.beta(mean * phi, (1 - mean) * phi)
        n_items = self.scores.table.groupby("benchmark")["n_items"].median()
        for j, b in enumerate(bench):
            n = n_items.get(b, np.nan)
            if np.isfinite(n):
                q[:, j] = rng.binomial(int(n), q[:, j]) / int(n)
        return q

    def predict(self, flops, *, family: str = "new", benchmark: str | list[str] | None = None,
                include_noise: bool = False, random_seed: int | None = 0) -> CapabilityForecast:
        """Forecast scores of every (or the given) benchmark at training compute ``flops``.

        Parameters
        ----------
        flops : float or array
            Training compute in FLOP.
        family : str
            A fitted family, or ``"new"`` (a family not seen: its offset drawn from the population).
        benchmark : str or list, optional
            Benchmarks to forecast (default: all fitted).
        include_noise : bool
            False: the score of the family's typical model. True: the score one
            new model would get (its own capability and the benchmark's noise).

        Examples
        --------
        >>> fit.predict(flops=[1e25, 1e26], family="Llama-2", benchmark="MMLU").table()   # doctest: +SKIP
        """
        names = self._check_benchmarks(benchmark)
        family = self._check_family(family)
        flops = np.atleast_1d(np.asarray(flops, dtype=float))
        if not np.all(np.isfinite(flops) & (flops > 0)):
            raise ValueError("flops must be positive finite training compute in FLOP, e.g. [1e25, 1e26]")
        ff, bb = np.meshgrid(flops, np.array(names, dtype=object), indexing="xy")
        draws = self.score_draws(ff.ravel(), family, bb.ravel(), model_key=ff.ravel(),
                                 include_noise=include_noise, random_seed=random_seed)
        da = xr.DataArray(draws.reshape(-1, len(names), len(flops)), dims=("sample", "benchmark", "flops"),
                          coords={"benchmark": names, "flops": flops}, name="score")
        return CapabilityForecast(da, family=family, include_noise=include_noise)

    # ------------------------------------------------------------- answers
    def compute_to_reach(self, score: float, *, benchmark: str | list[str] | None = None,
                         family: str = "new", ci: float = DEFAULT_CI) -> pd.DataFrame:
        """Training compute at which the family's typical model reaches ``score``, per benchmark.

        Per posterior draw the sigmoid is inverted; a draw whose ceiling is at
        or below ``score`` never reaches it (compute = inf).

        Returns
        -------
        pandas.DataFrame
            ``benchmark, family, score, p_reachable, median, lower, upper, ci``
            (FLOP; quantiles over all draws, so ``upper`` is inf when more than
            ``(1 - ci) / 2`` of the draws never reach the score) and
            ``median_if_reachable``.

        Examples
        --------
        >>> fit.compute_to_reach(0.8, benchmark="MMLU", family="new")   # doctest: +SKIP
        """
        if not 0.0 <= float(score) <= 1.0:
            raise ValueError(f"score must be a fraction in [0, 1], got {score!r}")
        names = self._check_benchmarks(benchmark)
        family = self._check_family(family)
        lo, hi = quantile_bounds(ci)
        p = self._flat()
        bidx = np.array([self.benchmarks.index(b) for b in names])
        offsets = self._offset_draws(family, bidx, p, np.random.default_rng(0), {})
        rows = []
        for k, b in enumerate(names):
            j = bidx[k]
            delta = offsets[:, k]
            c, h = p["chance"][j], p["ceiling"][:, j]
            frac = (score - c) / (h - c)
            with np.errstate(divide="ignore", invalid="ignore"):
                logc = p["midpoint"][:, j] - delta + np.log(frac / (1 - frac)) / p["slope"][:, j]
            logc = np.where(frac >= 1, np.inf, np.where(frac <= 0, -np.inf, logc))
            reach = np.isfinite(logc) | (frac <= 0)
            q = np.quantile(logc, [lo, 0.5, hi], method="inverted_cdf")
            rows.append({"benchmark": b, "family": family, "score": float(score),
                         "p_reachable": float(reach.mean()),
                         "median": 10 ** q[1], "lower": 10 ** q[0], "upper": 10 ** q[2], "ci": ci,
                         "median_if_reachable": float(10 ** np.median(logc[reach])) if reach.any() else np.inf})
        df = pd.DataFrame(rows)
        df.attrs.update({"what": "training FLOP at which the family's typical model reaches the score",
                         "interval": INTERVAL_KIND})
        return df

    def prob_by_year(self, score: float, *, benchmark: str | list[str] | None = None, scenario=None,
                     years=None, family: str = "new", include_noise: bool = True,
                     random_seed: int = 0) -> pd.DataFrame:
        """P(a frontier model scores >= ``score``) by year, under a compute scenario.

        The frontier model of year ``y`` is trained with ``compute *
        compute_growth ** (y - base_year)`` FLOP from a
        :class:`forecast.Scenario` (default :meth:`Scenario.epoch2024`); each
        posterior draw is paired with one scenario draw.

        Returns
        -------
        pandas.DataFrame
            ``year, benchmark, family, flops_median, probability, includes_noise``.

        Examples
        --------
        >>> fit.prob_by_year(0.9, benchmark="MMLU", years=range(2024, 2031))   # doctest: +SKIP
        """
        from forecast.scenarios import Scenario

        scenario = Scenario.epoch2024() if scenario is None else scenario
        names = self._check_benchmarks(benchmark)
        family = self._check_family(family)
        years = np.arange(scenario.base_year, scenario.base_year + 8) if years is None else np.asarray(list(years))
        n = self._flat()["slope"].shape[0]
        sc = scenario.sample(n, random_seed=random_seed)
        compute = np.broadcast_to(np.asarray(sc["compute"].values, dtype=float), (n,))
        growth = np.broadcast_to(np.asarray(sc["compute_growth"].values, dtype=float), (n,))
        rows = []
        for y in years:
            flops = compute * growth ** (int(y) - scenario.base_year)  # (n,)
            for b in names:
                draws = self._paired_draws(flops, family, b, include_noise=include_noise,
                                           random_seed=random_seed + int(y))
                rows.append({"year": int(y), "benchmark": b, "family": family,
                             "flops_median": float(np.median(flops)),
                             "probability": float(np.mean(draws >= score)), "includes_noise": include_noise})
        return pd.DataFrame(rows)

    def _paired_draws(self, flops_per_sample, family, benchmark, *, include_noise, random_seed):
        """Score draws where posterior sample ``i`` is evaluated at ``flops_per_sample[i]``."""
        p = self._flat()
        rng = np.random.default_rng(random_seed)
        j = self.benchmarks.index(benchmark)
        s = p["slope"].shape[0]
        delta = self._offset_draws(family, np.array([j]), p, rng, {})[:, 0]
        x = np.log10(flops_per_sample) - self.centre + delta
        if include_noise and "model_sd" in p:
            x = x + p["model_sd"] * rng.standard_normal(s) * (p["loading"][:, j] if "loading" in p else 1.0)
        c = p["chance"][j]
        mean = c + (p["ceiling"][:, j] - c) * _logistic(p["slope"][:, j] * (x - (p["midpoint"][:, j] - self.centre)))
        if not include_noise:
            return mean
        mean = np.clip(mean, 1e-6, 1 - 1e-6)
        return rng.beta(mean * p["precision"][:, j], (1 - mean) * p["precision"][:, j])

    def family_offsets(self, ci: float = DEFAULT_CI) -> pd.DataFrame:
        """Compute-efficiency offsets of the families, ranked (most efficient first).

        ``median`` etc. are decades of compute: the family scores as if
        trained with ``10**offset`` times its compute (``factor`` = 10**median).

        Examples
        --------
        >>> fit.family_offsets().head()   # doctest: +SKIP
        """
        lo, hi = quantile_bounds(ci)
        p = self._flat()["family_offset"]
        t = self.scores.table.drop_duplicates("model")
        counts = t.groupby("family").size()
        biggest = t.groupby("family")["flops"].max()
        q = np.quantile(p, [lo, 0.5, hi], axis=0)
        df = pd.DataFrame({"family": self.families, "n_models": [int(counts[f]) for f in self.families],
                           "max_flops": [float(biggest[f]) for f in self.families],
                           "mean": p.mean(0), "median": q[1], "lower": q[0], "upper": q[2], "ci": ci,
                           "factor": 10 ** q[1], "p_positive": (p > 0).mean(0)})
        df = df.sort_values("median", ascending=False).reset_index(drop=True)
        df.insert(0, "rank", np.arange(1, len(df) + 1))
        df.attrs.update({"units": "decades of training compute", "interval": INTERVAL_KIND})
        return df

    # ---------------------------------------------------------- save/load
    def card(self) -> dict[str, Any]:
        """The JSON card saved with the fit."""
        from forecast import __version__

        return {"kind": KIND, "format_version": FORMAT_VERSION, "forecast_version": __version__,
                "id": self.id, "model": self.model.settings(), "sampler": self.sampler_settings,
                "diagnostics": self.diagnostics().to_dict(), "centre": self.centre,
                "data": {"rows": len(self.scores), "models": len(self.scores.models),
                         "families": self.families, "benchmarks": self.benchmarks,
                         "hash": self.scores.hash(), "source": self.scores.source}}

    def save(self, path: str | os.PathLike) -> Path:
        """Save to NetCDF (posterior, sample stats, the scores) plus a JSON card beside it, atomically.

        Examples
        --------
        >>> fit.save("models/capabilities.nc"); fit = fc.load_capability_fit("models/capabilities.nc")  # doctest: +SKIP
        """
        path = Path(path)
        if path.suffix != ".nc":
            raise ValueError(f"save path must end in .nc (got {path.name!r}); the JSON card goes beside it")
        path.parent.mkdir(parents=True, exist_ok=True)
        t = self.scores.table
        data = xr.Dataset({c: ("row", t[c].to_numpy(dtype=str if c in ("model", "family", "benchmark") else float))
                           for c in t}, coords={"row": np.arange(len(t))})
        groups = {"/posterior": self.posterior, "/fit_data": data}
        if "sample_stats" in self.idata:
            stats = self.idata["sample_stats"].to_dataset()
            groups["/sample_stats"] = stats.drop_vars([v for v, da in stats.data_vars.items() if da.dtype == object])
        tree = xr.DataTree.from_dict(groups)
        card = self.card()
        tree.attrs[CARD_ATTR] = json.dumps(card, default=_json_default)
        atomic_write(path, lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"))
        text = json.dumps(card, indent=2, default=_json_default)
        atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(text))
        return path


def load_capability_fit(path: str | os.PathLike) -> CapabilityFit:
    """Load a fit saved with :meth:`CapabilityFit.save`.

    Raises
    ------
    FileNotFoundError, FitFileError
        No file; or not a saved capability fit, or saved by a newer format.

    Examples
    --------
    >>> fit = fc.load_capability_fit("models/capabilities.nc")   # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved fit at {path}")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as opened:
            tree = opened.load()
    except Exception as err:  # noqa: BLE001 - any reader failure means "not a fit file"
        raise FitFileError(f"{path} is not a saved forecast fit (cannot read it as NetCDF: {err})") from None
    card = json.loads(tree.attrs.get(CARD_ATTR, "{}"))
    if card.get("kind") != KIND or "posterior" not in tree:
        raise FitFileError(f"{path} is not a saved capability fit (load scaling-law fits with forecast.load_fit)")
    if card.get("format_version", 0) > FORMAT_VERSION:
        raise FitFileError(f"{path} was saved by forecast {card.get('forecast_version')} with capability format "
                           f"{card['format_version']}; this version reads {FORMAT_VERSION} and older: upgrade forecast")
    table = tree["fit_data"].to_dataset().to_dataframe().reset_index(drop=True)
    for c in ("model", "family", "benchmark"):
        table[c] = table[c].astype(str)
    scores = BenchmarkScores.from_table(table)
    scores.source = card["data"].get("source")
    groups = {"/posterior": tree["posterior"].to_dataset()}
    if "sample_stats" in tree:
        groups["/sample_stats"] = tree["sample_stats"].to_dataset()
    return CapabilityFit(xr.DataTree.from_dict(groups), scores, CapabilityModel.from_settings(card["model"]),
                         card["sampler"], centre=card["centre"])


# --------------------------------------------------------------- forecast
class CapabilityForecast:
    """Score draws over ``(sample, benchmark, flops)`` for one family, with or without noise."""

    def __init__(self, draws: xr.DataArray, *, family: str, include_noise: bool) -> None:
        self.draws = draws
        self.family = family
        self.include_noise = include_noise

    def table(self, ci: float = DEFAULT_CI) -> pd.DataFrame:
        """One row per benchmark x flops: ``benchmark, family, flops, mean, median, lower, upper, ci, includes_noise``."""
        ci = check_ci(ci)
        lo, hi = quantile_bounds(ci)
        q = self.draws.quantile([lo, 0.5, hi], dim="sample")
        mean = self.draws.mean("sample")
        rows = []
        for b in self.draws["benchmark"].values:
            for f in self.draws["flops"].values:
                rows.append({"benchmark": str(b), "family": self.family, "flops": float(f),
                             "mean": float(mean.sel(benchmark=b, flops=f)),
                             "median": float(q.sel(quantile=0.5, benchmark=b, flops=f)),
                             "lower": float(q.sel(quantile=lo, benchmark=b, flops=f)),
                             "upper": float(q.sel(quantile=hi, benchmark=b, flops=f)),
                             "ci": ci, "includes_noise": self.include_noise})
        df = pd.DataFrame(rows)
        df.attrs.update({"interval": INTERVAL_KIND,
                         "what": ("score of one new model (its own capability and benchmark noise)"
                                  if self.include_noise else "score of the family's typical model")})
        return df

    def __repr__(self) -> str:
        return (f"CapabilityForecast(family={self.family!r}, {self.draws.sizes['benchmark']} benchmarks x "
                f"{self.draws.sizes['flops']} flops, includes_noise={self.include_noise})")


# ------------------------------------------------------- backtest and baseline
def logistic_baseline(train: BenchmarkScores, flops, benchmark) -> np.ndarray:
    """Per-benchmark least-squares fit of ``chance + (1 - chance) logistic(a (log10 C - m))``; point predictions.

    What a user would do without pooling: one curve per benchmark, floor at
    chance, ceiling at 1, no family effects.

    Examples
    --------
    >>> logistic_baseline(train, [1e24], ["MMLU"])   # doctest: +SKIP
    """
    from scipy.optimize import least_squares

    t = train.table
    params: dict[str, tuple[float, float, float]] = {}
    for b, sub in t.groupby("benchmark"):
        c = float(sub["chance"].iloc[0])
        x, y = np.log10(sub["flops"].to_numpy()), sub["score"].to_numpy()

        def resid(theta, x=x, y=y, c=c):
            return c + (1 - c) * _logistic(theta[0] * (x - theta[1])) - y

        best = None
        for m0 in np.linspace(x.min() - 1, x.max() + 2, 7):
            r = least_squares(resid, x0=[1.0, m0], bounds=([1e-3, 10.0], [20.0, 35.0]))
            if best is None or r.cost < best.cost:
                best = r
        params[str(b)] = (float(best.x[0]), float(best.x[1]), c)
    flops = np.asarray(flops, dtype=float)
    out = np.empty(flops.shape)
    for i, (f, b) in enumerate(zip(flops, benchmark, strict=True)):
        a, m, c = params[b]
        out[i] = c + (1 - c) * _logistic(a * (np.log10(f) - m))
    return out


def capability_backtest(scores: BenchmarkScores, *, cutoff: float = 1e23, model: CapabilityModel | None = None,
                        ci: float = DEFAULT_CI, random_seed: int = 1, **fit_options) -> CapabilityBacktest:
    """Fit on models trained with <= ``cutoff`` FLOP; forecast every benchmark of the larger ones.

    A held-out model whose family has smaller (training) members is forecast
    as that family, otherwise as a new family; noise is included (the score of
    one new model). The per-benchmark logistic baseline is fitted on the same split.

    Returns
    -------
    pandas.DataFrame
        One row per held-out score: ``model, family, as_family, flops, benchmark,
        score, mean, median, lower, upper, covered, abs_error, baseline,
        baseline_abs_error``; ``attrs`` hold the fit's diagnostics and seconds.

    Examples
    --------
    >>> bt = capability_backtest(load_obsscaling())   # doctest: +SKIP
    >>> bt["covered"].mean(), bt["abs_error"].mean(), bt["baseline_abs_error"].mean()   # doctest: +SKIP
    """
    model = model or CapabilityModel()
    t = scores.table
    train_mask = t["flops"] <= cutoff
    train = scores.subset(train_mask)
    test = t[~train_mask].reset_index(drop=True)
    fit = model.fit(train, random_seed=random_seed, progressbar=False, **fit_options)
    as_family = np.where(test["family"].isin(train.families), test["family"], "new:" + test["family"])
    draws = fit.score_draws(test["flops"].to_numpy(), as_family, test["benchmark"].to_numpy(dtype=object),
                            model_key=test["model"].to_numpy(dtype=object), include_noise=True,
                            random_seed=random_seed)
    lo, hi = quantile_bounds(ci)
    q = np.quantile(draws, [lo, 0.5, hi], axis=0)
    out = test[["model", "family", "flops", "benchmark", "score"]].copy()
    out.insert(2, "as_family", np.where(test["family"].isin(train.families), test["family"], "new"))
    out["mean"], out["median"], out["lower"], out["upper"] = draws.mean(0), q[1], q[0], q[2]
    out["covered"] = (out["score"] >= out["lower"]) & (out["score"] <= out["upper"])
    out["abs_error"] = (out["median"] - out["score"]).abs()
    out["baseline"] = logistic_baseline(train, test["flops"].to_numpy(), list(test["benchmark"]))
    out["baseline_abs_error"] = (out["baseline"] - out["score"]).abs()
    return CapabilityBacktest(table=out, fit=fit, cutoff=cutoff, ci=ci)


@dataclass
class CapabilityBacktest:
    """Held-out forecasts of a capability backtest (:func:`capability_backtest`) and the fit that made them."""

    table: pd.DataFrame
    fit: CapabilityFit
    cutoff: float
    ci: float

    def summary(self) -> dict[str, Any]:
        """Coverage, mean absolute errors (model median and baseline), sizes, gate and fit time."""
        t = self.table
        d = self.fit.diagnostics()
        return {"cutoff": self.cutoff, "ci": self.ci, "n_train_models": len(self.fit.scores.models),
                "n_test_models": int(t["model"].nunique()), "n_test_scores": len(t),
                "coverage": float(t["covered"].mean()), "mae_median": float(t["abs_error"].mean()),
                "mae_baseline": float(t["baseline_abs_error"].mean()),
                "interval_width": float((t["upper"] - t["lower"]).mean()),
                "gate_ok": d.ok, "diagnostics": repr(d), "fit_seconds": self.fit.sampler_settings["seconds"]}

    def by_benchmark(self) -> pd.DataFrame:
        """Coverage and mean absolute errors per benchmark."""
        g = self.table.groupby("benchmark")
        return pd.DataFrame({"n": g.size(), "coverage": g["covered"].mean(), "mae_median": g["abs_error"].mean(),
                             "mae_baseline": g["baseline_abs_error"].mean()}).reset_index()


# ------------------------------------------------------------------ simulation
def simulate_scores(*, benchmarks: dict[str, float] | None = None, n_families: int = 6, models_per_family: int = 5,
                    latent: bool = True, seed: int = 0,
                    truth: dict[str, Any] | None = None) -> tuple[BenchmarkScores, dict[str, Any]]:
    """Scores simulated from :class:`CapabilityModel` with known parameters (for recovery tests and SBC).

    Parameters
    ----------
    benchmarks : dict, optional
        Benchmark name -> chance level (default four benchmarks with chance 0.25, 0.25, 0.5, 0).
    n_families, models_per_family : int
        Families and models in each (compute log-uniform over 1e20-1e24 FLOP).
    truth : dict, optional
        Override any of the drawn truths (``midpoint`` etc. in log10 FLOP).

    Returns
    -------
    (BenchmarkScores, dict)
        The scores and the truths: per benchmark ``midpoint`` (log10 FLOP),
        ``slope``, ``ceiling``, ``precision``; ``family_offset`` per family,
        ``family_tau``, ``family_benchmark_offset`` (family x benchmark, centred over
        benchmarks as in the model) and its sd ``family_benchmark_sd``, ``model_sd``, ``model_effect`` per model.

    Examples
    --------
    >>> scores, truth = simulate_scores(seed=1)
    >>> len(scores.benchmarks), len(scores.families)
    (4, 6)
    """
    rng = np.random.default_rng(seed)
    benchmarks = benchmarks or {"MC-A": 0.25, "MC-B": 0.25, "Binary": 0.5, "Gen": 0.0}
    names = list(benchmarks)
    chance = np.array([benchmarks[b] for b in names])
    t: dict[str, Any] = {
        "midpoint": rng.normal(22.5, 0.7, len(names)),
        "slope": np.exp(rng.normal(np.log(1.2), 0.3, len(names))),
        "ceiling": chance + (1 - chance) * _logistic(rng.normal(3.0, 0.75, len(names))),
        "precision": np.exp(rng.normal(np.log(100), 0.4, len(names))),
        "family_tau": 0.5, "model_sd": 0.25 if latent else 0.0, "family_benchmark_sd": 0.15,
    }
    t.update(truth or {})
    families = [f"fam{i}" for i in range(n_families)]
    t["family_offset"] = rng.normal(0, t["family_tau"], n_families)
    t["family_benchmark_offset"] = _family_benchmark_offset(
        t["family_benchmark_sd"], rng.normal(0, 1, (n_families, len(names))), zero_sum=True)
    rows = []
    for fi, f in enumerate(families):
        for mi, logc in enumerate(np.sort(rng.uniform(20, 24, models_per_family))):
            u = rng.normal(0, t["model_sd"]) if t["model_sd"] > 0 else 0.0
            for j, b in enumerate(names):
                x = logc + t["family_offset"][fi] + t["family_benchmark_offset"][fi, j] + u
                p = chance[j] + (t["ceiling"][j] - chance[j]) * _logistic(t["slope"][j] * (x - t["midpoint"][j]))
                p = float(np.clip(p, 1e-6, 1 - 1e-6))
                y = rng.beta(p * t["precision"][j], (1 - p) * t["precision"][j])
                rows.append({"model": f"{f}-m{mi}", "family": f, "flops": 10**logc, "benchmark": b, "score": y,
                             "u": u})
    df = pd.DataFrame(rows)
    t["model_effect"] = df.drop_duplicates("model").set_index("model")["u"].to_dict()
    t["benchmarks"], t["families"] = names, families
    return BenchmarkScores(df.drop(columns="u"), chance=benchmarks), t
