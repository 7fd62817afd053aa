"""Azure Data Lake Storage Gen1 and Gen2: service principal
(register_azure_data_lake and register_azure_data_lake_gen2).

As in Azure ML, their credentials are validated on first use unless the user
ticks "Validate now". A check tells a refused token request (tenant, client or
secret) apart from a token that is valid but has no access to the data.

Gen2 goes through azure-storage-file-datalake. Directories are real: browsing
lists one directory level a page at a time, and uploads create directories.

Gen1 goes through azure-datalake-store's `DatalakeRESTInterface`, the
library's WebHDFS call factory (token refresh, a requests session per thread,
error classes), with the studio's own retry policy so every call is bounded.
Addressing: the library builds `https://{store}.{suffix}/` and takes no host.
The "Endpoint" field is that suffix (azuredatalakestore.net), and, as for the
database types, an endpoint from DATASTORE_ALLOWED_HOSTS (a private endpoint,
a test server) is the store's own address, `https://{endpoint}/`.
`gen1_store_url` computes the URL in one place and `Gen1Rest` hands it to the
call factory, whose `url` attribute is all the address feeds. Splitting a
host across store name and suffix (`127` + `0.0.1:PORT`) would fail for
`localhost`, IPv6 and host names, and would send a made-up store name.

Neither service filters a listing by name prefix, so a prefix filter reads
pages until one has a match (at most MAX_PAGES_SCANNED service pages a call).

Uploads (Gen1, Gen2, and DBFS in dbfs.py) never show a partial file: bytes go
to a staging name beside the target (`.studio-upload-<hex>`, hidden from
listings) and a rename makes them visible. With overwrite off the rename is
conditional, so the service decides SKIPPED; a failure deletes the staging file.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.datalake.store.exceptions import DatalakeRESTException
from azure.datalake.store.lib import DatalakeRESTInterface
from azure.datalake.store.retry import ExponentialRetryPolicy, NoRetryPolicy
from azure.identity import ClientSecretCredential
from azure.storage.filedatalake import ContentSettings, DataLakeServiceClient, FileSystemClient
from django import forms
from django.conf import settings

from ..choices import AuthType
from ..hosts import is_custom_host, validate_allowed_host
from . import fields, paths
from .azure_common import account_url, blocks_of, client_options, explain_storage_error
from .base import (
    AuthMethod,
    Connection,
    Download,
    Entry,
    FolderPage,
    ServiceCheckFailed,
    StorageBackend,
    StorageError,
    UploadOutcome,
)
from .paths import guess_content_type
from .staging import is_staging_name, removed_on_failure, staging_path

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
TRANSFER_BLOCK = 4 * MiB  # bytes per append or read request; also bounds memory per transfer
# A name-prefix filter reads pages until one has a match, but never more than this many.
MAX_PAGES_SCANNED = 20

VALIDATE_NOW = {
    "validate_now": fields.checkbox_field(
        "Validate now", "Check the service principal against the service now instead of on first use."
    )
}


# --- service principal ---------------------------------------------------------------


def service_principal_credential(connection: Connection) -> ClientSecretCredential:
    authority_host = urlsplit(connection["authority_url"]).netloc
    return ClientSecretCredential(
        connection["tenant_id"],
        connection["client_id"],
        connection["client_secret"],
        authority=authority_host,
        disable_instance_discovery=is_custom_host(authority_host),
        connection_timeout=min(settings.STORAGE_TIMEOUT_SECONDS, 10),
        read_timeout=settings.STORAGE_TIMEOUT_SECONDS,
        retry_total=0,
    )


_credentials: OrderedDict[tuple[str, ...], ClientSecretCredential] = OrderedDict()
_credentials_lock = threading.Lock()


def reused_credential(connection: Connection) -> ClientSecretCredential:
    """One credential per principal for browsing and transfers, so its token is reused
    across calls (a folder upload is one call per file). Checks use a fresh one."""
    key = (
        connection["tenant_id"],
        connection["client_id"],
        hashlib.sha256(connection["client_secret"].encode()).hexdigest(),
        connection["authority_url"],
    )
    with _credentials_lock:
        credential = _credentials.get(key)
        if credential is None:
            credential = _credentials[key] = service_principal_credential(connection)
        _credentials.move_to_end(key)
        while len(_credentials) > 32:
            _credentials.popitem(last=False)
        return credential


# What an AADSTS code says to fix, and on which field.
TOKEN_ERRORS = {
    "AADSTS90002": ("tenant_id", "the tenant does not exist. Check the tenant ID (Directory ID) and the authority URL"),
    "AADSTS900023": ("tenant_id", "the tenant ID is malformed. Copy the Directory ID again"),
    "AADSTS700016": (
        "client_id",
        "this tenant has no application with that client ID. Check the client ID (Application ID) and the tenant ID",
    ),
    "AADSTS7000215": (
        "client_secret",
        "the client secret is wrong. Copy the secret's value (not its ID) from the app registration again",
    ),
    "AADSTS7000222": ("client_secret", "the client secret has expired. Create a new one in the app registration"),
}


def explain_token_failure(error: ClientAuthenticationError) -> ServiceCheckFailed:
    """A refused or failed token request, named by its AADSTS code (never the raw text)."""
    cause = error.__cause__
    if isinstance(cause, ServiceRequestError | ServiceResponseError):
        timed_out = "timed out" in str(cause).lower()
        return ServiceCheckFailed(
            "The token request failed: "
            + (
                f"timed out after {settings.STORAGE_TIMEOUT_SECONDS} s waiting for the authority."
                if timed_out
                else "could not reach the authority."
            )
            + " Check the authority URL and the network.",
            field="authority_url",
        )
    if isinstance(cause, ValueError) and "authority configuration" in str(cause):
        return ServiceCheckFailed(
            "The token request failed: the authority does not know this tenant. "
            "Check the tenant ID (Directory ID in Microsoft Entra ID) and the authority URL.",
            field="tenant_id",
        )
    found = re.search(r"AADSTS\d+", str(error))
    code = found.group(0) if found else ""
    if code in TOKEN_ERRORS:
        field, advice = TOKEN_ERRORS[code]
        return ServiceCheckFailed(f"The token request failed ({code}): {advice}.", field=field)
    return ServiceCheckFailed(
        "The token request failed: Microsoft Entra ID refused the tenant ID, client ID or client secret"
        + (f" ({code})" if code else "")
        + ". Check all three, and that the secret has not expired.",
        field="client_secret",
    )


# --- what the three file-like lake backends share (DBFS uses it too) ---------------------------

def folders_first(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda entry: (not entry.is_folder, entry.name))


def filtered_page(
    fetch: Callable[[str | None], tuple[list[Entry], str | None]], continuation: str | None, name_prefix: str
) -> FolderPage:
    """One page from a service that pages by itself, without staging files and filtered by name prefix.

    A page whose entries are all filtered out is followed by the next one (so a
    prefix shows matches, not empty pages), up to MAX_PAGES_SCANNED pages.
    """
    entries: list[Entry] = []
    for _ in range(MAX_PAGES_SCANNED):
        batch, continuation = fetch(continuation)
        entries += [e for e in batch if not is_staging_name(e.name) and e.name.startswith(name_prefix)]
        if entries or not continuation:
            break
    return FolderPage(folders_first(entries), continuation or None)


def refuse_root(path: str, action: str) -> None:
    if not path:
        raise StorageError(f"The datastore's root folder cannot be {action}.")


# --- Gen2 ------------------------------------------------------------------------------------------


def delete_if_there(file: Any) -> None:
    try:
        file.delete_file()
    except ResourceNotFoundError:
        pass


class DataLakeGen2Backend(StorageBackend):
    storage_type = "AzureDataLakeGen2"
    upload_block_size = TRANSFER_BLOCK
    label = "Azure Data Lake Storage Gen2"
    connection_fields = {
        "account_name": fields.account_name_field(),
        "filesystem": fields.container_name_field("Filesystem"),
        "protocol": fields.protocol_field(),
        "endpoint": fields.endpoint_field("core.windows.net"),
    }
    auth_methods = (
        AuthMethod(
            AuthType.SERVICE_PRINCIPAL,
            fields.service_principal_fields(resource_url="https://storage.azure.com/"),
        ),
    )
    options = VALIDATE_NOW
    reach_fields = ("account_name", "protocol", "endpoint", "authority_url")
    validation_deferred = True

    def location(self, settings: Mapping[str, Any]) -> str:
        return f"{settings.get('account_name', '')}/{settings.get('filesystem', '')}"

    def service_client(self, connection: Connection, *, for_check: bool = False) -> DataLakeServiceClient:
        if connection["protocol"] != "https":
            raise ServiceCheckFailed(
                "A service principal's token is only ever sent over https: choose https.", field="protocol"
            )
        options = client_options(for_check=for_check)
        if not for_check:
            options.update(max_single_get_size=TRANSFER_BLOCK, max_chunk_get_size=TRANSFER_BLOCK)
        return DataLakeServiceClient(
            account_url(connection, "dfs"),
            credential=service_principal_credential(connection) if for_check else reused_credential(connection),
            audience=connection["resource_url"].rstrip("/"),
            **options,
        )

    def file_system(self, connection: Connection, *, for_check: bool = False) -> FileSystemClient:
        return self.service_client(connection, for_check=for_check).get_file_system_client(connection["filesystem"])

    def explain(self, error: AzureError, connection: Connection, path: str = "", missing: str = "file or folder") -> StorageError:
        status = getattr(error, "status_code", None)
        code = getattr(error, "error_code", None) or ""
        filesystem = connection["filesystem"]
        if isinstance(error, ClientAuthenticationError) and status is None:
            refused = error.__cause__  # the SDK answers a 401 challenge for another tenant by failing here
            if not (isinstance(refused, HttpResponseError) and refused.status_code == 401):
                return explain_token_failure(error)
            status = 401
        if status == 401:
            return ServiceCheckFailed(
                "The token request succeeded, but the storage account refused the token. Check that the tenant ID "
                "is the storage account's tenant and that the resource URL is https://storage.azure.com/.",
                field="tenant_id",
            )
        if status == 403:
            return ServiceCheckFailed(
                f"The token is valid but has no access to the filesystem {filesystem!r}: grant the service "
                "principal Storage Blob Data Reader on it (Storage Blob Data Contributor to upload).",
                field="client_id",
            )
        if status == 404 and code in {"FilesystemNotFound", "ContainerNotFound"}:
            return ServiceCheckFailed(
                f"The filesystem {filesystem!r} was not found in account {connection['account_name']!r}. "
                "Check its name (filesystems are containers in the portal).",
                field="filesystem",
            )
        if status == 404:
            return StorageError(f"There is no {missing} {path!r} in this datastore.")
        if status == 409 and code == "PathConflict":
            return StorageError(f"{path!r} crosses a file where a folder is expected, or the reverse.")
        if isinstance(error, ServiceRequestError | ServiceResponseError):
            return explain_storage_error(
                error, connection, service="dfs", resource="filesystem", resource_field="filesystem"
            )
        if isinstance(error, HttpResponseError):
            return StorageError(f"The storage service answered {status} {code or error.reason}.")
        return StorageError("The storage service's answer could not be read. Try again.")

    @contextmanager
    def explained(self, connection: Connection, path: str = "", missing: str = "file or folder"):
        try:
            yield
        except AzureError as error:
            raise self.explain(error, connection, path, missing) from None

    def check_connection(self, connection: Connection) -> None:
        filesystem = self.file_system(connection, for_check=True)
        with self.explained(connection):
            next(filesystem.get_paths(recursive=False, max_results=1).by_page(), None)

    # --- browsing and transfer ---------------------------------------------------------

    @staticmethod
    def entry(path: Any) -> Entry:
        modified = path.last_modified if isinstance(path.last_modified, datetime) else None
        return Entry(
            name=paths.name_of(path.name),
            path=path.name,
            is_folder=bool(path.is_directory),
            size=None if path.is_directory else int(path.content_length or 0),
            content_type="" if path.is_directory else guess_content_type(path.name),
            # The SDK parses the listing's RFC 1123 dates (always GMT) without a zone.
            last_modified=modified.replace(tzinfo=UTC) if modified and modified.tzinfo is None else modified,
        )

    def list_folder(
        self, connection: Connection, folder: str, *, name_prefix: str = "", continuation: str | None = None, page_size: int = 200
    ) -> FolderPage:
        filesystem = self.file_system(connection)

        def fetch(token: str | None) -> tuple[list[Entry], str | None]:
            pages = filesystem.get_paths(path=folder or None, recursive=False, max_results=page_size).by_page(
                continuation_token=token
            )
            page = [self.entry(path) for path in next(pages, [])]
            return page, pages.continuation_token

        with self.explained(connection, folder, "folder"):
            return filtered_page(fetch, continuation, name_prefix)

    def walk_files(self, connection: Connection, folder: str) -> Iterator[Entry]:
        filesystem = self.file_system(connection)
        with self.explained(connection, folder):
            for path in filesystem.get_paths(path=folder or None, recursive=True):
                if not path.is_directory and not is_staging_name(paths.name_of(path.name)):
                    yield self.entry(path)

    def download(self, connection: Connection, path: str) -> Download:
        file = self.file_system(connection).get_file_client(path)
        with self.explained(connection, path, "file"):
            downloader = file.download_file()
        if (downloader.properties.metadata or {}).get("hdi_isfolder") == "true":
            raise StorageError(f"{path!r} is a folder: download it as a folder.")

        def chunks() -> Iterator[bytes]:
            with self.explained(connection, path):
                yield from downloader.chunks()

        content_settings = downloader.properties.content_settings
        return Download(
            name=paths.name_of(path),
            size=downloader.size,
            content_type=(content_settings.content_type if content_settings else None) or guess_content_type(path),
            chunks=chunks(),
        )

    def upload(
        self,
        connection: Connection,
        path: str,
        chunks: Iterable[bytes],
        *,
        overwrite: bool,
        content_type: str = "",
        size: int | None = None,
    ) -> UploadOutcome:
        refuse_root(path, "replaced by a file")
        filesystem = self.file_system(connection)
        with self.explained(connection, path):
            try:
                existing = filesystem.get_file_client(path).get_file_properties()
            except ResourceNotFoundError:
                existing = None
            if existing is not None and (existing.metadata or {}).get("hdi_isfolder") == "true":
                raise StorageError(f"A folder named {paths.name_of(path)!r} is already there: choose another name.")
            if existing is not None and not overwrite:
                return UploadOutcome.SKIPPED  # spares the transfer; the conditional rename below decides

            staged = filesystem.get_file_client(staging_path(path))
            settings_ = ContentSettings(content_type=content_type or guess_content_type(path))
            with removed_on_failure(lambda: delete_if_there(staged)):
                staged.create_file(content_settings=settings_)
                offset = 0
                for block in blocks_of(chunks, self.upload_block_size):
                    staged.append_data(block, offset=offset, length=len(block))
                    offset += len(block)
                staged.flush_data(offset, content_settings=settings_)
                target = f"{filesystem.file_system_name}/{path}"
                if overwrite:
                    staged.rename_file(target)
                    return UploadOutcome.UPLOADED
                try:
                    staged.rename_file(target, match_condition=MatchConditions.IfMissing)
                except HttpResponseError as error:
                    if error.status_code != 412 and error.error_code != "PathAlreadyExists":
                        raise
                    staged.delete_file()
                    return UploadOutcome.SKIPPED
                return UploadOutcome.UPLOADED

    def create_folder(self, connection: Connection, path: str) -> None:
        """Create a directory (and its parents); an existing one is left as it is."""
        refuse_root(path, "created")
        with self.explained(connection, path):
            self.file_system(connection).create_directory(path)

    def delete(self, connection: Connection, path: str) -> None:
        """Delete a file, or a folder with everything in it. Nothing there is not an error."""
        refuse_root(path, "deleted")
        filesystem = self.file_system(connection)
        with self.explained(connection, path):
            try:
                filesystem.get_file_client(path).delete_file()
            except ResourceNotFoundError:
                pass
            except HttpResponseError as error:
                if error.error_code != "DirectoryNotEmpty":
                    raise
                filesystem.get_directory_client(path).delete_directory()


# --- Gen1 ------------------------------------------------------------------------------------------

GEN1_SUFFIX = "azuredatalakestore.net"


def gen1_store_url(connection: Connection) -> str:
    """https://{store}.azuredatalakestore.net/, or https://{endpoint}/ for an allowed custom host."""
    endpoint = connection.get("endpoint") or GEN1_SUFFIX
    if is_custom_host(endpoint):
        return f"https://{endpoint}/"
    return f"https://{connection['store_name']}.{endpoint}/"


