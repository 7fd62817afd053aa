"""``datastore-studio``: the command line, on Typer with rich progress bars.

Exit codes: 0 success, 1 a failure (the studio's or the storage service's message on stderr),
2 bad usage. Every listing takes ``--output json``. Secrets are read from an environment variable
or a hidden prompt, never from the command line alone.
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .config import (
    TOKEN_VARIABLE,
    URL_VARIABLE,
    config_path,
    forget_login,
    normalise_url,
    read_login,
    resolve,
    save_login,
)
from .datastore import Datastore, _FileDatastore, _SqlDatastore
from .exceptions import StudioError, TransferStopped, ValidationFailed
from .workspace import Workspace

__all__ = ["app", "main"]

app = typer.Typer(
    name="datastore-studio",
    help="Datastore Studio from the command line: workspaces, datastores, files and SQL, data straight to storage.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
workspace_app = typer.Typer(help="Workspaces.", no_args_is_help=True)
datastore_app = typer.Typer(
    help="Datastores: list, show, create, update credentials, set the default, test, delete.", no_args_is_help=True
)
create_app = typer.Typer(help="Register a datastore of one storage type.", no_args_is_help=True)
sql_app = typer.Typer(help="SQL datastores: tables and read-only queries.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
app.add_typer(datastore_app, name="datastore")
datastore_app.add_typer(create_app, name="create")
app.add_typer(sql_app, name="sql")

out = Console()
err = Console(stderr=True)


class Output(StrEnum):
    """How listings are printed."""

    table = "table"
    json = "json"


class QueryOutput(StrEnum):
    """How query results are printed."""

    table = "table"
    json = "json"
    csv = "csv"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table or json.")]
WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace", "-w", help="The workspace (default: DATASTORE_STUDIO_WORKSPACE, the login's, or the only one)."
    ),
]
DatastoreArgument = Annotated[str, typer.Argument(help="The datastore's name.")]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace what exists (off: existing files are skipped).")
]


# --- helpers --------------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def _table(rows: list[dict[str, Any]], columns: list[str], *, title: str | None = None) -> None:
    table = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(column) is None else str(row.get(column)) for column in columns))
    out.print(table)


def _workspace(name: str | None) -> Workspace:
    settings = resolve(workspace=name)
    if settings.workspace:
        return Workspace.get(settings.workspace)
    visible = Workspace.list()
    if len(visible) == 1:
        return next(iter(visible.values()))
    names = ", ".join(sorted(visible)) or "(none)"
    raise typer.BadParameter(f"choose one with --workspace: {names}", param_hint="--workspace")


def _datastore(workspace: str | None, name: str | None) -> Datastore:
    ws = _workspace(workspace)
    return Datastore.get(ws, name) if name else ws.get_default_datastore()


Kind = TypeVar("Kind", bound=Datastore)
_HOLDS_NOT: dict[type[Datastore], str] = {
    _FileDatastore: "holds no files: use `datastore-studio sql` for its tables",
    _SqlDatastore: "has no tables: use `datastore-studio ls` for its files",
}


def _datastore_of(kind: type[Kind], workspace: str | None, name: str | None) -> Kind:
    """The datastore, when it is of this kind (file or SQL); else a message saying what it holds."""
    chosen = _datastore(workspace, name)
    if not isinstance(chosen, kind):
        raise ValidationFailed(f"Datastore {chosen.name} is {chosen.storage_type_label}, which {_HOLDS_NOT[kind]}.")
    return chosen


def _secret(label: str, variable: str, *, required: bool = True) -> str | None:
    """A secret from its environment variable, else a hidden prompt (blank allowed when not required)."""
    value = os.environ.get(variable)
    if value:
        return value
    entered = typer.prompt(
        f"{label} (or set {variable})", hide_input=True, default="" if not required else None, show_default=False
    )
    return entered or None


def _shown(datastore: Datastore) -> dict[str, Any]:
    return {
        "name": datastore.name,
        "type": datastore.datastore_type,
        "auth": datastore.auth_type,
        "default": "yes" if datastore.is_default else "",
        "location": datastore.location,
    }


# --- signing in -----------------------------------------------------------------------------------


@app.command()
def login(
    url: Annotated[str | None, typer.Option(help="The studio's URL, e.g. https://studio.example.com/.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Sign in with a personal access token (from DATASTORE_STUDIO_TOKEN or a hidden prompt),
    check it against the studio, and save both to the config file (mode 0600)."""
    url = url or os.environ.get(URL_VARIABLE) or typer.prompt("Studio URL")
    url = normalise_url(url)
    token = os.environ.get(TOKEN_VARIABLE) or typer.prompt("Personal access token", hide_input=True)
    visible = Workspace.list(url=url, token=token)
    if workspace and workspace not in visible:
        raise typer.BadParameter(f"no workspace {workspace!r} is visible with this token", param_hint="--workspace")
    path = save_login(url, token, workspace)
    count = len(visible)
    err.print(f"Signed in to {url} ({count} workspace{'' if count == 1 else 's'}). Saved to {path}.")


