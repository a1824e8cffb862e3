"""`driftmon grafana build [--check]` and `driftmon grafana lint` exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import driftmon_cli

pytestmark = pytest.mark.unit


def test_build_check_passes_on_the_committed_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert driftmon_cli.main(["grafana", "build", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_build_writes_and_check_fails_after_an_edit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert driftmon_cli.main(["grafana", "build", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "driftmon-model.json", "driftmon-overview.json", "driftmon-pipeline.json"]  # fmt: skip
    assert driftmon_cli.main(["grafana", "build", "--check", "--out", str(tmp_path)]) == 0

    path = tmp_path / "driftmon-pipeline.json"
    board = json.loads(path.read_text())
    board["title"] = "edited in the UI"
    path.write_text(json.dumps(board))
    capsys.readouterr()
    assert driftmon_cli.main(["grafana", "build", "--check", "--out", str(tmp_path)]) == 1
    assert "driftmon-pipeline.json" in capsys.readouterr().out


def test_lint_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert driftmon_cli.main(["grafana", "lint"]) == 0
    assert "0 problem(s)" in capsys.readouterr().out

    driftmon_cli.main(["grafana", "build", "--out", str(tmp_path)])
    path = tmp_path / "driftmon-overview.json"
    path.write_text(path.read_text().replace('"driftmon-prometheus"', '"prom-typo"', 1))
    capsys.readouterr()
    assert driftmon_cli.main(["grafana", "lint", "--dir", str(tmp_path)]) == 1
    assert "'prom-typo' is not provisioned" in capsys.readouterr().out
