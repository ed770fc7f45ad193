"""Priors as small objects that print, serialise to JSON and build PyMC variables.

A :class:`Prior` says only *which distribution*; how a parameter is shared
across families (pooling) is set separately on :class:`forecast.ScalingModel`,
so changing a prior can never un-pool a model by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

_ALLOWED = {"Normal", "HalfNormal", "StudentT", "LogNormal", "Gamma", "Exponential", "TruncatedNormal"}


@dataclass(frozen=True)
class Prior:
    """A named PyMC distribution with fixed keyword parameters.

    Parameters
    ----------
    dist : str
        Name of a PyMC distribution, e.g. ``"Normal"`` or ``"HalfNormal"``.
    **kwargs
        Its parameters, as plain numbers.

    Examples
    --------
    >>> from forecast import Prior
    >>> p = Prior("Normal", mu=0.0, sigma=1.0)
    >>> p
    Prior("Normal", mu=0.0, sigma=1.0)
    >>> Prior.from_dict(p.to_dict()) == p
    True
    """

    dist: str
    kwargs: dict[str, float] = field(default_factory=dict)

    def __init__(self, dist: str, **kwargs: float) -> None:
        if dist not in _ALLOWED:
            raise ValueError(
                f"unknown prior distribution {dist!r}; use one of {sorted(_ALLOWED)}"
            )
        clean: dict[str, float] = {}
        for key, value in kwargs.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"prior parameter {key}={value!r} of {dist} must be a plain number"
                ) from None
            if not np.isfinite(number):
                raise ValueError(f"prior parameter {key}={value!r} of {dist} must be finite")
            clean[key] = number
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "kwargs", clean)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f'Prior("{self.dist}", {args})'

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prior) and (self.dist, self.kwargs) == (other.dist, other.kwargs)

    def __hash__(self) -> int:
        return hash((self.dist, tuple(sorted(self.kwargs.items()))))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"dist": ..., "kwargs": {...}}``."""
        return {"dist": self.dist, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prior:
        """Inverse of :meth:`to_dict`."""
        return cls(data["dist"], **data.get("kwargs", {}))

    def create(self, name: str, **kwargs: Any):
        """Create the PyMC random variable (inside a model context)."""
        import pymc as pm

        return getattr(pm, self.dist)(name, **self.kwargs, **kwargs)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw from the prior with numpy (for prior predictive checks and ``family="new"``)."""
        k = self.kwargs
        match self.dist:
            case "Normal":
                return rng.normal(k.get("mu", 0.0), k.get("sigma", 1.0), size)
            case "HalfNormal":
                return np.abs(rng.normal(0.0, k.get("sigma", 1.0), size))
            case "StudentT":
                return k.get("mu", 0.0) + k.get("sigma", 1.0) * rng.standard_t(k["nu"], size)
            case "LogNormal":
                return rng.lognormal(k.get("mu", 0.0), k.get("sigma", 1.0), size)
            case "Gamma":
                return rng.gamma(k["alpha"], 1.0 / k["beta"], size)
            case "Exponential":
                return rng.exponential(1.0 / k["lam"], size)
            case "TruncatedNormal":
                lo, hi = k.get("lower", -np.inf), k.get("upper", np.inf)
                out = rng.normal(k.get("mu", 0.0), k.get("sigma", 1.0), size)
                bad = (out < lo) | (out > hi)
                while bad.any():
                    out[bad] = rng.normal(k.get("mu", 0.0), k.get("sigma", 1.0), bad.sum())
                    bad = (out < lo) | (out > hi)
                return out
        raise AssertionError(self.dist)  # pragma: no cover - guarded in __init__
