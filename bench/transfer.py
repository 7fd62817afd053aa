"""Transfer benchmark: the studio's HTTP file endpoints against the Azure SDK, on one file.

Run it through bench/run-transfer, which sets the environment scripts/test sets. Every
transfer below runs against a fresh in-memory Azurite started for it on the same port (a
download's blob is put there first, untimed): Azurite's speed depends on what it has stored
and freed before, so no transfer is helped or hurt by the ones before it. Azurite runs on a
CPU of its own, the studio and the client on the others (--shared-cpus to mix them). For a file
of --size-mib MiB it measures:

(a) upload and download MB/s through the studio (gunicorn as a subprocess):
    PUT  /workspaces/<ws>/datastores/workspaceblobstore/files/<path>?overwrite=1  (raw body)
    GET  /workspaces/<ws>/datastores/workspaceblobstore/files/<path>              (streamed)
(b) the same through azure-storage-blob directly, at its best setting here:
    upload_blob(stream, length=..., max_concurrency=4) for a few block sizes,
    download_blob(max_concurrency=4).readinto(sink) for a few chunk sizes;
(c) studio / SDK ratios of the medians over --repeat rounds;
(d) the peak RSS growth of the gunicorn worker during each studio transfer
    (VmRSS sampled every 50 ms, minus the value just before), and its CPU time.

MB/s are decimal (10**6 bytes per second). Targets: both ratios >= 0.9, RSS growth <= 64 MiB.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from urllib.parse import quote, urlsplit

import requests
from azure.storage.blob import BlobServiceClient
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
OUT = ROOT / "bench" / "out"  # gitignored
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
MIB = 1024 * 1024
READ_SIZE = 4 * MIB
RATIO_TARGET = 0.9
RSS_TARGET_MIB = 64
USERNAME = "bench"
GUNICORN_THREADS = 4
DIRECT_UPLOAD = "direct upload (SAS, Put Block x4)"  # the browser's way with direct transfers
DIRECT_DOWNLOAD = "direct download (302 to a SAS)"
PY_SPY = os.environ.get("PY_SPY") or shutil.which("py-spy") or "py-spy"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- measurements ------------------------------------------------------------------------------


@dataclass
class Measurement:
    label: str
    seconds: float
    size: int
    rss_growth: int | None = None  # bytes, gunicorn worker
    hwm_before: int | None = None
    hwm_after: int | None = None
    cpu_seconds: float | None = None  # gunicorn worker, user + system
    client_cpu: float | None = None  # this process (requests, or the SDK), user + system
    azurite_cpu: float | None = None  # the Azurite process, when its pid is known
    others_cpu: float | None = None  # CPU seconds used by every other process on the machine

    @property
    def mb_per_s(self) -> float:
        return self.size / self.seconds / 1e6


def load_average() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_file(path: Path, size: int) -> None:
    """Random bytes (nothing on the way compresses), written 4 MiB at a time."""
    block = os.urandom(READ_SIZE)
    with open(path, "wb") as file:
        remaining = size
        while remaining > 0:
            step = min(READ_SIZE, remaining)
            file.write((remaining.to_bytes(8, "little") + block[8:])[:step])  # no two blocks alike
            remaining -= step


def proc_status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


@contextmanager
def watch_worker(pid: int, measurement: Measurement):
    """Sample the worker's VmRSS every 50 ms; record the peak growth, VmHWM and CPU time."""
    baseline = proc_status_kib(pid, "VmRSS")
    measurement.hwm_before = proc_status_kib(pid, "VmHWM") * 1024
    cpu_before = proc_cpu_seconds(pid)
    peak = baseline
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, proc_status_kib(pid, "VmRSS"))
            except (OSError, KeyError):
                return
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()
        peak = max(peak, proc_status_kib(pid, "VmRSS"))
        measurement.rss_growth = (peak - baseline) * 1024
        measurement.hwm_after = proc_status_kib(pid, "VmHWM") * 1024
        measurement.cpu_seconds = proc_cpu_seconds(pid) - cpu_before


# --- Azurite ----------------------------------------------------------------------------------


