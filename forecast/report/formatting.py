"""Number formatting for reports: precise in tables, readable in prose.

Tables show :data:`TABLE_DIGITS` significant digits so a reader can check them
against the Python API; prose rounds counts to a suffix ("1.4T tokens").
"""

from __future__ import annotations

import math

TABLE_DIGITS = 4
"""Significant digits of every number in a report table."""

_SUFFIXES = ((1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def _clean_exponent(text: str) -> str:
    """``1.4e+12`` -> ``1.4e12``; ``2e-05`` -> ``2e-5``."""
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    sign = "-" if exponent.startswith("-") else ""
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def num(value, digits: int = TABLE_DIGITS) -> str:
    """A number with ``digits`` significant digits, scientific outside 1e-3..1e5.

    Examples
    --------
    >>> num(1.8187), num(485.2104), num(7e10), num(2.3e-6), num(float("nan"))
    ('1.819', '485.2', '7e10', '2.3e-6', 'n/a')
    >>> num(1.87996), num(2085.43), num(0.9), num(3.0004e12), num(1034.6, 3)
    ('1.880', '2085', '0.9', '3.000e12', '1030')
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    text = f"{v:.{digits}g}"
    if "e" in text and 1e-3 <= abs(v) < 1e5:
        # 1034.6 at 3 digits: "1030", not "1.03e+03"
        return f"{round(v, digits - 1 - math.floor(math.log10(abs(v)))):.0f}"
    if abs(float(text) - v) > 1e-12 * abs(v):  # 1e23 computed as 1.0000000000000001e23 is still exact
        # a rounded value keeps its trailing zeros (1.880, not 1.88) so every cell shows its precision
        text = f"{v:#.{digits}g}".replace(".e", "e").rstrip(".")
    return text if 1e-3 <= abs(v) < 1e5 else _clean_exponent(text)


def count(value, digits: int = 2) -> str:
    """A count for prose with a suffix: 7e9 -> ``7.0B``, 1.4e12 -> ``1.4T``; beyond 1e15 scientific.

    The value is rounded first and the suffix chosen after, so 999.6e9 reads
    ``1.0T`` (not ``1000B``); above a thousand trillion suffixes stop being
    familiar and the count is written as ``9.6e15``.

    Examples
    --------
    >>> count(7e10), count(1.4e12), count(1.45e12, 3), count(350), count(4.12e11)
    ('70B', '1.4T', '1.45T', '350', '410B')
    >>> count(7e9), count(999.6e9), count(9.6e15)
    ('7.0B', '1.0T', '9.6e15')
    """
    v = float(value)
    if not math.isfinite(v):
        return num(v)
    r = float(f"{v:.{digits}g}")
    if abs(r) >= 1e15:
        return _clean_exponent(f"{r:.{max(digits - 1, 0)}e}")
    for scale, suffix in _SUFFIXES:
        if scale < 1e15 and abs(r) >= scale:
            scaled = r / scale
            if abs(scaled) >= 10**digits:  # 412B at 2 digits: "410B", not "4.1e+02B"
                return f"{scaled:.0f}{suffix}"
            return f"{scaled:#.{digits}g}".rstrip(".") + suffix
    return num(v, max(digits, 3))


def ratio(value, digits: int = 2) -> str:
    """A ratio for prose (tokens per parameter): 20.4 -> ``20``, 9134 -> ``9.1e3``, 5.5e5 -> ``5.5e5``.

    Examples
    --------
    >>> ratio(20.4), ratio(1.5), ratio(9134), ratio(5.52e5)
    ('20', '1.5', '9.1e3', '5.5e5')
    """
    v = float(value)
    if not math.isfinite(v):
        return num(v)
    if abs(v) >= 1e3:
        return _clean_exponent(f"{v:.{max(digits - 1, 0)}e}")
    return num(v, digits) if abs(v) >= 10 ** (digits - 1) else f"{v:.{digits}g}"


def flop(value, digits: int = 2) -> str:
    """Compute for prose: 5.88e23 -> ``5.9e23``."""
    return _clean_exponent(f"{float(value):.{digits}g}")


def loss(value, digits: int = 3) -> str:
    """Loss in nats for prose, with ``digits`` decimals: 1.93712 -> ``1.937``."""
    return f"{float(value):.{digits}f}"


def percent(value) -> str:
    """A probability as a percentage for prose: 0.123 -> ``12%``; tiny values keep a bound."""
    v = float(value)
    if 0 < v < 0.005:
        return "<1%"
    if 0.995 < v < 1:
        return ">99%"
    return f"{v:.0%}"


def interval(lower, upper, fmt=num) -> str:
    """``lower – upper`` with an en dash."""
    return f"{fmt(lower)} – {fmt(upper)}"


def same_decimals(median, lower, upper, digits: int = 3) -> tuple[str, str, str]:
    """A median and its interval with the same number of decimals, set by the median's ``digits``.

    Examples
    --------
    >>> same_decimals(0.348, 0.3372, 0.36)
    ('0.348', '0.337', '0.360')
    >>> same_decimals(1.8187, 1.764, 1.875)
    ('1.82', '1.76', '1.88')
    """
    m = float(median)
    if not math.isfinite(m) or m == 0 or abs(m) >= 1e5 or abs(m) < 1e-3:
        return num(median, digits), num(lower, digits), num(upper, digits)
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(m))))
    return tuple(f"{float(v):.{decimals}f}" for v in (median, lower, upper))
