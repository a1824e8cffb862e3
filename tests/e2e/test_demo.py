"""The demo script end to end: the same code `make demo` runs, with shorter windows."""

from __future__ import annotations

import pytest

from harness.demo import DemoOptions, run_demo
from harness.stack import down

pytestmark = pytest.mark.e2e


def test_demo_summary_shows_drift_for_drifted_models_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # .stack/ state and logs of this run stay in the test's folder
    try:
        drifted = run_demo(
            DemoOptions(duration_h=5, rate=2, bucket=300, recent=3600, baseline=10800, timeout=300)
        )
    finally:
        down()
    out = capsys.readouterr().out
    assert drifted["checkout"] == [], out
    assert {"input.feature1", "input.feature2"} <= set(drifted["fraud"]), out
    assert set(drifted["recsys"]) == {"input.country", "input.device"}, out
    assert "model fraud: DRIFT" in out and "model checkout: no drift" in out
    notified = next(line for line in out.splitlines() if line.startswith("Alertmanager notif"))
    assert "DriftDetected" in notified, out
