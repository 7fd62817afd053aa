"""API benchmark: a 1 GiB upload and download through /api/v1/ (a personal access token, as a
script sends it) against the direct Azure SDK, and the server time of listing 10,000 datastores
page by page (with the SQL queries per page, which must be as many as for 10).

Run it through bench/run-api, which sets the environment scripts/test sets. The transfers reuse
bench/transfer.py's machinery: every transfer on a fresh in-memory Azurite on a CPU of its own,
gunicorn (-w 1 --threads 4) as a subprocess, medians over --repeat rounds, the worker's RSS and CPU.

    PUT /api/v1/workspaces/<ws>/datastores/workspaceblobstore/files/<path>?overwrite=true  (raw body)
    GET /api/v1/workspaces/<ws>/datastores/workspaceblobstore/files/<path>                  (streamed)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transfer import (
    MIB,
    OUT,
    PYTHON,
    ROOT,
    USERNAME,
    Azurite,
    Measurement,
    Studio,
    load_average,
    make_file,
    say,
    sdk_download,
    sdk_upload,
    split_cpus,
    timed,
    watch_worker,
)


class ApiStudio(Studio):
    """The studio, reached with a personal access token instead of a session."""

    def login(self) -> None:
        code = (
            "from django.contrib.auth import get_user_model\n"
            "from datastores.access import Actor\n"
            "from datastores.services import token_create\n"
            f"user = get_user_model().objects.get(username={USERNAME!r})\n"
            "print(token_create(actor=Actor(user=user), name='bench', expires_in_days=1)[1])\n"
        )
        token = self.manage("shell", "-c", code).strip().splitlines()[-1]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def file_url(self, path: str) -> str:
        return f"{self.base}/api/v1/workspaces/{self.workspace}/datastores/workspaceblobstore/files/{path}"

    def upload(self, source: Path, path: str) -> None:
        with open(source, "rb") as file:
            response = self.session.put(
                self.file_url(path),
                params={"overwrite": "true"},
                data=file,
                headers={"Content-Type": "application/octet-stream"},
                timeout=600,
            )
        if response.status_code != 200 or response.json().get("outcome") != "uploaded":
            raise SystemExit(f"API upload failed: {response.status_code} {response.text[:500]}")


def transfers(size_mib: int, block_mib: int, repeat: int, work: Path, azurite: Azurite) -> list[Measurement]:
    size = size_mib * MIB
    source = work / "source.bin"
    say(f"Writing a {size_mib} MiB file")
    make_file(source, size)
    name = "bench/api.bin"
    results: list[Measurement] = []
    studio = ApiStudio(work, dict(os.environ))
    try:
        container = studio.prepare(azurite)
        studio.start()
        studio.login()
        worker = studio.worker_pid()

        def measure(label: str, transfer, *, download: bool, studio_side: bool) -> None:
            say(f"{label}")
            azurite.fresh(container, holding=(source, name) if download else None)
            measurement = Measurement(label, 0, size)
            if studio_side:
                with watch_worker(worker, measurement), timed(measurement, azurite=azurite.pid, worker=worker):
                    transfer()
            else:
                with timed(measurement, azurite=azurite.pid):
                    transfer()
            results.append(measurement)

        def api_download() -> None:
            if (received := studio.download(name)) != size:
                raise SystemExit(f"API download returned {received} of {size} bytes")

        for _round in range(repeat):
            measure(
                "API upload (PUT /api/v1/.../files)",
                lambda: studio.upload(source, name),
                download=False,
                studio_side=True,
            )
            measure(
                f"SDK upload_blob, {block_mib} MiB blocks",
                lambda: sdk_upload(azurite.url, container, source, name, block_mib),
                download=False,
                studio_side=False,
            )
            measure("API download (GET /api/v1/.../files)", api_download, download=True, studio_side=True)
            measure(
                f"SDK download_blob.readinto, {block_mib} MiB chunks",
                lambda: sdk_download(azurite.url, container, name, block_mib, size),
                download=True,
                studio_side=False,
            )
    finally:
        studio.stop()
    return results


def listing(work: Path) -> dict:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'listing.sqlite3'}"}
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    done = subprocess.run(
        [PYTHON, "bench/api_listing.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"bench/api_listing.py failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: list[Measurement], lists: dict, size_mib: int, cpu_use: str, load_before: str) -> str:
    lines = [
        "",
        f"API benchmark: one file of {size_mib} MiB through /api/v1/ (bearer token) against azure-storage-blob; "
        f"Azurite in memory; gunicorn -w 1 --threads 4; {os.cpu_count()} CPUs; MB/s = 10^6 bytes/s",
        cpu_use,
        f"load average before / after: {load_before} / {load_average()}",
        f"{'transfer':44} {'seconds':>8} {'MB/s':>7} {'worker RSS +MiB':>15} {'worker CPU s':>12} "
        f"{'Azurite CPU s':>13}",
    ]
    for m in results:
        rss = "" if m.rss_growth is None else f"{m.rss_growth / MIB:.1f}"
        cpu = "" if m.cpu_seconds is None else f"{m.cpu_seconds:.1f}"
        azurite = "" if m.azurite_cpu is None else f"{m.azurite_cpu:.1f}"
        lines.append(f"{m.label:44} {m.seconds:8.2f} {m.mb_per_s:7.1f} {rss:>15} {cpu:>12} {azurite:>13}")
    lines.append("")
    for direction, api_prefix, sdk_prefix in [
        ("upload", "API upload", "SDK upload"),
        ("download", "API download", "SDK download"),
    ]:
        api = median(m.mb_per_s for m in results if m.label.startswith(api_prefix))
        sdk = median(m.mb_per_s for m in results if m.label.startswith(sdk_prefix))
        lines.append(f"{direction:8}: API {api:6.1f} MB/s / SDK {sdk:6.1f} MB/s = ratio {api / sdk:.2f} (medians)")
    lines.append("")
    lines.append("Listing datastores page by page (server time, in-process; queries per page):")
    for count, by_limit in lists.items():
        for limit, row in by_limit.items():
            if limit == "fill_seconds":
                continue
            lines.append(
                f"  {int(count):>6} datastores, limit {row['limit']:>3}: {row['pages']:>3} pages, "
                f"total {row['total_seconds'] * 1000:8.1f} ms, "
                f"median page {row['median_page_ms']:6.1f} ms, max {row['max_page_ms']:6.1f} ms, "
                f"queries per page {row['queries_per_page']}"
            )
    same = all(
        lists["10"][limit]["queries_per_page"] == lists["10000"][limit]["queries_per_page"] for limit in ("50", "200")
    )
    lines.append(f"queries per page the same for 10 and 10,000 datastores: {'yes' if same else 'NO'}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--block-mib", type=int, default=8, help="the SDK's block/chunk size (default 8)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shared-cpus", action="store_true")
    args = parser.parse_args()
    azurite_url, azurite_command = os.environ.get("STUDIO_TEST_AZURITE_URL"), os.environ.get("BENCH_AZURITE_COMMAND")
    if not (azurite_url and azurite_command):
        parser.error("run bench/run-api, which sets STUDIO_TEST_AZURITE_URL and BENCH_AZURITE_COMMAND")
    azurite_cpus, cpu_use = split_cpus(args.shared_cpus)
    azurite = Azurite(azurite_url, azurite_command, azurite_cpus)
    load_before = load_average()
    work = Path(tempfile.mkdtemp(prefix="studio-api-bench-"))
    try:
        say("Listing 10 and 10,000 datastores")
        azurite.fresh()  # new workspaces get their workspaceblobstore container there
        lists = listing(work)
        results = transfers(args.size_mib, args.block_mib, args.repeat, work, azurite)
        text = report(results, lists, args.size_mib, cpu_use, load_before)
        print(text)
        OUT.mkdir(exist_ok=True)
        saved = OUT / f"api-{args.size_mib}MiB-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        saved.write_text(text)
        print(f"saved to {saved.relative_to(ROOT)}", file=sys.stderr)
    finally:
        azurite.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
