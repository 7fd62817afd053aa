"""`manage.py upload` and `manage.py download`: folder transfers like the SDK's
`datastore.upload()` and `datastore.download()`, against the real Azurite (the workspace's
workspaceblobstore) and the Azure Files stand-in, checked with the SDK directly."""

from __future__ import annotations

import base64
import os
import uuid
from io import StringIO
from pathlib import Path

import pytest
from azure.storage.fileshare import ShareServiceClient
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datastores.access import Actor
from datastores.models import Datastore
from datastores.services import (
    WORKSPACE_BLOB_STORE,
    datastore_register,
    datastore_set_default,
    workspace_create,
)
from datastores.storage import AuthType, Download, backend_for, paths

from .support import (
    AZURITE_ACCOUNT,
    FILESHARE_ACCOUNT,
    FILESHARE_KEY,
    put_blob_raw,
    remember_secret,
)

BIG = 9 * 1024 * 1024 + 123  # more than two 4 MiB reads and more than one 8 MiB block

TREE = {
    "a.txt": b"alpha\n",
    "empty.dat": b"",
    "sub/b.bin": os.urandom(BIG),
    "sub/deeper/c.csv": b"x,y\n1,2\n",
    "sub/deeper/\u00e9t\u00e9 \u540d.txt": b"unicode name",
}


# --- helpers -------------------------------------------------------------------------------


