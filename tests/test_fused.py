"""The fused Chinchilla likelihood (forecast.fused) is the same model as the generic graph."""

from __future__ import annotations

import numpy as np
import pytest

import forecast as fc
from forecast.datasets import simulate
from forecast.testing import compiled_logp


@pytest.fixture(scope="module")
def shuffled():
    """Six families of very different sizes (centred and non-centred), rows not grouped by family."""
    table, _ = simulate(n_families=6, runs_per_family=[40, 3, 12, 25, 5, 8], seed=3)
    return fc.Observations(table.sample(frac=1, random_state=1))


def _points(model, n=3, seed=0):
    rng = np.random.default_rng(seed)
    start = model.initial_point()
    return [{k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in start.items()} for _ in range(n)]


# The Op's perform (FAST_COMPILE) and its numba dispatch (NUMBA, what nutpie runs) call the same kernel,
# so the dispatch is checked once and the model variants through perform.
@pytest.mark.parametrize(("settings", "mode"), [
    ({}, "NUMBA"),
    ({}, "FAST_COMPILE"),
    ({"likelihood": "normal"}, "FAST_COMPILE"),
    ({"pooling": {"E": "complete", "beta": "none", "sigma": "none"}}, "FAST_COMPILE"),
    ({"pooling": {"sigma": "complete"}}, "FAST_COMPILE"),
])
def test_fused_log_density_and_gradient_match_the_generic_model(shuffled, settings, mode):
    model = fc.ScalingModel(**settings)
    assert model.fusable(shuffled)
    generic, fused = model.build(shuffled), model.build(shuffled, fused=True)
    assert [v.name for v in fused.value_vars] == [v.name for v in generic.value_vars]
    assert "log_loss" in {v.name for v in generic.observed_RVs}
    assert not fused.observed_RVs
    # term by term: Python-mode Elemwise adds at most 32 operands, fewer than this model's terms
    terms = [m.compile_logp(mode=mode, sum=False) for m in (generic, fused)]
    logp = [(lambda point, f=f: sum(np.sum(t) for t in f(point))) for f in terms]
    dlogp = [m.compile_dlogp(mode=mode) for m in (generic, fused)]
    for point in _points(generic):
        # PyMC's Student-t normalising constant differs from lgamma's by 5.6e-10 per run (5e-8 here)
        np.testing.assert_allclose(logp[1](point), logp[0](point), rtol=0, atol=1e-6)
        np.testing.assert_allclose(dlogp[1](point), dlogp[0](point), rtol=1e-9, atol=1e-9)


def test_laws_and_run_effects_the_kernel_does_not_cover_keep_the_generic_graph(shuffled):
    from dataclasses import replace

    from forecast.laws import CHINCHILLA

    assert not fc.ScalingModel(law="compute").fusable(shuffled)
    # the kernel is the law's declared capability: it travels with the law, not with its name or identity
    tighter = replace(CHINCHILLA, priors={**CHINCHILLA.priors, "log_E": fc.Prior("Normal", mu=0.5, sigma=0.1)})
    assert fc.ScalingModel(law=tighter).fusable(shuffled)
    assert not fc.ScalingModel(law=replace(CHINCHILLA, fused_likelihood=None)).fusable(shuffled)
    table = shuffled.table.assign(run=np.arange(len(shuffled)) // 2)
    runs = fc.Observations(table, run="run")
    assert not fc.ScalingModel(run_effects=True).fusable(runs)
    assert "log_loss" in {v.name for v in fc.ScalingModel(run_effects=True).build(runs, fused=True).observed_RVs}


def test_a_cached_compile_swaps_in_new_data_in_family_order():
    """The second data set has the same families and forms but more runs, in another row order:
    the fused model reads runs by offsets, so the first compile serves it and must give exactly
    the log density of a fresh build on that data."""
    model = fc.ScalingModel()
    first = fc.Observations(simulate(3, [15, 15, 8], seed=1)[0])
    # rows shuffled; families appear in the order 1, 0, 2, so the sparse family is still third
    second_table = simulate(3, [22, 12, 9], seed=4)[0].sample(frac=1, random_state=2)
    second = fc.Observations(second_table)
    model.compiled(first)
    cached, was_cached = model.compiled(second)
    assert was_cached
    fresh_model = model.build(second, fused=True)
    want_logp, want_grad = fresh_model.compile_logp(), fresh_model.compile_dlogp()
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.normal(0, 0.5, cached.n_dim)
        logp, grad = compiled_logp(cached, x)
        point = _unflatten(fresh_model, x)
        np.testing.assert_allclose(logp, want_logp(point), rtol=1e-12)
        np.testing.assert_allclose(grad, want_grad(point), rtol=1e-9, atol=1e-9)
    # and differs from the first data set's density, so the comparison can fail
    assert not np.isclose(compiled_logp(model.compiled(first)[0], x)[0], logp)


def _unflatten(model, x):
    shapes = {k: np.shape(v) for k, v in model.initial_point().items()}
    point, start = {}, 0
    for v in model.value_vars:
        size = int(np.prod(shapes[v.name]))
        point[v.name] = x[start:start + size].reshape(shapes[v.name])
        start += size
    return point


def test_offsets_that_do_not_cover_the_runs_are_refused():
    """The kernel reads each family's block by its offsets: a wrong table must fail, not read past the data."""
    from forecast.fused import _loglik

    fam = np.zeros(2)
    runs = np.zeros(5)
    with pytest.raises(ValueError, match="offsets"):
        _loglik(fam, fam, fam, fam, fam, fam + 1, np.array([0, 2, 4]), runs, runs, runs, 4.0)
    with pytest.raises(ValueError, match="offsets"):
        _loglik(fam, fam, fam, fam, fam, fam + 1, np.array([0, 5]), runs, runs, runs, 4.0)
