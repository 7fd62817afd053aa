"""The query box writes nothing anywhere: no file on the database host, no program run, no
large object, no server setting, whatever the stored login may do. A read-only transaction
does not stop COPY ... TO PROGRAM, COPY TO a file, lo_import (PostgreSQL) or INTO OUTFILE,
SET GLOBAL (MySQL), so the studio refuses the query box for a login that holds such
privileges, and says so on the datastore's page. Each attempt is then checked on the real
server with its own driver (and on the file system the test servers share with the tests)."""

from __future__ import annotations

import os
import secrets

import pytest

from datastores.models import Datastore

from .servers import run_query

pytestmark = pytest.mark.django_db


@pytest.fixture
def target_file():
    path = f"/tmp/studio-edge-{secrets.token_hex(6)}"
    yield path
    if os.path.exists(path):
        os.remove(path)


def _superuser_datastore(register, pg, workspace) -> Datastore:
    # The test server trusts local logins: the superuser's password is not checked.
    response = register(pg, name="pg_super", user_id="postgres", password="any-password-trusted")
    assert response.status_code == 302
    return Datastore.objects.get(workspace=workspace, name="pg_super")


def test_a_postgres_superuser_cannot_run_a_program_write_a_file_or_import_one(
    client,
    register,
    pg,
    workspace,
    target_file,
):
    datastore = _superuser_datastore(register, pg, workspace)
    with pg.admin() as admin:
        large_objects = admin.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone()[0]
        log_statement = admin.execute("SHOW log_statement").fetchone()[0]
    for statement in (
        f"COPY (SELECT 1) TO PROGRAM 'touch {target_file}'",
        f"COPY (SELECT 'written') TO '{target_file}'",
        "SELECT lo_import('/etc/hostname')",
        "SELECT set_config('log_statement', 'all', false)",
        f"SELECT pg_catalog.pg_file_write('{target_file}', 'x', false)",
    ):
        page = run_query(client, datastore, statement)
        assert "This login is a superuser" in page and "does not run with this login" in page, statement
    assert not os.path.exists(target_file)
    with pg.admin() as admin:
        assert admin.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone()[0] == large_objects
        assert admin.execute("SHOW log_statement").fetchone()[0] == log_statement


def test_the_datastore_page_says_a_superuser_login_can_write_files(client, register, pg, workspace):
    datastore = _superuser_datastore(register, pg, workspace)
    page = client.get(f"/workspaces/{workspace.name}/datastores/{datastore.name}/").content.decode()
    assert "This login is a superuser: it can run programs and write files on the server." in page
    assert "Use a read-only login for queries" in page


def test_a_least_privilege_postgres_login_is_refused_by_the_server_itself(
    client,
    register,
    pg,
    workspace,
    target_file,
):
    assert register(pg).status_code == 302
    datastore = Datastore.objects.get(workspace=workspace, name="pg_sales")
    page = run_query(client, datastore, f"COPY (SELECT 1) TO PROGRAM 'touch {target_file}'")
    assert "pg_execute_server_program" in page or "permission denied" in page.lower() or "must be superuser" in page
    page = run_query(client, datastore, "SELECT 1 AS still_works")
    assert "still_works" in page
    assert not os.path.exists(target_file)


def test_a_mysql_login_with_file_and_super_cannot_write_a_file_or_a_global_setting(
    client,
    register,
    maria,
    workspace,
    target_file,
):
    admin, password = f"studio_admin_{secrets.token_hex(3)}", f"pw-{secrets.token_urlsafe(12)}"
    with maria.root() as db, db.cursor() as cursor:
        cursor.execute(f"CREATE USER '{admin}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        cursor.execute(f"GRANT ALL ON *.* TO '{admin}'@'127.0.0.1'")  # FILE and SUPER among them
    response = register(maria, name="maria_root", user_id=admin, password=password)
    assert response.status_code == 302
    datastore = Datastore.objects.get(workspace=workspace, name="maria_root")
    with maria.root() as db, db.cursor() as cursor:
        cursor.execute("SELECT @@GLOBAL.general_log_file, @@GLOBAL.max_connections")
        before = cursor.fetchone()
    for statement in (
        f"SELECT 'written' INTO OUTFILE '{target_file}'",
        f"SELECT 'written' INTO DUMPFILE '{target_file}'",
        "SELECT LOAD_FILE('/etc/hostname')",
        f"SET GLOBAL general_log_file = '{target_file}'",
        "SET GLOBAL max_connections = 7",
    ):
        page = run_query(client, datastore, statement)
        assert "This login can write files or server settings" in page and "does not run with this login" in page
    assert not os.path.exists(target_file)
    with maria.root() as db, db.cursor() as cursor:
        cursor.execute("SELECT @@GLOBAL.general_log_file, @@GLOBAL.max_connections")
        assert cursor.fetchone() == before
    page = client.get(f"/workspaces/{workspace.name}/datastores/{datastore.name}/").content.decode()
    assert "This login can write files or server settings on the server" in page
    with maria.root() as db, db.cursor() as cursor:
        cursor.execute(f"DROP USER '{admin}'@'127.0.0.1'")


def test_a_least_privilege_mysql_login_is_refused_a_file_by_the_server_itself(
    client,
    register,
    maria,
    workspace,
    target_file,
):
    assert register(maria).status_code == 302
    datastore = Datastore.objects.get(workspace=workspace, name="maria_sales")
    page = run_query(client, datastore, f"SELECT 'written' INTO OUTFILE '{target_file}'")
    assert "Access denied" in page or "MySQL error 1045" in page
    assert not os.path.exists(target_file)


def test_a_postgres_endpoint_with_a_host_list_never_reaches_the_local_socket(
    client,
    register,
    pg,
    workspace,
    target_file,
    tmp_path,
):
    """The finding: an endpoint holding a comma became a libpq host list whose second entry was
    a directory with the server's Unix socket (trusted login: a superuser session), and the
    query box then ran a program on the database host. The directory's name ends in the Azure
    suffix, so the old text match allowed it."""
    with pg.admin("postgres") as admin:
        socket_dir = admin.execute("SHOW unix_socket_directories").fetchone()[0].split(",")[0].strip()
    decoy = tmp_path / ".postgres.database.azure.com"
    decoy.mkdir()
    (decoy / f".s.PGSQL.{pg.port}").symlink_to(f"{socket_dir}/.s.PGSQL.{pg.port}")
    os.chmod(tmp_path, 0o755)

    response = register(
        pg,
        name="pg_socket",
        server_name="srv",
        endpoint=f"h,{decoy}",
        user_id="postgres",
        password="not-checked-by-trust",
    )
    if response.status_code == 302:  # the old code: registered over the socket; now try the program
        datastore = Datastore.objects.get(workspace=workspace, name="pg_socket")
        run_query(client, datastore, f"COPY (SELECT 1) TO PROGRAM 'touch {target_file}'")
    assert response.status_code == 200
    assert "is not a valid value here" in response.content.decode()
    assert not os.path.exists(target_file)
