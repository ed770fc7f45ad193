"""Many independent fits on any :class:`concurrent.futures.Executor`.

Backtests, simulation-based calibration, per-benchmark fits and scenario
sweeps all need many fits of small models. :func:`fit_many` runs them through
an executor: a local process pool by default, or anything with the
``concurrent.futures`` interface (``submit`` returning a future), such as a
``dask.distributed`` client's ``client.get_executor()``, when one machine is
not enough (tested here on a ``LocalCluster``; other engines only need such
an executor whose workers can import ``forecast``).

What crosses the process boundary is plain data: the observations' tidy
table and the model's JSON settings go out; the posterior DataTree and the
sampler settings come back, and the :class:`forecast.Fit` is rebuilt in the
calling process. A compiled model never travels (it holds numba function
pointers); instead each worker process keeps its own compile cache
(:data:`forecast.compile_cache.COMPILED`, keyed by the law's content and the model's structure), so a worker
compiles a structure once and then only swaps data for later fits of the same
structure. Keep one executor alive across calls to keep the caches warm.

On one machine the pool pays most when the fits differ in model structure
(family count, law, pooling), since their compiles then run side by side:
8 fits of 3 to 10 families took 83 s against 118 s one after another on 2
cores. Fits of one structure compile once either way, and nutpie already runs
a fit's chains on every core, so there the pool ties with a loop
(``benchmarks/README.md``).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import xarray as xr

from forecast.data import Observations
from forecast.fit import Fit
from forecast.model import ScalingModel

__all__ = ["FitJob", "FitJobError", "fit_many"]

# Fit options a job may carry; anything else is a typo caught before any work starts.
_FIT_OPTIONS = frozenset(
    {"draws", "tune", "chains", "random_seed", "sampler", "target_accept", "cores", "warn", "retry"}
)


class FitJobError(RuntimeError):
    """One job of :func:`fit_many` failed; ``index`` is its position in the submitted jobs."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(f"fit job {index} failed: {type(error).__name__}: {error}")
        self.index = index
        self.error = error

    def __reduce__(self):  # keep the index when the error itself crosses a process boundary
        return (type(self), (self.index, self.error))


@dataclass(frozen=True)
class FitJob:
    """One fit to run: the runs, the model and the sampler options.

    Parameters
    ----------
    observations : Observations
        The runs to fit.
    model : ScalingModel, optional
        Default: ``ScalingModel()`` (Chinchilla, partial pooling).
    random_seed : int, optional
        Seed of the sampler. Give one for reproducible results: the same job
        with the same seed gives bit-identical draws in any worker or in the
        calling process, whether the model is compiled afresh or loaded from
        the compile caches (``tests/test_parallel.py`` checks three fresh
        processes: empty caches, the caches the first left, other empty caches).
    options : dict, optional
        Other keyword arguments of :meth:`forecast.ScalingModel.fit`
        (``draws``, ``tune``, ``chains``, ``sampler``, ``target_accept``,
        ``cores``, ``warn``, ``retry``). The progress bar is always off in workers.

    Examples
    --------
    >>> from forecast.data import Observations
    >>> from forecast.datasets import simulate
    >>> runs, _ = simulate(n_families=2, runs_per_family=8, seed=1)
    >>> job = FitJob(Observations(runs), random_seed=3, options={"draws": 100, "chains": 2})
    >>> job.options["draws"]
    100
    """

    observations: Observations
    model: ScalingModel | None = None
    random_seed: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.observations, Observations):
            raise TypeError(
                f"FitJob needs forecast.Observations, got {type(self.observations).__name__}; "
                "wrap a DataFrame with forecast.Observations(df)"
            )
        if self.model is not None and not isinstance(self.model, ScalingModel):
            raise TypeError(f"FitJob model must be a forecast.ScalingModel, got {type(self.model).__name__}")
        unknown = sorted(set(self.options) - _FIT_OPTIONS)
        if "random_seed" in self.options:
            raise ValueError("pass the seed as FitJob(random_seed=...), not inside options")
        if "progressbar" in self.options:
            raise ValueError("fits in fit_many never show a progress bar; drop 'progressbar' from options")
        if unknown:
            raise ValueError(
                f"unknown fit option(s) {unknown}; FitJob options are {sorted(_FIT_OPTIONS - {'random_seed'})}"
            )


def _model_payload(model: ScalingModel) -> dict[str, Any]:
    """What a worker needs to rebuild the model: JSON settings, or the object for a custom law."""
    settings = model.settings()
    try:
        rebuilt = ScalingModel.from_settings(settings)
    except ValueError:
        rebuilt = None
    if rebuilt is not None and rebuilt.law is model.law:
        return {"settings": settings}
    # A user-defined law is not in the registry: ship the model itself (its functions must pickle).
    return {"model": model}


def _payload(job: FitJob, cores: int | None) -> dict[str, Any]:
    model = job.model if job.model is not None else ScalingModel()
    options = dict(job.options)
    if cores is not None and "cores" not in options:
        options["cores"] = cores
    return {
        "table": job.observations.table,
        "min_points": job.observations.min_points,
        "model": _model_payload(model),
        "random_seed": job.random_seed,
        "options": options,
    }


