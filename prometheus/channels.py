"""Email and Slack notification channels for Alertmanager, configured from the environment.

Alertmanager 0.25 does not expand environment variables in its configuration, so the file is
rendered when the container starts (``python -m prometheus alertmanager``). Secrets never enter
the rendered file: it names files holding them (``auth_password_file``, ``api_url_file``), which
docker secrets or a mounted volume provide.

| variable | meaning |
|---|---|
| ``DRIFT_ALERT_EMAIL_TO`` | recipients; setting it enables email (critical alerts) |
| ``DRIFT_ALERT_EMAIL_FROM`` | sender address (required with email) |
| ``DRIFT_ALERT_SMTP_SMARTHOST`` | ``host:port`` of the SMTP server (required with email) |
| ``DRIFT_ALERT_SMTP_USERNAME`` | SMTP user (optional) |
| ``DRIFT_ALERT_SMTP_PASSWORD_FILE`` | file holding the SMTP password (optional) |
| ``DRIFT_ALERT_SMTP_REQUIRE_TLS`` | ``true`` (default) or ``false`` |
| ``DRIFT_ALERT_SLACK_API_URL_FILE`` | file holding the Slack webhook URL; enables Slack |
| ``DRIFT_ALERT_SLACK_CHANNEL`` | channel, e.g. ``#ml-alerts`` (required with Slack) |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SLACK_TITLE = "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.model_id }}"
SLACK_TEXT = (
    "{{ range .Alerts }}{{ .Annotations.summary }} ({{ .Annotations.value }})"
    " {{ .Annotations.dashboard }}\n{{ end }}"
)


@dataclass(frozen=True)
class EmailChannel:
    to: str
    sender: str
    smarthost: str
    username: str | None = None
    password_file: str | None = None
    require_tls: bool = True

    def config(self) -> dict[str, Any]:
        """One Alertmanager ``email_configs`` entry."""
        entry: dict[str, Any] = {
            "to": self.to,
            "from": self.sender,
            "smarthost": self.smarthost,
            "require_tls": self.require_tls,
            "send_resolved": True,
        }
        if self.username:
            entry["auth_username"] = self.username
        if self.password_file:
            entry["auth_password_file"] = self.password_file
        return entry


@dataclass(frozen=True)
class SlackChannel:
    api_url_file: str
    channel: str

    def config(self) -> dict[str, Any]:
        """One Alertmanager ``slack_configs`` entry."""
        return {
            "api_url_file": self.api_url_file,
            "channel": self.channel,
            "send_resolved": True,
            "title": SLACK_TITLE,
            "text": SLACK_TEXT,
        }


@dataclass(frozen=True)
class NotificationChannels:
    """Optional channels added next to the webhook: email on critical, Slack on critical and ops."""

    email: EmailChannel | None = None
    slack: SlackChannel | None = None


def _required(environ: Mapping[str, str], names: list[str], why: str) -> list[str]:
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise ValueError(f"{', '.join(missing)} must be set when {why} is set")
    return [environ[name] for name in names]


def channels_from_env(environ: Mapping[str, str]) -> NotificationChannels:
    """The channels the ``DRIFT_ALERT_*`` variables enable; ValueError names a missing one."""
    email = slack = None
    if environ.get("DRIFT_ALERT_EMAIL_TO"):
        to, sender, smarthost = _required(
            environ,
            ["DRIFT_ALERT_EMAIL_TO", "DRIFT_ALERT_EMAIL_FROM", "DRIFT_ALERT_SMTP_SMARTHOST"],
            "DRIFT_ALERT_EMAIL_TO",
        )
        tls = environ.get("DRIFT_ALERT_SMTP_REQUIRE_TLS", "true").strip().lower()
        if tls not in ("true", "false"):
            raise ValueError(f"DRIFT_ALERT_SMTP_REQUIRE_TLS must be true or false, not {tls!r}")
        email = EmailChannel(
            to=to,
            sender=sender,
            smarthost=smarthost,
            username=environ.get("DRIFT_ALERT_SMTP_USERNAME") or None,
            password_file=environ.get("DRIFT_ALERT_SMTP_PASSWORD_FILE") or None,
            require_tls=tls == "true",
        )
    if environ.get("DRIFT_ALERT_SLACK_API_URL_FILE"):
        url_file, channel = _required(
            environ,
            ["DRIFT_ALERT_SLACK_API_URL_FILE", "DRIFT_ALERT_SLACK_CHANNEL"],
            "DRIFT_ALERT_SLACK_API_URL_FILE",
        )
        slack = SlackChannel(api_url_file=url_file, channel=channel)
    return NotificationChannels(email=email, slack=slack)
