"""Browsing, uploading and downloading ADLS Gen2, ADLS Gen1 and DBFS through the studio's
storage backends, against the local stand-ins (see conftest.py beside this file). Each test runs
for the three types; what storage holds is read straight from the stand-in."""

from __future__ import annotations

import os

import pytest

from datastores.storage import StorageError, UploadOutcome
from datastores.storage.adls_gen1.backend import gen1_store_url
from datastores.storage.staging import STAGING_PREFIX

from .stores import MiB

KiB = 1024


def all_pages(lake, folder, *, page_size, name_prefix=""):
    pages, continuation = [], None
    while True:
        page = lake.backend.list_folder(
            lake.connection(), folder, name_prefix=name_prefix, continuation=continuation, page_size=page_size
        )
        pages.append([(entry.name, entry.is_folder) for entry in page.entries])
        continuation = page.continuation
        if not continuation:
            return pages


def in_pieces(data: bytes, size: int = 64 * KiB):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def staging_files(lake) -> list[str]:
    return [path for path in lake.stored_paths() if STAGING_PREFIX in path]


# --- browsing ---------------------------------------------------------------------------


def seed_big_folder(lake):
    for name in ("b", "d", "f"):
        lake.make_folder(f"big/{name}")
    for name in ("a.csv", "c.csv", "e.csv", "g.csv", "h.csv", "i.csv", "j.csv"):
        lake.put(f"big/{name}", name.encode())
    lake.put("big/d/deeper.csv", b"not on this level")


# Gen1 and Gen2 page on the service, by name, and the studio puts a page's folders first;
# DBFS lists a folder whole, so the studio sorts all of it, folders first.
EXPECTED_PAGES = {
    "AzureDataLakeGen2": [["b/", "d/", "a.csv", "c.csv"], ["f/", "e.csv", "g.csv", "h.csv"], ["i.csv", "j.csv"]],
    "AzureDataLake": [["b/", "d/", "a.csv", "c.csv"], ["f/", "e.csv", "g.csv", "h.csv"], ["i.csv", "j.csv"]],
    "DBFS": [["b/", "d/", "f/", "a.csv"], ["c.csv", "e.csv", "g.csv", "h.csv"], ["i.csv", "j.csv"]],
}


def test_browsing_a_folder_with_more_entries_than_a_page_follows_the_continuations(lake):
    seed_big_folder(lake)

    pages = all_pages(lake, "big", page_size=4)

    shown = [[name + ("/" if is_folder else "") for name, is_folder in page] for page in pages]
    assert shown == EXPECTED_PAGES[lake.storage_type]


def test_each_page_is_one_request_to_the_service_even_for_a_big_folder(gen2):
    seed_big_folder(gen2)

    gen2.backend.list_folder(gen2.connection(), "big", page_size=4)

    listings = [r for r in gen2.server.requests if "resource=filesystem" in r]
    assert len(listings) == 1 and "maxResults=4" in listings[0]


def test_browsing_shows_paths_sizes_and_dates_of_entries(lake):
    lake.put("docs/readme.md", b"# hello")
    lake.make_folder("docs/images")

    entries = lake.backend.list_folder(lake.connection(), "docs").entries

    folder, file = entries
    assert (folder.name, folder.path, folder.is_folder, folder.size) == ("images", "docs/images", True, None)
    assert (file.name, file.path, file.is_folder, file.size) == ("readme.md", "docs/readme.md", False, 7)
    assert file.last_modified is not None and file.last_modified.tzinfo is not None


def test_a_name_prefix_filters_the_listing(lake):
    seed_big_folder(lake)

    pages = all_pages(lake, "big", page_size=2, name_prefix="g")

    assert [name for page in pages for name, _ in page] == ["g.csv"]


def test_browsing_a_folder_that_is_not_there_says_so(lake):
    with pytest.raises(StorageError) as raised:
        lake.backend.list_folder(lake.connection(), "never/made")

    assert raised.value.message == "There is no folder 'never/made' in this datastore."


def test_staging_files_of_unfinished_uploads_are_never_listed(lake):
    lake.put("in/.studio-upload-0123456789abcdef0123456789abcdef", b"half an upload")
    lake.put("in/done.csv", b"done")

    listed = [entry.name for entry in lake.backend.list_folder(lake.connection(), "in").entries]
    walked = [entry.path for entry in lake.backend.walk_files(lake.connection(), "in")]

    assert listed == ["done.csv"]
    assert walked == ["in/done.csv"]


# --- uploading a folder -----------------------------------------------------------------

