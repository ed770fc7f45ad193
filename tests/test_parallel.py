"""fit_many: independent fits on an executor, in submission order, equal to sequential fits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from forecast.data import Observations
from forecast.datasets import simulate
from forecast.parallel import FitJob, FitJobError, default_executor, fit_many

OPTIONS = {"draws": 100, "tune": 100, "chains": 2, "warn": False}
SEEDS = (11, 12, 13)


def _obs(seed: int) -> Observations:
    runs, _ = simulate(n_families=2, runs_per_family=8, seed=seed)
    return Observations(runs)


@pytest.fixture(scope="module")
def jobs() -> list[FitJob]:
    # different data and seeds per job, so a mix-up of order would show
    return [FitJob(_obs(s), random_seed=s, options=OPTIONS) for s in SEEDS]


@pytest.fixture(scope="module")
def sequential(jobs):
    """The jobs fitted one after another in one clean process."""
    with default_executor(1) as one_process:
        fits = fit_many(jobs, one_process, cores_per_fit=2)
    assert len({f.sampler_settings["worker_pid"] for f in fits}) == 1
    return fits


def _assert_same_posterior(a, b) -> None:
    pa, pb = a.posterior, b.posterior
    assert set(pa.data_vars) == set(pb.data_vars)
    for name in pa.data_vars:
        np.testing.assert_array_equal(pa[name].values, pb[name].values, err_msg=name)


def test_process_pool_matches_sequential_in_order(jobs, sequential):
    fits = fit_many(jobs, max_workers=2)
    assert [f.sampler_settings["random_seed"] for f in fits] == list(SEEDS)
    for fit, job, ref in zip(fits, jobs, sequential, strict=True):
        assert fit.observations is job.observations
        _assert_same_posterior(fit, ref)
    # the fits ran in other processes, not here
    import os

    assert all(f.sampler_settings["worker_pid"] != os.getpid() for f in fits)
    # each worker compiled the structure for its first fit and reused it for the next
    first_in_worker: dict = {}
    for fit in fits:
        first_in_worker.setdefault(fit.sampler_settings["worker_pid"], fit)
    assert not any(f.sampler_settings["compile_cached"] for f in first_in_worker.values())
    assert all(f.sampler_settings["compile_cached"] for f in fits if f not in first_in_worker.values())


def test_dask_local_cluster_matches_sequential(jobs, sequential):
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        fits = fit_many(jobs, client.get_executor())
    for fit, ref in zip(fits, sequential, strict=True):
        _assert_same_posterior(fit, ref)


def test_error_names_the_failing_job(jobs, sequential):
    bad = FitJob(jobs[0].observations, random_seed=1, options={**OPTIONS, "sampler": "no-such-sampler"})
    # a thread pool runs the jobs in this process; job 0 succeeds before job 1 fails
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(FitJobError, match="job 1") as info:
        fit_many([jobs[0], bad, jobs[1]], pool)
    assert info.value.index == 1
    assert isinstance(info.value.__cause__, ValueError)
    assert "no-such-sampler" in str(info.value)


def test_job_rejects_bad_options():
    obs = _obs(0)
    with pytest.raises(ValueError, match="unknown fit option"):
        FitJob(obs, options={"draw": 100})
    with pytest.raises(ValueError, match="random_seed"):
        FitJob(obs, options={"random_seed": 1})
    with pytest.raises(TypeError, match="Observations"):
        FitJob(obs.table)
    with pytest.raises(TypeError, match="job 0"):
        fit_many([obs])


def test_empty_job_list():
    assert fit_many([]) == []


# A fit in a fresh process: the compile caches it may read are chosen by its environment.
_FRESH_FIT = """
import sys
import numpy as np
from forecast.data import Observations
from forecast.datasets import simulate
from forecast.model import ScalingModel
from forecast.parallel import FitJob, fit_many

where, out = sys.argv[1], sys.argv[2]
obs = Observations(simulate(n_families=4, runs_per_family=25, seed=5)[0])
options = {"draws": 200, "tune": 200, "chains": 2, "warn": False}
if where == "main":
    fit = ScalingModel().fit(obs, random_seed=7, progressbar=False, **options)
else:
    fit = fit_many([FitJob(obs, random_seed=7, options=options)], max_workers=1)[0]
np.savez(out, **{name: fit.posterior[name].values for name in fit.posterior.data_vars})
"""


def _fit_in_fresh_process(tmp_path, cache: str, where: str, name: str) -> dict[str, np.ndarray]:
    import os
    import subprocess
    import sys

    cache_dir = tmp_path / cache
    env = {
        **os.environ,
        # PyTensor's compiled graphs (its numba cache lives under base_compiledir) and numba's own
        # cache of cache=True functions (forecast.fused) both start empty in a new folder
        "PYTENSOR_FLAGS": f"base_compiledir={cache_dir / 'pytensor'}",
        "NUMBA_CACHE_DIR": str(cache_dir / "numba"),
        # and the package's own disk cache of nutpie's compiled callbacks (forecast.disk_cache)
        "FORECAST_CACHE_DIR": str(cache_dir / "forecast"),
    }
    out = tmp_path / f"{name}.npz"
    subprocess.run([sys.executable, "-c", _FRESH_FIT, where, str(out)], env=env, check=True, timeout=1800)
    with np.load(out) as data:
        return dict(data)


@pytest.mark.slow
def test_same_seed_same_draws_whatever_the_compile_caches(tmp_path):
    """Same data and seed in three fresh processes: empty caches, the caches the first left (fitting
    in a fit_many worker), other empty caches. The draws are bit-identical."""
    first = _fit_in_fresh_process(tmp_path, "cache-1", "main", "empty")
    assert any((tmp_path / "cache-1" / "pytensor").rglob("*.nbi")), "the first process left no compile cache"
    # the package's disk cache: its wrapper file, and numba's cache of it (under NUMBA_CACHE_DIR when set)
    assert any((tmp_path / "cache-1").rglob("model_*.nbi")), "the first process left no compiled model"
    warm = _fit_in_fresh_process(tmp_path, "cache-1", "worker", "warm-worker")
    other = _fit_in_fresh_process(tmp_path, "cache-2", "main", "other-empty")
    assert set(first) == set(warm) == set(other)
    for name in first:
        np.testing.assert_array_equal(first[name], warm[name], err_msg=f"{name}: warm cache in a worker")
        np.testing.assert_array_equal(first[name], other[name], err_msg=f"{name}: other empty cache")
