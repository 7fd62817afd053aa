"""`datastore-studio`, installed from client/ into a fresh venv, run as a script runs it (a
subprocess): login and the config file, listings with --output json, creating a datastore with
its secret from the environment, files up and down, SQL, exit codes (0, 1, 2) with errors on
stderr, and a reader's refusal."""

from __future__ import annotations

import json
import stat
import subprocess
import uuid

import pytest

from datastores.access import Actor
from datastores.models import Datastore, Role
from datastores.services import member_add, workspace_create

from ..api_support import token_for
from ..support import AZURITE_ACCOUNT, AZURITE_KEY, FILESHARE_ACCOUNT, FILESHARE_KEY, WRONG_KEY
from .support import ONE_PASS

pytestmark = [ONE_PASS, pytest.mark.django_db(transaction=True)]


def test_the_cli_signs_in_lists_creates_moves_files_and_queries_with_exit_codes_scripts_can_rely_on(
    installed, django_user_model, blob_service, azurite_endpoint, pg, tmp_path
):
    owner = django_user_model.objects.create_user(username="olive")
    django_user_model.objects.create_user(username="rita")
    workspace = workspace_create(actor=Actor(user=owner), name=f"cli-{uuid.uuid4().hex[:6]}")
    member_add(actor=Actor(user=owner), workspace=workspace, who="rita", role=Role.READER)
    token, reader = token_for(owner), token_for(django_user_model.objects.get(username="rita"))
    container = f"cli-{uuid.uuid4().hex[:8]}"
    blob_service.create_container(container)
    cli = installed.cli

    # login reads the token from a hidden prompt (stdin here), checks it, and saves it with mode 0600
    signed_in = cli(
        "login", "--url", installed.studio_url, "--workspace", workspace.name, token=None, input=token + "\n"
    )
    assert signed_in.returncode == 0, signed_in.stderr
    config = installed.home / ".config" / "datastore-studio" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600 and json.loads(config.read_text())["token"] == token
    assert token not in signed_in.stdout + signed_in.stderr
    refused = cli("login", "--url", installed.studio_url, token=None, input="dsp_not-a-token\n")
    assert refused.returncode == 1 and "Send a valid access token" in refused.stderr

    no_env = {"DATASTORE_STUDIO_URL": ""}  # from here on the saved login is what is used
    me = cli("whoami", "-o", "json", token=None, **no_env)
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["workspaces"] == [{"name": workspace.name, "description": "", "role": "owner"}]
    assert token not in me.stdout
    listed = json.loads(cli("workspace", "list", "-o", "json", token=None, **no_env).stdout)
    assert [item["name"] for item in listed] == [workspace.name]
    assert (
        cli("workspace", "config", workspace.name, "--path", str(tmp_path / "cfg"), token=None, **no_env).returncode
        == 0
    )
    assert json.loads((tmp_path / "cfg" / "config.json").read_text())["workspace_name"] == workspace.name

    created = cli(
        "datastore",
        "create",
        "blob",
        "training",
        "--account-name",
        AZURITE_ACCOUNT,
        "--container-name",
        container,
        "--protocol",
        "http",
        "--endpoint",
        azurite_endpoint,
        token=None,
        AZURE_STORAGE_KEY=AZURITE_KEY,
        **no_env,
    )
    assert created.returncode == 0, created.stderr
    assert Datastore.objects.get(workspace=workspace, name="training").connection()["account_key"] == AZURITE_KEY
    pg_form = pg.form()
    created_pg = cli(
        "datastore",
        "create",
        "postgresql",
        "sales",
        "--server-name",
        pg_form["server_name"],
        "--database-name",
        pg.name,
        "--user-id",
        pg_form["user_id"],
        "--port",
        pg_form["port"],
        "--endpoint",
        "127.0.0.1",
        "--no-enforce-ssl",
        token=None,
        input=pg_form["password"] + "\n",
        **no_env,
    )
    assert created_pg.returncode == 0, created_pg.stderr
    names = [item["name"] for item in json.loads(cli("datastore", "list", "-o", "json", token=None, **no_env).stdout)]
    assert {"sales", "training", "workspaceblobstore"} <= set(names) and names == sorted(names)
    shown = json.loads(cli("datastore", "show", "training", "-o", "json", token=None, **no_env).stdout)
    assert shown["settings"]["container_name"] == container and AZURITE_KEY not in json.dumps(shown)
    assert cli("datastore", "set-default", "training", token=None, **no_env).returncode == 0
    tested = cli("datastore", "test", "training", "-o", "json", token=None, **no_env)
    assert tested.returncode == 0 and json.loads(tested.stdout)["ok"] is True

    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.csv").write_text("a,b\n1,2\n")
    (source / "sub" / "b.txt").write_text("bee\n")
    up = cli("upload", str(source), "--target-path", "in", token=None, **no_env)  # the default datastore
    assert up.returncode == 0, up.stderr
    assert "Uploaded 2 files, skipped 0" in up.stderr and "Upload" in up.stderr, (
        "a summary and a progress bar, on stderr"
    )
    again = cli(
        "upload",
        str(source),
        "-d",
        "training",
        "--target-path",
        "in",
        "--no-progress",
        "-o",
        "json",
        token=None,
        **no_env,
    )
    assert json.loads(again.stdout)["skipped"] == ["in/a.csv", "in/sub/b.txt"]
    blobs = blob_service.get_container_client(container)
    assert blobs.download_blob("in/sub/b.txt").readall() == b"bee\n"
    entries = json.loads(cli("ls", "training", "in", "-o", "json", token=None, **no_env).stdout)
    assert [(entry["name"], entry["is_folder"]) for entry in entries] == [("sub", True), ("a.csv", False)]
    down = cli(
        "download", str(tmp_path / "down"), "-d", "training", "--prefix", "in", "--no-progress", token=None, **no_env
    )
    assert down.returncode == 0 and (tmp_path / "down" / "in" / "sub" / "b.txt").read_text() == "bee\n"
    assert cli("rm", "training", "in/a.csv", token=None, **no_env).returncode == 0
    assert not blobs.get_blob_client("in/a.csv").exists()

    tables = json.loads(cli("sql", "tables", "sales", "-o", "json", token=None, **no_env).stdout)
    assert ("public", "orders") in [(table["schema"], table["name"]) for table in tables]
    as_csv = cli(
        "sql",
        "query",
        "sales",
        "SELECT id, customer FROM orders ORDER BY id LIMIT 2",
        "-o",
        "csv",
        token=None,
        **no_env,
    )
    assert as_csv.stdout.splitlines() == ["id,customer", "1,customer 1", "2,customer 2"]
    as_json = json.loads(cli("sql", "query", "sales", "SELECT 1 AS one", "-o", "json", token=None, **no_env).stdout)
    assert as_json["columns"] == ["one"] and as_json["rows"] == [[1]]
    writing = cli("sql", "query", "sales", "DELETE FROM orders", token=None, **no_env)
    assert writing.returncode == 1 and writing.stderr.startswith("Error: ")

    no_files = cli("ls", "sales", token=None, **no_env)
    assert no_files.returncode == 1 and "holds no files" in no_files.stderr and "Traceback" not in no_files.stderr
    no_tables = cli("sql", "tables", "training", token=None, **no_env)
    assert no_tables.returncode == 1 and "has no tables" in no_tables.stderr

    # Exit codes: 2 for bad usage, 1 for a failure with the studio's message on stderr.
    assert cli("datastore", "list", "--output", "yaml", token=None, **no_env).returncode == 2
    assert cli("upload", token=None, **no_env).returncode == 2
    missing = cli("datastore", "show", "nothing", token=None, **no_env)
    assert (
        missing.returncode == 1
        and missing.stdout == ""
        and "Error:" in missing.stderr
        and "Traceback" not in missing.stderr
    )

    # A reader (token in the environment, which comes before the config file) may read but not write.
    as_reader = {"DATASTORE_STUDIO_URL": installed.studio_url, "DATASTORE_STUDIO_WORKSPACE": workspace.name}
    assert cli("ls", "training", "in", token=reader, **as_reader).returncode == 0
    refused_upload = cli("upload", str(source), "-d", "training", "--target-path", "reader", token=reader, **as_reader)
    assert refused_upload.returncode == 1 and "Traceback" not in refused_upload.stderr
    assert "contributor" in refused_upload.stderr.lower() or "role" in refused_upload.stderr.lower(), (
        refused_upload.stderr
    )
    assert not list(blobs.list_blobs(name_starts_with="reader/"))
    refused_delete = cli("datastore", "delete", "training", "--yes", token=reader, **as_reader)
    assert refused_delete.returncode == 1 and Datastore.objects.filter(workspace=workspace, name="training").exists()

    assert cli("datastore", "delete", "sales", "--yes", token=None, **no_env).returncode == 0
    assert cli("logout", token=None).returncode == 0 and not config.exists()
    after = cli("workspace", "list", token=None, **no_env)
    assert after.returncode == 1 and "datastore-studio login" in after.stderr