LOCAL_FOLDER = {
    "data/a.csv": b"a,new\n",
    "data/b.csv": b"b,new\n",
    "data/sub/c.csv": b"c,new\n",
    "data/big.bin": os.urandom(4 * MiB + 512 * KiB),  # several blocks of every type
}


def upload_folder(lake, *, overwrite):
    return {
        path: lake.backend.upload(lake.connection(), path, in_pieces(data), overwrite=overwrite)
        for path, data in LOCAL_FOLDER.items()
    }


def test_uploading_a_folder_with_overwrite_off_skips_existing_files_and_keeps_their_bytes(lake):
    lake.put("data/a.csv", b"a,old\n")
    lake.put("data/sub/c.csv", b"c,old\n")

    outcomes = upload_folder(lake, overwrite=False)

    assert outcomes == {
        "data/a.csv": UploadOutcome.SKIPPED,
        "data/b.csv": UploadOutcome.UPLOADED,
        "data/sub/c.csv": UploadOutcome.SKIPPED,
        "data/big.bin": UploadOutcome.UPLOADED,
    }
    assert lake.read("data/a.csv") == b"a,old\n"
    assert lake.read("data/sub/c.csv") == b"c,old\n"
    assert lake.read("data/b.csv") == LOCAL_FOLDER["data/b.csv"]
    assert lake.read("data/big.bin") == LOCAL_FOLDER["data/big.bin"]
    assert staging_files(lake) == []


def test_uploading_a_folder_with_overwrite_on_replaces_existing_files(lake):
    lake.put("data/a.csv", b"a,old\n")
    lake.put("data/sub/c.csv", b"c,old\n")

    outcomes = upload_folder(lake, overwrite=True)

    assert set(outcomes.values()) == {UploadOutcome.UPLOADED}
    for path, data in LOCAL_FOLDER.items():
        assert lake.read(path) == data, path
    assert staging_files(lake) == []


def test_overwrite_off_is_decided_by_the_service_when_the_file_appears_during_the_upload(lake):
    def chunks_while_someone_else_writes_the_file():
        yield b"mine, part 1"
        lake.put("race/report.csv", b"theirs")
        yield b"mine, part 2"

    outcome = lake.backend.upload(
        lake.connection(), "race/report.csv", chunks_while_someone_else_writes_the_file(), overwrite=False
    )

    assert outcome == UploadOutcome.SKIPPED
    assert lake.read("race/report.csv") == b"theirs"
    assert staging_files(lake) == []


def test_an_empty_file_uploads_and_downloads(lake):
    outcome = lake.backend.upload(lake.connection(), "empty.txt", iter([]), overwrite=False)

    assert outcome == UploadOutcome.UPLOADED
    assert lake.read("empty.txt") == b""
    download = lake.backend.download(lake.connection(), "empty.txt")
    assert (download.size, b"".join(download.chunks)) == (0, b"")


class SourceLost(Exception):
    pass


def first_chunk_then_failure():
    yield b"x" * (64 * KiB)
    raise SourceLost("the browser went away")


def test_a_failed_upload_leaves_nothing_visible(lake):
    lake.put("keep/old.csv", b"old")
    before = lake.stored_paths()

    with pytest.raises(SourceLost):
        lake.backend.upload(lake.connection(), "keep/new.csv", first_chunk_then_failure(), overwrite=False)

    assert lake.stored_paths() == before
    assert [e.name for e in lake.backend.list_folder(lake.connection(), "keep").entries] == ["old.csv"]


def test_a_failed_upload_with_overwrite_on_keeps_the_old_file(lake):
    lake.put("keep/old.csv", b"old")
    before = lake.stored_paths()

    with pytest.raises(SourceLost):
        lake.backend.upload(lake.connection(), "keep/old.csv", first_chunk_then_failure(), overwrite=True)

    assert lake.read("keep/old.csv") == b"old"
    assert lake.stored_paths() == before


def test_a_failed_dbfs_upload_leaves_nothing_even_where_handle_writes_show_before_close(dbfs):
    dbfs.server.writes_visible_before_close = True  # as on a mount over ADLS Gen2
    before = dbfs.stored_paths()

    with pytest.raises(SourceLost):
        dbfs.backend.upload(dbfs.connection(), "new.csv", first_chunk_then_failure(), overwrite=False)

    assert dbfs.stored_paths() == before


def test_an_upload_onto_a_folder_is_refused_and_changes_nothing(lake):
    lake.make_folder("reports/2024")
    before = lake.stored_paths()

    with pytest.raises(StorageError, match="A folder named '2024' is already there"):
        lake.backend.upload(lake.connection(), "reports/2024", iter([b"x"]), overwrite=True)

    assert lake.stored_paths() == before


