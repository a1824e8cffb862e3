"""Grafana template variables: finding ``$name`` references and substituting values.

Grafana writes a variable as ``$name``, ``${name}``, ``${name:format}`` or ``[[name]]``. Names
starting with ``__`` are Grafana's own (``$__interval``, ``$__rate_interval``, ...); followed by
``(`` they are a datasource macro (``$__timeFilter(col)``), which ``queries`` expands instead.
``$$`` (PostgreSQL dollar quoting) and ``$1`` (positional parameters) are not variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

VariableValue = str | int | float | Sequence[str]

REFERENCE = re.compile(
    r"\$\{(?P<braced>\w+)(?::(?P<format>\w+))?\}"
    r"|\[\[(?P<bracketed>\w+)(?::(?P<format2>\w+))?\]\]"
    r"|(?<!\$)\$(?P<plain>[A-Za-z_]\w*)(?!\w|\()"
)

# Variables Grafana defines on every dashboard (not macros: those take parentheses).
GLOBAL_VARIABLES = frozenset({
    "__interval", "__interval_ms", "__rate_interval", "__rate_interval_ms",
    "__range", "__range_s", "__range_ms", "__from", "__to",
    "__dashboard", "__org", "__user", "__name", "__timezone", "timeFilter", "__timeFilter",
})  # fmt: skip

_UNITS = (("d", 86400_000), ("h", 3600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def referenced(text: str) -> set[str]:
    """Names of the variables ``text`` uses (macros such as ``$__timeFilter(...)`` excluded)."""
    found = set()
    for match in REFERENCE.finditer(text):
        found.add(match["braced"] or match["bracketed"] or match["plain"])
    return found


def duration(span: timedelta) -> str:
    """Grafana/Prometheus duration text, largest exact unit: 60 s -> ``1m``, 90 s -> ``90s``."""
    millis = round(span.total_seconds() * 1000)
    if millis <= 0:
        raise ValueError(f"duration must be positive, got {span}")
    for unit, size in _UNITS:
        if millis % size == 0:
            return f"{millis // size}{unit}"
    raise AssertionError("unreachable: 1 ms divides every whole number of ms")


def sql_literal(value: VariableValue) -> str:
    """Grafana's SQL interpolation: one value as is with ``'`` doubled, several as quoted list."""
    if isinstance(value, str | int | float):
        return str(value).replace("'", "''")
    return ",".join("'" + str(v).replace("'", "''") + "'" for v in value)


def promql_literal(value: VariableValue) -> str:
    """Grafana's Prometheus interpolation: one value as is, several as a regex ``(a|b)``."""
    if isinstance(value, str | int | float):
        return str(value)
    return "(" + "|".join(re.escape(str(v)) for v in value) + ")"


def substitute(
    text: str, values: Mapping[str, VariableValue], literal: Callable[[VariableValue], str]
) -> str:
    """Replace every variable reference with ``literal(value)``.

    Raises ValueError naming the variable when ``values`` lacks one, so a query is never run
    with a ``$name`` left in it.
    """

    def replace(match: re.Match[str]) -> str:
        name = match["braced"] or match["bracketed"] or match["plain"]
        if name not in values:
            raise ValueError(f"undefined variable ${name} in query: {text.strip()[:80]!r}")
        fmt = match["format"] or match["format2"]
        value = values[name]
        if fmt in (None, ""):
            return literal(value)
        items = [str(value)] if isinstance(value, str | int | float) else [str(v) for v in value]
        formats = {
            "raw": ",".join(items),
            "csv": ",".join(items),
            "pipe": "|".join(items),
            "regex": "|".join(re.escape(v) for v in items),
            "singlequote": ",".join("'" + v.replace("'", "\\'") + "'" for v in items),
            "doublequote": ",".join('"' + v.replace('"', '\\"') + '"' for v in items),
        }
        if fmt not in formats:
            raise ValueError(f"unsupported variable format ${{{name}:{fmt}}}")
        return formats[fmt]

    return REFERENCE.sub(replace, text)
