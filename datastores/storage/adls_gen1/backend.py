"""Azure Data Lake Storage Gen1: service principal (register_azure_data_lake).

Azure retired Gen1 on 2024-02-29; the studio still reads and writes it for teams
migrating off it. As for Gen2, credentials are validated on first use unless
"Validate now" is ticked.

It goes through azure-datalake-store's `DatalakeRESTInterface`, the library's
WebHDFS call factory (token refresh, a requests session per thread, error
classes), with the studio's own retry policy so every call is bounded.
Addressing: the library builds `https://{store}.{suffix}/` and takes no host.
The "Endpoint" field is that suffix (azuredatalakestore.net), and, as for the
database types, an endpoint from DATASTORE_ALLOWED_HOSTS (a private endpoint,
a test server) is the store's own address, `https://{endpoint}/`.
`gen1_store_url` computes the URL in one place and `Gen1Rest` hands it to the
call factory, whose `url` attribute is all the address feeds. Splitting a
host across store name and suffix (`127` + `0.0.1:PORT`) would fail for
`localhost`, IPv6 and host names, and would send a made-up store name.

Uploads go to a staging name beside the target and a rename makes them visible
(see the Gen2 backend); WebHDFS renames never replace a file.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import requests
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.datalake.store.exceptions import DatalakeRESTException
from azure.datalake.store.lib import DatalakeRESTInterface
from azure.datalake.store.retry import ExponentialRetryPolicy, NoRetryPolicy
from django import forms
from django.conf import settings

from .. import endpoints, fields, network, paths, studio_identity
from ..auth import AuthType
from ..base import (
    ArmShape,
    AuthMethod,
    Capabilities,
    Connection,
    Download,
    Entry,
    FileProperties,
    FolderPage,
    StorageBackend,
    UploadOutcome,
)
from ..chunks import blocks_of
from ..endpoints import Address, is_listed, parse_host, parse_netloc
from ..entra import explain_token_failure, reused_credential, service_principal_credential
from ..errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionMissing,
    StorageError,
    Unreachable,
)
from ..listing import filtered_page, refuse_root
from ..paths import guess_content_type
from ..staging import is_staging_name, put_in_place, removed_on_failure, staging_path

logger = logging.getLogger(__name__)

TRANSFER_BLOCK = 4 * 1024 * 1024  # bytes per append or read request; also bounds memory per transfer


GEN1_SUFFIX = "azuredatalakestore.net"
GEN1_RESOURCE = "https://datalake.azure.net/"
IDENTITY_ACCESS = (
    "Give it Read and Execute (r-x) on the store's folders in Data explorer > Access, "
    "and Write (w) to upload, delete and move."
)


def gen1_store_address(connection: Connection) -> Address:
    """{store}.azuredatalakestore.net, or the allowed host itself, built from parsed parts."""
    endpoint = parse_netloc(connection.get("endpoint") or GEN1_SUFFIX)
    if is_listed(endpoint.host, endpoint.port):
        return Address(endpoint.host, endpoint.port, "https")
    return Address(parse_host(f"{connection['store_name']}.{endpoint.host}"), endpoint.port, "https")


def gen1_store_url(connection: Connection) -> str:
    """https://{store}.azuredatalakestore.net/, or https://{endpoint}/ for an allowed custom host."""
    return gen1_store_address(connection).url() + "/"


class _RecordingSession(network.GuardedSession):
    """Remembers the last transport failure of this thread's calls."""

    last_error: requests.RequestException | None = None

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            return super().request(*args, **kwargs)
        except requests.RequestException as error:
            self.last_error = error
            raise


