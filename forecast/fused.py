"""The Chinchilla likelihood and its gradient in one compiled pass, for nutpie.

NUTS spends nearly all its time in the gradient of the log density, and for
the Chinchilla law that gradient is dominated by the per-run work: two
exponentials, a log-sum and the Student-t density for every run, then the
same again backwards, with a scatter-add of every run's gradient into its
family's parameters. PyTensor compiles this as a chain of array operations
with an intermediate array at each step; :class:`ChinchillaLogLik` does it in
one loop per family over that family's runs (the runs are sorted by family, so
each family's are contiguous), returning the summed log likelihood and its
gradient with respect to every family's parameters together. Measured on one
machine (log density plus gradient of the whole model, three runs each, the
last ``benchmarks/bench_fit.py --gradients``): 40 families x 100 runs 326-408
-> 178-233 microseconds, 20 x 50 77-95 -> 53-58, 5 x 40 17-18 -> 12-13.

It is the same model: :meth:`forecast.ScalingModel.build` with ``fused=True``
replaces the observed ``log_loss`` variable by this term and keeps every free
variable, prior and transform, and ``tests/test_fused.py`` checks that the log
density and gradient match the generic graph. nutpie samples the fused model;
PyMC's own sampler, prior predictive checks and everything else use the
generic one. Because the kernel finds each family's runs by ``offsets``, one
compiled model serves any number of runs with the same families.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph import Apply, Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

PARAMS = ("log_E", "a", "b", "log_alpha", "log_beta")


@numba.njit(cache=True)
def _loglik(log_E, a, b, log_alpha, log_beta, sigma, offsets, x, y, obs, nu):
    """Log likelihood of log loss and its gradient; runs of family f are ``offsets[f]:offsets[f+1]``.

    ``nu > 0``: Student-t with ``nu`` degrees of freedom; ``nu == 0``: normal.
    ``x`` and ``y`` are the centred log parameters and log tokens.

    Per run this costs two exponentials, one log and one division: the
    Student-t kernel ``sum(log(1 + r^2/nu))`` is the log of a running product,
    taken whenever the product passes 1e150 (each factor is at least 1, so the
    product only grows, and a factor would need ``r > 1e79`` to overflow it).
    """
    n_family = log_E.shape[0]
    if offsets.shape[0] != n_family + 1 or offsets[0] != 0 or offsets[n_family] != x.shape[0]:
        raise ValueError("offsets must run from 0 to the number of runs, one block per family")
    grads = np.zeros((6, n_family))
    student = nu > 0
    if student:
        const = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
    else:
        const = -0.5 * math.log(2 * math.pi)
    total = 0.0
    for f in range(n_family):
        E = math.exp(log_E[f])
        alpha = math.exp(log_alpha[f])
        beta = math.exp(log_beta[f])
        a_f = a[f]
        b_f = b[f]
        s = sigma[f]
        inv_s = 1.0 / s
        scale = (nu + 1) * inv_s if student else inv_s
        kernel = 0.0  # sum of log(1 + r^2/nu) (Student-t) or of r^2 (normal)
        product = 1.0
        s_E = s_a = s_b = s_alpha = s_beta = s_sigma = 0.0
        for i in range(offsets[f], offsets[f + 1]):
            e1 = math.exp(a_f - alpha * x[i])
            e2 = math.exp(b_f - beta * y[i])
            tot = E + e1 + e2
            r = (obs[i] - math.log(tot)) * inv_s
            if student:
                q = nu + r * r
                product *= q / nu
                if product > 1e150:
                    kernel += math.log(product)
                    product = 1.0
                # d log p / d log-mean, divided by the total: (nu + 1) r / (q sigma tot)
                d = scale * r / (q * tot)
                s_sigma += d * tot * r * s  # = (nu + 1) r^2 / q
            else:
                kernel += r * r
                d = scale * r / tot
                s_sigma += r * r
            s_E += d
            s_a += d * e1
            s_b += d * e2
            s_alpha += d * e1 * x[i]
            s_beta += d * e2 * y[i]
        n = offsets[f + 1] - offsets[f]
        if student:
            total += n * (const - math.log(s)) - 0.5 * (nu + 1) * (kernel + math.log(product))
        else:
            total += n * (const - math.log(s)) - 0.5 * kernel
        grads[0, f] = s_E * E
        grads[1, f] = s_a
        grads[2, f] = s_b
        grads[3, f] = -s_alpha * alpha
        grads[4, f] = -s_beta * beta
        grads[5, f] = (s_sigma - n) * inv_s
    return total, grads


class ChinchillaLogLik(Op):
    """Summed log density of observed log loss under the Chinchilla law, with its gradient.

    Inputs: the five per-family parameter vectors (``log_E``, ``a``, ``b``,
    ``log_alpha``, ``log_beta``), the per-family noise scale, ``offsets``
    (int, ``n_family + 1``) and the runs sorted by family: centred log
    parameters, centred log tokens and observed log loss. Outputs: the log
    likelihood, then its gradient with respect to each of the six per-family
    vectors (the gradient of the log likelihood uses them; they are not meant
    to be differentiated again).
    """

    __props__ = ("nu",)

    def __init__(self, nu: float):
        self.nu = float(nu)

    def make_node(self, *inputs):
        family = [pt.as_tensor_variable(v, dtype="float64") for v in inputs[:6]]
        offsets = pt.as_tensor_variable(inputs[6])
        data = [pt.as_tensor_variable(v, dtype="float64") for v in inputs[7:]]
        if len(inputs) != 10 or any(v.ndim != 1 for v in (*family, offsets, *data)):
            raise TypeError("ChinchillaLogLik takes six family vectors, offsets and three run vectors")
        if not offsets.dtype.startswith("int"):
            raise TypeError(f"ChinchillaLogLik offsets must be integers, got {offsets.dtype}")
        outputs = [pt.dscalar()] + [pt.dvector() for _ in family]
        return Apply(self, [*family, offsets, *data], outputs)

    def perform(self, node, inputs, output_storage):
        total, grads = _loglik(*inputs, self.nu)
        output_storage[0][0] = np.asarray(total)
        for k in range(6):
            output_storage[k + 1][0] = grads[k].copy()

    def connection_pattern(self, node):
        return [[True] * 7] * 6 + [[False] * 7] * 4

    def pullback(self, inputs, outputs, cotangents):
        if any(not isinstance(g.type, DisconnectedType) for g in cotangents[1:]):
            raise NotImplementedError("ChinchillaLogLik gives first derivatives only")
        g = cotangents[0]
        return [g * grad for grad in outputs[1:]] + [DisconnectedType()() for _ in range(4)]


@register_funcify_default_op_cache_key(ChinchillaLogLik)
def _numba_funcify_chinchilla(op, node, **kwargs):
    from pytensor.link.numba.dispatch import basic as numba_basic

    nu = op.nu

    @numba_basic.numba_njit
    def loglik(log_E, a, b, log_alpha, log_beta, sigma, offsets, x, y, obs):
        total, grads = _loglik(log_E, a, b, log_alpha, log_beta, sigma, offsets, x, y, obs, nu)
        return (np.array(total), grads[0].copy(), grads[1].copy(), grads[2].copy(),
                grads[3].copy(), grads[4].copy(), grads[5].copy())

    return loglik, 1


def sorted_runs(family_index: np.ndarray, n_family: int) -> tuple[np.ndarray, np.ndarray]:
    """The order that makes each family's runs contiguous, and the offsets of each family's block."""
    family_index = np.asarray(family_index, dtype=np.int64)
    order = np.argsort(family_index, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(family_index, minlength=n_family))]).astype(np.int64)
    return order, offsets