class Azurite:
    """An in-memory Azurite on a fixed port, restarted empty before every transfer."""

    def __init__(self, url: str, command: str, cpus: set[int] | None = None):
        self.url = url
        self.port = urlsplit(url).port
        self.command = shlex.split(command)  # scripts/lib.sh azurite_command, with --in-memory
        self.cpus = cpus  # the CPUs Azurite runs on; None: any
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def fresh(self, container: str | None = None, *, holding: tuple[Path, str] | None = None) -> None:
        """Restart Azurite empty, create `container` if given, and put (file, blob name) there if given."""
        self.stop()
        cpus = self.cpus
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # set before exec, so that every thread Node starts inherits it
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"Azurite did not start on port {self.port}") from None
                time.sleep(0.1)
        if container:
            sdk_container(self.url, container, block_mib=8).create_container()
        if container and holding:
            sdk_upload(self.url, container, holding[0], holding[1], block_mib=8)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


# --- the studio --------------------------------------------------------------------------------


class LargeWritesAdapter(HTTPAdapter):
    """Sends a request body in 1 MiB writes instead of urllib3's 16 KiB ones.

    With the default, sending 1 GiB costs this client about 0.5 CPU-s (65,536 sendall calls),
    taken from the same two CPUs the studio and Azurite run on. A browser sends a File from
    its network stack without that cost, and the SDK side sends whole blocks in one write."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, blocksize=MIB, **kwargs)


class Studio:
    """A migrated SQLite database, a user and a workspace, and gunicorn serving the studio."""

    def __init__(self, work: Path, env: dict[str, str]):
        self.work = work
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)
        self.workspace = f"bench-{uuid.uuid4().hex[:8]}"
        self.env = {
            **env,
            "DATABASE_URL": f"sqlite:///{work / 'studio.sqlite3'}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "BENCH_PASSWORD": self.password,
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": str(GUNICORN_THREADS),
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen | None = None
        self.session = requests.Session()
        self.session.mount("http://", LargeWritesAdapter())

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise SystemExit(f"manage.py {args[0]} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def prepare(self, azurite: Azurite) -> str:
        """Returns the workspace's blob container name (created on a first Azurite)."""
        azurite.fresh()
        self.manage("migrate", "--noinput", "-v", "0")
        code = (
            "import os\n"
            "from django.contrib.auth import get_user_model\n"
            "from datastores.access import Actor\n"
            "from datastores.services import workspace_create, WORKSPACE_BLOB_STORE\n"
            f"user = get_user_model().objects.create_user({USERNAME!r}, password=os.environ['BENCH_PASSWORD'])\n"
            f"ws = workspace_create(actor=Actor(user=user), name={self.workspace!r})\n"
            "print(ws.datastores.get(name=WORKSPACE_BLOB_STORE).connection_settings['container_name'])\n"
        )
        return self.manage("shell", "-c", code).strip().splitlines()[-1]

    def start(self) -> None:
        log = open(self.work / "gunicorn.log", "wb")
        self.process = subprocess.Popen(
            # The production configuration (gunicorn.conf.py), on loopback, with one worker to watch.
            [PYTHON, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.work / 'gunicorn.log'}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=10).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):  # the worker's first request loads the app
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /healthz within 30 s")

    def worker_pid(self) -> int:
        workers = children_of(self.process.pid)
        if len(workers) != 1:
            raise SystemExit(f"expected one gunicorn worker under {self.process.pid}, found {workers}")
        return workers[0]

    def login(self) -> None:
        login_url = f"{self.base}/accounts/login/"
        self.session.get(login_url, timeout=30).raise_for_status()
        response = self.session.post(
            login_url,
            data={
                "username": USERNAME,
                "password": self.password,
                "csrfmiddlewaretoken": self.session.cookies["csrftoken"],
            },
            headers={"Referer": login_url},
            timeout=30,
        )
        response.raise_for_status()
        if "sessionid" not in self.session.cookies:
            raise SystemExit("logging in to the studio failed")

    def file_url(self, path: str) -> str:
        return f"{self.base}/workspaces/{self.workspace}/datastores/workspaceblobstore/files/{path}"

    def upload(self, source: Path, path: str) -> None:
        with open(source, "rb") as file:  # a file object: requests streams it, with Content-Length
            response = self.session.put(
                self.file_url(path),
                params={"overwrite": "1"},
                data=file,
                headers={"X-CSRFToken": self.session.cookies["csrftoken"], "Content-Type": "application/octet-stream"},
                timeout=600,
            )
        answer = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
        if response.status_code != 200 or answer.get("outcome") != "uploaded":
            raise SystemExit(f"studio upload failed: {response.status_code} {response.text[:500]}")

    def direct_upload(self, source: Path, path: str) -> None:
        """What static/direct.js does: a SAS for the blob from the studio, then Put Block (four at
        once, 8 MiB each) and Put Block List straight to Azurite; the worker only signs."""
        grant_url = self.file_url(path).replace("/files/", "/direct/")
        answer = self.session.post(
            grant_url,
            data={"size": str(source.stat().st_size)},
            headers={"X-CSRFToken": self.session.cookies["csrftoken"], "Accept": "application/json"},
            timeout=60,
        )
        if answer.status_code != 200:
            raise SystemExit(f"direct upload grant failed: {answer.status_code} {answer.text[:500]}")
        grant = answer.json()
        block, in_flight = grant["block_size"], grant["blocks_in_flight"]
        storage = requests.Session()
        storage.mount("http://", HTTPAdapter(pool_maxsize=in_flight))
        ids: list[str] = []

        def put_block(number: int, data: bytes) -> None:
            block_id = base64.b64encode(f"bench-{number:06d}".encode()).decode()
            sent = storage.put(f"{grant['url']}&comp=block&blockid={quote(block_id, safe='')}", data=data, timeout=600)
            if sent.status_code != 201:
                raise SystemExit(f"Put Block failed: {sent.status_code} {sent.text[:300]}")

        with open(source, "rb") as file, ThreadPoolExecutor(in_flight) as pool:
            pending: list[Future[None]] = []
            while data := file.read(block):
                ids.append(base64.b64encode(f"bench-{len(ids):06d}".encode()).decode())
                pending.append(pool.submit(put_block, len(ids) - 1, data))
                if len(pending) >= in_flight:  # a browser holds no more than this in memory either
                    pending.pop(0).result()
            for future in pending:
                future.result()
        listed = "".join(f"<Latest>{block_id}</Latest>" for block_id in ids)
        committed = storage.put(
            f"{grant['url']}&comp=blocklist",
            data=f'<?xml version="1.0" encoding="utf-8"?><BlockList>{listed}</BlockList>',
            timeout=600,
        )
        if committed.status_code != 201:
            raise SystemExit(f"Put Block List failed: {committed.status_code} {committed.text[:300]}")

    def direct_download(self, path: str) -> int:
        """The file list's link with ?direct=1: a redirect to the blob's read SAS, then one GET of it."""
        redirect = self.session.get(self.file_url(path), params={"direct": "1"}, allow_redirects=False, timeout=60)
        if redirect.status_code != 302:
            raise SystemExit(f"direct download did not redirect: {redirect.status_code} {redirect.text[:300]}")
        received = 0
        with requests.get(redirect.headers["Location"], stream=True, timeout=600) as response:
            response.raise_for_status()
            for chunk in response.iter_content(READ_SIZE):
                received += len(chunk)
        return received

    def download(self, path: str) -> int:
        received = 0
        with self.session.get(self.file_url(path), stream=True, timeout=600) as response:
            response.raise_for_status()
            for chunk in response.iter_content(READ_SIZE):
                received += len(chunk)
        return received

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- the SDK directly ----------------------------------------------------------------------------


