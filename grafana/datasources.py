"""Datasource identities shared by provisioning, dashboards, linter and publisher.

The uids are the contract between ``provisioning/datasources/*.yml`` (what Grafana creates) and
every panel (what the dashboards reference); ``provisioned_datasources`` reads the YAML back so
the linter and the tests check the two against each other instead of trusting these constants.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from grafana_foundation_sdk.models.dashboard import DataSourceRef

PROMETHEUS_UID = "driftmon-prometheus"
POSTGRES_UID = "driftmon-postgres"
POSTGRES_TYPE = "grafana-postgresql-datasource"

# Grafana's own annotation store (used by the annotation queries, always present).
GRAFANA_BUILTIN_UID = "-- Grafana --"

FOLDER_UID = "driftmon"
FOLDER_TITLE = "AI Drift Monitor"

PACKAGE_DIR = Path(__file__).resolve().parent
PROVISIONING_DIR = PACKAGE_DIR / "provisioning"


def prometheus() -> DataSourceRef:
    """A fresh reference to the provisioned Prometheus (SDK models are mutable, so never shared)."""
    return DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)


def postgres() -> DataSourceRef:
    """A fresh reference to the provisioned PostgreSQL (read-only role)."""
    return DataSourceRef(type_val=POSTGRES_TYPE, uid=POSTGRES_UID)


def grafana_builtin() -> DataSourceRef:
    """Grafana's built-in datasource, which serves annotations stored in Grafana itself."""
    return DataSourceRef(type_val="grafana", uid=GRAFANA_BUILTIN_UID)


def provisioned_datasources(provisioning_dir: Path = PROVISIONING_DIR) -> dict[str, str]:
    """Map uid -> type of every datasource declared in ``provisioning_dir/datasources/*.y*ml``.

    Raises ValueError when a datasource has no uid: dashboards could not reference it stably.
    """
    found: dict[str, str] = {}
    for path in sorted((provisioning_dir / "datasources").glob("*.y*ml")):
        document = yaml.safe_load(path.read_text()) or {}
        for entry in document.get("datasources") or []:
            uid = entry.get("uid")
            if not uid:
                raise ValueError(f"{path.name}: datasource {entry.get('name')!r} has no uid")
            found[str(uid)] = str(entry.get("type", ""))
    return found
