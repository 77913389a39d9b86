"""Numbers from the environment, read one way everywhere (timeouts, render budgets, delivery policy).

A value that is not a finite number within its range stops whatever reads it — the code location
at load time (defs/resources.py `check_environment`) — with a message that names the variable,
says what it must be and what leaving it unset gives. NaN and infinity are never accepted: a
timeout of `inf` would wait forever, and a lease of `inf` breaks every interval computed from it.
"""

from __future__ import annotations

import math
import os


def env_number(name: str, default: float, *, integer: bool = False, minimum: float = 0.0,
               above_minimum: bool = False) -> float:
    """`name` as a number ≥ `minimum` (> `minimum` with `above_minimum`); `default` when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value: float | None = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value < minimum or (above_minimum and value == minimum):
        kind = "a whole number" if integer else "a number"
        bound = f"above {minimum:g}" if above_minimum else f"of at least {minimum:g}"
        raise ValueError(f"{name}={raw!r} is not {kind} {bound}; set it like {name}={default:g} "
                         f"or leave it unset for {default:g}")
    return value
