"""Alerts raised by the monitor and notifications delivered by Alertmanager."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import Page


class Alert(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "model_id": "1",
                    "stream": "feature1",
                    "metric": "kl_divergence",
                    "severity": "warning",
                    "status": "open",
                    "value": 0.31,
                    "threshold": 0.1,
                    "message": "kl_divergence 0.31 > 0.1",
                    "opened_at": "2026-11-26T10:00:00Z",
                    "resolved_at": None,
                }
            ]
        }
    )
    id: int
    model_id: str
    stream: str
    metric: str
    severity: str
    status: str
    value: float | None = None
    threshold: float | None = None
    message: str | None = None
    opened_at: datetime
    resolved_at: datetime | None = None
    updated_at: datetime


class AlertPage(Page):
    items: list[Alert] = Field(description="newest first (opened_at, id descending)")


class Notification(BaseModel):
    id: int
    received_at: datetime
    receiver: str | None = None
    status: str = Field(examples=["firing"])
    alertname: str = Field(examples=["DriftDetected"])
    fingerprint: str | None = None
    model_id: str | None = None
    stream: str | None = None
    severity: str | None = None
    labels: dict[str, Any]
    annotations: dict[str, Any]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class NotificationPage(Page):
    items: list[Notification] = Field(description="newest first (received_at, id descending)")


class WebhookAlert(BaseModel):
    """One alert of an Alertmanager webhook (version 4)."""

    model_config = ConfigDict(extra="allow")
    status: str = Field(max_length=32, examples=["firing"])
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    fingerprint: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _no_nul(self) -> WebhookAlert:
        texts = [self.status, self.fingerprint or "", *self.labels.items(), *self.annotations]
        texts += list(self.annotations.values())
        if any("\x00" in (t if isinstance(t, str) else "".join(t)) for t in texts):
            raise ValueError("text must not contain NUL characters")
        return self


class AlertmanagerWebhook(BaseModel):
    """The Alertmanager webhook payload (version 4)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "version": "4",
                    "receiver": "driftmon-api",
                    "status": "firing",
                    "alerts": [
                        {
                            "status": "firing",
                            "labels": {"alertname": "DriftDetected", "model_id": "1"},
                            "annotations": {"summary": "drift on feature1"},
                            "startsAt": "2026-11-26T10:00:00Z",
                            "endsAt": "0001-01-01T00:00:00Z",
                            "fingerprint": "c0ffee",
                        }
                    ],
                }
            ]
        },
    )
    version: str = Field(default="4")
    receiver: str | None = None
    status: str | None = None
    alerts: list[WebhookAlert] = Field(max_length=10_000)

    @model_validator(mode="after")
    def _no_nul(self) -> AlertmanagerWebhook:
        if self.receiver and "\x00" in self.receiver:
            raise ValueError("receiver must not contain NUL characters")
        return self


class WebhookResult(BaseModel):
    stored: int = Field(description="notifications stored (one per alert)")
