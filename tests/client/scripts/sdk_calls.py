"""Every SDK call of the source document, run in the client's own venv against the studio.
Reads a plan (JSON) on stdin and prints what it saw as JSON on its last line."""

import json
import sys

from datastore_studio import (
    Datastore,
    DatastoreExists,
    DatastoreNotFound,
    PermissionDenied,
    StorageServiceError,
    ValidationFailed,
    Workspace,
    WorkspaceNotFound,
)

plan = json.load(sys.stdin)
seen = {}

ws = Workspace.from_config(plan["config_dir"])
seen["from_config"] = [ws.name, ws.subscription_id, ws.role]
seen["get"] = Workspace.get(plan["workspace"]).name
try:
    Workspace.get("no-such-workspace")
except WorkspaceNotFound as error:
    seen["missing_workspace"] = str(error)

blob, share, gen1, gen2, pg, maria = (plan[key] for key in ("blob", "share", "gen1", "gen2", "pg", "maria"))
made = [
    Datastore.register_azure_blob_container(
        ws,
        "blob_key",
        blob["container"],
        blob["account"],
        account_key=blob["key"],
        protocol="http",
        endpoint=blob["endpoint"],
    ),
    Datastore.register_azure_blob_container(
        ws,
        "blob_sas",
        blob["new_container"],
        blob["account"],
        sas_token=blob["sas"],
        protocol="http",
        endpoint=blob["endpoint"],
        skip_validation=True,
    ),
    Datastore.register_azure_file_share(
        ws,
        "share",
        share["share"],
        share["account"],
        account_key=share["key"],
        protocol="http",
        endpoint=share["endpoint"],
    ),
    Datastore.register_azure_data_lake(
        ws,
        "gen1",
        gen1["store_name"],
        tenant_id=gen1["tenant_id"],
        client_id=gen1["client_id"],
        client_secret=gen1["client_secret"],
        authority_url=gen1["authority_url"],
        endpoint=gen1["endpoint"],
        validate_now=True,
    ),
    Datastore.register_azure_data_lake_gen2(
        ws,
        "gen2",
        gen2["filesystem"],
        gen2["account_name"],
        tenant_id=gen2["tenant_id"],
        client_id=gen2["client_id"],
        client_secret=gen2["client_secret"],
        authority_url=gen2["authority_url"],
        protocol="https",
        endpoint=gen2["endpoint"],
        validate_now=True,
    ),
    Datastore.register_azure_sql_database(
        ws, "azure_sql", "contoso", "sales", username="ada", password=plan["sql_password"], skip_validation=True
    ),
    Datastore.register_azure_postgre_sql(
        ws,
        "pg",
        pg["server_name"],
        pg["database_name"],
        pg["user_id"],
        pg["password"],
        port_number=pg["port"],
        endpoint="127.0.0.1",
        enforce_ssl=False,
    ),
    Datastore.register_azure_my_sql(
        ws,
        "maria",
        maria["server_name"],
        maria["database_name"],
        maria["user_id"],
        maria["password"],
        port_number=maria["port"],
        endpoint="127.0.0.1",
    ),
    Datastore.register_dbfs(ws, "dbfs"),
]
seen["registered"] = {
    datastore.name: [type(datastore).__name__, datastore.datastore_type, datastore.credential_type]
    for datastore in made
}
seen["created_container"] = Datastore.register_azure_blob_container(
    ws,
    "blob_new",
    blob["created"],
    blob["account"],
    account_key=blob["key"],
    protocol="http",
    endpoint=blob["endpoint"],
    create_if_not_exists=True,
).container_name

try:
    Datastore.register_azure_blob_container(
        ws,
        "blob_key",
        blob["container"],
        blob["account"],
        account_key=blob["key"],
        protocol="http",
        endpoint=blob["endpoint"],
    )
except DatastoreExists as error:
    seen["exists"] = str(error)
replaced = Datastore.register_azure_blob_container(
    ws,
    "blob_key",
    blob["container"],
    blob["account"],
    account_key=blob["key"],
    protocol="http",
    endpoint=blob["endpoint"],
    overwrite=True,
)
seen["overwritten"] = replaced.name
try:
    Datastore.register_azure_blob_container(
        ws,
        "blob_bad",
        blob["container"],
        blob["account"],
        account_key=plan["wrong_key"],
        protocol="http",
        endpoint=blob["endpoint"],
    )
except StorageServiceError as error:
    seen["wrong_key"] = [str(error), error.status]
try:
    Datastore.register_azure_blob_container(
        ws, "blob_bad", "Not_A_Container!", blob["account"], account_key=blob["key"]
    )
except ValidationFailed as error:
    seen["bad_name"] = [str(error), error.field]

seen["datastores"] = {name: datastore.datastore_type for name, datastore in ws.datastores.items()}
seen["default_before"] = ws.get_default_datastore().name
ws.set_default_datastore("blob_key")
seen["default_after"] = ws.get_default_datastore().name
got = Datastore.get(ws, "blob_key")
seen["got"] = [got.name, got.container_name, got.account_name, got.is_default, got.stored_secrets]
seen["constructed"] = Datastore(ws, "pg").database_name
seen["constructed_default"] = Datastore(ws).name
try:
    Datastore.get(ws, "nothing_here")
except DatastoreNotFound as error:
    seen["missing_datastore"] = str(error)

seen["test_connection"] = got.test_connection(write=True).as_dict()
sas_store = Datastore.get(ws, "blob_sas")
sas_store.update_authentication(account_key=blob["key"])
seen["updated_to_key"] = Datastore.get(ws, "blob_sas").credential_type
pg_store = Datastore.get(ws, "pg")
try:
    pg_store.update_authentication(user_password="not-the-password")
except StorageServiceError as error:
    seen["bad_password"] = str(error)
pg_store.update_authentication(user_password=pg["password"])
seen["pg_tables"] = sorted(table["name"] for table in pg_store.tables())
seen["maria_query"] = Datastore.get(ws, "maria").query("SELECT 1 AS one")["rows"]

Datastore.get(ws, "blob_new").unregister()
seen["after_unregister"] = sorted(ws.datastores)

reader = Workspace.get(plan["workspace"], token=plan["reader_token"])
seen["reader_role"] = reader.role
try:
    Datastore.register_dbfs(reader, "readers_dbfs")
except PermissionDenied as error:
    seen["reader_register"] = [str(error), isinstance(error, PermissionError)]
print(json.dumps(seen))
