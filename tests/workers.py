"""Real task workers for the tests: `manage.py db_worker` subprocesses on the test database
(the tests that use them are transactional, so the workers see what the test wrote)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The URL of the database this test run uses (pytest-django's test database)."""
    from django.db import connection

    database = connection.settings_dict
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


class Worker:
    """One `manage.py db_worker` process; its output goes to `log`."""

    def __init__(self, log: Path, **env: str):
        self.log = log
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "JOB_HEARTBEAT_SECONDS": "1",
            "JOB_STALE_SECONDS": "3",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine dies."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def task_workers(log_dir: Path, count: int = 1, **env: str) -> Iterator[list[Worker]]:
    """`count` running workers, stopped at the end (killed ones included)."""
    workers = [Worker(log_dir / f"worker-{n}.log", **env).start() for n in range(count)]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def wait_for(condition: Callable[[], Any], *, seconds: float = 60, what: str = "the job") -> Any:
    """Poll until `condition()` is truthy; its value, or a failure naming `what`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")