def _run_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker side: rebuild data and model, fit, return plain data (no compiled objects)."""
    obs = Observations.from_table(payload["table"], min_points=payload["min_points"])
    spec = payload["model"]
    model = spec["model"] if "model" in spec else ScalingModel.from_settings(spec["settings"])
    options = dict(payload["options"])
    options["warn"] = False  # the gate is applied in the caller, where the user sees the warning
    cpu = time.process_time()
    fit = model.fit(obs, random_seed=payload["random_seed"], progressbar=False, **options)
    groups = {path: node.to_dataset().load() for path, node in fit.idata.subtree_with_keys if node.has_data}
    return {"groups": groups, "sampler_settings": fit.sampler_settings, "pid": os.getpid(),
            "cpu_seconds": time.process_time() - cpu}


def _rebuild(job: FitJob, result: Mapping[str, Any]) -> Fit:
    groups = {f"/{path}" if not path.startswith("/") else path: ds for path, ds in result["groups"].items()}
    idata = xr.DataTree.from_dict(groups)
    model = job.model if job.model is not None else ScalingModel()
    settings = dict(result["sampler_settings"])
    settings["worker_pid"] = result["pid"]
    if "cpu_seconds" in result:  # CPU time of the worker process over the fit, every thread (chain) included
        settings["worker_cpu_seconds"] = round(result["cpu_seconds"], 3)
    fit = Fit(idata=idata, observations=job.observations, model=model, sampler_settings=settings)
    if job.options.get("warn", True):
        fit.diagnostics().warn_if_failed(stacklevel=4)
    return fit


def default_executor(max_workers: int | None = None) -> ProcessPoolExecutor:
    """A local process pool that is safe with numba and nutpie's threads.

    Workers start with ``forkserver`` where available (else ``spawn``): forking
    a process that already runs numba or Rust threads can deadlock. The fork
    server preloads ``forecast.model`` (PyMC, nutpie) so workers start without
    re-importing them; each worker still compiles each model structure once.

    Examples
    --------
    >>> with default_executor(max_workers=1) as pool:
    ...     pool.submit(sum, [1, 2]).result()
    3
    """
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        # the server imports PyMC and nutpie once; every worker forks from it instead of importing anew
        context.set_forkserver_preload(["forecast.model", "forecast.fit"])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=max_workers or os.cpu_count() or 1, mp_context=context)


def fit_many(
    jobs: Iterable[FitJob],
    executor: Executor | None = None,
    *,
    max_workers: int | None = None,
    cores_per_fit: int | None = None,
) -> list[Fit]:
    """Run independent fits in parallel; results in the order the jobs were given.

    Parameters
    ----------
    jobs : iterable of FitJob
        The fits to run.
    executor : concurrent.futures.Executor, optional
        Where to run them: any executor whose workers can import ``forecast``,
        e.g. ``dask.distributed.Client(...).get_executor()``. Default: a local
        process pool (:func:`default_executor`) created for this call and shut
        down after it. Pass your own to keep each worker's compile cache warm
        across calls.
    max_workers : int, optional
        Size of the default pool (default: the number of CPUs). Ignored when
        ``executor`` is given.
    cores_per_fit : int, optional
        Threads (parallel chains) each fit uses, unless a job sets ``cores``.
        Default with the local pool: ``cpu_count // max_workers`` (at least 1),
        so the pool does not oversubscribe the machine; with a given executor,
        the fit's own default.

    Returns
    -------
    list of Fit
        One per job, in submission order. A fit that fails the convergence
        gate warns in the calling process (unless its options say ``warn=False``).

    Raises
    ------
    FitJobError
        If a job fails; ``.index`` names the job and the original error is
        chained. The remaining queued jobs are cancelled.

    Examples
    --------
    >>> from forecast.data import Observations
    >>> from forecast.datasets import simulate
    >>> jobs = [FitJob(Observations(simulate(2, 8, seed=s)[0]), random_seed=s,
    ...                options={"draws": 100, "tune": 100, "chains": 2, "warn": False})
    ...         for s in range(4)]
    >>> fits = fit_many(jobs, max_workers=2)                     # doctest: +SKIP
    >>> [f.sampler_settings["random_seed"] for f in fits]        # doctest: +SKIP
    [0, 1, 2, 3]
    """
    jobs = list(jobs)
    for i, job in enumerate(jobs):
        if not isinstance(job, FitJob):
            raise TypeError(f"job {i} is a {type(job).__name__}, not a forecast.parallel.FitJob")
    if not jobs:
        return []
    own = executor is None
    if own:
        workers = min(max_workers or os.cpu_count() or 1, len(jobs))
        if cores_per_fit is None:
            cores_per_fit = max(1, (os.cpu_count() or 1) // workers)
        executor = default_executor(workers)
    elif not isinstance(executor, Executor) and not hasattr(executor, "submit"):
        raise TypeError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    futures: list[Future] = []
    try:
        futures = [executor.submit(_run_payload, _payload(job, cores_per_fit)) for job in jobs]
        fits = []
        for i, (job, future) in enumerate(zip(jobs, futures, strict=True)):
            try:
                result = future.result()
            except Exception as err:
                for pending in futures[i + 1 :]:
                    pending.cancel()
                raise FitJobError(i, err) from err
            fits.append(_rebuild(job, result))
        return fits
    finally:
        if own:
            executor.shutdown(wait=True, cancel_futures=True)


def jobs_table(fits: Iterable[Fit]) -> pd.DataFrame:
    """One row per fit: seed, seconds, compile time and whether the worker's compile cache was hit.

    Examples
    --------
    >>> from forecast.testing import fake_fit
    >>> jobs_table([fake_fit(draws=10)]).loc[0, "sampler"]
    'fake'
    """
    rows = []
    for fit in fits:
        s = fit.sampler_settings
        rows.append(
            {
                k: s.get(k)
                for k in (
                    "sampler",
                    "random_seed",
                    "seconds",
                    "compile_seconds",
                    "compile_cached",
                    "worker_pid",
                    "worker_cpu_seconds",
                )
            }
        )
    return pd.DataFrame(rows)
