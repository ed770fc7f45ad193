"""Forecasts: the posterior predictive loss at scales not yet trained.

For each posterior draw ``s`` and each requested point ``(N, D)`` (or compute
``C`` for the compute-only law) the forecast is the law's mean

    log L_s(N, D) = law.log_mean(theta_s, log N, log D, ...)

evaluated with numpy on xarray objects, so every draw, family and point is
computed in one broadcast expression over ``(chain, draw, family, point)``;
there is no Python loop per draw or per point. With ``include_noise=True`` the
likelihood's noise on log loss is added draw by draw (Student-t with
``nu = 4`` or normal, scale ``sigma_s``), which is what a *new observed run*
would show; without it the band describes the law's mean only.

Any two of ``N``, ``D`` and ``C`` determine the third through ``C = 6 N D``
(the transformer rule of Kaplan et al. 2020 that the package uses throughout).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from forecast.config import DEFAULT_CI, INTERVAL_KIND, check_ci, quantile_bounds

if TYPE_CHECKING:
    from forecast.fit import Fit

FLOPS_PER_PARAM_TOKEN = 6.0
"""Training compute per parameter per token: ``C = 6 N D``."""

CONSISTENCY_RTOL = 0.01
"""Largest relative mismatch allowed between a given ``C`` and ``6 N D``."""

INPUTS = ("params", "tokens", "flops", "unique_tokens")


# ------------------------------------------------------------------ inputs
def _as_positive(name: str, value: Any) -> np.ndarray:
    from forecast.data import _bad_number_types

    raw = np.asarray(value)
    wrong = _bad_number_types(pd.Series(raw.ravel()[:10_000])) if raw.dtype.kind in "bcmMSO" else None
    if wrong is not None:
        raise ValueError(f"{name} holds {wrong} values, not real numbers; give raw counts such as 7e10")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers (a scalar or an array), got {value!r}") from None
    if arr.size == 0:
        raise ValueError(f"{name} is empty; give at least one value")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        first = arr.ravel()[np.argmax(bad.ravel())]
        raise ValueError(
            f"{name} must be positive and finite (raw counts, e.g. 7e10); got {first!r}. "
            f"Negative, zero, NaN or infinite {name} cannot be forecast."
        )
    return arr


def _given(**inputs: Any) -> dict[str, Any]:
    """The inputs that were given (not None), in the order of :data:`INPUTS`."""
    return {k: inputs[k] for k in INPUTS if inputs.get(k) is not None}


def resolve_inputs(
    law_inputs: Sequence[str],
    *,
    params: Any = None,
    tokens: Any = None,
    flops: Any = None,
    unique_tokens: Any = None,
) -> dict[str, np.ndarray]:
    """Check and complete the forecast inputs, returning 1-D arrays over points.

    Any two of ``params``, ``tokens`` and ``flops`` determine the third by
    ``C = 6 N D``; all three may be given only if they agree within 1%. The
    arrays broadcast against each other like numpy arrays and are flattened
    to one ``point`` axis. Quantities that cannot be derived are NaN.

    Parameters
    ----------
    law_inputs : sequence of str
        The inputs the law needs (``law.inputs``).
    params, tokens, flops, unique_tokens : array-like, optional
        Parameter count N, training tokens D, compute C in FLOP, unique tokens U.

    Returns
    -------
    dict of str to numpy.ndarray
        ``params, tokens, flops`` (and ``unique_tokens`` if given), all 1-D of
        the same length.

    Raises
    ------
    ValueError
        Missing, non-positive or inconsistent inputs; the message says which.

    Examples
    --------
    >>> out = resolve_inputs(("params", "tokens"), params=[1e9, 2e9], flops=1.2e20)
    >>> out["tokens"].tolist()
    [20000000000.0, 10000000000.0]
    """
    given = _given(params=params, tokens=tokens, flops=flops, unique_tokens=unique_tokens)
    arrays = {k: _as_positive(k, v) for k, v in given.items()}
    if not arrays:
        raise ValueError(
            f"nothing to forecast: give the law's inputs ({', '.join(law_inputs)}), "
            "e.g. params=7e10, tokens=1.4e12, or any two of params, tokens, flops"
        )
    try:
        shaped = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in arrays.items())
        raise ValueError(
            f"the inputs do not broadcast against each other ({shapes}); they are paired point by "
            "point like numpy arrays. To cross them into a grid use forecast.predict.grid(...)"
        ) from None
    out = {k: np.ravel(v).astype(float) for k, v in zip(arrays, shaped, strict=True)}
    n = next(iter(out.values())).size
    nan = np.full(n, np.nan)
    k6 = FLOPS_PER_PARAM_TOKEN
    have = {k for k in ("params", "tokens", "flops") if k in out}
    if have == {"params", "tokens", "flops"}:
        implied = k6 * out["params"] * out["tokens"]
        mismatch = np.abs(out["flops"] - implied) / implied
        if (mismatch > CONSISTENCY_RTOL).any():
            i = int(np.argmax(mismatch))
            raise ValueError(
                f"params, tokens and flops disagree: flops={out['flops'][i]:.4g} but 6*params*tokens="
                f"{implied[i]:.4g} ({mismatch[i]:.1%} apart, allowed {CONSISTENCY_RTOL:.0%}). "
                "Give any two of them and the third follows from C = 6 N D."
            )
    elif have == {"params", "flops"}:
        out["tokens"] = out["flops"] / (k6 * out["params"])
    elif have == {"tokens", "flops"}:
        out["params"] = out["flops"] / (k6 * out["tokens"])
    elif have == {"params", "tokens"}:
        out["flops"] = k6 * out["params"] * out["tokens"]
    for k in ("params", "tokens", "flops"):
        out.setdefault(k, nan.copy())
    _check_scales(out)
    missing = [k for k in law_inputs if k not in out or np.isnan(out[k]).any()]
    if missing:
        hint = (
            "any two of params, tokens, flops" if set(missing) & {"params", "tokens"} else ", ".join(missing)
        )
        raise ValueError(
            f"the law needs {', '.join(law_inputs)}; missing {', '.join(missing)}. Give {hint}"
            + (" (and unique_tokens= for the data-constrained law)" if "unique_tokens" in missing else "")
        )
    return out


def _check_scales(inputs: dict[str, np.ndarray]) -> None:
    """The rules Observations apply to training runs, for forecast points (derived values included)."""
    from forecast.data import scale_problem

    problems = []
    for name in ("params", "tokens", "flops", "unique_tokens"):
        values = inputs.get(name)
        if values is None or np.isnan(values).all():
            continue
        given = ~np.isnan(values)
        bad = given & (~np.isfinite(values) | (values <= 0))
        if bad.any():
            problems.append(
                f"{name} (from the others by C = 6 N D) is {float(values[np.argmax(bad)])!r} at point "
                f"{int(np.argmax(bad))}: the inputs are too large or too small to forecast; give raw counts"
            )
            continue
        problem = scale_problem(name, values[given], where=name)
        if problem:
            problems.append(problem)
    if problems:
        raise ValueError("; ".join(problems))


def grid(
    *, params: Any = None, tokens: Any = None, flops: Any = None, unique_tokens: Any = None
) -> dict[str, np.ndarray]:
    """Cross the given 1-D arrays into a grid, flattened to paired points.

    Parameters
    ----------
    params, tokens, flops, unique_tokens : array-like, optional
        Values along each axis of the grid (give the ones you want crossed).

    Returns
    -------
    dict of str to numpy.ndarray
        One flattened array per given input, ready for ``predict(fit, **grid(...))``.

    Examples
    --------
    >>> g = grid(params=[1e9, 1e10], tokens=[2e10, 2e11, 2e12])
    >>> g["params"].size, g["tokens"][:3].tolist()
    (6, [20000000000.0, 200000000000.0, 2000000000000.0])
    """
    given = {
        k: np.ravel(np.asarray(v, dtype=float))
        for k, v in _given(params=params, tokens=tokens, flops=flops, unique_tokens=unique_tokens).items()
    }
    if not given:
        raise ValueError("grid() needs at least one of params, tokens, flops, unique_tokens")
    mesh = np.meshgrid(*given.values(), indexing="ij")
    return {k: m.ravel() for k, m in zip(given, mesh, strict=True)}


# ---------------------------------------------------------------- Forecast
BLOCK_ELEMENTS = 1 << 23
"""Draws per block of points (64 MB in double precision): forecasts and their tables work block by block."""

EXTRAPOLATION_DECADES = 3.0
"""A forecast further than this many decades (factors of ten) outside the data's range earns a warning."""


