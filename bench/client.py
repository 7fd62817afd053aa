"""Client benchmark: the SDK's upload and download (client/, datastore_studio) against
azure-storage-blob directly at its best setting here, in one run, for one file of --size-mib MiB
(default 1 GiB) and for --files files of --file-kib KiB (default 2,000 x 64 KiB).

Run it through bench/run-client, which sets the environment scripts/test sets. It reuses
bench/transfer.py's machinery: every transfer on a fresh in-memory Azurite on a CPU of its own,
the studio under gunicorn (production gunicorn.conf.py, -w 1 --threads 4), medians over --repeat
rounds. Both sides run in the same venv, bench/out/client-venv (`pip install ./client`), one
subprocess per transfer (bench/client_side.py), which also reports its own peak RSS growth.

    SDK:    datastore.upload(src, target_path, overwrite=True) / datastore.download(dst, prefix, overwrite=True)
            (a scoped SAS from POST .../credentials, then straight to Azurite)
    direct: upload_blob / download_blob().readinto with the account key, for a few block sizes
            (one large file: max_concurrency=4) or thread counts (many small files); the best is the baseline.

Targets: SDK / direct >= 0.95 for each of the four (median MB/s against the best setting's median),
and the SDK's RSS growth at most 256 MiB whatever the data's size.
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
    say,
    split_cpus,
    wait_for_quiet,
)

RATIO_TARGET = 0.95
RSS_TARGET_MIB = 256
VENV = OUT / "client-venv"
WORKER = Path(__file__).resolve().parent / "client_side.py"


@dataclass
class Row:
    case: str  # "1 GiB upload", ...
    label: str
    sdk: bool
    seconds: float
    size: int
    rss_growth: int

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
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quiet-wait", type=float, default=0, help="wait up to this many seconds for a quiet machine")
    parser.add_argument("--shared-cpus", action="store_true")
    parser.add_argument("--python", default=os.environ.get("BENCH_CLIENT_PYTHON") or sys.executable)
    args = parser.parse_args()
    azurite_url, azurite_command = os.environ.get("STUDIO_TEST_AZURITE_URL"), os.environ.get("BENCH_AZURITE_COMMAND")
    if not (azurite_url and azurite_command):
        parser.error("run bench/run-client, which sets STUDIO_TEST_AZURITE_URL and BENCH_AZURITE_COMMAND")
    azurite_cpus, cpu_use = split_cpus(args.shared_cpus)
    azurite = Azurite(azurite_url, azurite_command, azurite_cpus)
    venv = client_venv(args.python)
    load_before = load_average()
    work = Path(tempfile.mkdtemp(prefix="studio-client-bench-"))
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
                    ("blocks 8 MiB", {"block_mib": 8, "per_file": 4, "threads": 1}),
                    ("blocks 16 MiB", {"block_mib": 16, "per_file": 4, "threads": 1}),
                ],
            ),
            (
                f"{args.files} x {args.file_kib} KiB",
                small,
                args.files,
                args.files * args.file_kib * 1024,
                [
                    (f"{threads} threads", {"block_mib": 8, "per_file": 1, "threads": threads})
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

        for round_number in range(1, args.repeat + 1):
            for case, source, files, size, settings in cases:
                for direction in ("upload", "download"):
                    variants = [("SDK", None), *settings]
                    # Each round starts with a different one, so none always runs first (after the
                    # files were written, say).
                    turn = (round_number - 1) % len(variants)
                    for label, setting in variants[turn:] + variants[:turn]:
                        shown = "SDK" if setting is None else f"direct, {label}"
                        say(f"Round {round_number}/{args.repeat}: {case} {direction}, {shown}")
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
                        seen = worker({**base, **(setting or {}), "kind": kind})
                        rows.append(
                            Row(
                                f"{case} {direction}",
                                "SDK" if setting is None else f"direct, {label}",
                                setting is None,
                                seen["seconds"],
                                size,
                                seen["rss_growth"],
                            )
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


def report(rows: list[Row], cpu_use: str, load_before: str) -> tuple[str, bool]:
    lines = [
        "",
        f"Client benchmark: the SDK (datastore_studio) against azure-storage-blob directly; Azurite in memory; "
        f"{os.cpu_count()} CPUs; MB/s = 10^6 bytes/s; medians",
        cpu_use,
        f"load average before / after: {load_before} / {load_average()}",
        f"{'case':28} {'transfer':22} {'runs':>4} {'MB/s':>8} {'max RSS +MiB':>13}",
    ]
    ok = True
    verdicts = []
    for case in dict.fromkeys(row.case for row in rows):
        chosen = [row for row in rows if row.case == case]
        medians = {}
        for label in dict.fromkeys(row.label for row in chosen):
            runs = [row for row in chosen if row.label == label]
            medians[label] = median(row.mb_per_s for row in runs)
            growth = max(row.rss_growth for row in runs) / MIB
            lines.append(f"{case:28} {label:22} {len(runs):>4} {medians[label]:8.1f} {growth:13.1f}")
        best = max((label for label in medians if label != "SDK"), key=medians.get)
        ratio = medians["SDK"] / medians[best]
        sdk_growth = max(row.rss_growth for row in chosen if row.sdk) / MIB
        good = ratio >= RATIO_TARGET and sdk_growth <= RSS_TARGET_MIB
        ok &= good
        verdicts.append(
            f"{case:28}: SDK {medians['SDK']:7.1f} / direct best ({best}) {medians[best]:7.1f} MB/s = "
            f"ratio {ratio:.2f}; SDK RSS growth {sdk_growth:.1f} MiB  {'ok' if good else 'BELOW TARGET'}"
        )
    lines += [
        "",
        *verdicts,
        "",
        f"targets: ratio >= {RATIO_TARGET}, SDK RSS growth <= {RSS_TARGET_MIB} MiB: {'met' if ok else 'NOT met'}",
    ]
    return "\n".join(lines) + "\n", ok


if __name__ == "__main__":
    sys.exit(main())
