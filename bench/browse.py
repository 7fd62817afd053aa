"""Bench: browsing a folder of 100,000 blobs in the studio against one raw SDK list call.

Run it through bench/run-browse, which picks a free port and hands over the command line of an
Azurite that keeps its data under bench/out/browse-azurite/ (gitignored). The folder is seeded
once and reused by later runs (a `seeded.json` beside the data says how many blobs it holds).

Seeding: Azurite's Loki store looks a blob up by its account name before an insert, an index
every blob shares, so each insert scans the container: measured here, empty blobs went in at
113 a second for the first 10,000 and slower after, over 15 minutes for 100,000. So the bench
uploads one empty blob through the SDK, stops Azurite, writes the other blobs as copies of that
blob's record into Azurite's own database file (with its sorted indexes), starts Azurite again
and counts the folder through the SDK; a count that is not --blobs stops the bench.

Then, in this process, against a migrated SQLite database (Django's test client, so the time is
the server's: the request, the permission check, the studio's listing call to Azurite, the audit
entry and the page), for --repeat rounds, alternating studio and SDK:

  - the first page of the folder: GET .../browse?path=big (htmx, as the page asks for it);
  - the next page, through the URL of the listing's Load more link (its continuation token);
  - a page half-way down (blob --blobs/2), through a Load more URL with that page's token;

against one `list_blobs(name_starts_with="big/", results_per_page=100).by_page(token)` page of
a ContainerClient made once (the studio's browser lists 100 entries a page). It prints the
medians, the ratio studio/SDK (target: at most 2) and, for comparison, the SDK's `walk_blobs`
with delimiter "/" (what the studio asks for, so that subfolders show as folders).

    bench/run-browse                 # 100,000 blobs, 9 rounds
    bench/run-browse --blobs 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transfer import AZURITE_ACCOUNT, AZURITE_KEY, OUT, ROOT, Azurite, load_average, say

sys.path.insert(0, str(ROOT))

CONTAINER = "browse-bench"
FOLDER = "big"
PAGE_SIZE = 100  # datastores/file_views.py PAGE_SIZE
RATIO_TARGET = 2.0
DATABASE_FILE = "__azurite_db_blob__.json"
BLOBS_COLLECTION = "$BLOBS_COLLECTION$"


def blob_name(number: int) -> str:
    return f"{FOLDER}/part-{number:06d}.csv"


def container_client(azurite_url: str):
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(azurite_url, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY})
    return service.get_container_client(CONTAINER)


def folder_count(azurite_url: str) -> int:
    return sum(
        1 for _ in container_client(azurite_url).list_blobs(name_starts_with=f"{FOLDER}/", results_per_page=5000)
    )


def seed(azurite: Azurite, location: Path, blobs: int) -> None:
    """`blobs` empty blobs in CONTAINER/FOLDER: one through the SDK, the others copied from its
    record in Azurite's database file while Azurite is stopped (see the module's docstring)."""
    azurite.stop()
    shutil.rmtree(location, ignore_errors=True)
    location.mkdir(parents=True)
    azurite.fresh()
    container = container_client(azurite.url)
    container.create_container()
    container.upload_blob(blob_name(0), b"", overwrite=True)
    azurite.stop()  # Azurite saves its database file on the way out

    database_file = location / DATABASE_FILE
    database = json.loads(database_file.read_text())
    collection = next(c for c in database["collections"] if c["name"] == BLOBS_COLLECTION)
    (template,) = [doc for doc in collection["data"] if doc["name"] == blob_name(0)]
    rows = []
    for number in range(blobs):
        row = json.loads(json.dumps(template))
        row["name"] = blob_name(number)
        row["properties"]["etag"] = f'"0x{0x1D000000000000 + number:X}"'
        row["$loki"] = number + 1
        rows.append(row)
    collection["data"] = rows  # in name order, so every index is the rows' order
    collection["maxId"] = blobs
    collection["idIndex"] = None
    for index in collection["binaryIndices"].values():
        index.update(dirty=False, values=list(range(blobs)))
    database_file.write_text(json.dumps(database))

    azurite.fresh()
    counted = folder_count(azurite.url)
    if counted != blobs:
        raise SystemExit(f"seeding failed: Azurite lists {counted} blobs in {FOLDER}/, not {blobs}")
    (location / "seeded.json").write_text(json.dumps({"blobs": blobs}))


def setup_django(work: Path, azurite_url: str) -> None:
    from cryptography.fernet import Fernet

    os.environ.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATASTORE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=f"sqlite:///{work / 'studio.sqlite3'}",
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        DATASTORE_ALLOWED_HOSTS=f"127.0.0.1:{urlsplit(azurite_url).port}",
        WORKSPACE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=bench;AccountKey=a2V5;EndpointSuffix=core.windows.net",
    )
    import django

    django.setup()


def studio_datastore(azurite_url: str):
    """A workspace with one Blob datastore on CONTAINER (checked against Azurite): its reader and browse URL."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.urls import reverse

    from datastores.access import Actor
    from datastores.models import Membership, Role, Workspace
    from datastores.services import datastore_register
    from datastores.storage import AuthType, backend_for

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(username="browser")
    workspace = Workspace.objects.create(name="bench-browse")
    Membership.objects.create(workspace=workspace, user=user, role=Role.READER)
    backend = backend_for("AzureBlob")
    values = backend.clean_values(
        AuthType.ACCOUNT_KEY,
        {
            "account_name": AZURITE_ACCOUNT,
            "container_name": CONTAINER,
            "endpoint": urlsplit(azurite_url).netloc,
            "protocol": "http",
            "account_key": AZURITE_KEY,
        },
    )
    datastore_register(
        workspace=workspace,
        name="big",
        storage_type="AzureBlob",
        auth_type=AuthType.ACCOUNT_KEY,
        values=values,
        actor=Actor(user=user),
    )
    return user, reverse("datastore_browse", args=[workspace.name, "big"])


