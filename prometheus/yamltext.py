"""YAML text for Prometheus and Alertmanager files: block style, literal multi-line strings."""

from __future__ import annotations

import re
from typing import Any

import yaml

_DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: Any) -> str:
    """YAML text in key order, block style, no line folding."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)


def check_duration(value: str, what: str) -> None:
    """ValueError naming ``what`` unless ``value`` is a Prometheus duration (1m30s, 500ms)."""
    if not value or not _DURATION.match(value):
        raise ValueError(f"{what} must be a Prometheus duration such as 15s or 1m, not {value!r}")
