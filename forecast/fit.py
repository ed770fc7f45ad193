"""Fit: the posterior of a scaling model, with the data and settings that made it.

A :class:`Fit` answers "can I trust this?" (:meth:`Fit.diagnostics`), "what
are the parameters?" (:meth:`Fit.summary`, :meth:`Fit.parameter_draws`) and
keeps itself (:meth:`Fit.save`, :func:`load_fit`). Forecasts and the
compute-optimal frontier hang off it as :meth:`Fit.predict` and
:meth:`Fit.frontier`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.config import DEFAULT_CI, GATE, INTERVAL_KIND, quantile_bounds
from forecast.data import Observations

if TYPE_CHECKING:
    from forecast.model import ScalingModel

FORMAT_VERSION = 2
"""Format 2 adds a SHA-256 of every stored variable and of the card itself (format 1 files still load)."""
CARD_ATTR = "forecast_card"
CARD_HASH_ATTR = "forecast_card_sha256"
DATA_GROUP = "fit_data"
# sampler settings that describe the run, not the result: left out of Fit.id so it is the same in any process
_NOT_IN_ID = ("seconds", "compile_seconds", "compile_cached", "worker_pid", "worker_cpu_seconds")
_DAMAGED = ("the file is damaged or was edited; restore it from a backup, or refit from the data "
            "and save again")


class ConvergenceWarning(UserWarning):
    """The sampler's output fails the convergence gate: do not trust the numbers yet."""


class FitFileError(ValueError):
    """A file that was expected to hold a saved fit does not."""