def test_folders_can_be_created_and_uploaded_into(lake):
    lake.backend.create_folder(lake.connection(), "landing/2025")
    lake.backend.upload(lake.connection(), "landing/2025/day.csv", iter([b"1,2\n"]), overwrite=False)

    entries = lake.backend.list_folder(lake.connection(), "landing").entries

    assert [(e.name, e.is_folder) for e in entries] == [("2025", True)]
    assert lake.read("landing/2025/day.csv") == b"1,2\n"


def test_deleting_a_file_and_a_folder_removes_them_from_storage(lake):
    lake.put("tmp/a.csv", b"a")
    lake.put("tmp/inner/b.csv", b"b")
    lake.put("stay.csv", b"s")

    lake.backend.delete(lake.connection(), "tmp/a.csv")
    assert lake.read("tmp/a.csv") is None and lake.read("tmp/inner/b.csv") == b"b"
    lake.backend.delete(lake.connection(), "tmp")

    assert lake.stored_paths() == {"stay.csv"}


# --- downloading ------------------------------------------------------------------------


def test_downloading_a_file_streams_its_bytes_in_bounded_chunks(lake):
    payload = os.urandom(4 * MiB + 100 * KiB)
    lake.put("out/big.bin", payload)

    download = lake.backend.download(lake.connection(), "out/big.bin")
    chunks = list(download.chunks)

    assert (download.name, download.size) == ("big.bin", len(payload))
    assert b"".join(chunks) == payload
    assert len(chunks) > 1 and max(len(chunk) for chunk in chunks) <= lake.block


def test_downloading_a_folder_walks_every_file_below_it(lake):
    stored = {"out/a.csv": b"a", "out/x/b.csv": b"bb", "out/x/y/c.bin": os.urandom(3000), "elsewhere.csv": b"no"}
    for path, data in stored.items():
        lake.put(path, data)
    lake.make_folder("out/empty")

    walked = {entry.path: entry for entry in lake.backend.walk_files(lake.connection(), "out")}
    downloaded = {path: b"".join(lake.backend.download(lake.connection(), path).chunks) for path in walked}

    assert downloaded == {path: data for path, data in stored.items() if path.startswith("out/")}
    assert {path: entry.size for path, entry in walked.items()} == {
        "out/a.csv": 1,
        "out/x/b.csv": 2,
        "out/x/y/c.bin": 3000,
    }


def test_downloading_a_file_that_is_not_there_says_so(lake):
    with pytest.raises(StorageError, match=r"There is no file 'gone\.csv' in this datastore"):
        download = lake.backend.download(lake.connection(), "gone.csv")
        b"".join(download.chunks)


# --- what each type needs -------------------------------------------------------------


def test_gen1_addresses_azure_by_store_name_and_an_allowed_host_as_the_store_itself(gen1):
    azure = gen1.connection(endpoint="azuredatalakestore.net")

    assert gen1_store_url(azure) == "https://studiostore.azuredatalakestore.net/"
    assert gen1_store_url(gen1.connection()) == f"https://127.0.0.1:{gen1.server.port}/"
    assert gen1_store_url(gen1.connection(endpoint="")) == "https://studiostore.azuredatalakestore.net/"


def test_gen1_requests_reach_the_store_at_the_allowed_host(gen1):
    gen1.backend.list_folder(gen1.connection(), "")

    assert gen1.server.requests == ["GET LISTSTATUS /"]


def test_gen2_and_gen1_reuse_one_token_across_calls(gen2, gen1, aad):
    for lake in (gen2, gen1):
        for _ in range(3):
            lake.backend.list_folder(lake.connection(), "")

    token_requests = [r for r in aad.requests if r.endswith("/token")]
    assert len(token_requests) == 2  # one per resource


def test_dbfs_without_a_workspace_url_explains_what_browsing_needs(dbfs):
    local_only = dbfs.connection(workspace_url="", access_token="")

    with pytest.raises(StorageError) as raised:
        dbfs.backend.list_folder(local_only, "")

    assert "no workspace URL" in raised.value.message
    assert "personal access token" in raised.value.message
    assert raised.value.field == "workspace_url"


def test_dbfs_with_a_wrong_token_is_refused_on_browsing(dbfs):
    wrong = dbfs.connection(access_token="dapi-not-the-token")

    with pytest.raises(StorageError, match="refused the personal access token"):
        dbfs.backend.list_folder(wrong, "")
