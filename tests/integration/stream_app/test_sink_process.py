"""The worker runs its sinks as a child process: restarted when it dies, gone when the worker is."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

from tests.integration.workers import WorkerProcess, wait_for

pytestmark = pytest.mark.integration


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def sink_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[1] != parent or stat[0] == "Z":
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"sinks" in argv:
                found.append(int(entry.name))
    return found


def gone(pid: int) -> bool:
    stat = _stat(pid)
    return stat is None or stat[0] == "Z"


def test_sinks_child_is_restarted_and_follows_the_worker(kafka, db_dsn, topic_prefix, tmp_path):
    worker = WorkerProcess(kafka.bootstrap, db_dsn, topic_prefix, tmp_path)
    worker.start()
    assert worker.proc is not None
    pid = worker.proc.pid
    try:
        first = wait_for(lambda: sink_children(pid), 60, "the sinks child", worker)[0]
        os.kill(first, signal.SIGKILL)
        second = wait_for(
            lambda: [c for c in sink_children(pid) if c != first], 30, "a new sinks child", worker
        )[0]
        os.kill(pid, signal.SIGKILL)  # the worker alone: its child must notice
        worker.proc.wait(10)
        wait_for(lambda: gone(second), 15, "the sinks child to stop after the worker died")
        assert "the worker (pid" in worker.log_path.read_text(errors="replace")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