class Gen1Rest(DatalakeRESTInterface):
    """azure-datalake-store's WebHDFS call factory, sent to the store URL the studio computed.

    Its errors carry the HTTP status and WebHDFS exception name, so the studio can
    say what failed; the library would log whole response bodies at ERROR instead.
    """

    def __init__(self, store_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.url = store_url  # every request URL starts here

    @property
    def session(self) -> Any:
        """The library's per-thread session, but a guarded one (checked addresses, no redirects,
        bounded time); the library then sets its Authorization header on it."""
        if getattr(self.local, "session", None) is None:
            self.local.session = _RecordingSession()
        return super().session

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The library's call; a transport failure is raised from its real cause (the library
        keeps only its repr), so the guard's refusal can be told apart."""
        if getattr(self.local, "session", None) is not None:
            self.local.session.last_error = None
        try:
            return super().call(*args, **kwargs)
        except DatalakeRESTException as error:
            last = getattr(getattr(self.local, "session", None), "last_error", None)
            if last is None:
                raise
            raise error from last

    def log_response_and_raise(self, response: Any, exception: Any, level: int = logging.ERROR) -> NoReturn:
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
    label = "Azure Data Lake Storage Gen1"
    capabilities = Capabilities(
        browse=True,
        upload=True,
        delete=True,
        folders=True,
        delete_folders=True,
        move=True,
        properties=True,
        read_range=True,
        deferred_validation=True,
    )
    # ARM's Gen1 shape has no endpoint: a Gen1 datastore registered through it uses the default suffix.
    arm = ArmShape(
        datastore_type="AzureDataLakeGen1",
        properties={"storeName": "store_name", "subscriptionId": "subscription_id", "resourceGroup": "resource_group"},
        credentials={"ServicePrincipal": AuthType.SERVICE_PRINCIPAL, "None": AuthType.IDENTITY},
        credential_properties={
            "tenantId": "tenant_id",
            "clientId": "client_id",
            "authorityUrl": "authority_url",
            "resourceUrl": "resource_url",
        },
        secrets={"clientSecret": "client_secret"},
    )
    upload_block_size = TRANSFER_BLOCK
    connection_fields = {
        "store_name": forms.CharField(
            label="Store name",
            max_length=24,
            validators=[fields.validate_account_name],
        ),
        "endpoint": fields.endpoint_field(
            GEN1_SUFFIX,
            endpoints.DATA_LAKE_GEN1,
            required=False,  # rows saved before the field existed mean the default
            help_text=(
                "The store's domain suffix, azuredatalakestore.net. A host the administrator allows "
                "(a private endpoint) is the store's own address instead."
            ),
        ),
        **fields.subscription_and_resource_group_fields(),
    }
    auth_methods = (
        AuthMethod(
            AuthType.SERVICE_PRINCIPAL,
            fields.service_principal_fields(resource_url="https://datalake.azure.net/"),
        ),
        studio_identity.auth_method(IDENTITY_ACCESS),
    )
    options = {"validate_now": fields.validate_now_field()}
    advanced_fields = ("subscription_id", "resource_group")
    advanced_label = "Azure resource"
    reach_fields = ("store_name", "endpoint", "authority_url", "resource_url", "tenant_id")
    notice = (
        "Azure retired Data Lake Storage Gen1 on 2024-02-29. The studio still registers, browses and "
        "transfers Gen1 data so that teams can read it while they migrate to Gen2."
    )

    def location(self, settings: Mapping[str, Any]) -> str:
        return str(settings.get("store_name", ""))

    def rest(self, connection: Connection, *, for_check: bool = False) -> Gen1Rest:
        timeout = settings.STORAGE_TIMEOUT_SECONDS
        credential: TokenCredential
        if connection.auth_type == AuthType.IDENTITY:
            resource, credential = GEN1_RESOURCE, studio_identity.credential()
        else:
            resource = connection["resource_url"]
            credential = service_principal_credential(connection) if for_check else reused_credential(connection)
        return Gen1Rest(
            gen1_store_url(connection),
            store_name=connection["store_name"],
            url_suffix=connection.get("endpoint") or GEN1_SUFFIX,
            token_credential=credential,
            # Gen1's resource ID ends in "/", so its scope has "//" (the library's default does too).
            scopes=resource + ("/.default" if resource.endswith("/") else "//.default"),
            req_timeout_s=(min(timeout, 10), timeout),  # passed to requests as (connect, read)
        )

    @staticmethod
    def call(rest: Gen1Rest, op: str, path: str, *, retry: bool = False, **params: Any) -> Any:
        """One WebHDFS call. Reads may retry twice (about 1.5 s of backoff); writes never do."""
        policy = ExponentialRetryPolicy(2, 0.5, 2) if retry else NoRetryPolicy()
        return rest.call(op, path, retry_policy=policy, **params)

    def explain(
        self, error: Exception, connection: Connection, path: str = "", missing: str = "file or folder"
    ) -> StorageError:
        store = connection["store_name"]
        status = getattr(error, "status_code", None)
        remote = getattr(error, "remote_exception", "")
        if connection.auth_type == AuthType.IDENTITY and (
            isinstance(error, ClientAuthenticationError) or status in (401, 403)
        ):
            if status == 403:
                return studio_identity.role_missing(
                    f"the store {store!r}", IDENTITY_ACCESS[0].lower() + IDENTITY_ACCESS[1:]
                )
            if status == 401:
                return studio_identity.token_refused("store")
            return studio_identity.explain_token_failure(error)
        if isinstance(error, ClientAuthenticationError):
            return explain_token_failure(error, connection["authority_url"])
        if status == 401:
            return AuthenticationFailed(
                "The token request succeeded, but the store refused the token. Check that the tenant ID is the "
                "store's tenant and that the resource URL is https://datalake.azure.net/.",
                field="tenant_id",
            )
        if remote == "FileAlreadyExistsException":
            return Conflict(f"A file is already at {path!r}, where a folder would go.")
        if status == 403:
            return PermissionMissing(
                f"The token is valid but has no access to the store {store!r}: give the service principal "
                "Read and Execute on its folders (Data explorer > Access), and Write to upload.",
                field="client_id",
            )
        if status == 404:
            return NotFound(f"There is no {missing} {path!r} in this datastore.")
        if str(error).startswith("HTTP error") or network.find_cause(error, requests.RequestException):
            # The library's wrapper around a requests exception: below the store's own answers.
            address = gen1_store_address(connection)
            return network.transport_failure(
                error,
                address.host,
                address.port or 443,
                field="endpoint",
                hint="Check the store name (Gen1 was retired on 2024-02-29, so the store may be gone), "
                "the endpoint, and that the store is reachable from the studio.",
            )
        if status:
            return StorageError(f"The store answered {status} {remote}".rstrip() + ".")
        return StorageError("The store's answer could not be read. Try again.")

    @contextmanager
    def explained(self, connection: Connection, path: str = "", missing: str = "file or folder") -> Iterator[None]:
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
            raise InvalidInput(f"{folder!r} is a file, not a folder.")
        return [self.entry(folder, status) for status in found], statuses.get("continuationToken") or None

    def list_folder(
        self,
        connection: Connection,
        folder: str,
        *,
        name_prefix: str = "",
        continuation: str | None = None,
        page_size: int = 200,
    ) -> FolderPage:
        rest = self.rest(connection)
        with self.explained(connection, folder, "folder"):
            return filtered_page(
                lambda after: self.list_page(rest, folder, after, page_size), continuation, name_prefix
            )

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
            raise NotFound(f"There is no file {path!r} in this datastore.")
        if status.get("type") == "DIRECTORY":
            raise InvalidInput(f"{path!r} is a folder: download it as a folder.")
        size = int(status.get("length") or 0)

        def chunks() -> Iterator[bytes]:
            offset = 0
            with self.explained(connection, path):
                while offset < size:
                    response = self.call(
                        rest, "OPEN", path, retry=True, offset=offset, length=TRANSFER_BLOCK, read="true"
                    )
                    data = getattr(response, "content", b"")
                    if not data:
                        raise Unreachable(f"The store sent less of {path!r} than its size: download it again.")
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
                raise Conflict(f"A folder named {paths.name_of(path)!r} is already there: choose another name.")
            if existing is not None and not overwrite:
                return UploadOutcome.SKIPPED  # spares the transfer; the rename below decides

            staged = staging_path(path)
            session = str(uuid.uuid4())
            write: dict[str, Any] = {"leaseid": session, "filesessionid": session}
            with removed_on_failure(lambda: self.remove(rest, staged)):
                self.call(rest, "CREATE", staged, overwrite="false", write="true", syncFlag="DATA", data=None, **write)
                offset = 0
                for block in blocks_of(chunks, self.upload_block_size):
                    self.call(
                        rest, "APPEND", staged, append="true", offset=offset, syncFlag="DATA", data=block, **write
                    )
                    offset += len(block)
                self.call(rest, "APPEND", staged, append="true", offset=offset, syncFlag="CLOSE", data=b"", **write)
                return put_in_place(
                    staged,
                    path,
                    overwrite=overwrite,
                    rename=lambda source, destination: self.rename(rest, source, destination),
                    remove=lambda name: self.remove(rest, name),
                    exists=lambda name: self.status(rest, name) is not None,
                )

    def create_folder(self, connection: Connection, path: str) -> None:
        refuse_root(path, "created")
        with self.explained(connection, path):
            self.call(self.rest(connection), "MKDIRS", path)

    def delete(self, connection: Connection, path: str) -> None:
        """Delete a file, or a folder with everything in it. Nothing there is not an error."""
        refuse_root(path, "deleted")
        with self.explained(connection, path):
            self.remove(self.rest(connection), path)

    def delete_folder(self, connection: Connection, path: str) -> None:
        self.delete(connection, path)  # recursive already

    def properties(self, connection: Connection, path: str) -> FileProperties:
        rest = self.rest(connection)
        with self.explained(connection, path):
            status = self.status(rest, path)
        if status is None or status.get("type") == "DIRECTORY":
            raise NotFound(f"There is no file {path!r} in this datastore.")
        modified = status.get("modificationTime")
        return FileProperties(
            name=paths.name_of(path),
            path=path,
            size=int(status.get("length") or 0),
            content_type=guess_content_type(path),
            last_modified=datetime.fromtimestamp(modified / 1000, UTC) if modified else None,
            metadata={key: str(status[key]) for key in ("owner", "group", "permission") if key in status},
            url=f"adl://{urlsplit(gen1_store_url(connection)).netloc}/{quote(path)}",
        )

    def read_range(self, connection: Connection, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        rest = self.rest(connection)
        with self.explained(connection, path, "file"):
            response = self.call(rest, "OPEN", path, retry=True, offset=offset, length=length, read="true")
        return bytes(getattr(response, "content", b""))[:length]

    def move(self, connection: Connection, source: str, destination: str, *, is_folder: bool) -> None:
        """WebHDFS RENAME, which never replaces; a destination that exists is refused before it
        (WebHDFS would move the source into an existing folder)."""
        refuse_root(source, "moved")
        rest = self.rest(connection)
        with self.explained(connection, source):
            if self.status(rest, destination) is not None:
                raise Conflict(f"{destination!r} is already there: choose another name.")
            if paths.parent(destination):
                self.call(rest, "MKDIRS", paths.parent(destination))
            if not self.rename(rest, source, destination):
                raise NotFound(f"There is no file or folder {source!r} in this datastore.")


BACKEND = DataLakeGen1Backend()
