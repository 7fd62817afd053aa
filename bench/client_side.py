"""One timed transfer for bench/client.py, run inside the client's own venv (no Django here):
either through the SDK (datastore_studio) or through azure-storage-blob directly, at a given
setting. Prints one JSON line: seconds, the CPU-seconds this process spent on the transfer, and its peak RSS growth
(VmRSS sampled every 20 ms, minus the value just before the transfer)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from azure.core.credentials import AzureSasCredential
from azure.storage.blob import ContainerClient

MIB = 1024 * 1024


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class PeakRss:
    def __enter__(self) -> PeakRss:
        self.before = self.peak = rss_kib()
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_kib())
            time.sleep(0.02)

    def __exit__(self, *exc_info: object) -> None:
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss_kib())

    @property
    def growth_bytes(self) -> int:
        return (self.peak - self.before) * 1024


def local_files(root: Path) -> list[tuple[Path, str, int]]:
    found = (path for path in root.rglob("*") if path.is_file())
    return sorted((path, path.relative_to(root).as_posix(), path.stat().st_size) for path in found)


def direct_container(job: dict, block_mib: int) -> ContainerClient:
    """A container client with the account key, or with the studio's SAS when the job has one (the
    very credential the SDK gets, so the two sides differ only in the code between them and storage)."""
    size = block_mib * MIB
    if job.get("sas"):
        credential: object = AzureSasCredential(job["sas"])
    else:
        credential = {"account_name": job["account"], "account_key": job["key"]}
    return ContainerClient.from_container_url(
        job["container_url"],
        credential=credential,
        max_block_size=size,
        max_single_put_size=size,
        max_chunk_get_size=size,
        max_single_get_size=size,
        connection_data_block_size=1 * MIB,
    )


def direct_upload(job: dict) -> None:
    container = direct_container(job, job["block_mib"])
    files = local_files(Path(job["source"]))

    def one(item: tuple[Path, str, int]) -> None:
        local, relative, size = item
        with open(local, "rb") as file:
            container.get_blob_client(f"{job['prefix']}/{relative}").upload_blob(
                file, length=size, overwrite=True, max_concurrency=job["per_file"]
            )

    with ThreadPoolExecutor(job["threads"]) as pool:
        list(pool.map(one, files))


def direct_download(job: dict) -> None:
    container = direct_container(job, job["block_mib"])
    target = Path(job["target"])
    blobs = [(blob.name, blob.size) for blob in container.list_blobs(name_starts_with=job["prefix"] + "/")]

    def one(item: tuple[str, int]) -> None:
        name, _size = item
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as file:
            container.get_blob_client(name).download_blob(max_concurrency=job["per_file"]).readinto(file)

    with ThreadPoolExecutor(job["threads"]) as pool:
        list(pool.map(one, blobs))


def sdk_datastore(job: dict):
    from datastore_studio import Datastore, Workspace

    return Datastore.get(Workspace.get(job["workspace"]), "workspaceblobstore")


def main() -> None:
    job = json.loads(sys.argv[1])
    kind = job["kind"]
    datastore = sdk_datastore(job) if kind.startswith("sdk") else None
    with PeakRss() as rss:
        cpu_before = sum(os.times()[:2])
        started = time.perf_counter()
        if kind == "sdk-upload":
            result = datastore.upload(job["source"], target_path=job["prefix"], overwrite=True, show_progress=False)
            assert len(result) == job["files"] and not result.failed, result.summary("Uploaded")
        elif kind == "sdk-download":
            result = datastore.download(job["target"], prefix=job["prefix"], overwrite=True, show_progress=False)
            assert len(result) == job["files"] and not result.failed, result.summary("Downloaded")
        elif kind == "direct-upload":
            direct_upload(job)
        elif kind == "direct-download":
            direct_download(job)
        else:
            raise SystemExit(f"unknown kind {kind}")
        seconds = time.perf_counter() - started
        cpu = sum(os.times()[:2]) - cpu_before
    if kind.endswith("download"):
        got = local_files(Path(job["target"]) / job["prefix"])
        assert len(got) == job["files"] and sum(size for *_, size in got) == job["bytes"], "everything arrived"
    print(json.dumps({"seconds": seconds, "rss_growth": rss.growth_bytes, "cpu": cpu}))


if __name__ == "__main__":
    main()
