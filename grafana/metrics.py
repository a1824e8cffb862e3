"""The metric names Prometheus will hold: the contract plus recording rules.

The contract is the "Prometheus metrics (contract)" tables of docs/architecture.md (first cell:
backticked names, second: the type). A histogram ``h`` is exported as ``h_bucket``, ``h_sum``
and ``h_count``; counters are listed with their ``_total``. Recording rules come from
``prometheus/rules/*.yml``. Panels may only name these, so a renamed metric breaks the lint, not
a dashboard in production.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE_DOC = REPO_ROOT / "docs" / "architecture.md"
RULES_DIR = REPO_ROOT / "prometheus" / "rules"
CONTRACT_HEADING = "## Prometheus metrics (contract)"

# Series Prometheus itself creates for every scrape target and alert.
PROMETHEUS_BUILTINS = frozenset(
    {"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"}
)
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
_NAME = re.compile(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`")


def _contract_section(markdown: str) -> list[str]:
    """Lines of the contract section (up to the next level-2 heading)."""
    lines = markdown.splitlines()
    try:
        start = lines.index(CONTRACT_HEADING)
    except ValueError as exc:
        raise ValueError(f"no {CONTRACT_HEADING!r} section in the architecture doc") from exc
    section = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        section.append(line)
    return section


def contract_metrics(architecture_doc: Path = ARCHITECTURE_DOC) -> set[str]:
    """Series names the services export, read from the contract tables."""
    names: set[str] = set()
    for line in _contract_section(architecture_doc.read_text(encoding="utf-8")):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not line.lstrip().startswith("|"):
            continue
        metric_type = cells[1].strip("` ").lower()
        for name in _NAME.findall(cells[0].split("(")[0]):  # "(...)" is a note, not a name
            if metric_type == "histogram":
                names.update(name + suffix for suffix in HISTOGRAM_SUFFIXES)
            else:
                names.add(name)
    return names


def recording_rules(rules_dir: Path = RULES_DIR) -> set[str]:
    """Names recorded by ``rules_dir/*.y*ml`` (none when the directory does not exist)."""
    names: set[str] = set()
    for path in sorted(rules_dir.glob("*.y*ml")) if rules_dir.is_dir() else []:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in document.get("groups") or []:
            names.update(str(r["record"]) for r in group.get("rules") or [] if "record" in r)
    return names


def exported_metrics(
    architecture_doc: Path = ARCHITECTURE_DOC, rules_dir: Path = RULES_DIR
) -> set[str]:
    """Every metric name a panel may use: contract + recording rules + Prometheus built-ins."""
    return contract_metrics(architecture_doc) | recording_rules(rules_dir) | PROMETHEUS_BUILTINS
