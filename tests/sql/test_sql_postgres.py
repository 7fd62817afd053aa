"""What only PostgreSQL datastores do, against the real PostgreSQL servers (one plain, one
with TLS) that scripts/test starts: Enforce SSL, the host allow-list, the connection test,
schemas, PostgreSQL's own values and errors, and the query box's finer points.

What PostgreSQL shares with MySQL (validation, paging, quoting, the read-only transaction,
CSV downloads) runs against both engines in test_sql_engines.py; the databases are made
in tests/sql/servers.py.
"""

from __future__ import annotations

import socket

import pytest
from psycopg import sql

from datastores.models import Datastore
from tests.pages import field_block, tied_labels

from .servers import ORDERS, csv_rows, listed_row, run_query, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(register, pg, workspace) -> Datastore:
    assert register(pg).status_code == 302
    return Datastore.objects.get(workspace=workspace, name="pg_sales")


# --- validation -------------------------------------------------------------------------


def test_enforce_ssl_against_a_server_without_tls_is_refused_with_a_tls_message(register, pg):
    page = register(pg, enforce_ssl="on").content.decode()
    assert "The server does not accept TLS, but this connection requires it." in field_block(page, "enforce_ssl")
    assert not Datastore.objects.filter(name="pg_sales").exists()


@pytest.fixture
def trusted_tls_server(pg_tls, monkeypatch, tmp_path):
    """Trust the TLS server's own (self-signed, CN=127.0.0.1) certificate, as a CA bundle."""
    with pg_tls.admin("postgres") as admin:
        certificate = admin.execute("SELECT pg_read_file(current_setting('ssl_cert_file'))").fetchone()[0]
    bundle = tmp_path / "server-ca.pem"
    bundle.write_text(certificate)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return pg_tls


def test_enforce_ssl_refuses_a_certificate_it_does_not_trust(register, pg_tls):
    page = register(pg_tls, name="pg_tls", enforce_ssl="on").content.decode()
    assert f"127.0.0.1:{pg_tls.port} could not be reached" in field_block(page, "server_name")
    assert not Datastore.objects.filter(name="pg_tls").exists()


def test_enforce_ssl_refuses_a_trusted_certificate_for_another_host_name(register, trusted_tls_server):
    page = register(trusted_tls_server, name="pg_tls", enforce_ssl="on", endpoint="localhost").content.decode()
    assert "could not be reached" in field_block(page, "server_name")  # the certificate names 127.0.0.1


def test_enforce_ssl_against_the_tls_server_connects_over_tls(client, register, trusted_tls_server, workspace):
    pg_tls = trusted_tls_server
    assert register(pg_tls, name="pg_tls", enforce_ssl="on").status_code == 302
    datastore = Datastore.objects.get(workspace=workspace, name="pg_tls")
    page = run_query(client, datastore, "SELECT ssl AS over_tls FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert '<th scope="col">over_tls</th>' in page and "<td>t</td>" in page


def test_without_enforce_ssl_both_servers_are_accepted(register, pg, pg_tls):
    assert register(pg, name="plain").status_code == 302
    assert register(pg_tls, name="tls_preferred").status_code == 302


def test_test_connection_checks_the_stored_password_against_the_server(client, sales, pg):
    test_url = url("datastore_test_connection", sales)
    assert "Connection succeeded" in client.post(test_url, headers={"HX-Request": "true"}).content.decode()
    with pg.admin() as admin:
        admin.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(pg.user), sql.Literal(pg.password + "-changed"))
        )
    try:
        page = client.post(test_url, headers={"HX-Request": "true"}).content.decode()
        assert "Authentication failed" in page
    finally:
        with pg.admin() as admin:
            admin.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(pg.user), sql.Literal(pg.password))
            )


def test_a_host_outside_the_allow_list_is_refused_before_any_connection(client, register, pg, settings):
    page = register(pg, endpoint="db.evil.example").content.decode()
    assert "is not an Azure endpoint, nor a host this studio allows" in field_block(page, "endpoint")

    # A datastore whose host was later dropped from the allow-list is not reached either.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        assert (
            register(pg, name="was_allowed", port=str(listener.getsockname()[1]), skip_validation="on").status_code
            == 302
        )
        settings.DATASTORE_ALLOWED_HOSTS = ["localhost"]
        datastore = Datastore.objects.get(name="was_allowed")
        page = client.get(url("datastore_tables", datastore), {"listing": "1"}).content.decode()
        assert "not an Azure endpoint, nor a host this studio allows" in page
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody knocked


