"""Publish the dashboards to a running Grafana and check its datasources (grafana-client).

For Grafana instances that do not mount ``grafana/dashboards`` (hosted Grafana, a shared
server). A Grafana that provisions the same uids from files refuses API saves of them
(``allowUiUpdates: false``), which is intended: files win.

Health comes first: ``push`` refuses to publish when a provisioned datasource is unhealthy,
since every panel on it would show an error, and says which one and what Grafana answered.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

log = logging.getLogger(__name__)


class PushError(RuntimeError):
    """Grafana is unusable for the dashboards: an unhealthy datasource or a refused save."""


@dataclass(frozen=True)
class DatasourceHealth:
    """Grafana's answer to ``GET /api/datasources/uid/<uid>/health``."""

    uid: str
    ok: bool
    message: str


def check_datasource(api: GrafanaApi, uid: str) -> DatasourceHealth:
    """Ask Grafana to test one datasource; an HTTP error (e.g. 400, 404) counts as unhealthy."""
    try:
        answer = api.datasource.health(uid)
    except GrafanaException as exc:
        response = exc.response
        detail = response.get("message") if isinstance(response, dict) else None
        return DatasourceHealth(uid, False, f"HTTP {exc.status_code}: {detail or exc.message}")
    status = str(answer.get("status", "")) if isinstance(answer, dict) else ""
    message = str(answer.get("message", "")) if isinstance(answer, dict) else str(answer)
    return DatasourceHealth(uid, status.upper() == "OK", message or status)


def ensure_folder(api: GrafanaApi, uid: str, title: str) -> None:
    """Create the dashboards' folder unless it exists."""
    try:
        api.folder.get_folder(uid)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(title, uid=uid)
        log.info("created folder %s (%s)", title, uid)


def publish_dashboard(api: GrafanaApi, dashboard: Mapping[str, Any], folder_uid: str) -> str:
    """Create or overwrite one dashboard by uid; returns Grafana's URL path for it."""
    body = copy.deepcopy(dict(dashboard))
    body.pop("id", None)  # numeric ids are per instance; the uid identifies the dashboard
    answer = api.dashboard.update_dashboard(
        {"dashboard": body, "overwrite": True, "folderUid": folder_uid,
         "message": "driftmon grafana push"}
    )  # fmt: skip
    return str(answer.get("url", body.get("uid"))) if isinstance(answer, dict) else str(answer)


def push(
    api: GrafanaApi,
    dashboards: Sequence[Mapping[str, Any]],
    datasource_uids: Sequence[str],
    *,
    folder_uid: str,
    folder_title: str,
    check_health: bool = True,
) -> list[str]:
    """Check every datasource, then publish every dashboard; returns their URLs.

    Raises PushError listing every unhealthy datasource (nothing is published then), or naming
    the dashboard Grafana refused.
    """
    if check_health:
        unhealthy = [h for h in (check_datasource(api, uid) for uid in datasource_uids) if not h.ok]
        if unhealthy:
            lines = "; ".join(f"{h.uid}: {h.message}" for h in unhealthy)
            raise PushError(f"unhealthy Grafana datasource(s), nothing published: {lines}")
    ensure_folder(api, folder_uid, folder_title)
    urls = []
    for dashboard in dashboards:
        try:
            urls.append(publish_dashboard(api, dashboard, folder_uid))
        except GrafanaException as exc:
            raise PushError(f"Grafana refused dashboard {dashboard.get('uid')!r}: {exc}") from exc
    return urls