class Gen1Rest(DatalakeRESTInterface):
    """azure-datalake-store's WebHDFS call factory, sent to the store URL the studio computed.

    Its errors carry the HTTP status and WebHDFS exception name, so the studio can
    say what failed; the library would log whole response bodies at ERROR instead.
    """

    def __init__(self, store_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.url = store_url  # every request URL starts here

    def log_response_and_raise(self, response, exception, level=logging.ERROR):
        exception.status_code = getattr(response, "status_code", None)
        exception.remote_exception = ""
        if response is not None and self._is_json_response(response):
            try:
                exception.remote_exception = response.json().get("RemoteException", {}).get("exception", "")
            except (ValueError, AttributeError):
                pass
        logger.debug("ADLS Gen1 answered %s %s", exception.status_code, exception.remote_exception)
        raise exception


def from_gen1(error: BaseException) -> bool:
    """Whether an error came from the Gen1 client (it raises builtin OSErrors, so look closer)."""
    return isinstance(error, DatalakeRESTException | ClientAuthenticationError) or hasattr(error, "remote_exception")


class DataLakeGen1Backend(StorageBackend):
    storage_type = "AzureDataLake"
    upload_block_size = TRANSFER_BLOCK
    label = "Azure Data Lake Storage Gen1"
    connection_fields = {
        "store_name": forms.CharField(
            label="Store name",
            max_length=24,
            validators=[fields.validate_account_name],
        ),
        "endpoint": forms.CharField(
            label="Endpoint",
            initial=GEN1_SUFFIX,
            required=False,  # rows saved before the field existed mean the default
            help_text=(
                "The store's domain suffix, azuredatalakestore.net. A host the administrator allows "
                "(a private endpoint) is the store's own address instead."
            ),
            validators=[validate_allowed_host],
        ),
        **fields.subscription_and_resource_group_fields(),
    }
    auth_methods = (
        AuthMethod(
            AuthType.SERVICE_PRINCIPAL,
            fields.service_principal_fields(resource_url="https://datalake.azure.net/"),
        ),
    )
    options = VALIDATE_NOW
    advanced_fields = ("subscription_id", "resource_group")
    reach_fields = ("store_name", "endpoint", "authority_url")
    validation_deferred = True
    notice = (
        "Azure retired Data Lake Storage Gen1 on 2024-02-29. The studio still registers, browses and "
        "transfers Gen1 data so that teams can read it while they migrate to Gen2."
    )

    def location(self, settings: Mapping[str, Any]) -> str:
        return str(settings.get("store_name", ""))

    def rest(self, connection: Connection, *, for_check: bool = False) -> Gen1Rest:
        timeout = settings.STORAGE_TIMEOUT_SECONDS
        resource = connection["resource_url"]
        return Gen1Rest(
            gen1_store_url(connection),
            store_name=connection["store_name"],
            url_suffix=connection.get("endpoint") or GEN1_SUFFIX,
            token_credential=service_principal_credential(connection) if for_check else reused_credential(connection),
            # Gen1's resource ID ends in "/", so its scope has "//" (the library's default does too).
            scopes=resource + ("/.default" if resource.endswith("/") else "//.default"),
            req_timeout_s=(min(timeout, 10), timeout),  # passed to requests as (connect, read)
        )

    @staticmethod
    def call(rest: Gen1Rest, op: str, path: str, *, retry: bool = False, **params: Any) -> Any:
        """One WebHDFS call. Reads may retry twice (about 1.5 s of backoff); writes never do."""
        policy = ExponentialRetryPolicy(2, 0.5, 2) if retry else NoRetryPolicy()
        return rest.call(op, path, retry_policy=policy, **params)

    def explain(self, error: Exception, connection: Connection, path: str = "", missing: str = "file or folder") -> StorageError:
        store = connection["store_name"]
        status = getattr(error, "status_code", None)
        remote = getattr(error, "remote_exception", "")
        if isinstance(error, ClientAuthenticationError):
            return explain_token_failure(error)
        if status == 401:
            return ServiceCheckFailed(
                "The token request succeeded, but the store refused the token. Check that the tenant ID is the "
                "store's tenant and that the resource URL is https://datalake.azure.net/.",
                field="tenant_id",
            )
        if remote == "FileAlreadyExistsException":
            return StorageError(f"A file is already at {path!r}, where a folder would go.")
        if status == 403:
            return ServiceCheckFailed(
                f"The token is valid but has no access to the store {store!r}: give the service principal "
                "Read and Execute on its folders (Data explorer > Access), and Write to upload.",
                field="client_id",
            )
        if status == 404:
            return StorageError(f"There is no {missing} {path!r} in this datastore.")
        text = str(error)
        if text.startswith("HTTP error"):  # the library's wrapper around a requests exception
            host = urlsplit(gen1_store_url(connection)).netloc
            custom = is_custom_host(connection.get("endpoint") or GEN1_SUFFIX)
            if "Timeout" in text or "timed out" in text:
                return ServiceCheckFailed(
                    f"Timed out after {settings.STORAGE_TIMEOUT_SECONDS} s waiting for {host}. "
                    "Check the endpoint and that the store is up.",
                    field="endpoint",
                )
            if not custom and ("NameResolution" in text or "resolve" in text or "not known" in text):
                return ServiceCheckFailed(
                    f"No Data Lake Storage Gen1 store answers at {host}: check the store name. "
                    "Gen1 was retired on 2024-02-29, so the store may be gone.",
                    field="store_name",
                )
            return ServiceCheckFailed(f"Could not reach {host}. Check the store name, the endpoint and the network.", field="endpoint")
        if status:
            return StorageError(f"The store answered {status} {remote}".rstrip() + ".")
        return StorageError("The store's answer could not be read. Try again.")

    @contextmanager
    def explained(self, connection: Connection, path: str = "", missing: str = "file or folder"):
        try:
            yield
        except (OSError, ClientAuthenticationError) as error:
            if not from_gen1(error):
                raise
            raise self.explain(error, connection, path, missing) from None

    def check_connection(self, connection: Connection) -> None:
        rest = self.rest(connection, for_check=True)
        with self.explained(connection):
            self.call(rest, "LISTSTATUS", "", listSize=1)

    # --- browsing and transfer ---------------------------------------------------------

    @staticmethod
    def entry(folder: str, status: Mapping[str, Any]) -> Entry:
        is_folder = status.get("type") == "DIRECTORY"
        modified = status.get("modificationTime")
        return Entry(
            name=status["pathSuffix"],
            path=paths.join(folder, status["pathSuffix"]),
            is_folder=is_folder,
            size=None if is_folder else int(status.get("length") or 0),
            last_modified=datetime.fromtimestamp(modified / 1000, UTC) if modified else None,
            content_type="" if is_folder else guess_content_type(status["pathSuffix"]),
        )

    def list_page(self, rest: Gen1Rest, folder: str, after: str | None, size: int) -> tuple[list[Entry], str | None]:
        params: dict[str, Any] = {"listSize": size}
        if after:
            params["listAfter"] = after
        statuses = self.call(rest, "LISTSTATUS", folder, retry=True, **params)["FileStatuses"]
        found = statuses.get("FileStatus") or []
        if len(found) == 1 and found[0].get("pathSuffix") == "" and found[0].get("type") == "FILE":
            raise StorageError(f"{folder!r} is a file, not a folder.")
        return [self.entry(folder, status) for status in found], statuses.get("continuationToken") or None

    def list_folder(
        self, connection: Connection, folder: str, *, name_prefix: str = "", continuation: str | None = None, page_size: int = 200
    ) -> FolderPage:
        rest = self.rest(connection)
        with self.explained(connection, folder, "folder"):
            return filtered_page(lambda after: self.list_page(rest, folder, after, page_size), continuation, name_prefix)

    def walk_files(self, connection: Connection, folder: str) -> Iterator[Entry]:
        rest = self.rest(connection)

        def walk(directory: str) -> Iterator[Entry]:
            after = None
            while True:
                page, after = self.list_page(rest, directory, after, 1000)
                for entry in page:
                    if entry.is_folder:
                        yield from walk(entry.path)
                    elif not is_staging_name(entry.name):
                        yield entry
                if not after:
                    return

        with self.explained(connection, folder):
            yield from walk(folder)

    def status(self, rest: Gen1Rest, path: str) -> Mapping[str, Any] | None:
        try:
            return self.call(rest, "GETFILESTATUS", path, retry=True, expected_error_code=404)["FileStatus"]
        except FileNotFoundError as error:
            if not from_gen1(error):
                raise
            return None

    def download(self, connection: Connection, path: str) -> Download:
        rest = self.rest(connection)
        with self.explained(connection, path):
            status = self.status(rest, path)
        if status is None:
            raise StorageError(f"There is no file {path!r} in this datastore.")
        if status.get("type") == "DIRECTORY":
            raise StorageError(f"{path!r} is a folder: download it as a folder.")
        size = int(status.get("length") or 0)

        def chunks() -> Iterator[bytes]:
            offset = 0
            with self.explained(connection, path):
                while offset < size:
                    response = self.call(rest, "OPEN", path, retry=True, offset=offset, length=TRANSFER_BLOCK, read="true")
                    data = getattr(response, "content", b"")
                    if not data:
                        raise StorageError(f"The store sent less of {path!r} than its size: download it again.")
                    offset += len(data)
                    yield data

        return Download(name=paths.name_of(path), size=size, content_type=guess_content_type(path), chunks=chunks())

    def rename(self, rest: Gen1Rest, source: str, destination: str) -> bool:
        """False when WebHDFS declines (the destination exists, or the source is gone)."""
        try:
            self.call(rest, "RENAME", source, destination=destination)
        except OSError as error:
            if from_gen1(error) and getattr(error, "status_code", None) in (200, 404):  # {"boolean": false}, or gone
                return False
            raise
        return True

    def remove(self, rest: Gen1Rest, path: str) -> None:
        try:
            self.call(rest, "DELETE", path, recursive="true")
        except DatalakeRESTException as error:
            if getattr(error, "status_code", None) != 200:  # false: nothing was there
                raise

    def upload(
        self,
        connection: Connection,
        path: str,
        chunks: Iterable[bytes],
        *,
        overwrite: bool,
        content_type: str = "",
        size: int | None = None,
    ) -> UploadOutcome:
        refuse_root(path, "replaced by a file")
        rest = self.rest(connection)
        with self.explained(connection, path):
            existing = self.status(rest, path)
            if existing is not None and existing.get("type") == "DIRECTORY":
                raise StorageError(f"A folder named {paths.name_of(path)!r} is already there: choose another name.")
            if existing is not None and not overwrite:
                return UploadOutcome.SKIPPED  # spares the transfer; the rename below decides

            staged = staging_path(path)
            session = str(uuid.uuid4())
            write = {"leaseid": session, "filesessionid": session}
            with removed_on_failure(lambda: self.remove(rest, staged)):
                self.call(rest, "CREATE", staged, overwrite="false", write="true", syncFlag="DATA", data=None, **write)
                offset = 0
                for block in blocks_of(chunks, self.upload_block_size):
                    self.call(rest, "APPEND", staged, append="true", offset=offset, syncFlag="DATA", data=block, **write)
                    offset += len(block)
                self.call(rest, "APPEND", staged, append="true", offset=offset, syncFlag="CLOSE", data=b"", **write)
                return self.put_in_place(rest, staged, path, overwrite=overwrite)

    def put_in_place(self, rest: Gen1Rest, staged: str, path: str, *, overwrite: bool) -> UploadOutcome:
        """Rename the staged file onto `path`. WebHDFS renames never replace a file, so with
        overwrite on an existing file is first renamed aside, and put back if the swap fails."""
        if self.rename(rest, staged, path):
            return UploadOutcome.UPLOADED
        if not overwrite:
            self.remove(rest, staged)
            if self.status(rest, path) is not None:
                return UploadOutcome.SKIPPED
            raise StorageError(f"The store declined to move the uploaded file to {path!r}. Try again.")
        aside = staging_path(path)
        moved_aside = self.rename(rest, path, aside)
        if not self.rename(rest, staged, path):
            if moved_aside:
                self.rename(rest, aside, path)
            raise StorageError(f"The store declined to move the uploaded file to {path!r}. Try again.")
        if moved_aside:
            self.remove(rest, aside)
        return UploadOutcome.UPLOADED

    def create_folder(self, connection: Connection, path: str) -> None:
        refuse_root(path, "created")
        with self.explained(connection, path):
            self.call(self.rest(connection), "MKDIRS", path)

    def delete(self, connection: Connection, path: str) -> None:
        """Delete a file, or a folder with everything in it. Nothing there is not an error."""
        refuse_root(path, "deleted")
        with self.explained(connection, path):
            self.remove(self.rest(connection), path)


GEN1_BACKEND = DataLakeGen1Backend()
GEN2_BACKEND = DataLakeGen2Backend()