# ---------------------------------------------------------------- diagnostics
@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics of a fit and the verdict of the gate.

    Attributes
    ----------
    divergences : int
        Divergent transitions after tuning, over all chains.
    max_rhat : float
        Largest rank-normalised split R-hat over all sampled parameters.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    min_bfmi : float
        Smallest energy Bayesian fraction of missing information over chains.
    worst : dict
        Which parameter set each of the figures above.
    """

    divergences: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    min_bfmi: float
    chains: int
    draws: int
    worst: dict[str, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """The reasons the gate fails (empty when it passes)."""
        out = []
        if self.divergences > GATE.max_divergences:
            out.append(f"{self.divergences} divergent transition(s) (allowed: {GATE.max_divergences})")
        if not self.max_rhat <= GATE.max_rhat:
            out.append(f"R-hat {self.max_rhat:.4f} > {GATE.max_rhat} ({self.worst.get('rhat', '?')})")
        if not self.min_ess_bulk >= GATE.min_ess:
            out.append(f"bulk ESS {self.min_ess_bulk:.0f} < {GATE.min_ess:.0f} ({self.worst.get('ess_bulk', '?')})")
        if not self.min_ess_tail >= GATE.min_ess:
            out.append(f"tail ESS {self.min_ess_tail:.0f} < {GATE.min_ess:.0f} ({self.worst.get('ess_tail', '?')})")
        if np.isfinite(self.min_bfmi) and self.min_bfmi < GATE.min_bfmi:
            out.append(f"E-BFMI {self.min_bfmi:.2f} < {GATE.min_bfmi}")
        return out

    @property
    def ok(self) -> bool:
        """True when the fit passes the gate (no divergence, R-hat <= 1.01, ESS >= 400)."""
        return not self.problems

    def __repr__(self) -> str:
        verdict = "PASS" if self.ok else "FAIL: " + "; ".join(self.problems)
        return (
            f"Diagnostics({self.chains} chains x {self.draws} draws: divergences={self.divergences}, "
            f"max R-hat={self.max_rhat:.4f}, min ESS bulk={self.min_ess_bulk:.0f}, "
            f"min ESS tail={self.min_ess_tail:.0f}, min E-BFMI={self.min_bfmi:.2f}) -> {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        out["problems"] = self.problems
        return out

    def warn_if_failed(self, stacklevel: int = 3) -> None:
        """Emit a :class:`ConvergenceWarning` naming every failed check."""
        if not self.ok:
            warnings.warn(
                "the fit FAILS the convergence gate: " + "; ".join(self.problems)
                + ". Its numbers are not trustworthy: run more tune/draws, raise target_accept, "
                "or tighten priors/pooling.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )


def _min_over(ds: xr.Dataset) -> tuple[float, str]:
    best, where = np.inf, ""
    for name, da in ds.data_vars.items():
        v = float(da.min())
        if v < best:
            best, where = v, name
    return best, where


def _max_over(ds: xr.Dataset) -> tuple[float, str]:
    worst, where = -np.inf, ""
    for name, da in ds.data_vars.items():
        v = float(da.max())
        if v > worst:
            worst, where = v, name
    return worst, where


def compute_diagnostics(posterior: xr.Dataset, sample_stats: xr.Dataset | None) -> Diagnostics:
    """Diagnostics of a posterior Dataset over ``(chain, draw, ...)``."""
    import arviz as az

    rhat, rhat_at = _max_over(az.rhat(posterior))
    ess_b, ess_b_at = _min_over(az.ess(posterior, method="bulk"))
    ess_t, ess_t_at = _min_over(az.ess(posterior, method="tail"))
    divergences = 0
    bfmi = np.nan
    if sample_stats is not None:
        if "diverging" in sample_stats:
            divergences = int(sample_stats["diverging"].sum())
        if "energy" in sample_stats:
            from arviz_stats import bfmi as e_bfmi

            bfmi = float(e_bfmi(sample_stats["energy"], sample_dims=["chain", "draw"]).min())
    return Diagnostics(
        divergences=divergences, max_rhat=rhat, min_ess_bulk=ess_b, min_ess_tail=ess_t,
        min_bfmi=bfmi, chains=int(posterior.sizes["chain"]), draws=int(posterior.sizes["draw"]),
        worst={"rhat": rhat_at, "ess_bulk": ess_b_at, "ess_tail": ess_t_at},
    )


def interval_stats(da: xr.DataArray, ci: float, dims: tuple[str, ...] = ("chain", "draw")) -> dict[str, xr.DataArray]:
    """Mean, sd, median and equal-tailed interval of ``da`` over ``dims``."""
    lo, hi = quantile_bounds(ci)
    q = da.quantile([lo, 0.5, hi], dim=list(dims))
    return {
        "mean": da.mean(dims),
        "sd": da.std(dims),
        "median": q.sel(quantile=0.5, drop=True),
        "lower": q.sel(quantile=lo, drop=True),
        "upper": q.sel(quantile=hi, drop=True),
    }


# ------------------------------------------------------------------------ Fit
class Fit:
    """A fitted scaling model.

    Attributes
    ----------
    idata : xarray.DataTree
        The sampler's output (``posterior``, ``sample_stats``) and the data
        (``fit_data``).
    observations : Observations
        The runs the model was fitted to.
    model : ScalingModel
        The model settings (law, pooling, priors, likelihood).
    sampler_settings : dict
        Sampler, draws, tune, chains, seed and timings.

    Examples
    --------
    >>> import forecast as fc
    >>> fit = fc.ScalingModel().fit(fc.datasets.load_demo(), random_seed=1)  # doctest: +SKIP
    >>> fit.summary().query("family == 'population'")                        # doctest: +SKIP
    """

    def __init__(self, idata: xr.DataTree, observations: Observations, model: ScalingModel,
                 sampler_settings: dict[str, Any]) -> None:
        self.idata = idata
        self.observations = observations
        self.model = model
        self.law = model.law
        self.sampler_settings = dict(sampler_settings)
        self.centre = self.law.centres(model.inputs(observations))
        self.pooling = model.effective_pooling(len(observations.families))
        self._diagnostics: Diagnostics | None = None
        self._family_cache: dict[str, xr.DataArray] = {}  # _family_values by parameter (the posterior is fixed)

    # ---------------------------------------------------------- accessors
    @property
    def posterior(self) -> xr.Dataset:
        return self.idata["posterior"].to_dataset()

    @property
    def families(self) -> list[str]:
        return self.observations.families

    @property
    def id(self) -> str:
        """Stable id: a hash of the model settings, sampler settings and data."""
        blob = json.dumps({"model": self.model.settings(), "data": self.observations.hash(),
                           "sampler": {k: v for k, v in self.sampler_settings.items() if k not in _NOT_IN_ID}},
                          sort_keys=True, default=_json_default)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        d = self.diagnostics()
        return (f"Fit(law={self.law.name!r}, {len(self.observations)} runs, {len(self.families)} families, "
                f"{d.chains}x{d.draws} draws, gate {'PASS' if d.ok else 'FAIL'})")

    # -------------------------------------------------------- diagnostics
    def diagnostics(self) -> Diagnostics:
        """R-hat, bulk/tail ESS, divergences and E-BFMI, with the gate's verdict."""
        if self._diagnostics is None:
            stats = self.idata["sample_stats"].to_dataset() if "sample_stats" in self.idata else None
            self._diagnostics = compute_diagnostics(self.posterior, stats)
        return self._diagnostics

    # ------------------------------------------------- parameters by family
    def _family_values(self, p: str) -> xr.DataArray:
        """Sampled-space parameter ``p`` for each fitted family, over (chain, draw, family)."""
        p = self.model.tied.get(p, p)
        if p not in self._family_cache:
            self._family_cache[p] = self._gather_family_values(p)
        return self._family_cache[p]

    def _gather_family_values(self, p: str) -> xr.DataArray:
        post = self.posterior
        mode = self.pooling[p]
        fam = xr.DataArray(self.families, dims="family", name="family")
        if mode == "complete":
            out = post[p].expand_dims(family=len(self.families))
        elif mode == "none":
            out = post[f"{p}_family"]
        else:
            # centred families are sampled directly, non-centred ones as mu + tau * z (either part may be empty)
            parts = [post[f"{p}_family"]] if f"{p}_family" in post else []
            if f"{p}_z" in post:
                parts.append(post[f"{p}_mu"] + post[f"{p}_tau"] * post[f"{p}_z"])
            parts = [v.rename({d: "family" for d in v.dims if d.startswith("family_")}) for v in parts]
            out = xr.concat(parts, dim="family").sel(family=self.families)
        return out.assign_coords(family=fam.values).transpose("chain", "draw", "family")

    def _population_value(self, p: str, *, new: bool, rng: np.random.Generator) -> xr.DataArray | None:
        """A typical family (``new=False``: population median) or a new one drawn from the population."""
        post = self.posterior
        mode = self.pooling[p]
        shape = (post.sizes["chain"], post.sizes["draw"])
        if mode == "complete":
            if new and self.model.pooling[p] == "partial":
                # one family: the spread a new family may have comes from its prior
                tau = self.model.spread_prior_of(p).sample(rng, shape)
                return post[p] + tau * rng.standard_normal(shape)
            return post[p]
        if mode == "partial":
            mu = post[f"{p}_mu"]
            if not new:
                return mu
            z = xr.DataArray(rng.standard_normal(shape), dims=("chain", "draw"), coords=mu.coords)
            return mu + post[f"{p}_tau"] * z
        if not new:
            return None  # unpooled: no typical family exists
        return xr.DataArray(self.model.priors[p].sample(rng, shape), dims=("chain", "draw"),
                            coords={"chain": post["chain"], "draw": post["draw"]})

    def theta(self, family: str | list[str] | None = None, *, random_seed: int | None = 0) -> xr.Dataset:
        """Sampled-space law parameters over ``(chain, draw, family)``.

        ``family`` is a fitted family name, ``"new"`` (a family not seen:
        drawn from the population), ``"population"`` (the typical family), a
        list of these, or None for every fitted family.
        """
        names = self._resolve_families(family)
        rng = np.random.default_rng(random_seed)
        per_family: dict[str, list[xr.DataArray]] = {p: [] for p in self.law.params}
        fitted = {p: self._family_values(p) for p in self.law.params}
        for name in names:
            for p in self.law.params:
                if p in self.model.tied:  # a shared exponent: the same draw as the parameter it is tied to
                    per_family[p].append(per_family[self.model.tied[p]][-1])
                    continue
                if name in ("new", "population"):
                    v = self._population_value(p, new=name == "new", rng=rng)
                    if v is None:
                        raise ValueError(
                            f"parameter {p} is unpooled (pooling 'none'), so there is no population "
                            f"'typical family'; use family='new' (drawn from the prior) or a fitted family"
                        )
                else:
                    v = fitted[p].sel(family=name, drop=True)
                per_family[p].append(v)
        data = {p: xr.concat(vs, dim=xr.DataArray(names, dims="family", name="family"))
                .transpose("chain", "draw", "family") for p, vs in per_family.items()}
        return xr.Dataset(data)

    def _resolve_families(self, family) -> list[str]:
        if family is None:
            return list(self.families)
        names = [family] if isinstance(family, str) else list(family)
        unknown = [n for n in names if n not in self.families and n not in ("new", "population")]
        if unknown:
            import difflib

            close = difflib.get_close_matches(str(unknown[0]), [*self.families, "new", "population"], n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown family {unknown[0]!r}{guess}; fitted families: {', '.join(self.families)} "
                "(or 'new' for a family not seen, 'population' for the typical family)"
            )
        return names

    def parameter_draws(self, family: str | list[str] | None = None, *, random_seed: int | None = 0) -> xr.Dataset:
        """Law parameters in the user's units (e.g. E, A, B, alpha, beta) over ``(chain, draw[, family])``.

        With a single family name the ``family`` dimension is dropped.

        Examples
        --------
        >>> draws = fit.parameter_draws("population")   # doctest: +SKIP
        >>> float(draws["alpha"].median())              # doctest: +SKIP
        """
        theta = self.theta(family, random_seed=random_seed)
        user = self.law.to_user({k: theta[k] for k in theta.data_vars}, self.centre, np)
        ds = xr.Dataset({k: user[k] for k in self.law.user_params})
        if isinstance(family, str):
            ds = ds.squeeze("family", drop=True)
        return ds

    def noise_draws(self, family: str | list[str] | None = None, *, random_seed: int | None = 0) -> xr.DataArray:
        """Observation noise scale on log loss over ``(chain, draw, family)``.

        With partially pooled noise (the default) a fitted family has its own
        scale ``sigma * exp(sigma_tau * sigma_z_f)``, ``"population"`` the
        typical family's ``sigma`` and ``"new"`` a scale drawn from the
        population for each draw (``random_seed`` seeds that draw).
        """
        names = self._resolve_families(family)
        post = self.posterior
        mode = self.pooling["sigma"]
        if mode == "none":
            fitted = post["sigma_family"].assign_coords(family=self.families)
            parts = [fitted.sel(family=n, drop=True) if n in self.families
                     else fitted.median("family") for n in names]
            sigma = xr.concat(parts, dim=xr.DataArray(names, dims="family", name="family"))
        elif mode == "partial" or (mode == "complete" and self.model.pooling["sigma"] == "partial"):
            rng = np.random.default_rng(random_seed)
            shape = (post.sizes["chain"], post.sizes["draw"])
            if "sigma_tau" in post:
                tau = post["sigma_tau"]
            else:  # one family: a new family's noise spread comes from the prior
                tau = xr.DataArray(self.model.priors["sigma_tau"].sample(rng, shape), dims=("chain", "draw"),
                                   coords={"chain": post["chain"], "draw": post["draw"]})
            z_fit = post["sigma_z"].assign_coords(family=self.families) if "sigma_z" in post else None
            parts = []
            for n in names:
                if n == "population":
                    z = xr.zeros_like(post["sigma"])
                elif n == "new" or z_fit is None:
                    z = xr.DataArray(rng.standard_normal(shape), dims=("chain", "draw"), coords=post["sigma"].coords)
                    if n != "new":  # the one fitted family of a single-family fit: its own sigma
                        z = xr.zeros_like(post["sigma"])
                else:
                    z = z_fit.sel(family=n, drop=True)
                parts.append(post["sigma"] * np.exp(tau * z))
            sigma = xr.concat(parts, dim=xr.DataArray(names, dims="family", name="family"))
        else:
            sigma = post["sigma"].expand_dims(family=names)
        return sigma.transpose("chain", "draw", "family")

    # ------------------------------------------------------------ summary
    def summary(self, ci: float = DEFAULT_CI, *, fmt: str = "long") -> pd.DataFrame:
        """Posterior summary of the law's parameters in the user's units.

        Parameters
        ----------
        ci : float
            Mass of the equal-tailed credible interval (default 0.9).
        fmt : {"long"}
            One row per parameter and family.

        Returns
        -------
        pandas.DataFrame
            Columns ``parameter, family, mean, sd, median, lower, upper, r_hat,
            ess_bulk``. Rows with ``family == "population"`` describe a typical
            family (the population median) and, as ``tau[...]``, the spread
            between families in the sampled space; ``sigma`` is the noise on
            log loss. ``attrs`` hold ``ci``, ``interval`` and ``diagnostics``.
            A fit that fails the convergence gate warns on every call.
        """
        import arviz as az

        if fmt != "long":
            raise ValueError("fmt must be 'long'")
        blocks = [self.parameter_draws(None)]
        pop_names = [p for p, u in zip(self.law.params, self.law.user_params, strict=True)
                     if self.pooling[p] != "none"]
        if len(pop_names) == len(self.law.params):
            blocks.append(self.parameter_draws(["population"]))
        rows = []
        for block in blocks:
            rhat = az.rhat(block)
            ess = az.ess(block, method="bulk")
            for name in self.law.user_params:
                stats = interval_stats(block[name], ci)
                for fam in block["family"].values:
                    rows.append({"parameter": name, "family": str(fam),
                                 **{k: float(v.sel(family=fam)) for k, v in stats.items()},
                                 "r_hat": float(rhat[name].sel(family=fam)),
                                 "ess_bulk": float(ess[name].sel(family=fam))})
        post = self.posterior
        extra = {f"tau[{p}]": post[f"{p}_tau"] for p in self.law.params
                 if self.pooling[p] == "partial" and p not in self.model.tied}
        if "sigma" in post:
            extra["sigma"] = post["sigma"]
        if "sigma_tau" in post:
            extra["tau[sigma]"] = post["sigma_tau"]
        if "sigma_run" in post:
            extra["sigma_run"] = post["sigma_run"]
        for name, da in extra.items():
            stats = interval_stats(da, ci)
            rows.append({"parameter": name, "family": "population",
                         **{k: float(v) for k, v in stats.items()},
                         "r_hat": float(az.rhat(da)), "ess_bulk": float(az.ess(da, method="bulk"))})
        df = pd.DataFrame(rows)
        diag = self.diagnostics()
        df.attrs.update({"ci": ci, "interval": INTERVAL_KIND, "diagnostics_ok": diag.ok,
                         "diagnostics": repr(diag)})
        diag.warn_if_failed(stacklevel=3)
        return df

    # ------------------------------------------------------- predictions
    def predict(self, params=None, tokens=None, flops=None, *, family="auto", include_noise=False,
                random_seed: int | None = 0, **options):
        """Posterior predictive loss at new scales; see :func:`forecast.predict.predict`.

        ``family="auto"`` (default) forecasts the fitted family when the fit
        has one, else a new family (``"new"``), and the forecast says which.
        ``flops`` alone is evaluated on the compute-optimal frontier.
        ``options`` pass through (``unique_tokens=``, ``precision=``, ``run=``).
        """
        from forecast.predict import predict

        return predict(self, params=params, tokens=tokens, flops=flops, family=family,
                       include_noise=include_noise, random_seed=random_seed, **options)

    def frontier(self, flops, *, family="population", random_seed: int | None = 0):
        """Compute-optimal allocation at each compute budget; see :func:`forecast.frontier.frontier`."""
        from forecast.frontier import frontier

        return frontier(self, flops=flops, family=family, random_seed=random_seed)

    # ---------------------------------------------------------- save/load
    def card(self) -> dict[str, Any]:
        """The JSON card saved with the fit: data, law, priors, sampler, diagnostics, version."""
        from forecast._version import __version__

        obs = self.observations
        return {
            "format_version": FORMAT_VERSION,
            "forecast_version": __version__,
            "id": self.id,
            "model": self.model.settings(),
            "sampler": self.sampler_settings,
            "diagnostics": self.diagnostics().to_dict(),
            "data": {"rows": len(obs), "families": obs.families, "hash": obs.hash(),
                     "source": obs.source, "citation": obs.citation, "min_points": obs.min_points},
            "centre": self.centre,
        }

    def _groups(self) -> dict[str, xr.Dataset]:
        """Every idata group as written to a file (the data under ``fit_data``)."""
        table = self.observations.table
        fit_data = xr.Dataset(
            {c: ("obs", table[c].to_numpy(dtype=str if c in ("family", "run") else float)) for c in table},
            coords={"obs": np.arange(len(table))},
        )
        groups: dict[str, xr.Dataset] = {}
        for name, node in self.idata.children.items():
            if name == DATA_GROUP or not node.has_data:
                continue
            ds = node.to_dataset()
            # object-typed variables (nutpie's divergence messages) cannot be written to NetCDF
            groups[name] = ds.drop_vars([v for v, da in ds.data_vars.items() if da.dtype == object])
        groups[DATA_GROUP] = fit_data
        return groups

    def to_datatree(self) -> xr.DataTree:
        """Every idata group (posterior, sample stats, ...) and the data as one DataTree ready to write.

        The card (root attribute ``forecast_card``) holds a SHA-256 of every
        stored variable and the root attribute ``forecast_card_sha256`` one of
        the card, which :func:`load_fit` checks.
        """
        groups = self._groups()
        card = self.card()
        card["checksums"] = {name: dataset_checksums(ds) for name, ds in groups.items()}
        tree = xr.DataTree.from_dict({f"/{k}": v for k, v in groups.items()})
        text = json.dumps(card, default=_json_default, allow_nan=False)
        tree.attrs[CARD_ATTR] = text
        tree.attrs[CARD_HASH_ATTR] = _sha256(text.encode())
        return tree

    def save(self, path: str | os.PathLike) -> Path:
        """Save to NetCDF (every idata group, the data, settings, checksums) plus a JSON card beside it.

        Writes to a temporary file in the same folder and renames it over the
        target, so a failure part-way never corrupts an existing saved fit;
        temporaries left by an earlier interrupted save to the same path are
        removed first. The fit is checked before anything is written: a fit
        that :func:`load_fit` would refuse (data that no longer validate, a
        card that is not JSON) is refused here, and so is a path that cannot
        be written.

        Returns
        -------
        pathlib.Path
            The NetCDF file written; the card is the same path with ``.json``.

        Raises
        ------
        FitFileError
            The fit could not be loaded back (the message says why).
        OSError
            The path cannot be written (the message names it).

        Examples
        --------
        >>> path = fit.save("models/demo.nc")   # doctest: +SKIP
        """
        path = Path(path)
        if path.suffix != ".nc":
            raise ValueError(f"save path must end in .nc (got {path.name!r}); the JSON card goes beside it")
        check_writable(path)
        check_writable(path.with_suffix(".json"))
        self._check_loadable(path)
        tree = self.to_datatree()
        # HDF5's own checksum on every numeric array as well: a damaged chunk fails to read
        encoding = {
            f"/{name}": {v: {"fletcher32": True} for v, da in node.dataset.data_vars.items()
                         if da.dtype.kind in "biuf" and da.ndim > 0}
            for name, node in tree.children.items()
        }
        remove_stale_temporaries(path)
        def write(tmp: str) -> None:
            tree.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
            append_file_checksum(tmp)

        atomic_write(path, write)
        card_text = json.dumps(json.loads(tree.attrs[CARD_ATTR]), indent=2)
        remove_stale_temporaries(path.with_suffix(".json"))
        atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(card_text))
        return path

    def _check_loadable(self, path: Path) -> None:
        """Refuse to save what :func:`load_fit` would refuse, before anything is written."""
        try:
            again = Observations.from_table(self.observations.table, min_points=self.observations.min_points)
        except ValueError as err:
            raise FitFileError(
                f"cannot save {path}: the fit's data would not load back ({err}); fix the data "
                "(see Observations) and refit"
            ) from None
        if again.hash() != self.observations.hash():
            raise FitFileError(f"cannot save {path}: the fit's data change when read back; refit from "
                               "Observations built with the package's validation")
        try:
            json.dumps(self.card(), default=_json_default, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise FitFileError(
                f"cannot save {path}: the card (settings, sampler, diagnostics) is not plain JSON ({err}); "
                "keep sampler settings to numbers, strings and lists"
            ) from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical_bytes(values: np.ndarray) -> bytes:
    """The bytes a variable's checksum is taken over, the same before writing and after reading."""
    arr = np.asarray(values)
    head = f"{arr.shape}".encode()
    if arr.dtype.kind in "USO":
        return head + b"\x00".join(str(v).encode("utf-8", "surrogatepass") for v in arr.ravel().tolist())
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    elif arr.dtype.kind in "iu":
        arr = arr.astype("<i8")
    elif arr.dtype.kind == "f":
        arr = arr.astype("<f8")
    return head + arr.dtype.str.encode() + np.ascontiguousarray(arr).tobytes()


def dataset_checksums(ds: xr.Dataset) -> dict[str, str]:
    """SHA-256 of every variable (data and coordinates: dims, shape, values) of ``ds``.

    Examples
    --------
    >>> sums = dataset_checksums(xr.Dataset({"x": ("a", [1.0, 2.0])}))
    >>> sorted(sums), len(sums["x"])
    (['x'], 64)
    """
    out = {}
    for name, var in ds.variables.items():
        digest = hashlib.sha256(json.dumps([str(name), [str(d) for d in var.dims]]).encode())
        digest.update(_canonical_bytes(var.values))
        out[str(name)] = digest.hexdigest()
    return out


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


STALE_TEMPORARY_SECONDS = 3600.0
"""A temporary of an older release (no process id in its name) this old is left over from a crash."""


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def atomic_write(path: Path, write) -> None:
    """Write ``path`` through ``write(tmp)`` on a temporary file beside it, then rename it into place.

    An interrupted or failed write leaves any existing file at ``path`` as it
    was. The temporary is named ``.NAME.PID.XXXX.tmp`` so that
    :func:`remove_stale_temporaries` can tell one left by a killed process from
    one another process is still writing.
    """
    fd, tmp = tempfile.mkstemp(prefix=f"{_temporary_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; saved fits are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove temporaries that an interrupted :func:`atomic_write` to ``path`` left behind.

    A temporary is stale when the process that made it no longer runs (or,
    for names without a process id, when it is over an hour old); a
    temporary another live process is writing is left alone.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> remove_stale_temporaries("models/demo.nc")   # doctest: +SKIP
    []
    """
    path = Path(path)
    prefix = _temporary_prefix(path)
    removed = []
    try:
        candidates = [p for p in path.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp")]
    except OSError:
        return removed
    now = time.time()
    for tmp in candidates:
        middle = tmp.name[len(prefix):-len(".tmp")]
        pid_text = middle.split(".", 1)[0]
        try:
            if "." in middle and pid_text.isdigit():
                stale = int(pid_text) != os.getpid() and not _process_alive(int(pid_text))
            else:
                stale = now - tmp.stat().st_mtime > STALE_TEMPORARY_SECONDS
            if stale:
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue
    return removed


def check_writable(path: str | os.PathLike) -> Path:
    """Check, before any long work, that a file can be written at ``path``; create its folder.

    Raises
    ------
    OSError
        (``NotADirectoryError``, ``IsADirectoryError``, ``PermissionError``, ...)
        with a message naming the path and what to change.

    Examples
    --------
    >>> check_writable("models/demo.nc")   # doctest: +SKIP
    PosixPath('models/demo.nc')
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder; give a file name inside it")
    parent = path.parent
    for up in (parent, *parent.parents):
        if up.exists():
            if not up.is_dir():
                raise NotADirectoryError(
                    f"cannot write {path}: {up} is a file, not a folder; choose another output path"
                )
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f"{_temporary_prefix(path)}{os.getpid()}.", suffix=".tmp",
                                     dir=parent)
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        reason = err.strerror or str(err)
        raise type(err)(err.errno, f"cannot write {path}: {reason}; choose a folder you can write to") from None
    return path


FILE_CHECKSUM_PREFIX = b"\nFORECAST-FIT-SHA256:"
"""Start of the trailer :meth:`Fit.save` appends: the SHA-256 of every byte before it.

HDF5 ignores bytes past the end of its data, so the file stays ordinary NetCDF.
The loader checks the trailer before parsing anything: a damaged structure can
send the HDF5 reader into a long loop before any inner checksum is reached."""
_TRAILER_SIZE = len(FILE_CHECKSUM_PREFIX) + 64 + 1


def append_file_checksum(path: str | os.PathLike) -> None:
    """Append the trailer of :data:`FILE_CHECKSUM_PREFIX` to a freshly written fit file."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    with open(path, "ab") as fh:
        fh.write(FILE_CHECKSUM_PREFIX + digest.encode() + b"\n")


def _check_file_checksum(path: Path) -> None:
    """Refuse a file whose trailer checksum does not match its contents (no trailer: nothing to check)."""
    raw = path.read_bytes()
    trailer = raw[-_TRAILER_SIZE:]
    if len(raw) <= _TRAILER_SIZE or not trailer.startswith(FILE_CHECKSUM_PREFIX):
        return
    stored = trailer[len(FILE_CHECKSUM_PREFIX):-1]
    if hashlib.sha256(raw[:-_TRAILER_SIZE]).hexdigest().encode() != stored:
        raise _damaged(path, "its bytes do not match the file's checksum")


def _damaged(path: Path, what: str) -> FitFileError:
    return FitFileError(f"{path} is not a valid saved forecast fit: {what}; {_DAMAGED}")


def _check_card(path: Path, card: Any) -> dict[str, Any]:
    """The card's structure, or a :class:`FitFileError` naming what is wrong."""
    if not isinstance(card, dict):
        raise _damaged(path, "its card is not a JSON object")
    version = card.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _damaged(path, f"its card has no valid format_version (got {version!r})")
    if version > FORMAT_VERSION:
        raise FitFileError(
            f"{path} was saved by forecast {card.get('forecast_version')} with file format "
            f"{version}; this version reads format {FORMAT_VERSION} and older: upgrade forecast"
        )
    expected: dict[str, type | tuple[type, ...]] = {"id": str, "model": dict, "sampler": dict, "data": dict}
    if version >= 2:
        expected["checksums"] = dict
    for key, kind in expected.items():
        if not isinstance(card.get(key), kind):
            raise _damaged(path, f"its card's '{key}' entry is missing or not a {getattr(kind, '__name__', kind)}")
    data = card["data"]
    for key, kind in (("hash", str), ("min_points", int), ("rows", int), ("families", list)):
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise _damaged(path, f"its card's data.{key} is missing or malformed")
    for key in ("source", "citation"):
        if data.get(key) is not None and not isinstance(data.get(key), str):
            raise _damaged(path, f"its card's data.{key} is not a string")
    return card


def load_fit(path: str | os.PathLike) -> Fit:
    """Load a fit saved with :meth:`Fit.save`, checking that nothing in it changed.

    Every stored variable is checked against its SHA-256 in the card, the
    card against its own SHA-256, the data against the card's data hash and
    the whole against the stored id, so a damaged or edited file is refused
    rather than loaded with different contents.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    FitFileError
        If the file is not a saved fit, is damaged or edited, or was saved by
        a newer format; the message names the file and what to do.

    Examples
    --------
    >>> fit = fc.load_fit("models/demo.nc")   # doctest: +SKIP
    """
    from forecast.model import ScalingModel

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved fit at {path}")
    if path.is_dir():
        raise FitFileError(f"{path} is a folder, not a saved fit (.nc file)")
    _check_file_checksum(path)
    try:
        with xr.open_datatree(path, engine="h5netcdf") as opened:
            tree = opened.load()
    except Exception as err:  # noqa: BLE001 - any reader failure means "not a fit file"
        raise FitFileError(f"{path} is not a saved forecast fit (cannot read it as NetCDF: {err})") from None
    if CARD_ATTR not in tree.attrs or "posterior" not in tree or DATA_GROUP not in tree:
        raise FitFileError(f"{path} is NetCDF but not a saved forecast fit (no forecast card or posterior)")
    text = tree.attrs[CARD_ATTR]
    if not isinstance(text, str):
        raise _damaged(path, "its card is not text")
    stored_hash = tree.attrs.get(CARD_HASH_ATTR)
    if stored_hash is not None and stored_hash != _sha256(text.encode("utf-8", "surrogatepass")):
        raise _damaged(path, "its card does not match the card's checksum")
    try:
        card = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise _damaged(path, f"its card is not valid JSON ({err})") from None
    card = _check_card(path, card)
    if card["format_version"] >= 2:
        if stored_hash is None:
            raise _damaged(path, "the card's checksum is missing")
        groups = {name: node.to_dataset() for name, node in tree.children.items()}
        sums = card["checksums"]
        if set(sums) != set(groups):
            raise _damaged(path, f"it holds groups {sorted(groups)} but its card lists {sorted(sums)}")
        for name, ds in groups.items():
            if not isinstance(sums[name], dict) or dataset_checksums(ds) != sums[name]:
                raise _damaged(path, f"the contents of group '{name}' do not match their checksums")
    try:
        table = tree[DATA_GROUP].to_dataset().to_dataframe().reset_index(drop=True)
        for c in ("family", "run"):
            if c in table:
                table[c] = table[c].astype(str)
        obs = Observations.from_table(table, min_points=card["data"]["min_points"])
    except (ValueError, KeyError, TypeError) as err:
        raise _damaged(path, f"its stored data do not validate ({' '.join(str(err).split())})") from None
    if obs.hash() != card["data"]["hash"]:
        raise _damaged(path, "its stored data do not match the data hash in its card")
    obs.source = card["data"].get("source")
    obs.citation = card["data"].get("citation")
    try:
        model = ScalingModel.from_settings(card["model"])
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise _damaged(path, f"its model settings are not valid ({err})") from None
    groups = {f"/{name}": node.to_dataset() for name, node in tree.children.items() if name != DATA_GROUP}
    try:
        fit = Fit(idata=xr.DataTree.from_dict(groups), observations=obs, model=model,
                  sampler_settings=card["sampler"])
        fit_id = fit.id
    except (ValueError, KeyError, TypeError) as err:
        raise _damaged(path, f"its posterior does not fit its model ({err})") from None
    if card["format_version"] >= 2 and fit_id != card["id"]:
        raise _damaged(path, f"its contents give id {fit_id}, not the stored id {card['id']}")
    return fit