def test_the_cli_creates_a_datastore_of_every_other_storage_type_with_secrets_from_the_environment(
    installed, django_user_model, fileshare_standin, share_name, gen1, gen2, maria
):
    """`datastore create` for the types the first test does not make: Azure Files (the Azure Files
    stand-in), ADLS Gen1 and Gen2 (their stand-ins, and the Entra ID token stand-in), Azure SQL
    (no server here, so --skip-validation), MySQL (MariaDB) and DBFS. Each secret comes from its
    environment variable and is stored, never echoed."""
    owner = django_user_model.objects.create_user(username="olive")
    workspace = workspace_create(actor=Actor(user=owner), name=f"cli-{uuid.uuid4().hex[:6]}")
    token = token_for(owner)
    env = {"DATASTORE_STUDIO_WORKSPACE": workspace.name}
    lake1, lake2, mysql = gen1.values(), gen2.values(), maria.form()
    commands = {
        "share": (
            [
                "file-share",
                "share",
                "--account-name",
                FILESHARE_ACCOUNT,
                "--file-share-name",
                share_name,
                "--protocol",
                "http",
                "--endpoint",
                fileshare_standin.base_url.removeprefix("http://"),
            ],
            {"AZURE_STORAGE_KEY": FILESHARE_KEY},
            ("account_key", FILESHARE_KEY),
        ),
        "lake1": (
            [
                "adls-gen1",
                "lake1",
                "--store-name",
                lake1["store_name"],
                "--tenant-id",
                lake1["tenant_id"],
                "--client-id",
                lake1["client_id"],
                "--authority-url",
                lake1["authority_url"],
                "--endpoint",
                lake1["endpoint"],
                "--validate-now",
            ],
            {"AZURE_CLIENT_SECRET": lake1["client_secret"]},
            ("client_secret", lake1["client_secret"]),
        ),
        "lake2": (
            [
                "adls-gen2",
                "lake2",
                "--account-name",
                lake2["account_name"],
                "--filesystem",
                lake2["filesystem"],
                "--tenant-id",
                lake2["tenant_id"],
                "--client-id",
                lake2["client_id"],
                "--authority-url",
                lake2["authority_url"],
                "--protocol",
                "https",
                "--endpoint",
                lake2["endpoint"],
                "--validate-now",
            ],
            {"AZURE_CLIENT_SECRET": lake2["client_secret"]},
            ("client_secret", lake2["client_secret"]),
        ),
        "sales": (
            [
                "sql-database",
                "sales",
                "--server-name",
                "contoso",
                "--database-name",
                "sales",
                "--user-id",
                "ada",
                "--skip-validation",
            ],
            {"DATASTORE_PASSWORD": "azure-sql-password-from-the-environment"},
            ("password", "azure-sql-password-from-the-environment"),
        ),
        "orders": (
            [
                "mysql",
                "orders",
                "--server-name",
                mysql["server_name"],
                "--database-name",
                mysql["database_name"],
                "--user-id",
                mysql["user_id"],
                "--port",
                str(mysql["port"]),
                "--endpoint",
                "127.0.0.1",
            ],
            {"DATASTORE_PASSWORD": mysql["password"]},
            ("password", mysql["password"]),
        ),
        "notebooks": (["dbfs", "notebooks"], {}, None),
    }
    for name, (args, secrets, stored) in commands.items():
        created = installed.cli("datastore", "create", *args, token=token, **env, **secrets)
        assert created.returncode == 0, f"{name}: {created.stderr}"
        for secret in secrets.values():
            assert secret not in created.stdout + created.stderr
        if stored:
            assert Datastore.objects.get(workspace=workspace, name=name).connection()[stored[0]] == stored[1]
    listed = json.loads(installed.cli("datastore", "list", "-o", "json", token=token, **env).stdout)
    types = {item["name"]: item["storage_type"] for item in listed}
    assert {name: types[name] for name in commands} == {
        "share": "AzureFile",
        "lake1": "AzureDataLake",
        "lake2": "AzureDataLakeGen2",
        "sales": "AzureSqlDatabase",
        "orders": "AzureMySql",
        "notebooks": "DBFS",
    }

    # A failed validation registers nothing and says what failed, with exit code 1.
    wrong = installed.cli(
        "datastore",
        "create",
        *commands["share"][0][:1],
        "share2",
        *commands["share"][0][2:],
        token=token,
        **env,
        AZURE_STORAGE_KEY=WRONG_KEY,
    )
    assert wrong.returncode == 1 and "account key" in wrong.stderr.lower() and "Traceback" not in wrong.stderr
    assert not Datastore.objects.filter(workspace=workspace, name="share2").exists()


