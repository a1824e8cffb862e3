"""alertmanager.yml: routing by severity, component and model, grouping, inhibition, receivers.

Every receiver posts to the API's webhook (which records what was sent in
``alert_notifications``); the critical receiver adds email and Slack, the monitor-health receiver
Slack, when ``prometheus.channels`` enables them. Routes, in order:

1. ``model_id="<id>"`` for each entry of ``model_webhooks`` → that model owner's webhook
   (``continue: true``, so the routes below still apply);
2. ``severity="critical"`` → ``driftmon-critical`` (a degraded model's accuracy included);
3. ``component="performance"`` → ``driftmon-performance`` (the model owners' channel;
   not continued: every receiver posts to the API once);
4. ``component="monitor"`` → ``driftmon-ops``;
5. anything else (warning and info drift alerts) → ``driftmon-webhook`` (an explicit last
   route: after a matched ``continue`` route the root's receiver would not apply).

With API keys on, the API's webhook needs one: ``webhook_credentials_file`` makes every receiver
posting to the API send ``Authorization: Bearer <file content>`` (``http_config.authorization``,
read by Alertmanager per request, so the key never appears in this configuration).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from prometheus.channels import NotificationChannels
from prometheus.yamltext import check_duration, dump

WEBHOOK, CRITICAL, OPS = "driftmon-webhook", "driftmon-critical", "driftmon-ops"
PERFORMANCE = "driftmon-performance"  # model performance: the model's owners
_MODEL_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

HEADER = """\
# Rendered by prometheus/config.py (render_alertmanager_config) for docker-compose.
# Do not edit by hand: change prometheus/alertmanager.py, then
# `python -m prometheus alertmanager --out ...`;
# tests/unit/test_prometheus_config.py checks this file equals a fresh render.
# Email and Slack: Alertmanager 0.25 does not expand environment variables, so the container
# renders this file at start from DRIFT_ALERT_* variables (see prometheus/README.md); secrets
# stay in files (auth_password_file, api_url_file), never in this configuration.
"""


def _webhook(url: str, credentials_file: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"url": url, "send_resolved": True}
    if credentials_file:
        config["http_config"] = {
            "authorization": {"type": "Bearer", "credentials_file": credentials_file}
        }
    return {"webhook_configs": [config]}


def _receivers(
    webhook_url: str,
    channels: NotificationChannels,
    model_webhooks: Mapping[str, str],
    credentials_file: str | None,
) -> list[dict[str, Any]]:
    def api() -> dict[str, Any]:  # a fresh dict per receiver (no YAML anchors)
        return _webhook(webhook_url, credentials_file)

    critical: dict[str, Any] = {"name": CRITICAL, **api()}
    ops: dict[str, Any] = {"name": OPS, **api()}
    if channels.email:
        critical["email_configs"] = [channels.email.config()]
    if channels.slack:
        critical["slack_configs"] = [channels.slack.config()]
        ops["slack_configs"] = [channels.slack.config()]
    models = [{"name": _model_receiver(m), **_webhook(u)} for m, u in model_webhooks.items()]
    performance: dict[str, Any] = {"name": PERFORMANCE, **api()}
    if channels.slack:
        performance["slack_configs"] = [channels.slack.config()]
    return [{"name": WEBHOOK, **api()}, critical, ops, performance, *models]


def _model_receiver(model_id: str) -> str:
    if not _MODEL_ID.match(model_id):
        raise ValueError(f"model_webhooks key {model_id!r} is not a model id ([A-Za-z0-9._-]+)")
    return f"driftmon-model-{model_id}"


def _routes(model_webhooks: Mapping[str, str]) -> list[dict[str, Any]]:
    # Model routes come first and continue, so the owner's webhook gets the model's alerts
    # and the severity routes below still apply.
    models = [
        {"receiver": _model_receiver(m), "matchers": [f'model_id="{m}"'], "continue": True}
        for m in model_webhooks
    ]
    return [
        *models,
        {"receiver": CRITICAL, "matchers": ['severity="critical"']},
        {"receiver": PERFORMANCE, "matchers": ['component="performance"']},
        {"receiver": OPS, "matchers": ['component="monitor"']},
        # Catch-all: a matched `continue` route would otherwise keep the root's receiver away.
        {"receiver": WEBHOOK},
    ]


INHIBIT_RULES: list[dict[str, Any]] = [
    {  # a worker that is down or unknown: its drift gauges are stale, silence its drift alerts
        "source_matchers": [
            'alertname=~"DriftmonTargetDown|DriftmonWorkerAbsent|DriftmonWorkerMetricsAbsent"'
        ],
        "target_matchers": ['component="drift"'],
        "equal": ["job"],
    },
    {  # the sinks process is down: its performance gauges are stale
        "source_matchers": ['alertname="DriftmonTargetDown"'],
        "target_matchers": ['component="performance"'],
        "equal": ["job"],
    },
    {  # evaluations of a model stopped: its verdicts are old
        "source_matchers": ['alertname="DriftmonEvaluationStale"'],
        "target_matchers": ['component="drift"'],
        "equal": ["model_id"],
    },
    {  # the policy verdict covers the per-statistic context alerts of the same stream
        "source_matchers": ['alertname="DriftDetected"'],
        "target_matchers": ['component="drift"', 'severity="info"'],
        "equal": ["model_id", "stream"],
    },
]


def render_alertmanager_config(
    webhook_url: str,
    group_wait: str = "30s",
    group_interval: str = "5m",
    repeat_interval: str = "4h",
    *,
    channels: NotificationChannels | None = None,
    model_webhooks: Mapping[str, str] | None = None,
    webhook_credentials_file: str | None = None,
) -> str:
    """alertmanager.yml: webhook by default, critical and monitor receivers, per-model webhooks.

    ``channels`` adds email/Slack to the critical (and Slack to the ops) receiver;
    ``model_webhooks`` maps a model id to its owner's webhook URL;
    ``webhook_credentials_file`` holds an API key sent as a Bearer token to the API's webhook.
    """
    for name, value in (
        ("group_wait", group_wait),
        ("group_interval", group_interval),
        ("repeat_interval", repeat_interval),
    ):
        check_duration(value, name)
    models = dict(model_webhooks or {})
    config = {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": WEBHOOK,
            "group_by": ["alertname", "model_id"],
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
            "routes": _routes(models),
        },
        "inhibit_rules": INHIBIT_RULES,
        "receivers": _receivers(
            webhook_url, channels or NotificationChannels(), models, webhook_credentials_file
        ),
    }
    return HEADER + dump(config)
