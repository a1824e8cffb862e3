"""Panel queries: a typed SQL target (the SDK has none) and a Prometheus target helper.

``SqlTarget`` serialises exactly like the query Grafana's PostgreSQL editor saves in code mode
(``refId``, ``datasource``, ``rawSql``, ``format``, ``rawQuery: true``, ``editorMode: code``), so
Grafana opens the panels as if they had been written in the UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from grafana_foundation_sdk.builders import prometheus as prom_builder
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from grafana import datasources

SqlFormat = Literal["table", "time_series"]


@dataclass(frozen=True)
class SqlTarget(Dataquery):
    """One raw-SQL query of a PostgreSQL panel; may use Grafana macros and $variables."""

    raw_sql: str
    format: SqlFormat = "table"
    ref_id: str = "A"
    datasource: DataSourceRef = field(default_factory=datasources.postgres)

    def to_json(self) -> dict[str, object]:
        """The target as Grafana stores it in dashboard JSON."""
        return {
            "refId": self.ref_id,
            "datasource": self.datasource,
            "rawSql": self.raw_sql,
            "format": self.format,
            "rawQuery": True,
            "editorMode": "code",
        }


class Sql(Builder[SqlTarget]):
    """Builder wrapper so a SqlTarget plugs into the SDK's ``panel.with_target(...)``."""

    def __init__(self, raw_sql: str, *, fmt: SqlFormat = "table", ref_id: str = "A") -> None:
        self._target = SqlTarget(raw_sql=raw_sql.strip(), format=fmt, ref_id=ref_id)

    def build(self) -> SqlTarget:
        return self._target


def promql(
    expr: str, legend: str = "__auto", *, ref_id: str = "A", instant: bool = False
) -> prom_builder.Dataquery:
    """A Prometheus target against the provisioned datasource (range query unless ``instant``)."""
    query = (
        prom_builder.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref_id)
        .datasource(datasources.prometheus())
    )
    return query.instant() if instant else query.range()