@app.command()
def logout() -> None:
    """Forget the saved login (the token itself stays valid until it expires or is revoked)."""
    had = forget_login()
    err.print(f"Removed {config_path()}." if had else "There was no saved login.")


@app.command()
def whoami(output: OutputOption = Output.table) -> None:
    """The studio, where the token comes from, and your role in each workspace."""
    settings = resolve()
    saved = read_login()
    source = "argument"
    if os.environ.get(TOKEN_VARIABLE):
        source = f"environment ({TOKEN_VARIABLE})"
    elif saved.get("token"):
        source = f"config file ({config_path()})"
    workspaces = [ws.as_dict() for ws in Workspace.list().values()]
    shown = {"url": settings.url, "token": settings.token[:8] + "…", "token_from": source, "workspaces": workspaces}
    if output is Output.json:
        _print_json(shown)
        return
    out.print(f"Studio: {settings.url}\nToken: {shown['token']} from {source}")
    _table(workspaces, ["name", "role", "description"])


# --- workspaces --------------------------------------------------------------------------------------


@workspace_app.command("list")
def workspace_list(output: OutputOption = Output.table) -> None:
    """Every workspace this token can see."""
    rows = [ws.as_dict() for ws in Workspace.list().values()]
    if output is Output.json:
        _print_json(rows)
    else:
        _table(rows, ["name", "role", "description"])


@workspace_app.command("show")
def workspace_show(
    name: Annotated[str, typer.Argument(help="The workspace's name.")], output: OutputOption = Output.table
) -> None:
    """One workspace, with its default datastore."""
    ws = Workspace.get(name)
    shown = ws.as_dict()
    try:
        shown["default_datastore"] = ws.get_default_datastore().name
    except StudioError:
        shown["default_datastore"] = None
    if output is Output.json:
        _print_json(shown)
    else:
        _table([shown], ["name", "role", "default_datastore", "description"])


@workspace_app.command("config")
def workspace_config(
    name: Annotated[str, typer.Argument(help="The workspace's name.")],
    path: Annotated[Path, typer.Option(help="The folder to write config.json into.")] = Path("."),
) -> None:
    """Write config.json for Workspace.from_config() (and Azure ML's MLClient.from_config)."""
    written = Workspace.get(name).write_config(path)
    err.print(f"Wrote {written}.")


# --- datastores ---------------------------------------------------------------------------------------


@datastore_app.command("list")
def datastore_list(workspace: WorkspaceOption = None, output: OutputOption = Output.table) -> None:
    """The workspace's datastores."""
    found = _workspace(workspace).datastores.values()
    if output is Output.json:
        _print_json([datastore.as_dict() for datastore in found])
    else:
        _table([_shown(datastore) for datastore in found], ["name", "type", "auth", "default", "location"])


