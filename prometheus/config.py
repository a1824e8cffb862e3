"""Render prometheus.yml, alertmanager.yml and rule files for given addresses.

The committed ``prometheus/prometheus.yml`` and ``prometheus/alertmanager.yml`` are these
renderers' output for the docker-compose addresses (``COMPOSE_*``); a unit test keeps them equal.
The local stack and the tests render the same configuration with loopback addresses, and may
shorten every alert's ``for:`` with ``rewrite_for_durations``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from prometheus.alertmanager import render_alertmanager_config
from prometheus.yamltext import check_duration, dump

__all__ = [
    "load_rules",
    "render_alertmanager_config",
    "render_prometheus_config",
    "rewrite_for_durations",
    "rewrite_grafana_url",
]

HERE = Path(__file__).resolve().parent
RULES_DIR = HERE / "rules"
COMPOSE_WORKER_TARGETS = ["worker:6066"]
COMPOSE_API_TARGETS = ["api:8000"]
COMPOSE_SINKS_TARGETS = ["worker:6067"]  # the worker's sinks child: DRIFT_SINKS_WEB_PORT
COMPOSE_ALERTMANAGER_URL = "http://alertmanager:9093"
COMPOSE_RULE_FILES = ["rules/*.yml"]
COMPOSE_WEBHOOK_URL = "http://api:8000/alertmanager/webhook"
# compose writes DRIFT_ALERTMANAGER_API_KEY here (a tmpfs): the webhook's Bearer credentials
COMPOSE_WEBHOOK_CREDENTIALS_FILE = "/tmp/driftmon-api-key"
DEFAULT_GRAFANA_URL = "http://localhost:3000"
WORKER_JOB, API_JOB, SINKS_JOB = "driftmon-worker", "driftmon-api", "driftmon-sinks"

HEADER = """\
# Rendered by prometheus/config.py (render_prometheus_config) for docker-compose.
# Do not edit by hand: change config.py, then `python -m prometheus prometheus --out ...`;
# tests/unit/test_prometheus_config.py checks this file equals a fresh render.
"""


def _alertmanager_endpoint(url: str) -> dict[str, Any]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.netloc or parts.scheme not in ("http", "https"):
        raise ValueError(f"alertmanager_url must be http(s)://host:port[/prefix], not {url!r}")
    endpoint: dict[str, Any] = {"scheme": parts.scheme}
    if parts.path.strip("/"):
        endpoint["path_prefix"] = parts.path
    endpoint["static_configs"] = [{"targets": [parts.netloc]}]
    return endpoint


def render_prometheus_config(
    worker_targets: list[str],
    api_targets: list[str],
    alertmanager_url: str,
    rule_files: list[str],
    scrape_interval: str = "15s",
    evaluation_interval: str = "15s",
    sinks_targets: list[str] | None = None,
) -> str:
    """prometheus.yml scraping the workers, the API and the sinks processes (label counters,
    performance gauges; no job when ``sinks_targets`` is empty), alerting to one Alertmanager."""
    for name, value in (("scrape", scrape_interval), ("evaluation", evaluation_interval)):
        check_duration(value, f"{name}_interval")
    jobs: list[dict[str, Any]] = [
        {"job_name": WORKER_JOB, "static_configs": [{"targets": list(worker_targets)}]},
        {"job_name": API_JOB, "static_configs": [{"targets": list(api_targets)}]},
    ]
    if sinks_targets:
        jobs.append({"job_name": SINKS_JOB, "static_configs": [{"targets": list(sinks_targets)}]})
    config = {
        "global": {
            "scrape_interval": scrape_interval,
            "evaluation_interval": evaluation_interval,
        },
        "rule_files": list(rule_files),
        "alerting": {"alertmanagers": [_alertmanager_endpoint(alertmanager_url)]},
        "scrape_configs": jobs,
    }
    return HEADER + dump(config)


def _rewrite_alerts(rules_yaml: str, change: Any) -> str:
    doc = yaml.safe_load(rules_yaml)
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise ValueError("not a Prometheus rule file: no top-level 'groups' list")
    for group in doc["groups"]:
        for rule in group.get("rules") or []:
            if "alert" in rule:
                change(rule)
    return dump(doc)


def rewrite_for_durations(rules_yaml: str, for_: str) -> str:
    """The rule file with every alert's ``for:`` set to ``for_`` (tests use 1s or 2s)."""
    check_duration(for_, "for_")

    def change(rule: dict[str, Any]) -> None:
        rule["for"] = for_

    return _rewrite_alerts(rules_yaml, change)


def rewrite_grafana_url(rules_yaml: str, grafana_url: str) -> str:
    """The rule file with annotation links pointing at ``grafana_url`` instead of the default."""
    base = grafana_url.rstrip("/")

    def change(rule: dict[str, Any]) -> None:
        for key, text in (rule.get("annotations") or {}).items():
            if isinstance(text, str) and text.startswith(DEFAULT_GRAFANA_URL + "/"):
                rule["annotations"][key] = base + text[len(DEFAULT_GRAFANA_URL) :]

    return _rewrite_alerts(rules_yaml, change)


def load_rules(for_: str | None = None, grafana_url: str | None = None) -> dict[str, str]:
    """The committed rule files as {"rules/<name>": text}, optionally rewritten."""
    files = {}
    for path in sorted(RULES_DIR.glob("*.yml")):
        text = path.read_text()
        if for_ is not None:
            text = rewrite_for_durations(text, for_)
        if grafana_url is not None:
            text = rewrite_grafana_url(text, grafana_url)
        files[f"rules/{path.name}"] = text
    return files
