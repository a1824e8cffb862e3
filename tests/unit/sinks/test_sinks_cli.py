"""`driftmon sinks`: its own --help and --settings."""

from __future__ import annotations

import pytest

from driftmon_cli import main

pytestmark = pytest.mark.unit


def test_help_names_what_it_writes_and_where_its_settings_are(capsys):
    with pytest.raises(SystemExit) as done:
        main(["sinks", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for part in ("drift_runs", "inference_logs", "--no-sinks", "--settings", "DRIFT_"):
        assert part in text, part


def test_settings_lists_every_sinks_setting(capsys, monkeypatch):
    monkeypatch.setenv("DRIFT_APP_ID", "listed-app")
    assert main(["sinks", "--settings"]) == 0
    out = capsys.readouterr().out
    assert "DRIFT_SINKS_WEB_PORT" in out and "'listed-app'" in out
    assert "DRIFT_BUCKET_SECONDS" not in out  # a worker setting
