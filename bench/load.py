"""Load test: many users on several studio processes, as production runs them (issue 16).

Run it through bench/run-load, which starts a throwaway Azurite and PostgreSQL, sets the
environment and makes Locust's venv (bench/out/load-venv). This script:

1. migrates the PostgreSQL database, creates a workspace (its workspaceblobstore is on that
   Azurite) and --users accounts, each a contributor of the workspace, with one password;
2. seeds a folder with a few small files (a CSV to preview among them) through the SDK;
3. starts gunicorn with the production gunicorn.conf.py, --workers processes (default 4, 8
   threads each), DEBUG off, on a free loopback port; and, when this checkout has
   `manage.py db_worker` (django-tasks-db), --task-workers task workers (default 2);
4. runs Locust headless (bench/locustfile.py) with --users simulated users for --duration
   seconds: each signs in through the sign-in form, then lists datastores, browses the folder,
   previews the CSV, uploads a small file of random bytes with a unique name and downloads it;
5. prints requests per second, the p50/p95/p99 latency and the failures, per request and in all;
6. reads every upload the studio confirmed back from Azurite with azure-storage-blob and counts
   the files lost (not there) and corrupted (other bytes than were sent).

Exit status 0 only with no failed request, no 5xx in gunicorn's log, no lost and no corrupted file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transfer import AZURITE_ACCOUNT, AZURITE_KEY, OUT, PYTHON, ROOT, free_port, load_average, say

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
FOLDER = "seed"
FOLDER_FILES = 20
PREVIEW_FILE = f"{FOLDER}/orders.csv"
PREVIEW_TEXT = "widget-042"
STATUS = re.compile(r'" (\d{3}) ')  # gunicorn.conf.py's access_log_format: "METHOD PATH PROTO" STATUS ...

SETUP = """
import os
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from datastores.access import Actor
from datastores.models import Membership, Role
from datastores.services import WORKSPACE_BLOB_STORE, workspace_create

