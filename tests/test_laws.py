"""Scaling laws: published check values, one mean for numpy and PyTensor, transforms that invert."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import forecast as fc
from forecast import laws
from forecast.priors import Prior

# Muennighoff et al. (2023) fit, unrounded as in the datablations repository's README.
MUENNIGHOFF = {"E": np.exp(0.6254804), "A": np.exp(6.255414), "B": np.exp(7.3049974),
               "alpha": 0.3526596, "beta": 0.3526596, "R_D_star": 15.387756, "R_N_star": 5.309743}


@pytest.mark.parametrize(("n", "d", "u", "expected"), [
    (6.34e9, 242e9, 25e9, 2.2256440889984477),
    (8.67e9, 178e9, 25e9, 2.2269634075087867),
])
def test_data_constrained_matches_published_check_values(n, d, u, expected):
    got = laws.DATA_CONSTRAINED.loss(MUENNIGHOFF, params=n, tokens=d, unique_tokens=u)
    assert got == pytest.approx(expected, rel=1e-12)


def test_data_constrained_equals_chinchilla_without_repetition():
    p = {k: MUENNIGHOFF[k] for k in ("E", "A", "B", "alpha", "beta")}
    n, d = 1e9, 2e10
    full = laws.DATA_CONSTRAINED.loss(MUENNIGHOFF, params=n, tokens=d, unique_tokens=d)
    assert full == pytest.approx(laws.CHINCHILLA.loss(p, params=n, tokens=d), rel=1e-12)


def test_repetition_has_diminishing_value():
    u = 1e10
    tokens = u * np.array([1.0, 4.0, 40.0, 400.0])
    d_eff = laws.effective_data(tokens, u, 15.4)
    assert np.all(np.diff(d_eff) > 0)
    assert d_eff[-1] < u * (1 + 15.4)
    assert d_eff[1] == pytest.approx(u * (1 + 15.4 * (1 - np.exp(-3 / 15.4))))
    # a pool larger than the run: nothing repeats and the effective data are the tokens seen
    assert laws.effective_data(5e9, u, 15.4) == pytest.approx(5e9)


def test_chinchilla_formula():
    p = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    n, d = np.array([7e10, 1e9]), np.array([1.4e12, 2e10])
    expected = 1.69 + 406.4 / n**0.34 + 410.7 / d**0.28
    np.testing.assert_allclose(laws.CHINCHILLA.loss(p, params=n, tokens=d), expected, rtol=1e-12)


def test_compute_and_kaplan_formulas():
    c = np.array([1e20, 1e23])
    np.testing.assert_allclose(laws.COMPUTE.loss({"E": 1.7, "A": 2000.0, "alpha": 0.15}, flops=c),
                               1.7 + 2000.0 * c**-0.15, rtol=1e-12)
    n, d = np.array([1e8, 1e10]), np.array([1e9, 1e11])
    kap = {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095}
    expected = ((8.8e13 / n) ** (0.076 / 0.095) + 5.4e13 / d) ** 0.095
    np.testing.assert_allclose(laws.KAPLAN.loss(kap, params=n, tokens=d), expected, rtol=1e-12)
    np.testing.assert_allclose(laws.KAPLAN_N.loss({"N_c": 8.8e13, "alpha_N": 0.076}, params=n),
                               (8.8e13 / n) ** 0.076, rtol=1e-12)


@pytest.mark.parametrize("name", list(laws.LAWS))
def test_one_mean_serves_numpy_and_pytensor(name):
    law = laws.get_law(name)
    rng = np.random.default_rng(1)
    theta = {p: float(law.priors[p].sample(rng, ())) for p in law.params}
    n = np.geomspace(1e8, 1e10, 7)
    inputs = {"params": n, "tokens": 20 * n, "flops": 120 * n**2, "unique_tokens": 5 * n}
    logx = {k: np.log(inputs[k]) for k in law.inputs}
    centre = law.centres(logx)
    expected = law.log_mean(theta, logx, centre, np)
    sym_theta = {p: pt.dscalar(p) for p in law.params}
    sym_x = {k: pt.dvector(k) for k in law.inputs}
    out = law.log_mean(sym_theta, sym_x, centre, pt)
    f = pytensor.function([*sym_theta.values(), *sym_x.values()], out)
    got = f(*theta.values(), *logx.values())
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("name", list(laws.LAWS))
def test_user_transform_inverts(name):
    law = laws.get_law(name)
    rng = np.random.default_rng(2)
    theta = {p: law.priors[p].sample(rng, 5) for p in law.params}
    centre = {k: 20.0 + i for i, k in enumerate(law.centred)}
    back = law.from_user(law.to_user(theta, centre, np), centre, np)
    for p in law.params:
        np.testing.assert_allclose(back[p], theta[p], rtol=1e-9, atol=1e-9)


def test_unknown_law_lists_known_ones():
    with pytest.raises(ValueError, match="known laws: chinchilla, compute"):
        laws.get_law("chinchila")


def test_custom_law_needs_no_model_change():
    """A user-defined law (pure power law in D) builds a model without touching model code."""

    def log_mean(t, lx, c, xp):
        return t["k"] - xp.exp(t["log_beta"]) * (lx["tokens"] - c["tokens"])

    law = fc.Law(
        name="power_d", formula="L = (D_c/D)^beta", inputs=("tokens",), params=("k", "log_beta"),
        user_params=("k", "beta"),
        priors={"k": Prior("Normal", mu=1.0, sigma=0.5), "log_beta": Prior("Normal", mu=-2.0, sigma=0.5)},
        spread={"k": 0.2, "log_beta": 0.2}, log_mean=log_mean,
        to_user=lambda t, c, xp: {"k": t["k"], "beta": xp.exp(t["log_beta"])},
        from_user=lambda u, c, xp: {"k": u["k"], "log_beta": xp.log(u["beta"])},
        centred=("tokens",),
    )
    obs = fc.datasets.load_demo()
    model = fc.ScalingModel(law=law)
    pm_model = model.build(obs)
    assert {"k_mu", "k_family", "log_beta_tau", "log_beta_z"} <= {v.name for v in pm_model.free_RVs}
    assert pm_model.coords["family"] == tuple(obs.families)
    logp = pm_model.compile_logp()(pm_model.initial_point())
    assert np.isfinite(logp)