@datastore_app.command("show")
def datastore_show(
    name: DatastoreArgument, workspace: WorkspaceOption = None, output: OutputOption = Output.table
) -> None:
    """One datastore: type, settings, which secrets are stored (never their values), last check."""
    datastore = _datastore(workspace, name)
    if output is Output.json:
        _print_json(datastore.as_dict())
        return
    rows = [{"field": key, "value": value} for key, value in {**_shown(datastore), **datastore.settings}.items()]
    rows += [{"field": secret, "value": "stored (encrypted)"} for secret in datastore.stored_secrets]
    if datastore.last_check.get("at"):
        rows.append(
            {
                "field": "last check",
                "value": f"{datastore.last_check.get('message')} ({datastore.last_check.get('at')})",
            }
        )
    _table(rows, ["field", "value"])


def _created(datastore: Datastore) -> None:
    err.print(f"Registered {datastore.name} ({datastore.storage_type_label}).")


NameArgument = Annotated[str, typer.Argument(help="The new datastore's name.")]
Protocol = Annotated[str | None, typer.Option(help="https (default) or http.")]
Endpoint = Annotated[str | None, typer.Option(help="The storage suffix (default core.windows.net) or an allowed host.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace a datastore of the same name.")]
CreateIfMissing = Annotated[bool, typer.Option("--create-if-not-exists", help="Create the container or share.")]
SkipValidation = Annotated[bool, typer.Option("--skip-validation", help="Do not check the credentials now.")]
ValidateNow = Annotated[bool, typer.Option("--validate-now", help="Check the credentials now (else on first use).")]


class AccountAuth(StrEnum):
    """Account key or SAS token."""

    account_key = "account-key"
    sas_token = "sas-token"


def _account_secret(auth: AccountAuth) -> tuple[str | None, str | None]:
    """(account_key, sas_token): the one the authentication type needs."""
    if auth is AccountAuth.sas_token:
        return None, _secret("SAS token", "AZURE_STORAGE_SAS_TOKEN")
    return _secret("Account key", "AZURE_STORAGE_KEY"), None


