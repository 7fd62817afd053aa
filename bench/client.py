"""Client benchmark: the SDK's upload and download (client/, datastore_studio) against
azure-storage-blob directly at its best setting here, in one run, for one file of --size-mib MiB
(default 1 GiB) and for --files files of --file-kib KiB (default 2,000 x 64 KiB).

Run it through bench/run-client, which sets the environment scripts/test sets. It reuses
bench/transfer.py's machinery: every transfer on a fresh in-memory Azurite on a CPU of its own,
the studio under gunicorn (production gunicorn.conf.py, -w 1 --threads 4). Both sides run in the
same venv, bench/out/client-venv (`pip install ./client`), one subprocess per transfer
(bench/client_side.py), which also reports its own peak RSS growth.

    SDK:    datastore.upload(src, target_path, overwrite=True) / datastore.download(dst, prefix, overwrite=True)
            (a scoped SAS from POST .../credentials, then straight to Azurite)
    direct: upload_blob / download_blob().readinto with the studio's SAS and with the account key, for
            a few block sizes (one large file: max_concurrency=4) or thread counts (many small files).

For each case, --choose-rounds rounds of every direct setting find its best (by median, with the
SAS); then --repeat rounds run the SDK and that setting in turn. Choosing and comparing in the
same rounds would set the SDK against the largest of several noisy medians, which beats an equal
rival by the noise alone.

Targets: the median of the rounds' paired ratios (SDK MB/s / direct MB/s) >= 0.95 for each of the
four, and the SDK's RSS growth at most 256 MiB whatever the data's size.
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
from dataclasses import dataclass
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import ApiStudio
from transfer import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    MIB,
    OUT,
    ROOT,
    Azurite,
    load_average,
    make_file,
    proc_cpu_seconds,
    say,
    split_cpus,
    wait_for_quiet,
)

RATIO_TARGET = 0.95
# The direct side runs with the account key and with the studio's own SAS: Azurite spends more CPU on
# checking a SAS than a shared key (it is the bottleneck for small files), so the like-for-like
# baseline is the direct SDK with the same SAS. Both ratios are printed.
CREDENTIALS = ("key", "SAS")
RSS_TARGET_MIB = 256
VENV = OUT / "client-venv"
WORKER = Path(__file__).resolve().parent / "client_side.py"


@dataclass
class Row:
    phase: str  # "choose" (the direct settings, to find the best) or "compare" (the SDK and that one)
    round: int
    case: str  # "1 GiB upload", ...
    label: str
    sdk: bool
    seconds: float
    size: int
    rss_growth: int
    cpu: float  # the client process's CPU-seconds during the transfer
    azurite_cpu: float  # and Azurite's

    @property
    def mb_per_s(self) -> float:
        return self.size / self.seconds / 1e6


def client_venv(python: str) -> Path:
    """bench/out/client-venv with the client installed from client/ (reinstalled on every run)."""
    if not (VENV / "bin" / "python").exists():
        say(f"Creating {VENV.relative_to(ROOT)}")
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    say("pip install ./client into it")
    subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--force-reinstall",
            "--no-deps",
            str(ROOT / "client"),
        ],
        check=True,
    )
    subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(ROOT / "client"),
        ],
        check=True,
    )
    return VENV


def make_small_files(root: Path, count: int, size: int) -> None:
    for number in range(count):
        path = root / f"part{number // 100:02d}" / f"file{number:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--file-kib", type=int, default=64)
    parser.add_argument(
        "--repeat", type=int, default=5, help="rounds comparing the SDK with the direct SDK's best setting"
    )
    parser.add_argument("--choose-rounds", type=int, default=2, help="rounds of every direct setting, to find its best")
    parser.add_argument("--quiet-wait", type=float, default=0, help="wait up to this many seconds for a quiet machine")
    parser.add_argument("--shared-cpus", action="store_true")
    parser.add_argument(
        "--work-dir",
        default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
        help="where the files are written and downloaded (default: /dev/shm, memory, so that the disk's "
        "write-back, the same for both sides, adds no noise)",
    )
    parser.add_argument(
        "--only", choices=("file", "files", "upload", "download"), action="append", help="run only these cases"
    )
    parser.add_argument("--python", default=os.environ.get("BENCH_CLIENT_PYTHON") or sys.executable)
    args = parser.parse_args()
    azurite_url, azurite_command = os.environ.get("STUDIO_TEST_AZURITE_URL"), os.environ.get("BENCH_AZURITE_COMMAND")
    if not (azurite_url and azurite_command):
        parser.error("run bench/run-client, which sets STUDIO_TEST_AZURITE_URL and BENCH_AZURITE_COMMAND")
    azurite_cpus, cpu_use = split_cpus(args.shared_cpus)
    azurite = Azurite(azurite_url, azurite_command, azurite_cpus)
    venv = client_venv(args.python)
    load_before = load_average()
    work = Path(tempfile.mkdtemp(prefix="studio-client-bench-", dir=args.work_dir))
    rows: list[Row] = []
    studio = ApiStudio(work, dict(os.environ))
    try:
        big, small = work / "big", work / "small"
        big.mkdir()
        say(f"Writing a {args.size_mib} MiB file and {args.files} files of {args.file_kib} KiB")
        make_file(big / "model.bin", args.size_mib * MIB)
        make_small_files(small, args.files, args.file_kib * 1024)
        container = studio.prepare(azurite)
        studio.start()
        studio.login()
        token = studio.session.headers["Authorization"].removeprefix("Bearer ")
        env = {
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(work),
            "DATASTORE_STUDIO_URL": studio.base + "/",
            "DATASTORE_STUDIO_TOKEN": token,
        }
        common = {
            "workspace": studio.workspace,
            "container_url": f"{azurite.url}/{container}",
            "account": AZURITE_ACCOUNT,
            "key": AZURITE_KEY,
        }
        cases = [
            (
                f"{args.size_mib} MiB file",
                big,
                1,
                args.size_mib * MIB,
                [
                    (f"{credential}, blocks {block} MiB", {"block_mib": block, "per_file": 4, "threads": 1})
                    for credential in CREDENTIALS
                    for block in (8, 16)
                ],
            ),
            (
                f"{args.files} x {args.file_kib} KiB",
                small,
                args.files,
                args.files * args.file_kib * 1024,
                [
                    (f"{credential}, {threads} threads", {"block_mib": 8, "per_file": 1, "threads": threads})
                    for credential in CREDENTIALS
                    for threads in (8, 16, 32)
                ],
            ),
        ]

        def worker(job: dict) -> dict:
            done = subprocess.run(
                [str(venv / "bin" / "python"), str(WORKER), json.dumps(job)],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                raise SystemExit(f"bench/client_side.py {job['kind']} failed:\n{done.stderr[-4000:]}")
            return json.loads(done.stdout.strip().splitlines()[-1])

        def measure(
            phase: str,
            round_number: int,
            rounds: int,
            case: str,
            source: Path,
            files: int,
            size: int,
            label: str,
            setting: dict | None,
            direction: str,
        ) -> None:
            shown = "SDK" if setting is None else f"direct, {label}"
            say(f"{phase} {round_number}/{rounds}: {case} {direction}, {shown}")
            azurite.fresh(container)
            base = {**common, "prefix": "bench", "source": str(source), "files": files, "bytes": size}
            if direction == "download":
                worker({**base, "kind": "direct-upload", "block_mib": 8, "per_file": 4, "threads": 16})
                target = work / "down"
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir()
                base["target"] = str(target)
            # The last download's gigabyte may still be in the page cache waiting to be
            # written out; let the disk settle so this transfer's writes don't wait on it.
            os.sync()
            wait_for_quiet(args.quiet_wait, [azurite.pid])
            kind = ("sdk-" if setting is None else "direct-") + direction
            if setting is not None and label.startswith("SAS"):
                base["sas"] = studio_sas(studio, write=direction == "upload")
            azurite_cpu = proc_cpu_seconds(azurite.pid)
            seen = worker({**base, **(setting or {}), "kind": kind})
            azurite_cpu = proc_cpu_seconds(azurite.pid) - azurite_cpu
            rows.append(
                Row(
                    phase,
                    round_number,
                    f"{case} {direction}",
                    "SDK" if setting is None else f"direct, {label}",
                    setting is None,
                    seen["seconds"],
                    size,
                    seen["rss_growth"],
                    seen["cpu"],
                    azurite_cpu,
                )
            )

        for case, source, files, size, settings in cases:
            for direction in ("upload", "download"):
                if not wanted(args.only, "file" if files == 1 else "files", direction):
                    continue
                # First the direct SDK's best setting is found, in rounds of their own, then the SDK is
                # compared with that one setting in further rounds, each pairing the two: choosing the
                # best of several noisy medians and comparing with that same maximum would favour the
                # direct side by the noise alone (the larger of three draws), not by its speed.
                for round_number in range(1, args.choose_rounds + 1):
                    turn = (round_number - 1) % len(settings)
                    for label, setting in settings[turn:] + settings[:turn]:
                        measure(
                            "choose",
                            round_number,
                            args.choose_rounds,
                            case,
                            source,
                            files,
                            size,
                            label,
                            setting,
                            direction,
                        )
                medians = {
                    label: median(
                        row.mb_per_s
                        for row in rows
                        if row.phase == "choose"
                        and row.case == f"{case} {direction}"
                        and row.label == f"direct, {label}"
                    )
                    for label, _ in settings
                }
                best = max((label for label, _ in settings if label.startswith("SAS")), key=medians.get)
                pair = [("SDK", None), (best, dict(settings)[best])]
                for round_number in range(1, args.repeat + 1):
                    for label, setting in pair if round_number % 2 else pair[::-1]:
                        measure(
                            "compare", round_number, args.repeat, case, source, files, size, label, setting, direction
                        )
        text, ok = report(rows, cpu_use, load_before)
        print(text)
        OUT.mkdir(exist_ok=True)
        saved = OUT / f"client-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        saved.write_text(text)
        print(f"saved to {saved.relative_to(ROOT)}", file=sys.stderr)
    finally:
        studio.stop()
        azurite.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def studio_sas(studio: ApiStudio, *, write: bool) -> str:
    """The SAS the studio's API issues for the datastore, as the SDK asks for it (POST .../credentials)."""
    response = studio.session.post(
        f"{studio.base}/api/v1/workspaces/{studio.workspace}/datastores/workspaceblobstore/credentials",
        json={"write": write},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["sas_token"].lstrip("?")


def wanted(only: list[str] | None, case: str, direction: str) -> bool:
    """--only file / files / upload / download: the cases matching every kind of choice given."""
    if not only:
        return True
    cases, directions = {"file", "files"} & set(only), {"upload", "download"} & set(only)
    return (not cases or case in cases) and (not directions or direction in directions)


def report(rows: list[Row], cpu_use: str, load_before: str) -> tuple[str, bool]:
    """Two tables of medians: every direct setting in the rounds that choose the best (with the
    studio's SAS, like for like, and with the account key, shown beside it), then the SDK and the
    chosen setting in the rounds that compare them. The verdict for each case is the median of the
    rounds' paired ratios (the SDK's MB/s over the direct SDK's in the same round)."""
    header = f"{'case':28} {'transfer':26} {'runs':>4} {'MB/s':>8} {'CPU-s':>6} {'Azurite':>8} {'max RSS +MiB':>13}"
    lines = [
        "",
        f"Client benchmark: the SDK (datastore_studio) against azure-storage-blob directly; Azurite in memory; "
        f"{os.cpu_count()} CPUs; MB/s = 10^6 bytes/s; medians; CPU-s of the client process and of Azurite",
        cpu_use,
        f"load average before / after: {load_before} / {load_average()}",
    ]

    def table(phase: str) -> None:
        for case in dict.fromkeys(row.case for row in rows):
            chosen = [row for row in rows if row.case == case and row.phase == phase]
            for label in dict.fromkeys(row.label for row in chosen):
                runs = [row for row in chosen if row.label == label]
                growth = max(row.rss_growth for row in runs) / MIB
                cpu, azurite_cpu = median(row.cpu for row in runs), median(row.azurite_cpu for row in runs)
                numbers = f"{median(row.mb_per_s for row in runs):8.1f} {cpu:6.2f} {azurite_cpu:8.2f} {growth:13.1f}"
                lines.append(f"{case:28} {label:26} {len(runs):>4} {numbers}")

    lines += ["", "Choosing the direct SDK's best setting (the SAS's best is compared below):", header]
    table("choose")
    lines += ["", "Comparing the SDK with that setting, the two in turn each round:", header]
    table("compare")
    ok = True
    verdicts = []
    for case in dict.fromkeys(row.case for row in rows):
        compared = [row for row in rows if row.case == case and row.phase == "compare"]
        direct_label = next(row.label for row in compared if not row.sdk)
        by_round = {
            number: {row.sdk: row.mb_per_s for row in compared if row.round == number}
            for number in dict.fromkeys(row.round for row in compared)
        }
        paired = [speeds[True] / speeds[False] for speeds in by_round.values() if len(speeds) == 2]
        ratio = median(paired)
        sdk_speed = median(row.mb_per_s for row in compared if row.sdk)
        direct_speed = median(row.mb_per_s for row in compared if not row.sdk)
        sdk_growth = max(row.rss_growth for row in rows if row.case == case and row.sdk) / MIB
        good = ratio >= RATIO_TARGET and sdk_growth <= RSS_TARGET_MIB
        ok &= good
        verdicts.append(
            f"{case:28}: SDK {sdk_speed:7.1f} MB/s, {direct_label} {direct_speed:.1f}; "
            f"paired ratios {' '.join(f'{value:.2f}' for value in paired)}: median {ratio:.2f} "
            f"(ratio of medians {sdk_speed / direct_speed:.2f}); SDK RSS growth {sdk_growth:.1f} MiB  "
            f"{'ok' if good else 'BELOW TARGET'}"
        )
    lines += [
        "",
        *verdicts,
        "",
        f"targets: median paired ratio to the direct SDK at its best setting with the same SAS >= {RATIO_TARGET}, "
        f"SDK RSS growth <= {RSS_TARGET_MIB} MiB: {'met' if ok else 'NOT met'}",
    ]
    return "\n".join(lines) + "\n", ok


if __name__ == "__main__":
    sys.exit(main())