# --- browsing ---------------------------------------------------------------------------


def test_the_tables_page_lists_schemas_public_first_then_by_name(client, sales):
    page = client.get(url("datastore_tables", sales), {"listing": "1"}).content.decode()
    public, ops, empty = page.index(">public<"), page.index(">sales ops<"), page.index(">empty_schema<")
    assert public < empty < ops
    assert f"≈ {ORDERS}" in listed_row(page, "orders")  # ANALYZE gave an exact estimate
    assert "No tables or views in this schema." in page


def test_values_are_shown_and_downloaded_as_the_database_writes_them(client, sales):
    page = client.get(url("datastore_table", sales, "public", "odd_values")).content.decode()
    for text in [
        "<td>infinity</td>",
        "<td>{&quot;a&quot;: [1, 2]}</td>",
        "<td>{x,&quot;y z&quot;}</td>",
        "<td>\\x00ff</td>",
        "<td>t</td>",
    ]:
        assert text in page
    rows = csv_rows(client.get(url("datastore_table_csv", sales, "public", "odd_values")))
    assert rows[1] == ["1", "infinity", '{"a": [1, 2]}', '{x,"y z"}', "\\x00ff", "t"]


def test_an_unknown_table_is_a_404_with_a_readable_message(client, sales):
    response = client.get(url("datastore_table", sales, "public", "nope; DROP TABLE orders"))
    assert response.status_code == 404
    assert "There is no table or view public.nope; DROP TABLE orders" in response.content.decode()


def test_a_storage_datastore_has_no_tables_pages(client, workspace):
    blob = Datastore.objects.get(workspace=workspace, name="workspaceblobstore")
    assert client.get(url("datastore_tables", blob)).status_code == 404
    assert client.get(url("datastore_table", blob, "public", "orders")).status_code == 404
    assert client.post(url("datastore_query", blob), {"sql": "SELECT 1"}).status_code == 404


# --- the read-only query box ------------------------------------------------------------


def test_the_query_page_has_labelled_controls_and_plain_buttons(client, sales):
    page = client.get(url("datastore_query", sales) + "?sql=SELECT+1").content.decode()
    assert tied_labels(page) == ["SQL query", "Show at most"]
    assert ">Run query</button>" in page and ">Download CSV</button>" in page
    assert "SELECT 1</textarea>" in page


def test_an_htmx_run_returns_only_the_result(client, sales):
    response = client.post(
        url("datastore_query", sales),
        {"sql": "SELECT 42 AS answer", "row_limit": "100"},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert "<html" not in page and 'id="query-result"' in page and '<td class="number">42</td>' in page


def test_a_commit_cannot_smuggle_a_write_past_the_read_only_transaction(client, sales, pg):
    page = run_query(client, sales, "COMMIT; SET default_transaction_read_only = off; DELETE FROM orders")
    assert "Cannot insert multiple commands into a prepared statement" in page
    page = run_query(client, sales, "WITH gone AS (DELETE FROM orders RETURNING id) SELECT count(*) FROM gone")
    assert "read-only transaction" in page
    assert pg.count() == ORDERS


def test_a_syntax_error_is_shown_as_the_database_words_it(client, sales):
    page = run_query(client, sales, "SELEC id FROM orders")
    assert "Syntax error at or near &quot;SELEC&quot; (at character 1)" in page and "SQLSTATE 42601" in page


def test_an_empty_box_asks_for_a_statement(client, sales):
    assert "Type a statement to run." in field_block(run_query(client, sales, "   "), "sql")
    response = client.post(
        url("datastore_query", sales), {"sql": "", "row_limit": "100"}, headers={"HX-Request": "true"}
    )
    assert "Type a statement to run." in response.content.decode()


def test_a_statement_without_rows_says_it_ran(client, sales):
    assert "The statement ran and returned no rows." in run_query(client, sales, "SET work_mem = '8MB'")


# --- CSV downloads ----------------------------------------------------------------------


def test_a_query_download_that_writes_is_refused_before_the_download_starts(client, sales, pg):
    response = client.post(
        url("datastore_query_csv", sales), {"sql": "DELETE FROM orders RETURNING id", "row_limit": "100"}
    )
    assert not response.streaming
    assert "The query failed" in response.content.decode()
    assert pg.count() == ORDERS
