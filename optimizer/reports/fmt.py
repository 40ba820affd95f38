"""Number formats shared by the pages, the board report and the tests (the command line's
formats, so the app and ``python -m optimizer plan`` print the same figures)."""
from __future__ import annotations


def value(x: float) -> str:
    """Risk reduced in serious-harm equivalents, as the command line prints it (``931.848``)."""
    return f"{x:,.3f}"


def money(x: float) -> str:
    """Whole dollars with thousands separators (``$1,650,386``, ``-$2,500``)."""
    return f"{'-' if round(x) < 0 else ''}${abs(x):,.0f}"


def gap(x: float | None) -> str:
    """Relative optimality gap as a percentage, ``n/a`` when the solver reported none (None or NaN)."""
    return "n/a" if x is None or x != x else f"{x:.2%}"