def test_shell_completion_from_the_cli_library_completes_commands_and_storage_types(installed):
    """`datastore-studio --show-completion bash` prints Typer's completion script; sourced in a real
    bash, it completes command names and the storage types of `datastore create`."""
    script = installed.cli("--show-completion", "bash", token=None)
    assert script.returncode == 0 and "complete" in script.stdout, script.stderr
    completing = subprocess.run(
        [
            "bash",
            "-c",
            'eval "$COMPLETION"; '
            "COMP_WORDS=(datastore-studio data); COMP_CWORD=1; _datastore_studio_completion datastore-studio; "
            'echo "1:${COMPREPLY[*]}"; '
            'COMP_WORDS=(datastore-studio datastore create ""); COMP_CWORD=3; '
            '_datastore_studio_completion datastore-studio; echo "2:${COMPREPLY[*]}"',
        ],
        capture_output=True,
        text=True,
        env={**installed.env(None), "COMPLETION": script.stdout},
        timeout=60,
    )
    lines = dict(line.split(":", 1) for line in completing.stdout.splitlines())
    assert lines["1"].split() == ["datastore"], completing.stderr
    assert set(lines["2"].split()) == {
        "blob",
        "file-share",
        "adls-gen1",
        "adls-gen2",
        "sql-database",
        "postgresql",
        "mysql",
        "dbfs",
    }
