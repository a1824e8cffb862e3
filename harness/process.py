"""A supervised child process with a log file, readiness polling and clean shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class ServiceError(RuntimeError):
    """A service is missing, failed to start, or did not become ready in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_binary(*names: str, hint: str) -> str:
    """The path of the first of ``names`` found on PATH, or a ServiceError naming the fix."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise ServiceError(f"none of {', '.join(names)} found on PATH: {hint}")


class ManagedProcess:
    """One child process; output goes to ``log_path``; stop() is SIGTERM then SIGKILL."""

    def __init__(self, name: str, argv: list[str], log_path: Path, **popen: object) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._popen_kwargs = popen
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **self._popen_kwargs,  # type: ignore[call-overload]
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def wait_ready(self, probe: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``probe`` until it returns True; fail with the log tail if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ServiceError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            try:
                if probe():
                    return
            except Exception:
                pass
            time.sleep(0.2)
        raise ServiceError(
            f"{self.name}: {what} not ready after {timeout:.0f}s:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 20.0, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def kill(self) -> None:
        """SIGKILL, no clean shutdown (crash tests)."""
        self.stop(timeout=10, sig=signal.SIGKILL)