def run(command: str, *args: str) -> tuple[str, str]:
    """Run a management command; return (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def files_below(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def every_path_below(root: Path) -> set[str]:
    return {str(path) for path in root.rglob("*")}


def container_of(workspace) -> str:
    return workspace.datastores.get(name=WORKSPACE_BLOB_STORE).connection_settings["container_name"]


def stored_blobs(blob_service, container: str) -> dict[str, bytes]:
    client = blob_service.get_container_client(container)
    return {blob.name: client.download_blob(blob.name).readall() for blob in client.list_blobs()}


def register_file_share(workspace, fileshare_standin, share_name, *, name="files") -> Datastore:
    backend = backend_for("AzureFile")
    raw = {
        "account_name": FILESHARE_ACCOUNT,
        "file_share_name": share_name,
        "protocol": "http",
        "endpoint": fileshare_standin.base_url.removeprefix("http://"),
        "account_key": FILESHARE_KEY,
        "skip_validation": True,
    }
    return datastore_register(
        workspace=workspace,
        name=name,
        storage_type="AzureFile",
        auth_type=AuthType.ACCOUNT_KEY,
        values=backend.clean_values(AuthType.ACCOUNT_KEY, raw),
    )


def share_files(fileshare_standin, share_name) -> dict[str, bytes]:
    share = ShareServiceClient(fileshare_standin.account_url, credential=fileshare_standin.credential).get_share_client(
        share_name
    )
    found, pending = {}, [""]
    while pending:
        folder = pending.pop()
        for item in share.get_directory_client(folder).list_directories_and_files():
            path = paths.join(folder, item.name)
            if item.is_directory:
                pending.append(path)
            else:
                found[path] = share.get_file_client(path).download_file().readall()
    return found


@pytest.fixture
def tree(tmp_path) -> Path:
    return make_tree(tmp_path / "src", TREE)


# --- upload ----------------------------------------------------------------------------------


def test_upload_sends_a_folder_tree_to_the_default_datastore_keeping_relative_paths(workspace, blob_service, tree):
    out, err = run("upload", str(tree), "--target-path", "data/run1", "--no-progress")

    assert stored_blobs(blob_service, container_of(workspace)) == {
        f"data/run1/{name}": data for name, data in TREE.items()
    }
    assert out.strip() == "Uploaded 5 files, skipped 0 (already there)"
    assert err == ""


def test_upload_without_a_target_path_writes_to_the_root(workspace, blob_service, tree):
    run("upload", str(tree), "--no-progress")
    assert stored_blobs(blob_service, container_of(workspace)) == TREE


def test_a_second_upload_without_overwrite_skips_existing_files_by_name_and_keeps_their_bytes(
    workspace, blob_service, tree
):
    run("upload", str(tree), "--target-path", "data", "--no-progress")
    (tree / "a.txt").write_bytes(b"changed locally")
    (tree / "sub/b.bin").write_bytes(os.urandom(BIG))  # big files are looked up before they are sent
    (tree / "sub/new.txt").write_bytes(b"new")

    out, _ = run("upload", str(tree), "--target-path", "data", "--no-progress")

    assert out.strip() == (
        "Uploaded 1 file, skipped 5 (already there): data/a.txt, data/empty.dat, data/sub/b.bin, "
        "data/sub/deeper/c.csv, data/sub/deeper/\u00e9t\u00e9 \u540d.txt"
    )
    stored = stored_blobs(blob_service, container_of(workspace))
    assert stored["data/a.txt"] == b"alpha\n"
    assert stored["data/sub/b.bin"] == TREE["sub/b.bin"]
    assert stored["data/sub/new.txt"] == b"new"


def test_upload_with_overwrite_replaces_existing_files(workspace, blob_service, tree):
    run("upload", str(tree), "--no-progress")
    replacement = os.urandom(BIG // 2)
    (tree / "sub/b.bin").write_bytes(replacement)

    out, _ = run("upload", str(tree), "--overwrite", "--no-progress")

    assert out.strip() == "Uploaded 5 files, skipped 0 (already there)"
    assert stored_blobs(blob_service, container_of(workspace))["sub/b.bin"] == replacement


def test_a_local_name_storage_cannot_hold_is_reported_and_the_rest_is_uploaded(workspace, blob_service, tmp_path):
    source = make_tree(tmp_path / "src", {"good.txt": b"good", " leading-space.txt": b"bad"})

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"1 file\(s\) were not uploaded"):
        call_command("upload", str(source), "--no-progress", stdout=out, stderr=err)

    assert "Not uploaded:  leading-space.txt: its name cannot be used in storage" in err.getvalue()
    assert out.getvalue().strip() == "Uploaded 1 file, skipped 0 (already there); 1 failed"
    assert stored_blobs(blob_service, container_of(workspace)) == {"good.txt": b"good"}


def test_upload_to_a_named_file_share_datastore(workspace, fileshare_standin, share_name, tree):
    register_file_share(workspace, fileshare_standin, share_name)

    out, _ = run("upload", str(tree), "--datastore", "files", "--target-path", "in", "--no-progress")

    assert out.strip() == "Uploaded 5 files, skipped 0 (already there)"
    assert share_files(fileshare_standin, share_name) == {f"in/{name}": data for name, data in TREE.items()}
    out, _ = run("upload", str(tree), "--datastore", "files", "--target-path", "in", "--no-progress")
    assert out.startswith("Uploaded 0 files, skipped 5 (already there): in/a.txt, in/empty.dat,")


def test_the_default_datastore_is_used_when_no_datastore_is_named(
    workspace, blob_service, fileshare_standin, share_name, tree
):
    datastore_set_default(register_file_share(workspace, fileshare_standin, share_name))

    run("upload", str(tree), "--no-progress")

    assert share_files(fileshare_standin, share_name) == TREE
    assert stored_blobs(blob_service, container_of(workspace)) == {}


# --- download --------------------------------------------------------------------------------


def test_download_with_a_prefix_keeps_full_storage_paths_below_the_target(workspace, tree, tmp_path):
    run("upload", str(tree), "--target-path", "data", "--no-progress")
    run(
        "upload", str(make_tree(tmp_path / "other", {"o.txt": b"other"})), "--target-path", "elsewhere", "--no-progress"
    )

    out, err = run("download", str(tmp_path / "target"), "--prefix", "data/sub", "--no-progress")

    assert files_below(tmp_path / "target") == {
        f"data/{name}": data for name, data in TREE.items() if name.startswith("sub/")
    }
    assert out.strip() == "Downloaded 3 files, skipped 0 (already there)"
    assert err == ""


def test_download_without_a_prefix_fetches_everything(workspace, tree, tmp_path):
    run("upload", str(tree), "--target-path", "data", "--no-progress")
    run("download", str(tmp_path / "target"), "--no-progress")
    assert files_below(tmp_path / "target") == {f"data/{name}": data for name, data in TREE.items()}


def test_download_ignores_folder_marker_blobs(workspace, blob_service, tmp_path):
    client = blob_service.get_container_client(container_of(workspace))
    client.upload_blob("data/", b"")  # what some tools write to show an empty folder
    client.upload_blob("data/real.txt", b"real")

    out, _ = run("download", str(tmp_path / "target"), "--no-progress")

    assert files_below(tmp_path / "target") == {"data/real.txt": b"real"}
    assert out.strip() == "Downloaded 1 file, skipped 0 (already there)"


def test_download_skips_existing_local_files_unless_overwrite(workspace, tree, tmp_path):
    run("upload", str(tree), "--no-progress")
    target = make_tree(tmp_path / "target", {"a.txt": b"mine", "sub/deeper/c.csv": b"mine too"})

    out, _ = run("download", str(target), "--no-progress")

    assert out.strip() == "Downloaded 3 files, skipped 2 (already there): a.txt, sub/deeper/c.csv"
    assert (target / "a.txt").read_bytes() == b"mine"
    assert (target / "sub/b.bin").read_bytes() == TREE["sub/b.bin"]

    out, _ = run("download", str(target), "--overwrite", "--no-progress")

    assert out.strip() == "Downloaded 5 files, skipped 0 (already there)"
    assert files_below(target) == TREE


def test_download_from_a_file_share_datastore(workspace, fileshare_standin, share_name, tree, tmp_path):
    register_file_share(workspace, fileshare_standin, share_name)
    run("upload", str(tree), "--datastore", "files", "--target-path", "in", "--no-progress")

    run("download", str(tmp_path / "target"), "--datastore", "files", "--prefix", "in", "--no-progress")

    assert files_below(tmp_path / "target") == {f"in/{name}": data for name, data in TREE.items()}


def test_an_interrupted_download_leaves_no_partial_file(workspace, tree, tmp_path, monkeypatch):
    run("upload", str(tree), "--no-progress")
    blob_backend = backend_for("AzureBlob")
    real_download = blob_backend.download

    def cut_off(connection, path):
        real = real_download(connection, path)

        def chunks():
            yield next(real.chunks)
            raise KeyboardInterrupt

        return Download(real.name, real.size, real.content_type, chunks())

    monkeypatch.setattr(blob_backend, "download", cut_off)

    with pytest.raises(KeyboardInterrupt):
        run("download", str(tmp_path / "target"), "--prefix", "sub", "--no-progress")

    assert files_below(tmp_path / "target") == {}


# --- progress, output and errors ---------------------------------------------------------------


def test_a_progress_bar_goes_to_stderr_unless_no_progress(workspace, tree, tmp_path):
    out, err = run("upload", str(tree))
    assert "Upload" in err and "100%" in err and "B/s" in err
    assert "100%" not in out

    out, err = run("download", str(tmp_path / "target"))
    assert "Download" in err and "100%" in err

    _, err = run("download", str(tmp_path / "again"), "--no-progress")
    assert err == ""


def test_the_workspace_may_be_omitted_only_when_there_is_one(workspace, tree, user):
    other = workspace_create(actor=Actor(user=user), name=f"ws-{uuid.uuid4().hex[:8]}")

    with pytest.raises(CommandError) as refused:
        run("upload", str(tree), "--no-progress")

    assert "There are 2 workspaces; choose one with --workspace" in str(refused.value)
    assert workspace.name in str(refused.value) and other.name in str(refused.value)
    out, _ = run("upload", str(tree), "--workspace", other.name, "--no-progress")
    assert out.startswith("Uploaded 5 files")


def test_an_unknown_datastore_is_refused_with_the_list_of_datastores(workspace, tree):
    with pytest.raises(
        CommandError, match=r"has no datastore 'nope'\. Its datastores: workspaceblobstore, workspacefilestore"
    ):
        run("upload", str(tree), "--datastore", "nope")


def test_a_missing_source_folder_is_refused(workspace, tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        run("upload", str(tmp_path / "missing"))


def test_a_bad_target_path_is_refused(workspace, tree):
    with pytest.raises(CommandError, match=r"Target path: A path cannot contain empty, '\.' or '\.\.' folders"):
        run("upload", str(tree), "--target-path", "a/../b")


def test_a_storage_error_becomes_a_clear_message_without_the_secret(
    workspace, tree, azurite_endpoint, tmp_path, caplog
):
    wrong_key = remember_secret(base64.b64encode(os.urandom(64)).decode())
    backend = backend_for("AzureBlob")
    raw = {
        "account_name": AZURITE_ACCOUNT,
        "container_name": container_of(workspace),
        "protocol": "http",
        "endpoint": azurite_endpoint,
        "account_key": wrong_key,
        "skip_validation": True,
    }
    datastore_register(
        workspace=workspace,
        name="wrongkey",
        storage_type="AzureBlob",
        auth_type=AuthType.ACCOUNT_KEY,
        values=backend.clean_values(AuthType.ACCOUNT_KEY, raw),
    )

    for command, place in [("upload", str(tree)), ("download", str(tmp_path / "target"))]:
        with pytest.raises(CommandError) as failed:
            run(command, place, "--datastore", "wrongkey", "--no-progress")
        message = str(failed.value)
        assert "Authentication failed: the storage account refused the account key." in message
        assert wrong_key not in message and "Traceback" not in message
    assert wrong_key not in caplog.text


# --- names that would escape the target folder ------------------------------------------------

NAME_PIECES = [
    "..",
    ".",
    "",
    "a",
    "b.txt",
    "C:",
    "c:\\",
    "\\",
    "/",
    "//",
    "\x00",
    "\u00e9",
    "\u540d",
    " ",
    "~",
    "link_out",
]


@given(
    name=st.one_of(
        st.text(max_size=60),
        st.lists(st.sampled_from(NAME_PIECES), max_size=8).map("/".join),
        st.lists(st.sampled_from(NAME_PIECES), max_size=8).map("".join),
        st.lists(st.sampled_from(NAME_PIECES), max_size=8).map("\\".join),
    )
)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_local_target_is_none_or_strictly_inside_the_root(tmp_path, name):
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    (tmp_path / "outside").mkdir(exist_ok=True)
    if not (root / "link_out").is_symlink():
        (root / "link_out").symlink_to(tmp_path / "outside")  # a symlink in the target must not lead out either

    target = paths.local_target(root, name)

    if target is not None:
        real_root = root.resolve()
        assert target.resolve().is_relative_to(real_root)
        assert target.resolve() != real_root
        assert "\x00" not in str(target)


def test_download_never_writes_outside_the_target_folder(workspace, blob_service, azurite_url, tmp_path):
    container = container_of(workspace)
    client = blob_service.get_container_client(container)
    client.upload_blob("/abs.txt", b"absolute")
    client.upload_blob("a\\..\\..\\b.txt", b"backslashes")  # the service stores it as a/../../b.txt
    put_blob_raw(azurite_url, container, "../escape.txt", b"escape")
    put_blob_raw(azurite_url, container, "sub/../../c.txt", b"dots")
    client.upload_blob("fine/ok.txt", b"fine")
    assert {blob.name for blob in client.list_blobs()} == {
        "/abs.txt",
        "a/../../b.txt",
        "../escape.txt",
        "sub/../../c.txt",
        "fine/ok.txt",
    }
    make_tree(tmp_path, {"keep/me.txt": b"before"})
    before = every_path_below(tmp_path)

    with pytest.raises(CommandError, match=r"3 file\(s\) were not downloaded"):
        run("download", str(tmp_path / "target"), "--no-progress")

    target = tmp_path / "target"
    outside = every_path_below(tmp_path) - before - {str(target)} - every_path_below(target)
    assert outside == set()
    assert files_below(target) == {"abs.txt": b"absolute", "fine/ok.txt": b"fine"}
    assert files_below(tmp_path / "keep") == {"me.txt": b"before"}


def test_unsafe_names_are_reported_as_warnings(workspace, blob_service, azurite_url, tmp_path):
    put_blob_raw(azurite_url, container_of(workspace), "../escape.txt", b"escape")
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError):
        call_command("download", str(tmp_path / "target"), "--no-progress", stdout=out, stderr=err)

    assert "Not downloaded: ../escape.txt: its name would land outside the target folder; not written" in err.getvalue()
    assert out.getvalue().strip() == "Downloaded 0 files, skipped 0 (already there); 1 failed"