User = get_user_model()
hashed = make_password(os.environ["BENCH_LOAD_PASSWORD"])  # hashed once: every account shares it
names = os.environ["BENCH_LOAD_USERS"].split(",")
owner = User.objects.create_user("load-owner")
workspace = workspace_create(actor=Actor(user=owner), name=os.environ["BENCH_LOAD_WORKSPACE"])
users = User.objects.bulk_create(User(username=name, password=hashed) for name in names)
Membership.objects.bulk_create(
    Membership(workspace=workspace, user=user, role=Role.CONTRIBUTOR, added_by=owner) for user in users
)
print(workspace.datastores.get(name=WORKSPACE_BLOB_STORE).connection_settings["container_name"])
"""


class Processes:
    """gunicorn and the task workers, each logging to a file in the work folder."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work = work
        self.env = env
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        with open(self.work / f"{name}.log", "wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.running.append((name, process))
        return process

    def log(self, name: str) -> str:
        return (self.work / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for _name, process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in self.running:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def has_db_worker(env: dict[str, str]) -> bool:
    """True when this checkout's manage.py has the db_worker command (django-tasks-db)."""
    return manage(env, "help", "db_worker").returncode == 0


def seed(container: ContainerClient) -> None:
    """A folder of small files, one of them a CSV whose rows the preview shows."""
    rows = "order,item,quantity\n" + "".join(f"{n},widget-{n:03d},{n % 7 + 1}\n" for n in range(100))
    container.upload_blob(PREVIEW_FILE, rows.encode(), overwrite=True)
    for number in range(FOLDER_FILES):
        container.upload_blob(f"{FOLDER}/part-{number:03d}.bin", os.urandom(4096), overwrite=True)


def wait_healthy(base: str, gunicorn: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gunicorn.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            if requests.get(f"{base}/healthz", timeout=10).ok:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer /healthz within {seconds:.0f} s")


def is_server_error(access_line: str) -> bool:
    found = STATUS.search(access_line)
    return bool(found) and int(found[1]) >= 500


def verify(container: ContainerClient, uploads: Path) -> tuple[int, int, int]:
    """(checked, lost, corrupted): every upload the studio confirmed, read back from Azurite."""
    checked = lost = corrupted = 0
    for line in uploads.read_text().splitlines():
        upload = json.loads(line)
        checked += 1
        try:
            data = container.download_blob(upload["path"]).readall()
        except ResourceNotFoundError:
            lost += 1
            say(f"lost: {upload['path']}")
            continue
        if len(data) != upload["size"] or hashlib.sha256(data).hexdigest() != upload["sha256"]:
            corrupted += 1
            say(f"corrupted: {upload['path']} ({len(data)} bytes, {upload['size']} sent)")
    return checked, lost, corrupted


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[max(0, math.ceil(share * len(values)) - 1)] if values else 0.0


def figures(requests_log: Path) -> tuple[list[str], dict[str, dict]]:
    """Per request name, all together, and all but signing in: count, failed, req/s, p50/p95/p99 ms."""
    rows = []
    for line in requests_log.read_text().splitlines():
        ended, milliseconds, name, ok = line.split("\t")
        rows.append((float(ended), float(milliseconds), name, ok == "1"))
    if not rows:
        return ["no request was made"], {}
    window = max(ended for ended, *_ in rows) - min(ended - ms / 1000 for ended, ms, *_ in rows)
    groups: dict[str, list[tuple[float, float, str, bool]]] = {}
    for row in rows:
        groups.setdefault(row[2], []).append(row)
    groups["all"] = rows
    groups["all but signing in"] = [row for row in rows if not row[2].startswith("sign in")]
    lines = [f"{'request':<20} {'count':>7} {'failed':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"]
    table: dict[str, dict] = {}
    for name, group in groups.items():
        times = sorted(ms for _ended, ms, *_ in group)
        entry = {
            "count": len(group),
            "failed": sum(not ok for *_, ok in group),
            "rate": len(group) / window,
            **{f"p{p}": percentile(times, p / 100) for p in (50, 95, 99)},
        }
        table[name] = entry
        lines.append(
            f"{name:<20} {entry['count']:>7} {entry['failed']:>6} {entry['rate']:>7.1f} "
            f"{entry['p50']:>7.0f} {entry['p95']:>7.0f} {entry['p99']:>7.0f}"
        )
    return lines, table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50, help="simulated users, each with an account (default 50)")
    parser.add_argument("--duration", type=int, default=120, help="seconds of load (default 120)")
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started per second (default 5)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--task-workers", type=int, default=2, help="manage.py db_worker processes, if any (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (the logs are in it)")
    args = parser.parse_args()
    locust = os.environ.get("BENCH_LOCUST")
    azurite_url = os.environ.get("STUDIO_TEST_AZURITE_URL")
    if not (locust and azurite_url and os.environ.get("DATABASE_URL", "").startswith("postgres")):
        parser.error(
            "BENCH_LOCUST, STUDIO_TEST_AZURITE_URL or a PostgreSQL DATABASE_URL is missing: run bench/run-load"
        )

    work = Path(tempfile.mkdtemp(prefix="studio-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    workspace = f"load-{uuid.uuid4().hex[:8]}"
    usernames = [f"load-user-{number:03d}" for number in range(args.users)]
    uploads = work / "uploads.jsonl"
    requests_log = work / "requests.tsv"
    uploads.touch()
    requests_log.touch()
    env = {
        **os.environ,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GUNICORN_WORKERS": str(args.workers),
        "PYTHONUNBUFFERED": "1",
        "BENCH_LOAD_WORKSPACE": workspace,
        "BENCH_LOAD_USERS": ",".join(usernames),
        "BENCH_LOAD_PASSWORD": secrets.token_urlsafe(16),
        "BENCH_LOAD_FOLDER": FOLDER,
        "BENCH_LOAD_FOLDER_FILE": "part-000.bin",
        "BENCH_LOAD_PREVIEW_FILE": PREVIEW_FILE,
        "BENCH_LOAD_PREVIEW_TEXT": PREVIEW_TEXT,
        "BENCH_LOAD_UPLOADS": str(uploads),
        "BENCH_LOAD_REQUESTS": str(requests_log),
    }
    processes = Processes(work, env)
    load_before = load_average()
    try:
        say("Migrating PostgreSQL, creating the workspace and the accounts")
        for step in (["migrate", "--noinput", "-v", "0"], ["shell", "-c", SETUP]):
            done = manage(env, *step)
            if done.returncode:
                raise SystemExit(f"manage.py {step[0]} failed:\n{done.stdout}{done.stderr}")
        container_name = done.stdout.strip().splitlines()[-1]
        container = ContainerClient(
            azurite_url, container_name, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        )
        seed(container)

        gunicorn = processes.start(
            "gunicorn",
            [PYTHON, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"],
        )
        wait_healthy(base, gunicorn)
        if has_db_worker(env):
            for number in range(args.task_workers):
                processes.start(f"db-worker-{number + 1}", [PYTHON, "manage.py", "db_worker"])
            task_workers = f"{args.task_workers} (manage.py db_worker)"
        else:
            task_workers = "none: this checkout has no manage.py db_worker (django-tasks-db is not merged yet)"

        say(f"Locust: {args.users} users for {args.duration} s against {base}")
        run = subprocess.run(
            [
                locust,
                "-f",
                str(LOCUSTFILE),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.duration}s",
                "--stop-timeout",
                "30",  # a round under way when the time is up finishes
                "--host",
                base,
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            check=False,
        )
        workers_alive = all(process.poll() is None for _name, process in processes.running)
        processes.stop()

        lines, table = figures(requests_log)
        total, steady = table.get("all", {}), table.get("all but signing in", {})
        server_errors = [line for line in processes.log("gunicorn").splitlines() if is_server_error(line)]
        tracebacks = sum(processes.log(name).count("Traceback") for name, _process in processes.running)
        checked, lost, corrupted = verify(container, uploads)
        failures = total.get("failed", 0)
        ok = (
            run.returncode in (0, 1)  # 1: Locust saw failures, counted below
            and total.get("count", 0) > 0
            and failures == 0
            and not server_errors
            and not tracebacks
            and checked > 0
            and lost == corrupted == 0
            and workers_alive
        )
        text = "\n".join(
            [
                f"Load test, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {args.users} users for "
                f"{args.duration} s (spawn rate {args.spawn_rate:g}/s), gunicorn {args.workers} workers x "
                f"{os.environ.get('GUNICORN_THREADS', '8')} threads (gthread) on loopback, PostgreSQL, Azurite; "
                f"{os.cpu_count()} CPUs shared by all; load average before: {load_before}",
                f"task workers: {task_workers}",
                "",
                *lines,
                "",
                f"requests/s: {total.get('rate', 0):.1f}",
                f"latency ms: p50 {total.get('p50', 0):.0f}, p95 {total.get('p95', 0):.0f}, "
                f"p99 {total.get('p99', 0):.0f} (all but signing in: p50 {steady.get('p50', 0):.0f}, "
                f"p95 {steady.get('p95', 0):.0f}, p99 {steady.get('p99', 0):.0f})",
                f"errors: {failures} failed requests, {len(server_errors)} 5xx in gunicorn's log, "
                f"{tracebacks} tracebacks in the logs",
                f"files: {checked} uploads confirmed, checked in Azurite: {lost} lost, {corrupted} corrupted",
                f"verdict: {'PASS' if ok else 'FAIL'} (target: zero errors, no lost or corrupted file)",
            ]
        )
        print(text)
        OUT.mkdir(exist_ok=True)
        saved = OUT / f"load-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        saved.write_text(text + "\n")
        say(f"saved to {saved.relative_to(ROOT)}")
        for line in server_errors[:10]:
            say(f"5xx: {line}")
        return 0 if ok else 1
    finally:
        processes.stop()
        if args.keep:
            say(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
