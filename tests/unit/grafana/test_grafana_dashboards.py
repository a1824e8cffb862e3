"""The committed dashboards and provisioning files: fresh, consistent with each other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from grafana import dashboards, datasources
from grafana.queries import iter_queries

pytestmark = pytest.mark.unit

PROVISIONING = datasources.PROVISIONING_DIR
EXPECTED_UIDS = {"driftmon-overview", "driftmon-model", "driftmon-pipeline"}


@pytest.fixture(scope="module")
def committed() -> dict[str, dict]:
    return {d["uid"]: d for d in dashboards.load_committed()}


def test_committed_json_equals_a_fresh_build() -> None:
    assert dashboards.stale_files() == [], "run `driftmon grafana build` and commit the JSON"
    fresh = dashboards.build_all()
    for name, dashboard in fresh.items():
        on_disk = (dashboards.DASHBOARDS_DIR / name).read_text(encoding="utf-8")
        assert json.loads(on_disk) == dashboard


def test_stale_files_notices_an_edit_a_missing_and_an_extra_file(tmp_path: Path) -> None:
    dashboards.write_all(tmp_path)
    assert dashboards.stale_files(tmp_path) == []
    (tmp_path / "driftmon-overview.json").write_text("{}\n")
    (tmp_path / "driftmon-model.json").unlink()
    (tmp_path / "old.json").write_text("{}\n")
    assert dashboards.stale_files(tmp_path) == [
        "driftmon-model.json",
        "driftmon-overview.json",
        "old.json",
    ]


def test_the_three_dashboards_exist(committed: dict[str, dict]) -> None:
    assert set(committed) == EXPECTED_UIDS


def test_panel_ids_are_1_to_n_in_layout_order(committed: dict[str, dict]) -> None:
    for dashboard in committed.values():
        ids = [panel["id"] for panel in dashboards.all_panels(dashboard)]
        assert ids == list(range(1, len(ids) + 1))


def test_sql_targets_are_serialised_like_grafanas_postgres_editor(
    committed: dict[str, dict],
) -> None:
    targets = [
        t
        for d in committed.values()
        for p in dashboards.all_panels(d)
        for t in p.get("targets", [])
        if "rawSql" in t
    ]
    assert len(targets) >= 7
    for target in targets:
        assert target["datasource"] == {
            "type": "grafana-postgresql-datasource",
            "uid": "driftmon-postgres",
        }
        assert target["rawQuery"] is True
        assert target["editorMode"] == "code"
        assert target["format"] in ("table", "time_series")
        assert target["refId"] == "A"


def test_model_dashboard_variables_and_distribution_panel(committed: dict[str, dict]) -> None:
    model = committed["driftmon-model"]
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["model_id"]["query"] == "SELECT model_id FROM models"
    assert "'$model_id'" in variables["stream"]["query"]
    bars = [p for p in dashboards.all_panels(model) if p["type"] == "barchart"]
    assert len(bars) == 1
    sql = bars[0]["targets"][0]["rawSql"]
    assert sql.count("jsonb_array_elements_text") == 3
    assert sql.count("WITH ORDINALITY") == 3
    assert bars[0]["options"]["xField"] == "bin"


def test_model_dashboard_draws_the_verdict_against_its_limit(committed: dict[str, dict]) -> None:
    panels = {p.get("title"): p for p in dashboards.all_panels(committed["driftmon-model"])}
    score = panels["Verdict score of $stream and its limit"]
    exprs = {t["refId"]: t["expr"] for t in score["targets"]}
    assert exprs["A"].startswith("drift_score{") and 'stream="$stream"' in exprs["A"]
    assert exprs["B"].startswith("drift_score_limit{")
    assert exprs["C"].startswith("drift_baseline_frozen{")
    [limit] = [o for o in score["fieldConfig"]["overrides"] if o["matcher"]["options"] == "B"]
    style = {p["id"]: p["value"] for p in limit["properties"]}
    assert style["custom.lineStyle"]["fill"] == "dash" and style["color"]["fixedColor"] == "red"
    p_value = panels["Calibrated p-value of $stream"]
    assert p_value["targets"][0]["expr"].startswith("drift_p_value{")
    assert p_value["fieldConfig"]["defaults"]["custom"]["scaleDistribution"]["type"] == "log"
    ratio = panels["Verdict score / limit per stream"]
    assert ratio["targets"][0]["expr"].count("drift_score") == 2
    steps = ratio["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1]["value"] == 1.0
    assert ratio["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"
    table = panels["Latest evaluation per stream"]["targets"][0]["rawSql"]
    assert "p_value" in table and "score_limit" in table and "baseline_mode" in table


def test_model_dashboard_has_a_row_of_vector_stream_metrics(committed: dict[str, dict]) -> None:
    board = committed["driftmon-model"]
    rows = [p["title"] for p in board["panels"] if p.get("type") == "row"]
    assert "Vector streams of $model_id" in rows
    panels = {p.get("title"): p for p in dashboards.all_panels(board)}
    for title, metric in (
        ("Cosine distance per vector stream", "drift_cosine_distance"),
        ("Sliced Wasserstein per vector stream", "drift_sliced_wasserstein"),
        ("Drifted projections per vector stream", "drift_drifted_projections"),
    ):
        [target] = panels[title]["targets"]
        assert target["expr"] == metric + '{model_id="$model_id"}'
        assert target["legendFormat"] == "{{stream}}"
    unit = panels["Drifted projections per vector stream"]["fieldConfig"]["defaults"]["unit"]
    assert unit == "percentunit"


def test_overview_covers_scores_status_alerts_and_traffic(committed: dict[str, dict]) -> None:
    texts = " ".join(q for _, _, q in iter_queries(committed["driftmon-overview"]))
    for needle in ("drift_kl_divergence", "drift_cosine_similarity", "drift_psi",
                   "drift_js_distance", "FROM drift_runs", "FROM alerts",
                   "FROM alert_notifications", "drift_events_total",
                   "drift_events_rejected_total"):  # fmt: skip
        assert needle in texts


def test_pipeline_covers_lag_dlq_evaluation_and_api(committed: dict[str, dict]) -> None:
    texts = " ".join(q for _, _, q in iter_queries(committed["driftmon-pipeline"]))
    for needle in ("drift_consumer_lag_records", "drift_events_rejected_total",
                   "histogram_quantile(0.95, sum by (le) (rate(drift_evaluation_duration_seconds",
                   "time() - drift_last_evaluation_timestamp_seconds",
                   "drift_api_request_duration_seconds_bucket"):  # fmt: skip
        assert needle in texts


def test_provisioned_datasources_have_every_uid_the_dashboards_use(
    committed: dict[str, dict],
) -> None:
    provisioned = datasources.provisioned_datasources()
    used = {uid for d in committed.values() for _, uid, _ in iter_queries(d)}
    assert used == {"driftmon-prometheus", "driftmon-postgres"}
    assert used <= set(provisioned)
    assert provisioned["driftmon-postgres"] == "grafana-postgresql-datasource"
    assert provisioned["driftmon-prometheus"] == "prometheus"


def test_datasource_yaml_details() -> None:
    doc = yaml.safe_load((PROVISIONING / "datasources" / "driftmon.yml").read_text())
    by_uid = {d["uid"]: d for d in doc["datasources"]}
    prom, pg = by_uid["driftmon-prometheus"], by_uid["driftmon-postgres"]
    assert prom["url"] == "http://prometheus:9090"
    assert prom["jsonData"]["timeInterval"]
    assert pg["user"] == "driftmon_grafana"
    assert pg["jsonData"]["database"] == "driftmon"
    assert pg["secureJsonData"]["password"] == "$__env{DRIFT_GRAFANA_DB_PASSWORD}"
    assert "password" not in pg and "password" not in pg["jsonData"]


def test_dashboard_provider_yaml() -> None:
    doc = yaml.safe_load((PROVISIONING / "dashboards" / "driftmon.yml").read_text())
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert provider["folder"] == datasources.FOLDER_TITLE == "AI Drift Monitor"
    assert provider["folderUid"] == datasources.FOLDER_UID
    assert provider["allowUiUpdates"] is False


def test_a_datasource_without_uid_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "datasources").mkdir()
    (tmp_path / "datasources" / "x.yaml").write_text(
        "apiVersion: 1\ndatasources:\n  - name: NoUid\n    type: prometheus\n"
    )
    with pytest.raises(ValueError, match="NoUid"):
        datasources.provisioned_datasources(tmp_path)


def test_model_dashboard_shows_realised_against_estimated_accuracy(
    committed: dict[str, dict],
) -> None:
    panels = {p.get("title"): p for p in dashboards.all_panels(committed["driftmon-model"])}
    accuracy = panels["Realised vs estimated accuracy per window"]["targets"][0]
    assert accuracy["format"] == "time_series"
    assert "FROM performance_windows" in accuracy["rawSql"]
    assert "accuracy AS realised" in accuracy["rawSql"]
    assert "estimated_accuracy AS estimated" in accuracy["rawSql"]
    assert "labelled_share" in panels["Labelled share per window"]["targets"][0]["rawSql"]
    verdict = panels["Accuracy verdict of the newest labelled window"]
    exprs = {t["refId"]: t["expr"] for t in verdict["targets"]}
    assert [e.split("{")[0] for _, e in sorted(exprs.items())] == [
        "drift_performance_accuracy",
        "drift_performance_baseline_accuracy",
        "drift_performance_estimated_accuracy",
        "drift_performance_degraded",
    ]
    assert all('model_id="$model_id"' in e for e in exprs.values())
