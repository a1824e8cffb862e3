"""Alertmanager from the Debian package on a free loopback port, clustering disabled."""

from __future__ import annotations

import tempfile
from pathlib import Path

from harness.process import ManagedProcess, free_port, require_binary
from harness.prometheus import ReadyHttpService


class AlertmanagerServer(ReadyHttpService):
    def __init__(self, config_yaml: str) -> None:
        binary = require_binary(
            "prometheus-alertmanager",
            "alertmanager",
            hint="apt-get install prometheus-alertmanager",
        )
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="driftmon-am-"))
        (self.workdir / "alertmanager.yml").write_text(config_yaml)
        argv = [
            binary,
            f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        self.process = ManagedProcess("alertmanager", argv, self.workdir / "alertmanager.log")