class NullSink(io.RawIOBase):
    """A seekable sink that discards bytes (readinto with max_concurrency needs seek)."""

    def __init__(self):
        self.position = 0
        self.written = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = offset if whence == io.SEEK_SET else self.position + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def write(self, data) -> int:
        size = len(data)
        self.position += size
        self.written += size
        return size


def sdk_container(azurite_url: str, container: str, *, block_mib: int):
    service = BlobServiceClient(
        azurite_url,
        credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY},
        max_block_size=block_mib * MIB,
        max_single_put_size=block_mib * MIB,
        max_chunk_get_size=block_mib * MIB,
        max_single_get_size=block_mib * MIB,
        connection_data_block_size=block_mib * MIB,  # read each response in one piece, as the studio does
    )
    return service.get_container_client(container)


def sdk_upload(azurite_url: str, container: str, source: Path, name: str, block_mib: int) -> None:
    blob = sdk_container(azurite_url, container, block_mib=block_mib).get_blob_client(name)
    with open(source, "rb") as file:
        blob.upload_blob(file, length=source.stat().st_size, max_concurrency=4, overwrite=True)


def sdk_download(azurite_url: str, container: str, name: str, block_mib: int, size: int) -> None:
    sink = NullSink()
    sdk_container(azurite_url, container, block_mib=block_mib).download_blob(name, max_concurrency=4).readinto(sink)
    if sink.written != size:
        raise SystemExit(f"SDK download returned {sink.written} of {size} bytes")


