"""The in-memory cache of nutpie-compiled models, keyed by what the model computes.

Compiling a model with nutpie takes seconds; sampling a small one takes about
as long. Refits of the same structure (backtests, calibration, many fits)
therefore reuse a compiled model and swap in their data. The key must change
whenever the compiled function would: it hashes the model's settings (priors,
pooling, likelihood, ...), the shape of the data (families, their centred or
non-centred form, runs) and the **content** of the law's mean, never its name.
The law's part is the PyTensor graph of ``law.log_mean`` on symbolic inputs:
every operation in order and the value of every constant, so a law redefined
in a notebook under the same name with another formula (or another constant,
or a changed helper it calls) compiles afresh, while the same formula typed
twice shares one compile.

The cache holds at most :data:`COMPILE_CACHE_SIZE` models and drops the one
used least recently; :func:`clear_compile_cache` empties it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from forecast.laws import Law

COMPILE_CACHE_SIZE = 16
"""Compiled models kept in memory (each holds numba code and a few MB)."""


class CompileCache:
    """A bounded mapping from a structure key to a compiled model, least recently used dropped first.

    Examples
    --------
    >>> cache = CompileCache(maxsize=2)
    >>> cache.put("a", 1); cache.put("b", 2); _ = cache.get("a"); cache.put("c", 3)
    >>> sorted(cache.keys())
    ['a', 'c']
    """

    def __init__(self, maxsize: int = COMPILE_CACHE_SIZE) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = int(maxsize)
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any | None:
        """The compiled model stored under ``key`` (marked as just used), or None."""
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``, dropping the least recently used entry when full."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def keys(self) -> list[str]:
        """The keys held, least recently used first."""
        return list(self._items)

    def clear(self) -> int:
        """Drop every entry; returns how many there were."""
        n = len(self._items)
        self._items.clear()
        return n

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items


COMPILED = CompileCache()
"""The process's cache of compiled models (used by :meth:`forecast.ScalingModel.compiled`)."""


def clear_compile_cache() -> int:
    """Forget every compiled model held in this process; the next fit compiles afresh.

    Returns
    -------
    int
        How many compiled models were dropped.

    Examples
    --------
    >>> import forecast as fc
    >>> fc.clear_compile_cache() >= 0
    True
    """
    return COMPILED.clear()


def law_fingerprint(law: Law) -> str:
    """A hash of what ``law.log_mean`` computes, from its PyTensor graph on symbolic inputs.

    Two laws with the same graph (same operations in the same order, same
    constants, same parameter and input names) share a fingerprint whatever
    their names; any change in the formula changes it.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from forecast.laws import CHINCHILLA, KAPLAN
    >>> law_fingerprint(CHINCHILLA) == law_fingerprint(replace(CHINCHILLA, name="mine"))
    True
    >>> law_fingerprint(replace(KAPLAN, name="chinchilla")) == law_fingerprint(CHINCHILLA)
    False
    """
    import pytensor.tensor as pt

    theta = {p: pt.dvector(p) for p in law.params}
    logx = {k: pt.dvector(f"log_{k}") for k in law.inputs}
    centre = {k: pt.dscalar(f"centre_{k}") for k in law.centred}
    out = pt.as_tensor_variable(law.log_mean(theta, logx, centre, pt))
    inputs = [*theta.values(), *logx.values(), *centre.values()]
    head = repr((law.params, law.inputs, law.centred))
    return hashlib.sha256((head + graph_fingerprint([out], inputs)).encode()).hexdigest()


def graph_fingerprint(outputs: list, inputs: list) -> str:
    """Every operation from ``inputs`` to ``outputs`` in order, with each constant's type and value hashed."""
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import io_toposort

    names: dict[Any, str] = {v: f"input{i}" for i, v in enumerate(inputs)}

    def name_of(v) -> str:
        if v in names:
            return names[v]
        if isinstance(v, Constant):
            data = np.ascontiguousarray(v.data)
            return f"const({v.type}, {data.shape}, {hashlib.sha256(data.tobytes()).hexdigest()[:16]})"
        return f"root({v.type}, {v.name})"

    lines = []
    for n, node in enumerate(io_toposort(inputs, outputs)):
        lines.append(f"{node.op}({', '.join(name_of(v) for v in node.inputs)})")
        for j, o in enumerate(node.outputs):
            names[o] = f"node{n}.{j}"
    lines.append("-> " + ", ".join(name_of(o) for o in outputs))
    return "\n".join(lines)