HTMX = {"HX-Request": "true", "HX-Target": "listing"}
LOAD_MORE = re.compile(r'<tr id="load-more-row">.*?hx-get="([^"]+)"', re.S)
FILE_ROW = re.compile(r"part-\d{6}\.csv")


def studio_page(client, url: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = client.get(url, headers=HTMX)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, (response.status_code, response.content[:500])
    return seconds, response.content.decode()


def next_url(page: str) -> str:
    found = LOAD_MORE.search(page)
    assert found, "the listing has no Load more link"
    return html.unescape(found.group(1))


def names_on(page: str) -> list[str]:
    return sorted(set(FILE_ROW.findall(page)))


def sdk_page(container, token: str | None, *, walk: bool = False) -> tuple[float, list[str], str | None]:
    started = time.perf_counter()
    if walk:
        listing = container.walk_blobs(name_starts_with=f"{FOLDER}/", delimiter="/", results_per_page=PAGE_SIZE)
    else:
        listing = container.list_blobs(name_starts_with=f"{FOLDER}/", results_per_page=PAGE_SIZE)
    pages = listing.by_page(continuation_token=token)
    names = [blob.name.rpartition("/")[2] for blob in next(pages)]
    seconds = time.perf_counter() - started
    return seconds, names, pages.continuation_token


def token_at(container, number: int) -> str:
    """The continuation token of the page that starts at blob `number` (pages of 5,000 to get there)."""
    pages = container.list_blobs(name_starts_with=f"{FOLDER}/", results_per_page=5000).by_page()
    for _ in range(number // 5000):
        next(pages)
    assert pages.continuation_token
    return pages.continuation_token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--reseed", action="store_true", help="seed the folder again even if it is cached")
    args = parser.parse_args()
    azurite_url, command = os.environ.get("STUDIO_TEST_AZURITE_URL"), os.environ.get("BENCH_AZURITE_COMMAND")
    location = Path(os.environ.get("BENCH_AZURITE_LOCATION", OUT / "browse-azurite"))
    if not azurite_url or not command:
        sys.exit("STUDIO_TEST_AZURITE_URL or BENCH_AZURITE_COMMAND is not set: run bench/run-browse, which sets them")
    assert args.blobs % 5000 == 0 and args.blobs >= 10_000, "--blobs: a multiple of 5,000, at least 10,000"

    azurite = Azurite(azurite_url, command)
    work = Path(tempfile.mkdtemp(prefix="browse-bench-"))
    try:
        seeded = location / "seeded.json"
        cached = seeded.exists() and json.loads(seeded.read_text()).get("blobs") == args.blobs
        started = time.perf_counter()
        if cached and not args.reseed:
            azurite.fresh()
            say(f"reusing the {args.blobs:,} blobs seeded in {location} (--reseed to seed again)")
        else:
            say(f"seeding {args.blobs:,} empty blobs into {CONTAINER}/{FOLDER}/ ...")
            seed(azurite, location, args.blobs)
            say(f"seeded and counted in {time.perf_counter() - started:.1f} s")

        setup_django(work, azurite_url)
        from django.test import Client

        user, browse_url = studio_datastore(azurite_url)
        client = Client()
        client.force_login(user)
        container = container_client(azurite_url)
        half_token = token_at(container, args.blobs // 2)

        first_url = f"{browse_url}?path={FOLDER}"
        _seconds, first = studio_page(client, first_url)  # warm both sides
        second_url = next_url(first)
        half_url = re.sub(r"continuation=[^&]*", "continuation=" + half_token, second_url)
        _s, first_names, second_token = sdk_page(container, None)
        sdk_page(container, None, walk=True)
        assert names_on(first) == first_names, "the studio's first page is not the SDK's"

        cases = [("first page", first_url, None), ("next page (Load more)", second_url, second_token)]
        cases.append((f"half-way (blob {args.blobs // 2:,})", half_url, half_token))
        print(
            f"\nload average {load_average()}; {args.blobs:,} blobs in {FOLDER}/, pages of {PAGE_SIZE}, "
            f"medians of {args.repeat} rounds"
        )
        print(f"\n{'page':<28}{'studio':>11}{'SDK list_blobs':>17}{'ratio':>8}{'SDK walk_blobs':>17}")
        worst = 0.0
        for label, url, token in cases:
            studio, sdk, walk = [], [], []
            for _ in range(args.repeat):
                seconds, page = studio_page(client, url)
                studio.append(seconds)
                seconds, names, _next = sdk_page(container, token)
                sdk.append(seconds)
                walk.append(sdk_page(container, token, walk=True)[0])
            assert names_on(page) == names and len(names) == PAGE_SIZE, f"{label}: the studio lists another page"
            ratio = statistics.median(studio) / statistics.median(sdk)
            worst = max(worst, ratio)
            print(
                f"{label:<28}{statistics.median(studio) * 1000:>8.1f} ms{statistics.median(sdk) * 1000:>14.1f} ms"
                f"{ratio:>8.2f}{statistics.median(walk) * 1000:>14.1f} ms"
            )
        verdict = "ok" if worst <= RATIO_TARGET else "MISS"
        print(f"\nworst ratio studio/SDK {worst:.2f} (target: at most {RATIO_TARGET:g}) -> {verdict}")
        return 0 if worst <= RATIO_TARGET else 1
    finally:
        azurite.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