# --- the run ---------------------------------------------------------------------------------------


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS


@contextmanager
def timed(measurement: Measurement, *, azurite: int, worker: int | None = None):
    """Wall time, and the CPU time of this process (the client), of Azurite, of the worker and of the rest
    of the machine: on a shared machine the last says how much others got in the way."""
    machine_before = machine_busy_seconds()
    client_before = sum(os.times()[:2])
    azurite_before = proc_cpu_seconds(azurite) if azurite else 0.0
    worker_before = proc_cpu_seconds(worker) if worker else 0.0
    started = time.perf_counter()
    try:
        yield
    finally:
        measurement.seconds = time.perf_counter() - started
        measurement.client_cpu = sum(os.times()[:2]) - client_before
        ours = measurement.client_cpu
        if azurite:
            measurement.azurite_cpu = proc_cpu_seconds(azurite) - azurite_before
            ours += measurement.azurite_cpu
        if worker:
            ours += proc_cpu_seconds(worker) - worker_before
        measurement.others_cpu = max(machine_busy_seconds() - machine_before - ours, 0.0)


def others_busy(watched: list[int], window: float = 1.0) -> float:
    """CPUs' worth of work other processes did over `window` seconds."""

    def ours() -> float:
        total = sum(os.times()[:2])
        for pid in watched:
            try:
                total += proc_cpu_seconds(pid)
            except OSError:
                pass
        return total

    machine_before, ours_before = machine_busy_seconds(), ours()
    time.sleep(window)
    return max(machine_busy_seconds() - machine_before - (ours() - ours_before), 0.0) / window


def wait_for_quiet(max_seconds: float, watched: list[int], *, threshold: float = 0.25) -> None:
    """On a shared machine, wait (up to max_seconds) until other processes use under `threshold` CPUs."""
    if max_seconds <= 0:
        return
    deadline = time.monotonic() + max_seconds
    while (busy := others_busy(watched)) > threshold:
        if time.monotonic() > deadline:
            say(f"the machine did not get quiet (others use {busy:.1f} CPUs); measuring anyway")
            return