@create_app.command("blob")
def create_blob(
    name: NameArgument,
    account_name: Annotated[str, typer.Option(help="The storage account.")],
    container_name: Annotated[str, typer.Option(help="The container.")],
    auth: Annotated[
        AccountAuth,
        typer.Option(help="The secret is read from AZURE_STORAGE_KEY / AZURE_STORAGE_SAS_TOKEN or a prompt."),
    ] = AccountAuth.account_key,
    protocol: Protocol = None,
    endpoint: Endpoint = None,
    overwrite: Overwrite = False,
    create_if_not_exists: CreateIfMissing = False,
    skip_validation: SkipValidation = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Azure Blob Storage container."""
    ws = _workspace(workspace)
    account_key, sas_token = _account_secret(auth)
    _created(
        Datastore.register_azure_blob_container(
            ws,
            name,
            container_name,
            account_name,
            protocol=protocol,
            endpoint=endpoint,
            overwrite=overwrite,
            create_if_not_exists=create_if_not_exists,
            skip_validation=skip_validation,
            account_key=account_key,
            sas_token=sas_token,
        )
    )


@create_app.command("file-share")
def create_file_share(
    name: NameArgument,
    account_name: Annotated[str, typer.Option(help="The storage account.")],
    file_share_name: Annotated[str, typer.Option(help="The file share.")],
    auth: Annotated[
        AccountAuth,
        typer.Option(help="The secret is read from AZURE_STORAGE_KEY / AZURE_STORAGE_SAS_TOKEN or a prompt."),
    ] = AccountAuth.account_key,
    protocol: Protocol = None,
    endpoint: Endpoint = None,
    overwrite: Overwrite = False,
    create_if_not_exists: CreateIfMissing = False,
    skip_validation: SkipValidation = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Azure File Share."""
    ws = _workspace(workspace)
    account_key, sas_token = _account_secret(auth)
    _created(
        Datastore.register_azure_file_share(
            ws,
            name,
            file_share_name,
            account_name,
            protocol=protocol,
            endpoint=endpoint,
            overwrite=overwrite,
            create_if_not_exists=create_if_not_exists,
            skip_validation=skip_validation,
            account_key=account_key,
            sas_token=sas_token,
        )
    )


TenantId = Annotated[str, typer.Option(help="The service principal's tenant (directory) ID.")]
ClientId = Annotated[
    str,
    typer.Option(
        help="The service principal's client (application) ID; its secret from AZURE_CLIENT_SECRET or a prompt."
    ),
]
ResourceUrl = Annotated[str | None, typer.Option(help="The token's resource.")]
AuthorityUrl = Annotated[str | None, typer.Option(help="The authority, default https://login.microsoftonline.com.")]


@create_app.command("adls-gen1")
def create_adls_gen1(
    name: NameArgument,
    store_name: Annotated[str, typer.Option(help="The Data Lake store.")],
    tenant_id: TenantId,
    client_id: ClientId,
    resource_url: ResourceUrl = None,
    authority_url: AuthorityUrl = None,
    endpoint: Annotated[
        str | None, typer.Option(help="The store suffix (default azuredatalakestore.net) or an allowed host.")
    ] = None,
    overwrite: Overwrite = False,
    validate_now: ValidateNow = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Azure Data Lake Storage Gen1 (service principal)."""
    ws = _workspace(workspace)
    _created(
        Datastore.register_azure_data_lake(
            ws,
            name,
            store_name,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=_secret("Client secret", "AZURE_CLIENT_SECRET"),
            resource_url=resource_url,
            authority_url=authority_url,
            endpoint=endpoint,
            overwrite=overwrite,
            validate_now=validate_now,
        )
    )


@create_app.command("adls-gen2")
def create_adls_gen2(
    name: NameArgument,
    account_name: Annotated[str, typer.Option(help="The storage account.")],
    filesystem: Annotated[str, typer.Option(help="The filesystem (container).")],
    tenant_id: TenantId,
    client_id: ClientId,
    resource_url: ResourceUrl = None,
    authority_url: AuthorityUrl = None,
    protocol: Protocol = None,
    endpoint: Endpoint = None,
    overwrite: Overwrite = False,
    validate_now: ValidateNow = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Azure Data Lake Storage Gen2 (service principal)."""
    ws = _workspace(workspace)
    _created(
        Datastore.register_azure_data_lake_gen2(
            ws,
            name,
            filesystem,
            account_name,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=_secret("Client secret", "AZURE_CLIENT_SECRET"),
            resource_url=resource_url,
            authority_url=authority_url,
            protocol=protocol,
            endpoint=endpoint,
            overwrite=overwrite,
            validate_now=validate_now,
        )
    )


ServerName = Annotated[str, typer.Option(help="The server's name (or, with an allowed endpoint, its host).")]
DatabaseName = Annotated[str, typer.Option(help="The database.")]
Port = Annotated[int | None, typer.Option(help="The server's port.")]
UserId = Annotated[str, typer.Option(help="The database user; the password from DATASTORE_PASSWORD or a prompt.")]


@create_app.command("sql-database")
def create_sql_database(
    name: NameArgument,
    server_name: ServerName,
    database_name: DatabaseName,
    user_id: Annotated[
        str | None, typer.Option(help="SQL authentication: the user (password from DATASTORE_PASSWORD or a prompt).")
    ] = None,
    tenant_id: Annotated[str | None, typer.Option(help="Service principal: the tenant.")] = None,
    client_id: Annotated[
        str | None, typer.Option(help="Service principal: the client ID (secret from AZURE_CLIENT_SECRET or a prompt).")
    ] = None,
    port: Port = None,
    endpoint: Annotated[
        str | None, typer.Option(help="The server suffix (default database.windows.net) or an allowed host.")
    ] = None,
    overwrite: Overwrite = False,
    skip_validation: SkipValidation = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Azure SQL Database (SQL authentication or a service principal)."""
    if bool(user_id) == bool(client_id):
        raise typer.BadParameter(
            "give --user-id (SQL authentication) or --client-id and --tenant-id (service principal)"
        )
    ws = _workspace(workspace)
    service_principal = bool(client_id)
    secret = _secret("Client secret", "AZURE_CLIENT_SECRET") if service_principal else None
    password = None if service_principal else _secret("Password", "DATASTORE_PASSWORD")
    _created(
        Datastore.register_azure_sql_database(
            ws,
            name,
            server_name,
            database_name,
            endpoint=endpoint,
            port=port,
            overwrite=overwrite,
            skip_validation=skip_validation,
            username=user_id,
            password=password,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=secret,
        )
    )


@create_app.command("postgresql")
def create_postgresql(
    name: NameArgument,
    server_name: ServerName,
    database_name: DatabaseName,
    user_id: UserId,
    port: Port = None,
    endpoint: Annotated[
        str | None, typer.Option(help="The server suffix (default postgres.database.azure.com) or an allowed host.")
    ] = None,
    enforce_ssl: Annotated[
        bool, typer.Option("--enforce-ssl/--no-enforce-ssl", help="Verify the server's certificate.")
    ] = True,
    overwrite: Overwrite = False,
    skip_validation: SkipValidation = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Azure Database for PostgreSQL."""
    ws = _workspace(workspace)
    _created(
        Datastore.register_azure_postgre_sql(
            ws,
            name,
            server_name,
            database_name,
            user_id,
            _secret("Password", "DATASTORE_PASSWORD") or "",
            port_number=port,
            endpoint=endpoint,
            overwrite=overwrite,
            enforce_ssl=enforce_ssl,
            skip_validation=skip_validation,
        )
    )


@create_app.command("mysql")
def create_mysql(
    name: NameArgument,
    server_name: ServerName,
    database_name: DatabaseName,
    user_id: UserId,
    port: Port = None,
    endpoint: Annotated[
        str | None, typer.Option(help="The server suffix (default mysql.database.azure.com) or an allowed host.")
    ] = None,
    overwrite: Overwrite = False,
    skip_validation: SkipValidation = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Azure Database for MySQL."""
    ws = _workspace(workspace)
    _created(
        Datastore.register_azure_my_sql(
            ws,
            name,
            server_name,
            database_name,
            user_id,
            _secret("Password", "DATASTORE_PASSWORD") or "",
            port_number=port,
            endpoint=endpoint,
            overwrite=overwrite,
            skip_validation=skip_validation,
        )
    )


@create_app.command("dbfs")
def create_dbfs(
    name: NameArgument,
    workspace_url: Annotated[
        str | None, typer.Option(help="A Databricks workspace URL; its token from DATABRICKS_TOKEN or a prompt.")
    ] = None,
    overwrite: Overwrite = False,
    validate_now: ValidateNow = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Databricks File System."""
    ws = _workspace(workspace)
    token = _secret("Databricks personal access token", "DATABRICKS_TOKEN") if workspace_url else None
    _created(
        Datastore.register_dbfs(
            ws, name, workspace_url=workspace_url, access_token=token, overwrite=overwrite, validate_now=validate_now
        )
    )


SECRET_OF = {
    "account_key": ("Account key", "AZURE_STORAGE_KEY"),
    "sas_token": ("SAS token", "AZURE_STORAGE_SAS_TOKEN"),
    "service_principal": ("Client secret", "AZURE_CLIENT_SECRET"),
    "sql_authentication": ("Password", "DATASTORE_PASSWORD"),
    "none": ("Databricks personal access token", "DATABRICKS_TOKEN"),
}
SECRET_FIELD = {
    "account_key": "account_key",
    "sas_token": "sas_token",
    "service_principal": "client_secret",
    "sql_authentication": "password",
    "none": "access_token",
}


class AuthChoice(StrEnum):
    """An authentication type."""

    account_key = "account-key"
    sas_token = "sas-token"
    service_principal = "service-principal"
    sql_authentication = "sql-authentication"


@datastore_app.command("update-auth")
def datastore_update_auth(
    name: DatastoreArgument,
    auth: Annotated[
        AuthChoice | None, typer.Option(help="A new authentication type (default: the current one).")
    ] = None,
    tenant_id: Annotated[str | None, typer.Option(help="A new tenant ID.")] = None,
    client_id: Annotated[str | None, typer.Option(help="A new client ID.")] = None,
    user_id: Annotated[str | None, typer.Option(help="A new database user.")] = None,
    skip_validation: SkipValidation = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Change the credentials. The secret is read from its environment variable or a hidden
    prompt; a blank answer keeps the stored one (unless the authentication type changes)."""
    datastore = _datastore(workspace, name)
    auth_type = auth.value.replace("-", "_") if auth else datastore.auth_type
    label, variable = SECRET_OF[auth_type]
    secret = _secret(label + " (blank keeps the stored one)", variable, required=auth_type != datastore.auth_type)
    values: dict[str, Any] = {
        SECRET_FIELD[auth_type]: secret,
        "tenant_id": tenant_id,
        "client_id": client_id,
        "user_id": user_id,
    }
    if skip_validation:
        values["skip_validation"] = True
    datastore.update_authentication(auth_type=auth_type, **values)
    err.print(f"Updated the credentials of {datastore.name}.")


@datastore_app.command("set-default")
def datastore_set_default(name: DatastoreArgument, workspace: WorkspaceOption = None) -> None:
    """Make a datastore the workspace default."""
    ws = _workspace(workspace)
    ws.set_default_datastore(name)
    err.print(f"{name} is now the default datastore of {ws.name}.")


@datastore_app.command("test")
def datastore_test(
    name: DatastoreArgument,
    write: Annotated[bool, typer.Option("--write", help="Also write and delete a temporary file.")] = False,
    workspace: WorkspaceOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Test connection: check the stored credentials and report what they can do (exit 1 when it fails)."""
    result = _datastore(workspace, name).test_connection(write=write)
    if output is Output.json:
        _print_json(result.as_dict())
    else:
        (out if result.ok else err).print(result.message)
        _table(
            [
                {**ability, "can": {True: "yes", False: "no", None: "not tried"}[ability.get("can")]}
                for ability in result.abilities
            ],
            ["ability", "can", "detail"],
        )
    if not result.ok:
        raise typer.Exit(1)


@datastore_app.command("delete")
def datastore_delete(
    name: DatastoreArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Unregister a datastore (its data stay in storage)."""
    datastore = _datastore(workspace, name)
    if not yes:
        typer.confirm(f"Unregister {datastore.name} from {datastore.workspace.name}?", abort=True)
    datastore.unregister()
    err.print(f"Unregistered {datastore.name}.")


# --- files ---------------------------------------------------------------------------------------------

DatastoreOption = Annotated[
    str | None, typer.Option("--datastore", "-d", help="The datastore (default: the workspace default).")
]
ProgressOption = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar on stderr.")]


@app.command("ls")
def ls(
    datastore: DatastoreArgument,
    path: Annotated[str, typer.Argument(help="The folder (default: the root).")] = "",
    prefix: Annotated[str, typer.Option(help="Only names that start with this.")] = "",
    workspace: WorkspaceOption = None,
    output: OutputOption = Output.table,
) -> None:
    """List a folder of a datastore."""
    entries = [entry.as_dict() for entry in _datastore_of(_FileDatastore, workspace, datastore).ls(path, prefix=prefix)]
    if output is Output.json:
        _print_json(entries)
        return
    for entry in entries:
        entry["size"] = "" if entry["is_folder"] else entry["size"]
        entry["name"] = entry["name"] + ("/" if entry["is_folder"] else "")
    _table(entries, ["name", "size", "last_modified", "content_type"])


def _finish(result: Any, verb: str, output: Output) -> None:
    if output is Output.json:
        _print_json(result.as_dict())
    else:
        err.print(result.summary(verb))
        for failed in result.failed:
            err.print(f"  failed: {failed.name}: {failed.reason}")
    if result.failed:
        raise typer.Exit(1)


@app.command("upload")
def upload(
    src_dir: Annotated[Path, typer.Argument(help="The local folder (or, with --file, files).")],
    datastore: DatastoreOption = None,
    target_path: Annotated[
        str | None, typer.Option("--target-path", help="The folder in the datastore (default: the root).")
    ] = None,
    overwrite: OverwriteOption = False,
    progress: ProgressOption = True,
    workspace: WorkspaceOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Upload a folder (or one file). Existing files are skipped unless --overwrite (exit 1 if a file failed)."""
    chosen = _datastore_of(_FileDatastore, workspace, datastore)
    if src_dir.is_file():
        result = chosen.upload_files([src_dir], target_path=target_path, overwrite=overwrite, show_progress=progress)
    else:
        result = chosen.upload(src_dir, target_path=target_path, overwrite=overwrite, show_progress=progress)
    _finish(result, "Uploaded", output)


@app.command("download")
def download(
    target_dir: Annotated[Path, typer.Argument(help="The local folder to download into.")],
    datastore: DatastoreOption = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Only the files below this folder of the datastore.")
    ] = None,
    overwrite: OverwriteOption = False,
    progress: ProgressOption = True,
    workspace: WorkspaceOption = None,
    output: OutputOption = Output.table,
) -> None:
    """Download a datastore's files (below --prefix). Existing local files are skipped unless --overwrite."""
    result = _datastore_of(_FileDatastore, workspace, datastore).download(
        target_dir, prefix=prefix, overwrite=overwrite, show_progress=progress
    )
    _finish(result, "Downloaded", output)


@app.command("rm")
def rm(
    datastore: DatastoreArgument,
    path: Annotated[str, typer.Argument(help="The file to delete.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Delete a file from a datastore."""
    _datastore_of(_FileDatastore, workspace, datastore).delete(path)
    err.print(f"Deleted {path}.")


# --- SQL -------------------------------------------------------------------------------------------


@sql_app.command("tables")
def sql_tables(
    datastore: DatastoreArgument, workspace: WorkspaceOption = None, output: OutputOption = Output.table
) -> None:
    """The schemas, tables and views of a SQL datastore."""
    tables = _datastore_of(_SqlDatastore, workspace, datastore).tables()
    if output is Output.json:
        _print_json(tables)
    else:
        _table(tables, ["schema", "name", "kind", "estimated_rows"])


@sql_app.command("query")
def sql_query(
    datastore: DatastoreArgument,
    statement: Annotated[str, typer.Argument(help="One read-only SQL statement.")],
    row_limit: Annotated[int, typer.Option(help="At most this many rows (table and json).")] = 1000,
    workspace: WorkspaceOption = None,
    output: Annotated[QueryOutput, typer.Option("--output", "-o", help="table, csv or json.")] = QueryOutput.table,
) -> None:
    """Run one read-only statement (the database itself refuses writes)."""
    chosen = _datastore_of(_SqlDatastore, workspace, datastore)
    if output is QueryOutput.csv:
        for chunk in chosen.query_csv(statement):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        return
    result = chosen.query(statement, row_limit=row_limit)
    if output is QueryOutput.json:
        _print_json(result)
        return
    columns = [str(column) for column in result["columns"]]
    _table([dict(zip(columns, row, strict=False)) for row in result["rows"]], columns)
    if result.get("truncated"):
        err.print(f"Only the first {result['row_limit']} rows are shown.")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"datastore-studio {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Datastore Studio from the command line. Sign in first: datastore-studio login --url https://studio.example.com/"""


def main() -> None:
    """The console script: studio errors are one line on stderr and exit 1; bad usage exits 2."""
    try:
        app()
    except TransferStopped as error:
        err.print(f"Error: {error.message}", highlight=False, markup=False)
        err.print(error.result.summary("Transferred before it stopped:"), highlight=False, markup=False)
        sys.exit(1)
    except StudioError as error:
        err.print(f"Error: {error.message}", highlight=False, markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)
