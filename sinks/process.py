"""``driftmon sinks`` as a child process of the worker, started again if it dies.

The worker runs its sinks in a process of their own, so writing to PostgreSQL (decoding raw
inferences for ``inference_logs`` included) never competes with drift detection for the
worker's interpreter. The child gets its settings as ``DRIFT_*`` variables and the worker's pid;
it stops when the worker is gone, even after kill -9 (``sinks.service.run_sinks``).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading

from sinks.settings import SinkSettings

log = logging.getLogger(__name__)


def settings_env(settings: SinkSettings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings. A setting that is
    None is unset (None is then its default): pydantic reads no "null" from a variable."""
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        key = f"DRIFT_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value if isinstance(value, str) else json.dumps(value)
    return env


class SinkProcess:
    """``driftmon sinks`` as a child of this process, started again if it dies."""

    def __init__(
        self, settings: SinkSettings, log_level: str = "INFO", restart_after: float = 5.0
    ) -> None:
        self.settings, self.log_level, self.restart_after = settings, log_level, restart_after
        self.proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="sink-process", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable,
            "-m",
            "driftmon_cli",
            "--log-level",
            self.log_level,
            "sinks",
            "--parent-pid",
            str(os.getpid()),
        ]
        return subprocess.Popen(argv, env=settings_env(self.settings))

    def start(self) -> None:
        self.proc = self._spawn()
        self._thread.start()

    def _supervise(self) -> None:
        while self.proc is not None:
            code = self.proc.wait()
            if code == 0 or self._stopping.wait(self.restart_after):
                return  # a clean exit: it was told to stop (SIGTERM to the process group)
            log.error("the sinks process exited with %s; starting it again", code)
            self.proc = self._spawn()

    def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