@contextmanager
def profiled(pid: int, output: Path | None):
    """py-spy on the gunicorn worker while a transfer runs (collapsed stacks), when asked."""
    if output is None:
        yield
        return
    spy = subprocess.Popen(
        [
            PY_SPY,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--threads",
            *os.environ.get("PY_SPY_ARGS", "").split(),
            "--output",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)  # let it attach
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def run(
    size_mib: int,
    block_sizes: list[int],
    repeat: int,
    work: Path,
    azurite: Azurite,
    profile_dir: Path | None,
    quiet_wait: float,
) -> list[Measurement]:
    """Rounds of: studio upload, SDK uploads, studio download, SDK downloads, each on a fresh Azurite."""
    size = size_mib * MIB
    source = work / "source.bin"
    say(f"Writing a {size_mib} MiB file to {source}")
    make_file(source, size)
    results: list[Measurement] = []
    name = "bench/studio.bin"

    studio = Studio(work, dict(os.environ))
    try:
        say("Preparing the studio database, a user and a workspace; starting gunicorn")
        container = studio.prepare(azurite)
        studio.start()
        studio.login()
        worker = studio.worker_pid()

        def measure(label: str, transfer, *, download: bool, studio_side: bool, round_number: int) -> None:
            say(f"Round {round_number}/{repeat}: {label}")
            azurite.fresh(container, holding=(source, name) if download else None)
            measurement = Measurement(label, 0, size)
            wait_for_quiet(quiet_wait, [worker, azurite.pid])
            if studio_side:
                profile = profile_dir and profile_dir / f"{'download' if download else 'upload'}-{round_number}.txt"
                with watch_worker(worker, measurement), profiled(worker, profile):
                    with timed(measurement, azurite=azurite.pid, worker=worker):
                        transfer()
            else:
                with timed(measurement, azurite=azurite.pid):
                    transfer()
            results.append(measurement)

        def studio_download() -> None:
            if (received := studio.download(name)) != size:
                raise SystemExit(f"studio download returned {received} of {size} bytes")

        def direct_download() -> None:
            if (received := studio.direct_download(name)) != size:
                raise SystemExit(f"direct download returned {received} of {size} bytes")

        for round_number in range(1, repeat + 1):
            measure(
                "studio upload (PUT)",
                lambda: studio.upload(source, name),
                download=False,
                studio_side=True,
                round_number=round_number,
            )
            measure(
                DIRECT_UPLOAD,
                lambda: studio.direct_upload(source, name),
                download=False,
                studio_side=True,
                round_number=round_number,
            )
            for block_mib in block_sizes:
                measure(
                    f"SDK upload_blob, {block_mib} MiB blocks",
                    lambda block_mib=block_mib: sdk_upload(azurite.url, container, source, name, block_mib),
                    download=False,
                    studio_side=False,
                    round_number=round_number,
                )
            measure(
                "studio download (GET)", studio_download, download=True, studio_side=True, round_number=round_number
            )
            measure(DIRECT_DOWNLOAD, direct_download, download=True, studio_side=True, round_number=round_number)
            for block_mib in block_sizes:
                measure(
                    f"SDK download_blob.readinto, {block_mib} MiB chunks",
                    lambda block_mib=block_mib: sdk_download(azurite.url, container, name, block_mib, size),
                    download=True,
                    studio_side=False,
                    round_number=round_number,
                )
    finally:
        studio.stop()
    return results


def say(text: str) -> None:
    print(f"-- {text}", file=sys.stderr, flush=True)


def speeds(results: list[Measurement], label: str) -> list[float]:
    return [m.mb_per_s for m in results if m.label == label]


def mib(value: int | None) -> str:
    return "" if value is None else f"{value / MIB:.1f}"


def split_cpus(shared: bool) -> tuple[set[int] | None, str]:
    """CPUs for Azurite, and a line saying how the CPUs are used.

    By default Azurite gets the first CPU to itself and this process (the client), gunicorn and
    everything they start get the others, as Azure Storage never runs on the studio's CPUs. On two
    CPUs, sharing both with Azurite measures how much the emulator and the studio slow each other
    down more than it measures the studio (see bench/README.md)."""
    usable = sorted(os.sched_getaffinity(0))
    if shared or len(usable) < 2:
        why = "--shared-cpus" if shared else "fewer than 2 CPUs"
        return None, f"CPUs: Azurite, gunicorn and the client share CPUs {usable} ({why})"
    azurite, rest = {usable[0]}, set(usable[1:])
    os.sched_setaffinity(0, rest)  # inherited by gunicorn and manage.py
    return azurite, f"CPUs: Azurite on CPU {usable[0]} alone; gunicorn and the client on {sorted(rest)}"


def report(results: list[Measurement], size_mib: int, load_before: str, cpu_use: str) -> tuple[str, bool]:
    lines: list[str] = []
    line = lines.append
    cpus = os.cpu_count()
    line("")
    line(
        f"Transfer benchmark: one file of {size_mib} MiB ({size_mib * MIB:,} bytes); Azurite in memory; "
        f"gunicorn.conf.py, 1 worker x {GUNICORN_THREADS} threads, "
        f"timeout {os.environ.get('GUNICORN_TIMEOUT') or 'default'}; "
        f"{cpus} CPUs; MB/s = 10^6 bytes/s"
    )
    line(cpu_use)
    line(
        f"load average before / after: {load_before} / {load_average()}; "
        "'others CPU s' is CPU time other processes took during a transfer (0 on a quiet machine)"
    )
    header = (
        f"{'transfer':42} {'seconds':>8} {'MB/s':>7} {'worker RSS +MiB':>15} {'worker CPU s':>12} "
        f"{'client CPU s':>12} {'Azurite CPU s':>13} {'others CPU s':>12}"
    )
    line(header)
    line("-" * len(header))

    def number(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    for m in results:
        line(
            f"{m.label:42} {m.seconds:8.2f} {m.mb_per_s:7.1f} {mib(m.rss_growth):>15} {number(m.cpu_seconds):>12} "
            f"{number(m.client_cpu):>12} {number(m.azurite_cpu):>13} {number(m.others_cpu):>12}"
        )
    line("")
    ok = True
    for direction, studio_label, sdk_prefix in [
        ("upload", "studio upload (PUT)", "SDK upload"),
        ("download", "studio download (GET)", "SDK download"),
        ("direct up", DIRECT_UPLOAD, "SDK upload"),
        ("direct dn", DIRECT_DOWNLOAD, "SDK download"),
    ]:
        sdk_labels = list(dict.fromkeys(m.label for m in results if m.label.startswith(sdk_prefix)))
        sdk_label = max(sdk_labels, key=lambda label: median(speeds(results, label)))  # the SDK's best setting
        studio, sdk = median(speeds(results, studio_label)), median(speeds(results, sdk_label))
        ratio = studio / sdk
        best_ratio = max(speeds(results, studio_label)) / max(speeds(results, sdk_label))
        rss = max(m.rss_growth for m in results if m.label == studio_label)
        ratio_ok, rss_ok = ratio >= RATIO_TARGET, rss <= RSS_TARGET_MIB * MIB
        ok = ok and ratio_ok and rss_ok
        line(
            f"{direction:8}: studio {studio:6.1f} MB/s / SDK {sdk:6.1f} MB/s ({sdk_label.removeprefix('SDK ')}) "
            f"= ratio {ratio:.2f} [{'ok' if ratio_ok else f'MISS: target {RATIO_TARGET}'}] "
            f"(best runs: {best_ratio:.2f}); "
            f"worker peak RSS growth {rss / MIB:.1f} MiB [{'ok' if rss_ok else f'MISS: target {RSS_TARGET_MIB} MiB'}]"
        )
    watched = [m for m in results if m.hwm_after is not None]
    if watched:
        line(
            f"worker VmHWM: {mib(watched[0].hwm_before)} MiB before the first studio transfer, "
            f"{mib(watched[-1].hwm_after)} MiB after the last"
        )
    line("(MB/s are medians over the rounds; the SDK's best setting is the one with the highest median)")
    line(f"targets: {'all met' if ok else 'NOT all met'}")
    return "\n".join(lines) + "\n", ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the test file in MiB (default 1024)")
    parser.add_argument("--block-mib", default="8,16", help="SDK block/chunk sizes to try, in MiB (default 8,16)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every transfer; medians count (default 3)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0,
        help="on a shared machine, wait up to this many seconds before each transfer for other processes "
        "to use under 0.25 CPUs (default 0: do not wait)",
    )
    parser.add_argument(
        "--shared-cpus",
        action="store_true",
        help="let Azurite share every CPU with gunicorn and the client (default: Azurite gets the first CPU to itself)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="record py-spy stacks of the worker (needs py-spy; PY_SPY=path)"
    )
    parser.add_argument("--work-dir", help="where the test file and the studio database go (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (gunicorn.log is in it)")
    args = parser.parse_args()
    azurite_url, azurite_command = os.environ.get("STUDIO_TEST_AZURITE_URL"), os.environ.get("BENCH_AZURITE_COMMAND")
    if not (azurite_url and azurite_command):
        parser.error(
            "STUDIO_TEST_AZURITE_URL or BENCH_AZURITE_COMMAND is not set: run bench/run-transfer, which sets them"
        )
    azurite_cpus, cpu_use = split_cpus(args.shared_cpus)
    azurite = Azurite(azurite_url, azurite_command, azurite_cpus)
    load_before = load_average()
    if args.work_dir:
        work = Path(args.work_dir)
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    needed = args.size_mib * MIB + 256 * MIB
    if shutil.disk_usage(work).free < needed:
        parser.error(f"{work} has less than {needed // MIB} MiB free")
    try:
        profile_dir = work / "profiles" if args.profile else None
        if profile_dir:
            profile_dir.mkdir(exist_ok=True)
            args.keep = True
        results = run(
            args.size_mib,
            [int(b) for b in args.block_mib.split(",")],
            args.repeat,
            work,
            azurite,
            profile_dir,
            args.quiet_wait,
        )
        text, ok = report(results, args.size_mib, load_before, cpu_use)
        print(text)
        OUT.mkdir(exist_ok=True)
        saved = OUT / f"transfer-{args.size_mib}MiB-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        saved.write_text(text)
        print(f"saved to {saved.relative_to(ROOT)}", file=sys.stderr)
    finally:
        azurite.stop()
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        elif args.work_dir:  # someone else's folder: remove only what this run made
            for made in ("source.bin", "studio.sqlite3", "gunicorn.log"):
                (work / made).unlink(missing_ok=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