class ExtrapolationWarning(UserWarning):
    """A forecast lies far outside the range of the data the law was fitted to."""


def available_memory() -> int:
    """Bytes this process can still allocate: free memory, and the address-space limit if one is set."""
    import resource

    free = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except OSError:
        pass
    if free is None:
        free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return min(free, soft) if soft != resource.RLIM_INFINITY else free


def quantiles_last_axis(values: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """``np.quantile(values, levels, axis=-1)`` (linear interpolation) by partial sorting.

    ``np.partition`` with the few ranks the levels need is several times
    faster than a full sort, and works in place on a contiguous copy.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(3, 101))
    >>> bool(np.allclose(quantiles_last_axis(x, [0.05, 0.5]), np.quantile(x, [0.05, 0.5], axis=-1)))
    True
    """
    n = values.shape[-1]
    h = (n - 1) * np.asarray(levels, dtype=float)
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    part = np.partition(values, np.unique(np.concatenate([lo, hi])), axis=-1)
    below, above = part[..., lo], part[..., hi]
    out = below + (h - lo) * (above - below)
    return np.moveaxis(out, -1, 0)


@dataclass
class _Blocks:
    """How to compute a forecast's draws a block of points at a time (nothing is held but the recipe)."""

    compute: Any  # callable: block number -> array (chain, draw, family, points in the block)
    coords: dict[str, Any]
    step: int
    n_points: int
    dtype: Any

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.coords["chain"]), len(self.coords["draw"]), len(self.coords["family"]), self.n_points)

    def slices(self) -> list[slice]:
        return [slice(i, min(i + self.step, self.n_points)) for i in range(0, self.n_points, self.step)]


class Forecast:
    """Posterior predictive loss at a set of points.

    The draws are computed block by block of points when needed: the table
    never holds more than one block, so a forecast of a million points fits
    in memory; :attr:`draws` builds the whole array on first access.

    Attributes
    ----------
    draws : xarray.DataArray
        ``loss`` over ``(chain, draw, family, point)`` with coordinates
        ``params``, ``tokens``, ``flops`` (and ``unique_tokens``) on ``point``.
    include_noise : bool
        Whether the draws include the observation noise of a single run
        (a predictive interval for a run) or only the law's mean (a credible
        interval for the expected loss).
    families : list of str
        The families forecast (fitted names, ``"new"``, ``"population"``).
    fit_info : dict
        Law, formula, likelihood, fitted families and draws, for reports.
    horizon : numpy.ndarray or None
        Decades of compute beyond the family's data, ``(family, point)`` (0 within the data).
    extrapolation : Extrapolation, float, bool or None
        The law's own error beyond the data that the draws include, in any
        form :func:`predict` takes (None: none).

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> fc_ = predict(fake_fit(draws=20), params=[1e9, 1e10], tokens=2e11, family=["population", "new"])
    >>> fc_.families, fc_.include_noise, fc_.fit_info["law"]
    (['population', 'new'], False, 'chinchilla')
    """

    def __init__(self, draws: xr.DataArray | None = None, include_noise: bool = False,
                 families: Sequence[str] = (), fit_info: dict[str, Any] | None = None, *,
                 blocks: _Blocks | None = None, horizon: np.ndarray | None = None,
                 extrapolation: Extrapolation | None = None) -> None:
        if draws is None and blocks is None:
            raise ValueError("Forecast needs draws (or blocks to compute them)")
        self.horizon = horizon
        self.extrapolation = extrapolation_of(extrapolation)
        self._draws = draws
        self._blocks = blocks
        self.include_noise = include_noise
        self.families = list(families)
        self.fit_info = dict(fit_info or {})

    @property
    def draws(self) -> xr.DataArray:
        """Every draw as one array (built on first access; may be large: see :meth:`table`)."""
        if self._draws is None:
            b = self._blocks
            need = int(np.prod(b.shape)) * np.dtype(b.dtype).itemsize
            if need > 0.8 * available_memory():
                raise MemoryError(
                    f"the forecast's draws would take {need / 2**30:.1f} GiB, more than the memory "
                    f"available ({available_memory() / 2**30:.1f} GiB); use Forecast.table() (computed in "
                    "blocks), fewer points or families, or precision='single'"
                )
            values = np.empty(b.shape, dtype=b.dtype)
            for i, sl in enumerate(b.slices()):
                values[..., sl] = b.compute(i)
            loss = xr.DataArray(values, dims=("chain", "draw", "family", "point"), name="loss",
                                coords={k: v for k, v in b.coords.items() if k != "attrs"})
            loss.attrs.update(b.coords["attrs"])
            self._draws = loss
        return self._draws

    @property
    def includes(self) -> str:
        """What the interval includes, in words (every table says it too)."""
        return interval_includes(self.include_noise, self.extrapolation)

    def _sizes(self) -> dict[str, int]:
        if self._draws is not None:
            return dict(self._draws.sizes)
        return dict(zip(("chain", "draw", "family", "point"), self._blocks.shape, strict=True))

    @property
    def points(self) -> pd.DataFrame:
        """The forecast points: one row per point with its inputs.

        Examples
        --------
        >>> from forecast.testing import fake_fit
        >>> predict(fake_fit(draws=5), params=1e9, flops=1.2e20).points["tokens"].tolist()
        [20000000000.0]
        """
        if self._draws is None:
            coords = self._blocks.coords
            return pd.DataFrame({k: coords[k][1] for k in (*INPUTS, "run") if k in coords})
        return pd.DataFrame({k: self.draws[k].values for k in (*INPUTS, "run") if k in self.draws.coords})

    def __repr__(self) -> str:
        d = self._sizes()
        notes = "".join(f"; {self.fit_info[k]}" for k in ("family_note", "split_note") if self.fit_info.get(k))
        return (
            f"Forecast({self.fit_info.get('law', '?')} law, families={self.families}, "
            f"{d['point']} point(s), {d['chain']}x{d['draw']} draws, "
            f"{'with' if self.include_noise else 'without'} observation noise{notes})"
        )

    def _value_blocks(self) -> tuple[list[slice], Any]:
        """Slices of points and a function giving the values over (chain, draw, family, points) of one."""
        if self._draws is not None:
            values = self._draws.transpose("chain", "draw", "family", "point").values
            sizes = self._sizes()
            # cache-sized blocks, so that the table's transposed copies stay small
            step = max(1, (BLOCK_ELEMENTS // 4) // max(1, sizes["chain"] * sizes["draw"] * sizes["family"]))
            slices = [slice(i, min(i + step, sizes["point"])) for i in range(0, sizes["point"], step)]
            return slices, lambda i: values[..., slices[i]]
        return self._blocks.slices(), self._blocks.compute

    def table(self, ci: float | Sequence[float] = DEFAULT_CI) -> pd.DataFrame:
        """Summary of the forecast, one row per family x point x interval mass.

        Computed block by block of points (partial sorts, no full copy of the
        draws), so its memory stays near the size of the table itself.

        Parameters
        ----------
        ci : float or sequence of float
            Interval mass(es) in (0, 1), e.g. ``0.9`` or ``[0.5, 0.9]`` for a fan chart.

        Returns
        -------
        pandas.DataFrame
            Columns ``family, params, tokens, flops, mean, median, lower, upper,
            ci, interval, includes_noise`` (plus ``unique_tokens`` when given).
            ``interval`` is the kind (equal-tailed); ``includes_noise`` says
            whether a single run's noise is in the band. The same facts are in
            ``attrs``.

        Examples
        --------
        >>> from forecast.testing import fake_fit
        >>> fc_ = predict(fake_fit(draws=50), params=[7e10], tokens=[1.4e12], family="population")
        >>> fc_.table([0.5, 0.9])[["ci", "lower", "upper"]].shape
        (2, 3)
        """
        cis = [check_ci(c) for c in (np.atleast_1d(ci) if not isinstance(ci, float | int) else [ci])]
        sizes = self._sizes()
        n_f, n_p = sizes["family"], sizes["point"]
        levels = [0.5] + [q for c in cis for q in quantile_bounds(c)]
        qs = np.empty((len(levels), n_f, n_p))
        mean = np.empty((n_f, n_p))
        slices, values_of = self._value_blocks()

        def summarise(i: int) -> None:
            block, sl = values_of(i), slices[i]
            # (family, point, sample) contiguous: each row's quantiles by one partial sort
            flat = np.ascontiguousarray(
                block.reshape(-1, n_f, block.shape[-1]).transpose(1, 2, 0), dtype=np.float64
            )
            mean[:, sl] = flat.mean(axis=-1)
            qs[:, :, sl] = quantiles_last_axis(flat, levels)

        if len(slices) == 1:
            summarise(0)
        else:
            from concurrent.futures import ThreadPoolExecutor

            # numpy's partial sort releases the GIL: blocks run side by side, at most two in memory per core
            with ThreadPoolExecutor(max_workers=min(len(slices), os.cpu_count() or 1)) as pool:
                list(pool.map(summarise, range(len(slices))))
        pts = self.points
        names = [str(f) for f in (self._draws["family"].values if self._draws is not None
                                  else self._blocks.coords["family"])]
        frames = []
        for j, c in enumerate(cis):
            for f, fam in enumerate(names):
                frame = pts.copy()
                frame.insert(0, "family", fam)
                frame["mean"] = mean[f]
                frame["median"] = qs[0, f]
                frame["lower"] = qs[1 + 2 * j, f]
                frame["upper"] = qs[2 + 2 * j, f]
                frame["ci"] = c
                frames.append(frame)
        out = pd.concat(frames, ignore_index=True)
        out["interval"] = INTERVAL_KIND
        out["includes_noise"] = self.include_noise
        if self.horizon is not None:
            out["horizon"] = np.tile(np.asarray(self.horizon, dtype=float).ravel(), len(cis))
        out["includes"] = self.includes
        out.attrs.update(
            {
                "ci": cis if len(cis) > 1 else cis[0],
                "interval": INTERVAL_KIND,
                "includes_noise": self.include_noise,
                "includes": self.includes,
                "extrapolation_rate": self.extrapolation.rate,
                "extrapolation_bias": self.extrapolation.bias,
                **self.fit_info,
            }
        )
        return out


# ----------------------------------------------------------------- predict
def _point_coords(inputs: dict[str, np.ndarray]) -> dict[str, tuple[str, np.ndarray]]:
    return {k: ("point", v) for k, v in inputs.items()}


def _noise_scales(fit: Fit, names: list[str]) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Noise scale on log loss over (chain, draw, family), the run-offset scale, and the likelihood."""
    sigma = fit.noise_draws(names).transpose("chain", "draw", "family").values
    post = fit.posterior
    # a forecast point is a run not seen in training, so it gets its own run offset too
    sigma_run = (
        post["sigma_run"].transpose("chain", "draw").values[..., None] if "sigma_run" in post else None
    )
    return sigma, sigma_run, fit.model.likelihood


def _standard_noise(rng: np.random.Generator, size: tuple[int, ...], likelihood: str) -> np.ndarray:
    """Standard Student-t (nu = 4) or normal noise, drawn in single precision.

    The noise only needs a few significant digits, and single precision is
    2-3x cheaper to draw. For nu = 4 the t quantile function has a closed form
    (``F^-1(p) = sign(p - 1/2) 2 sqrt(cos(arccos(sqrt(a)) / 3) / sqrt(a) - 1)``,
    ``a = 4 p (1 - p)``), cheaper than ``Z / sqrt(chi2 / nu)``.
    """
    from forecast.model import STUDENT_T_NU

    if likelihood != "student_t":
        return rng.standard_normal(size, dtype=np.float32)
    if STUDENT_T_NU == 4.0:
        # random() is in [0, 1): lift an exact 0 so the tails stay finite
        p = np.maximum(rng.random(size, dtype=np.float32), np.float32(2.0**-25))
        root = np.minimum(np.sqrt(4 * p * (1 - p)), np.float32(1.0))
        # rounding can push the radicand a hair below 0 near p = 1/2, where t = 0
        t = 2 * np.sqrt(np.maximum(np.cos(np.arccos(root) / 3) / root - 1, np.float32(0.0)))
        return np.copysign(t, p - np.float32(0.5))
    z = rng.standard_normal(size, dtype=np.float32)
    return z / np.sqrt(rng.standard_gamma(STUDENT_T_NU / 2, size, dtype=np.float32) * (2 / STUDENT_T_NU))


def _run_offsets(fit: Fit, run: Any, n_points: int):
    """Per-point fitted run offsets (chain, draw, 1, point), which points are new runs, and the run names."""
    if run is None:
        return None, None, None
    runs = np.broadcast_to(np.asarray(run, dtype=object).astype(str), (n_points,))
    post = fit.posterior
    if "z_run" not in post or "sigma_run" not in post:
        raise ValueError(
            "run= needs a fit with run effects (observations with a 'run' column and several "
            "checkpoints per run); this fit has none, so every point is a new run: drop run="
        )
    z = post["z_run"].transpose("chain", "draw", ...)
    names = [str(r) for r in z[z.dims[-1]].values]
    index = {r: i for i, r in enumerate(names)}
    known = np.array([r in index for r in runs])
    idx = np.array([index.get(r, 0) for r in runs])
    offset = post["sigma_run"].transpose("chain", "draw").values[..., None] * z.values[:, :, idx]
    offset = np.where(known, offset, 0.0)[:, :, None, :]
    return offset, ~known, np.asarray(runs)


def evaluate_log_mean(
    law,
    theta: dict[str, np.ndarray],
    logx: dict[str, np.ndarray],
    centre: dict[str, float],
    *,
    noise: tuple | None = None,
    exp: bool = False,
    random_seed: int | None = 0,
    dtype: type = np.float64,
    log_offset: np.ndarray | None = None,
    new_run: np.ndarray | None = None,
    block_elements: int = 1 << 18,
) -> np.ndarray:
    """``law.log_mean`` for every draw and every point: shape ``theta.shape + (n_points,)``.

    ``theta`` holds arrays of one common shape (e.g. chain, draw, family) and
    ``logx`` 1-D arrays over points. The points are cut into blocks whose
    temporaries fit in cache and the blocks are spread over threads (numpy
    releases the GIL); each block is still one vectorised expression over all
    draws, so there is no loop per draw or per point. On this machine's CPUs
    (no AVX-512, so float64 ``exp``/``log`` are not SIMD) blocking is 2x
    faster than one expression over the whole array.

    Parameters
    ----------
    law : Law
    theta : dict of str to numpy.ndarray
        Sampled-space parameters, all of one shape.
    logx : dict of str to numpy.ndarray
        Logs of the inputs, 1-D over points.
    centre : dict of str to float
        Centres of the log inputs in the training data.
    noise : tuple, optional
        ``(sigma, sigma_run, likelihood)``: add one observation's noise on log
        loss (Student-t nu=4 or normal with scale ``sigma``, plus a normal run
        offset of scale ``sigma_run`` when not None).
    exp : bool
        Return the loss instead of the log loss.
    random_seed : int, optional
        Seed of the noise; each block has its own stream, so results do not
        depend on thread scheduling.
    dtype : numpy dtype
        ``float64`` (default) or ``float32``: single precision keeps about 7
        significant digits of the loss (far below any interval's Monte Carlo
        error) and is several times faster where ``exp`` is SIMD only in
        single precision (CPUs without AVX-512).
    log_offset : numpy.ndarray, optional
        Added to the log loss, broadcastable to ``theta.shape + (n_points,)``
        with points on the last axis (a fitted run's offset).
    new_run : numpy.ndarray of bool, optional
        Per point, whether the noise includes a fresh run offset (default:
        every point is a new run); points of a fitted run carry its offset
        in ``log_offset`` instead.

    Notes
    -----
    A law that declares a ``loss_kernel`` (Chinchilla's computes ``E +
    exp(a - alpha x) + exp(b - beta y)``, two exponentials per element instead
    of a log-sum-exp's five) is evaluated with it; the tests check every such
    kernel against the generic ``exp(law.log_mean(...))``.

    Examples
    --------
    >>> from forecast.laws import get_law
    >>> law = get_law("compute")
    >>> th = {"log_E": np.zeros(3), "a": np.zeros(3), "log_alpha": np.log(np.full(3, 0.1))}
    >>> evaluate_log_mean(law, th, {"flops": np.zeros(5)}, {"flops": 0.0}).shape
    (3, 5)
    """
    dtype = np.dtype(dtype).type
    shape = np.broadcast_shapes(*(np.shape(v) for v in theta.values()))
    n_points = len(next(iter(logx.values())))
    th = {k: np.broadcast_to(np.asarray(v, dtype=dtype), shape)[..., None] for k, v in theta.items()}
    logx = {k: np.asarray(v, dtype=dtype) for k, v in logx.items()}
    centre = {k: dtype(v) for k, v in centre.items()}
    kernel = law.loss_kernel(th, centre) if law.loss_kernel is not None else None
    out = np.empty((*shape, n_points), dtype=dtype)
    step = max(1, block_elements // max(1, int(np.prod(shape))))
    blocks = [slice(i, min(i + step, n_points)) for i in range(0, n_points, step)]
    streams = np.random.SeedSequence(random_seed).spawn(len(blocks)) if noise is not None else blocks

    def work(args) -> None:
        sl, stream = args
        size = out[..., sl].shape
        lx = {k: v[sl] for k, v in logx.items()}
        # the mean first, then the noise: fewer block-sized arrays alive at once (they fit in cache)
        if kernel is not None:
            loss = kernel(lx)
            shift = _log_shift(size, sl, stream, dtype, noise=noise, log_offset=log_offset, new_run=new_run)
            if shift is not None:
                # in place when the kernel gave a fresh full-size array (one array fewer per block)
                own = loss.shape == size and loss.flags.writeable and loss.base is None
                loss = np.multiply(loss, np.exp(shift), out=loss if own else None)
            out[..., sl] = loss if exp else np.log(loss)
        else:
            value = np.broadcast_to(law.log_mean(th, lx, centre, np), size)
            shift = _log_shift(size, sl, stream, dtype, noise=noise, log_offset=log_offset, new_run=new_run)
            if shift is not None:
                value = value + shift
            out[..., sl] = np.exp(value) if exp else value

    jobs = list(zip(blocks, streams, strict=True))
    if len(jobs) == 1:
        work(jobs[0])
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
            list(pool.map(work, jobs))
    return out


def _log_shift(size, sl, stream, dtype, *, noise, log_offset, new_run) -> np.ndarray | None:
    """What is added to the log loss of one block: a fitted run's offset and one observation's noise."""
    shift = None if log_offset is None else np.asarray(log_offset[..., sl], dtype=dtype)
    if noise is None:
        return shift
    sigma, sigma_run, likelihood = noise
    rng = np.random.default_rng(stream)
    eps = np.asarray(sigma, dtype=dtype)[..., None] * _standard_noise(rng, size, likelihood)
    if sigma_run is not None:
        run_sd = np.asarray(sigma_run, dtype=dtype)[..., None]
        if new_run is not None:
            run_sd = run_sd * new_run[sl].astype(dtype)
        eps += run_sd * rng.standard_normal(size, dtype=dtype)
    return eps if shift is None else shift + eps


def fit_info(fit: Fit) -> dict[str, Any]:
    """Facts about a fit that every output carries (law, likelihood, families, draws).

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> fit_info(fake_fit(chains=2, draws=10))["draws"]
    10
    """
    post = fit.posterior
    return {
        "law": fit.law.name,
        "formula": fit.law.formula,
        "likelihood": fit.model.likelihood,
        "fitted_families": list(fit.families),
        "chains": int(post.sizes["chain"]),
        "draws": int(post.sizes["draw"]),
    }


DEFAULT_FAMILY = "auto"
"""``family="auto"``: the fitted family when the fit has one, else ``"new"`` (stated in every output)."""


def resolve_default_family(fit: Fit, family: Any) -> tuple[Any, str | None]:
    """Resolve ``family="auto"``: the one fitted family, or ``"new"`` with several; and a note saying so.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> resolve_default_family(fake_fit(draws=5), "auto")[0]
    'new'
    """
    if not (isinstance(family, str) and family == DEFAULT_FAMILY) or DEFAULT_FAMILY in fit.families:
        return family, None
    if len(fit.families) == 1:
        only = fit.families[0]
        return only, (
            f"family: '{only}' (the fit's only family, the default; family='new' forecasts a family not "
            "seen, drawn from the population)"
        )
    return "new", (
        f"family: 'new' (the default with {len(fit.families)} fitted families: a family not seen, its "
        "parameters drawn from the population; name a fitted family to forecast it)"
    )


def frontier_split(fit: Fit, flops: Any, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, str, Any]:
    """N and D at compute budgets alone: the compute-optimal split (posterior median N*) of the forecast's family.

    The split is that of the one fitted family asked for, or of the typical
    family ('population') otherwise. Returns params, tokens (``C / 6N``), a
    note saying so, and the :class:`forecast.identify.Identification` of the split.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> n, d, note, ident = frontier_split(fake_fit(draws=50), [5.76e23], ["new"])
    >>> 10 < float(d[0] / n[0]) < 30, ident.identified
    (True, True)
    """
    from forecast.frontier import frontier

    budgets = _as_positive("flops", flops).ravel()
    who = names[0] if len(names) == 1 and names[0] in fit.families else "population"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the identification is returned and said by the caller
        fr = frontier(fit, budgets, family=who)
    n = fr.params.median(("chain", "draw")).values
    who_words = "the typical family" if who == "population" else f"family '{who}'"
    note = (
        f"N and D at each compute budget: on the compute-optimal frontier of {who_words} (posterior median "
        "N*, D = C / 6N*); give params= or tokens= with flops= to choose the split"
    )
    return n, budgets / (FLOPS_PER_PARAM_TOKEN * n), note, fr.identification


def predict(
    fit: Fit,
    params: Any = None,
    tokens: Any = None,
    flops: Any = None,
    *,
    unique_tokens: Any = None,
    family: str | Sequence[str] | None = DEFAULT_FAMILY,
    include_noise: bool = False,
    random_seed: int | None = 0,
    precision: Literal["double", "single"] = "double",
    run: Any = None,
    extrapolation: bool | float | Extrapolation = True,
) -> Forecast:
    """Posterior predictive loss at new scales, vectorised over draws, families and points.

    Parameters
    ----------
    fit : Fit
        A fitted scaling model.
    params, tokens, flops : array-like, optional
        Model size N, training tokens D and compute C (FLOP). Any two
        determine the third by ``C = 6 N D``; all three must agree within 1%.
        Arrays are paired point by point and broadcast like numpy; use
        :func:`grid` to cross them. The compute-only law needs only ``flops``.
    unique_tokens : array-like, optional
        Unique tokens U, needed by the data-constrained law.
        With ``flops`` alone, a law of N and D is evaluated on the
        compute-optimal frontier (the posterior median split of the family
        asked for, or of the typical family), and the forecast says so.
    family : str, list of str or None
        A fitted family, ``"new"`` (a family not seen: its parameters drawn
        from the population for each draw), ``"population"`` (the typical
        family), a list of these, or None for every fitted family. The
        default ``"auto"`` is the fitted family when there is only one, else
        ``"new"``; the forecast's ``fit_info["family_note"]`` says which.
    include_noise : bool
        Add the likelihood's noise on log loss (Student-t nu=4 or normal,
        scale ``sigma``), giving an interval for one observed run rather
        than for the law's mean.
    random_seed : int, optional
        Seed for the ``"new"`` family draws and the noise.
    run : str or array-like of str, optional
        The training run each point belongs to, for checkpoints of a run the
        model saw (fits with run effects): those points get the run's fitted
        offset ``sigma_run * z_run`` and no fresh run noise. Points of runs
        not in the fit (or with ``run=None``) are new runs: with
        ``include_noise=True`` they get a fresh offset ``N(0, sigma_run)``.
    precision : {"double", "single"}
        Arithmetic of the draws. ``"single"`` (float32) keeps ~7 significant
        digits, far below the Monte Carlo error of any interval, and is 3-10x
        faster on CPUs without AVX-512; use it for very large grids.
    extrapolation : bool, float or Extrapolation
        Add the law's own error beyond the data (default True): the log loss
        of each draw gets ``-bias * h + N(0, rate * h)``, where ``h`` is the
        decades of compute beyond the family's largest training run
        (:func:`extrapolation_error`). ``True`` uses the bias and rate learned
        by rolling-origin cross-validation on real tables
        (:data:`forecast.config.EXTRAPOLATION_BIAS`,
        :data:`forecast.config.EXTRAPOLATION_RATE`): laws fitted to smaller
        runs over-predict larger ones. An :class:`Extrapolation` sets both
        (e.g. a fit's own, ``fc.cross_validate(obs).extrapolation()``), a
        number sets the rate alone (no bias), ``False`` leaves the term out.
        Points within the data (``h = 0``) are unchanged.

    Returns
    -------
    Forecast

    Raises
    ------
    ValueError
        Unknown family (the message lists the fitted ones), missing,
        non-positive or inconsistent inputs.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> fit = fake_fit(draws=50)
    >>> fc_ = predict(fit, params=[7e10, 4e11], tokens=[1.4e12, 1.5e13], family="population")
    >>> fc_.draws.dims
    ('chain', 'draw', 'family', 'point')
    >>> t = fc_.table()
    >>> t["horizon"].round(2).tolist()                    # decades of compute beyond the data
    [1.69, 3.47]
    >>> bool((t["median"] > 1.7).all() and (t["lower"] < t["median"]).all())
    True
    """
    law = fit.law
    family, family_note = resolve_default_family(fit, family)
    names = [family] if isinstance(family, str) else list(fit.families if family is None else family)
    if not names:
        raise ValueError("family is empty; give a fitted family name, 'new' or 'population'")
    _check_family_names(names)
    fit._resolve_families(names)  # a misspelt family fails first, with its own message (did you mean)
    split_note = None
    if flops is not None and params is None and tokens is None and {"params", "tokens"} <= set(law.inputs):
        params, tokens, split_note, ident = frontier_split(fit, flops, names)
        if not ident.identified:
            import warnings

            from forecast.identify import IdentifiabilityWarning

            warnings.warn(f"forecast at compute alone: {ident.reason}", IdentifiabilityWarning, stacklevel=2)
            split_note += " (this split is NOT identified by the data)"
    inputs = resolve_inputs(
        law.inputs, params=params, tokens=tokens, flops=flops, unique_tokens=unique_tokens
    )
    fit._resolve_families(names)  # an unknown family fails before any work
    if precision not in ("double", "single"):
        raise ValueError(f"precision must be 'double' or 'single', got {precision!r}")
    warn_far_outside(fit, inputs)
    seeds = np.random.SeedSequence(random_seed).spawn(2) if random_seed is not None else [None, None]
    theta_seed = int(seeds[0].generate_state(1)[0]) if random_seed is not None else None
    theta = fit.theta(names, random_seed=theta_seed).transpose("chain", "draw", "family")
    logx = {k: np.log(inputs[k]) for k in law.inputs}
    noise = _noise_scales(fit, names) if include_noise else None
    noise_seed = int(seeds[1].generate_state(1)[0]) if random_seed is not None else None
    n_points = len(inputs["params"])
    runs = None
    if run is not None:
        runs = np.broadcast_to(np.asarray(run, dtype=object).astype(str), (n_points,))
        _run_offsets(fit, runs[:1], 1)  # a fit without run effects fails before any work
        inputs["run"] = np.asarray(runs)
    theta_values = {k: theta[k].values for k in law.params}
    dtype = np.float64 if precision == "double" else np.float32
    ext = extrapolation_of(extrapolation)
    horizon = extrapolation_horizon(fit, inputs, names)
    ext_z = None
    if ext:
        ext_seed = None if random_seed is None else int(np.random.SeedSequence(random_seed).spawn(3)[2]
                                                        .generate_state(1)[0])
        # one standard normal per draw and family: each draw departs from the law as one smooth curve
        ext_z = extrapolation_error(np.ones((len(names), 1)), Extrapolation(rate=1.0),
                                    theta[law.params[0]].shape[:2], random_seed=ext_seed)
    n_draws = int(np.prod(theta[law.params[0]].shape))
    step = max(1, BLOCK_ELEMENTS // max(1, n_draws))

    def compute(i: int) -> np.ndarray:
        # each block of points has its own noise stream, so any block can be recomputed alone
        sl = slice(i * step, min((i + 1) * step, n_points))
        log_offset, new_run, _ = _run_offsets(fit, None if runs is None else runs[sl], sl.stop - sl.start)
        if ext_z is not None:  # the extrapolation error on log loss (a separate term; see below)
            shift = horizon[None, None, :, sl] * (ext.rate * ext_z - ext.bias)
            log_offset = shift if log_offset is None else log_offset + shift
        return evaluate_log_mean(
            law,
            theta_values,
            {k: v[sl] for k, v in logx.items()},
            fit.centre,
            noise=noise,
            exp=True,
            random_seed=None if noise_seed is None else int(
                np.random.SeedSequence([noise_seed, i]).generate_state(1)[0]),
            dtype=dtype,
            log_offset=log_offset,
            new_run=new_run,
        )

    coords = {
        "chain": theta["chain"].values,
        "draw": theta["draw"].values,
        "family": names,
        **_point_coords(inputs),
        "attrs": {"units": "nats/token", "includes_noise": include_noise,
                  "includes": interval_includes(include_noise, ext)},
    }
    blocks = _Blocks(compute=compute, coords=coords, step=step, n_points=n_points, dtype=dtype)
    info = fit_info(fit)
    info.update({k: v for k, v in (("family_note", family_note), ("split_note", split_note)) if v})
    return Forecast(include_noise=include_noise, families=names, fit_info=info, blocks=blocks,
                    horizon=horizon, extrapolation=ext)


def _check_family_names(names: Sequence[str]) -> None:
    """Family names must be text, and each asked for once (two 'new' rows would differ yet share a label)."""
    not_text = [n for n in names if not isinstance(n, str)]
    if not_text:
        raise ValueError(f"family names must be text; got {not_text[0]!r}")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"family {n!r} is asked for twice; give each family once")
        seen.add(n)


# ---------------------------------------------------------- far outside the data
def warn_far_outside(fit: Fit, inputs: dict[str, np.ndarray], *, decades: float = EXTRAPOLATION_DECADES,
                     stacklevel: int = 3) -> None:
    """Warn when forecast points lie more than ``decades`` factors of ten outside the data's range.

    The distance is measured for params, tokens and flops separately, from
    the nearest end of the range the fit saw, and the warning says how far.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_far_outside(fake_fit(draws=5), {"flops": np.array([1e30])})
    >>> "decades above" in str(w[0].message)
    True
    """
    table = fit.observations.table
    parts = []
    for name in ("params", "tokens", "flops"):
        values = inputs.get(name)
        if values is None or name not in table or np.isnan(values).all():
            continue
        lo, hi = np.log10(table[name].min()), np.log10(table[name].max())
        lv = np.log10(values[np.isfinite(values) & (values > 0)])
        if lv.size == 0:
            continue
        above, below = float(lv.max() - hi), float(lo - lv.min())
        if above > decades:
            parts.append(f"{name} up to {10 ** lv.max():.3g}, {above:.1f} decades above the largest in "
                         f"the data ({10 ** hi:.3g})")
        if below > decades:
            parts.append(f"{name} down to {10 ** lv.min():.3g}, {below:.1f} decades below the smallest in "
                         f"the data ({10 ** lo:.3g})")
    if parts:
        warnings.warn(
            "forecast far outside the data: " + "; ".join(parts) + ". The law is extrapolated that far; "
            "the extrapolation error's bias and rate grow linearly with the decades beyond the data, which "
            "cross-validation on real tables checked only up to about 1.2 decades, so this far out they are "
            "an assumption",
            ExtrapolationWarning,
            stacklevel=stacklevel,
        )


# ---------------------------------------------------- extrapolation error
@dataclass(frozen=True)
class Extrapolation:
    """The law's own error on log loss beyond the data: ``-bias * h + rate * h * z`` at ``h`` decades.

    Parameters
    ----------
    bias : float
        How much the law over-predicts, in log loss per decade of compute
        beyond the family's data (positive: the forecast is lowered by
        ``bias * h``; ``0.02`` is about 2% of the loss per decade).
    rate : float
        Standard deviation of the law's error per decade (the band's sd
        grows as ``rate * h``).

    Examples
    --------
    >>> Extrapolation(bias=0.02, rate=0.01).describe()
    'lowered by 2.0% and widened by an sd of 1.0% of the loss per decade of compute beyond the data'
    >>> bool(Extrapolation()), bool(Extrapolation(rate=0.01))
    (False, True)
    """

    bias: float = 0.0
    rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("bias", "rate"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating)
                    or not np.isfinite(value)):
                raise ValueError(f"Extrapolation {name} must be a finite number, got {value!r}")
        if self.rate < 0:
            raise ValueError(f"Extrapolation rate must be >= 0 (an sd per decade), got {self.rate!r}")
        object.__setattr__(self, "bias", float(self.bias))
        object.__setattr__(self, "rate", float(self.rate))

    def __bool__(self) -> bool:
        return self.bias != 0.0 or self.rate > 0.0

    @classmethod
    def default(cls) -> Extrapolation:
        """The package default, learned by rolling-origin cross-validation on real tables."""
        from forecast.config import EXTRAPOLATION_BIAS, EXTRAPOLATION_RATE

        return cls(bias=EXTRAPOLATION_BIAS, rate=EXTRAPOLATION_RATE)

    def describe(self) -> str:
        """In words, for tables and reports."""
        if not self:
            return "no extrapolation error"
        parts = [f"{'lowered' if self.bias > 0 else 'raised'} by {100 * abs(self.bias):.1f}%"] if self.bias else []
        parts += [f"widened by an sd of {100 * self.rate:.1f}%"] if self.rate else []
        return " and ".join(parts) + " of the loss per decade of compute beyond the data"


def interval_includes(include_noise: bool, extrapolation: Extrapolation | float) -> str:
    """What a forecast interval includes, in words.

    Examples
    --------
    >>> interval_includes(True, Extrapolation(rate=0.01))
    'parameters, observation noise, extrapolation error'
    """
    parts = ["parameters"] + (["observation noise"] if include_noise else [])
    return ", ".join(parts + (["extrapolation error"] if extrapolation_of(extrapolation) else []))


def extrapolation_of(extrapolation: bool | float | Extrapolation | None) -> Extrapolation:
    """The extrapolation error a ``predict(extrapolation=...)`` argument asks for.

    Examples
    --------
    >>> extrapolation_of(False), extrapolation_of(0.02)
    (Extrapolation(bias=0.0, rate=0.0), Extrapolation(bias=0.0, rate=0.02))
    """
    if isinstance(extrapolation, Extrapolation):
        return extrapolation
    if extrapolation is True:
        return Extrapolation.default()
    if extrapolation is False or extrapolation is None:
        return Extrapolation()
    try:
        rate = float(extrapolation)
    except (TypeError, ValueError):
        rate = float("nan")
    if not np.isfinite(rate) or rate < 0:
        raise ValueError(
            f"extrapolation must be True (the package default), False (none), a rate >= 0 (sd of log loss per "
            f"decade of compute beyond the data) or an Extrapolation(bias=..., rate=...), got {extrapolation!r}"
        )
    return Extrapolation(rate=rate)


def extrapolation_horizon(fit: Fit, inputs: dict[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Decades of compute beyond each family's largest training run, ``(family, point)``; 0 within the data.

    A fitted family is measured from its own largest run; ``"new"`` and
    ``"population"`` from the largest run of any family. Points without a
    known compute (laws that read only N) are measured by model size.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> fit = fake_fit(draws=5)
    >>> cmax = float(fit.observations.table["flops"].max())
    >>> extrapolation_horizon(fit, {"flops": np.array([cmax, 100 * cmax])}, ["new"]).round(6).tolist()
    [[0.0, 2.0]]
    """
    table = fit.observations.table
    use = "flops" if np.isfinite(np.asarray(inputs.get("flops", [np.nan]), dtype=float)).all() else "params"
    largest = table.groupby("family")[use].max()
    overall = float(table[use].max())
    values = np.asarray(inputs[use], dtype=float)
    out = np.empty((len(names), values.size))
    for i, name in enumerate(names):
        ref = float(largest[name]) if name in largest.index else overall
        out[i] = np.maximum(np.log10(values / ref), 0.0)
    return out


def extrapolation_error(
    horizon: np.ndarray, extrapolation: Extrapolation | float, draws_shape: tuple[int, int], *,
    random_seed: int | None = 0,
) -> np.ndarray:
    """Draws of the law's own error on log loss beyond the data, ``(chain, draw, family, point)``.

    The error of a family's law grows linearly with the distance ``h`` beyond
    its data, ``delta(h) = (rate * z - bias) * h`` with one ``z ~ N(0, 1)``
    per draw and family, so each draw is one smooth curve that departs from
    the law (a wrong exponent by ``rate`` per decade), the band widens as
    ``rate * h`` and its centre moves by ``-bias * h``. Zero within the data.

    Examples
    --------
    >>> e = extrapolation_error(np.array([[0.0, 1.0, 2.0]]), Extrapolation(bias=0.02, rate=0.01), (2, 2000))
    >>> e.shape, float(np.abs(e[..., 0]).max()), round(float(e[..., 2].std() / e[..., 1].std()), 6)
    ((2, 2000, 1, 3), 0.0, 2.0)
    >>> round(float(np.median(e[..., 2])), 2)
    -0.04
    """
    ext = extrapolation_of(extrapolation)
    rng = np.random.default_rng(random_seed)
    z = rng.standard_normal((*draws_shape, horizon.shape[0], 1))
    return (ext.rate * z - ext.bias) * horizon[None, None]
