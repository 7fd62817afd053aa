"""Stand-in for the Azure Files REST API (the File Share service).

Azure Files has no emulator -- Azurite implements only the Blob, Queue and
Table services -- so this module is a small in-memory HTTP server that speaks
the part of the File Share REST API the studio uses. Tests point the real
``azure-storage-file-share`` client at it; nothing in the client is patched.

Like the real service it checks the credentials of every request:

* Shared Key: the ``Authorization: SharedKey account:signature`` header is
  recomputed from Microsoft's documented string-to-sign for the File service
  (not with the SDK's signing code, which would make the tests circular).
* SAS: account SAS and service SAS (share ``sr=s``, file ``sr=f``) are checked
  for signature, validity window, protocol, IP, service, resource type and
  permission (r read, w write, d delete, l list, c create). A Get File with a
  SAS carrying rscd (signed like the other fields) answers with that
  Content-Disposition.

So a wrong key, an expired token or a missing permission fails with Azure's
status, ``x-ms-error-code`` and XML error body.

Clients use a path-style URL, the account being the first path segment::

    standin = FileShareStandin("studioacct", key).start()
    service = ShareServiceClient(standin.account_url, credential=standin.credential)  # or a SAS string

Not implemented: snapshots, leases, handles, ACLs, service properties, copy,
directory rename, SMB permissions (fixed values are returned), stored access
policies (``si``), user delegation SAS and OAuth. Other requests get 501
``StandinNotImplemented`` so a gap here is not mistaken for an Azure answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from .base import StandinHandler, StandinServer

MAX_RANGE_BYTES = 4 * 1024 * 1024  # Put Range takes at most 4 MiB per call
MAX_LIST_RESULTS = 5000
CLOCK_SKEW = timedelta(minutes=15)  # how far x-ms-date may be from now, as in Azure
SHARE_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
PERMISSION_KEY = "4066528134148476695*1"  # SMB security descriptors are not modelled
CONDITION_HEADERS = ("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")
# Create File request header -> response header of Get File / Get File Properties
CONTENT_SETTINGS = {
    f"x-ms-{h.lower()}": h
    for h in (
        "Content-Type",
        "Content-Encoding",
        "Content-Language",
        "Cache-Control",
        "Content-Disposition",
        "Content-MD5",
    )
}

ERRORS = {  # x-ms-error-code -> (HTTP status, Azure's message)
    "AuthenticationFailed": (
        403,
        "Server failed to authenticate the request. Make sure the value of "
        "Authorization header is formed correctly including the signature.",
    ),
    "NoAuthenticationInformation": (
        401,
        "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
    ),
    "AuthorizationPermissionMismatch": (
        403,
        "This request is not authorized to perform this operation using this permission.",
    ),
    "AuthorizationResourceTypeMismatch": (
        403,
        "This request is not authorized to perform this operation using this resource type.",
    ),
    "AuthorizationServiceMismatch": (
        403,
        "This request is not authorized to perform this operation using this service.",
    ),
    "AuthorizationProtocolMismatch": (
        403,
        "This request is not authorized to perform this operation using this protocol.",
    ),
    "AuthorizationSourceIPMismatch": (
        403,
        "This request is not authorized to perform this operation using this source IP.",
    ),
    "ShareNotFound": (404, "The specified share does not exist."),
    "ResourceNotFound": (404, "The specified resource does not exist."),
    "ParentNotFound": (404, "The specified parent path does not exist."),
    "ShareAlreadyExists": (409, "The specified share already exists."),
    "ResourceAlreadyExists": (409, "The specified resource already exists."),
    "DirectoryNotEmpty": (409, "The specified directory is not empty."),
    "InvalidRange": (416, "The range specified is invalid for the current size of the resource."),
    "InvalidHeaderValue": (400, "The value for one of the HTTP headers is not in the correct format."),
    "MissingRequiredHeader": (400, "An HTTP header that's mandatory for this request is not specified."),
    "InvalidResourceName": (400, "The specifed resource name contains invalid characters."),
    "OutOfRangeQueryParameterValue": (
        400,
        "One of the query parameters specified in the request URI is outside the permissible range.",
    ),
    "ConditionHeadersNotSupported": (400, "Condition headers are not supported."),
    "Md5Mismatch": (
        400,
        "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
    ),
    "RequestBodyTooLarge": (413, "The request body is too large and exceeds the maximum permissible limit."),
    "InvalidUri": (400, "The requested URI does not represent any resource on the server."),
    "InternalError": (500, "Server encountered an internal error. Please try again after some time."),
    "StandinNotImplemented": (501, "The Azure Files stand-in does not implement this request."),
}

_etags = itertools.count(0x8DD0000000000000)
_file_ids = itertools.count(13835128424026341376)


class AzureError(Exception):
    """An error reported as an XML <Error> body plus the x-ms-error-code header."""

    def __init__(self, code: str, detail: str | None = None, headers: dict[str, str] | None = None):
        self.status, self.message = ERRORS[code]
        self.code, self.detail, self.headers = code, detail, headers or {}
        super().__init__(f"{self.status} {code}: {detail or self.message}")

    def xml(self, request_id: str) -> bytes:
        message = f"{self.message}\nRequestId:{request_id}\nTime:{iso7(now())}"
        tag = "AuthenticationErrorDetail" if self.status in (401, 403) else "StandinDetail"
        detail = f"<{tag}>{escape(self.detail)}</{tag}>" if self.detail else ""
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            f"<Error><Code>{self.code}</Code><Message>{escape(message)}</Message>{detail}</Error>"
        ).encode()


def now() -> datetime:
    return datetime.now(UTC)


def rfc1123(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def iso7(moment: datetime) -> str:
    """SMB timestamps carry 7 fractional digits: 2024-05-01T10:00:00.1234560Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def new_etag() -> str:
    return f'"0x{next(_etags):X}"'


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# --------------------------------------------------------------------------- state


@dataclass
class Entry:
    """A directory (with ``children``) or a file (with ``data``) in a share."""

    name: str
    is_dir: bool
    parent_id: str = "0"
    file_id: str = field(default_factory=lambda: str(next(_file_ids)))
    data: bytearray = field(default_factory=bytearray)
    content_settings: dict[str, str] = field(default_factory=dict)  # response header -> value
    metadata: dict[str, str] = field(default_factory=dict)
    children: dict[str, Entry] = field(default_factory=dict)  # by name.lower(): Azure Files ignores case
    created: datetime = field(default_factory=now)
    last_modified: datetime = field(default_factory=now)
    etag: str = field(default_factory=new_etag)

    def touch(self) -> None:
        self.last_modified, self.etag = now(), new_etag()

    def headers(self) -> dict[str, str]:
        """ETag, Last-Modified, SMB properties and metadata, as on every file/directory response."""
        return {
            "ETag": self.etag,
            "Last-Modified": rfc1123(self.last_modified),
            "x-ms-file-attributes": "Directory" if self.is_dir else "Archive",
            "x-ms-file-creation-time": iso7(self.created),
            "x-ms-file-last-write-time": iso7(self.last_modified),
            "x-ms-file-change-time": iso7(self.last_modified),
            "x-ms-file-permission-key": PERMISSION_KEY,
            "x-ms-file-id": self.file_id,
            "x-ms-file-parent-id": self.parent_id,
            **{f"x-ms-meta-{k}": v for k, v in self.metadata.items()},
        }


@dataclass
class Share:
    name: str
    quota: int = 102400
    metadata: dict[str, str] = field(default_factory=dict)
    root: Entry = field(default_factory=lambda: Entry(name="", is_dir=True, file_id="0"))
    last_modified: datetime = field(default_factory=now)
    etag: str = field(default_factory=new_etag)


@dataclass
class Request:
    """One received request; the stand-in keeps them all in ``requests`` for assertions."""

    method: str
    raw_path: str  # percent-encoded, exactly as on the request line (it is signed that way)
    query_pairs: list[tuple[str, str]]  # decoded, in order
    headers: Message
    body: bytes
    client_ip: str
    account: str = ""
    share: str | None = None
    path: list[str] = field(default_factory=list)  # decoded names below the share

    @property
    def q(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.query_pairs}

    def header(self, name: str) -> str:
        return self.headers.get(name, "")

    def metadata(self) -> dict[str, str]:
        return {k[10:]: v for k, v in self.headers.items() if k.lower().startswith("x-ms-meta-")}


def parse_request(handler: BaseHTTPRequestHandler) -> Request:
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    raw_path, _, raw_query = handler.path.partition("?")
    query = [(unquote(n), unquote(v)) for n, _, v in (p.partition("=") for p in raw_query.split("&") if p)]
    req = Request(handler.command, raw_path, query, handler.headers, body, handler.client_address[0])
    # Decode before splitting: the SDK sends a nested directory as "folder%2Fsub", and Azure
    # treats an encoded slash as a separator (names cannot contain "/").
    segments = unquote(raw_path).split("/")[1:]
    req.account = segments[0] if segments else ""
    req.share = segments[1] if len(segments) > 1 and segments[1] else None
    req.path = [s for s in segments[2:] if s]
    return req


# --------------------------------------------------------------------------- credentials


def sign(account_key: str, string_to_sign: str) -> str:
    digest = hmac.new(base64.b64decode(account_key), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def shared_key_string_to_sign(req: Request, account: str) -> str:
    """Shared Key string-to-sign for the Blob, Queue and File services, version 2015-02-21 and later."""
    content_length = req.header("Content-Length")
    standard = [
        req.method,
        req.header("Content-Encoding"),
        req.header("Content-Language"),
        "" if content_length == "0" else content_length,
        req.header("Content-MD5"),
        req.header("Content-Type"),
        req.header("Date"),
        req.header("If-Modified-Since"),
        req.header("If-Match"),
        req.header("If-None-Match"),
        req.header("If-Unmodified-Since"),
        req.header("Range"),
    ]
    ms_headers = sorted((k.lower(), v.strip()) for k, v in req.headers.items() if k.lower().startswith("x-ms-"))
    params: dict[str, list[str]] = {}
    for name, value in req.query_pairs:
        params.setdefault(name.lower(), []).append(value)
    # raw_path starts with /account (path-style URL), so the account appears twice, as the docs
    # describe for emulator-style URLs.
    return (
        "\n".join(standard)
        + "\n"
        + "".join(f"{name}:{value}\n" for name, value in ms_headers)
        + f"/{account}{req.raw_path}"
        + "".join(f"\n{name}:{','.join(sorted(values))}" for name, values in sorted(params.items()))
    )


def account_sas_string_to_sign(account: str, q: dict[str, str]) -> str:
    fields = [account] + [q.get(k, "") for k in ("sp", "ss", "srt", "st", "se", "sip", "spr", "sv")]
    if q.get("sv", "") >= "2020-12-06":
        fields.append(q.get("ses", ""))  # signed encryption scope
    return "\n".join(fields) + "\n"


def file_sas_string_to_sign(req: Request, q: dict[str, str]) -> str:
    """Service SAS for the File service, version 2015-04-05 and later; the resource comes from the URL."""
    resource = f"/file/{req.account}/{req.share or ''}" + ("/" + "/".join(req.path) if q.get("sr") == "f" else "")
    fields = [q.get(k, "") for k in ("sp", "st", "se")] + [resource]
    return "\n".join(
        fields + [q.get(k, "") for k in ("si", "sip", "spr", "sv", "rscc", "rscd", "rsce", "rscl", "rsct")]
    )


def parse_sas_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)  # "2024-01-01", "2024-01-01T10:00:00Z", with or without fractions
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ip_allowed(sip: str, client_ip: str) -> bool:
    low, _, high = sip.partition("-")
    # Mixed IPv4 and IPv6 raise TypeError, and the request fails as the service would refuse it.
    return ipaddress.ip_address(low) <= ipaddress.ip_address(client_ip) <= ipaddress.ip_address(high or low)  # type: ignore[operator]


@dataclass(frozen=True)
class Operation:
    name: str  # the handler method is op_<name>
    permissions: str  # SAS permission letters, any one of which allows the operation
    resource_type: str  # account SAS resource type: s(ervice), c(ontainer, i.e. share), o(bject)


# (scope, method, restype, comp) -> Operation; scope is account, share, or path (below a share)
OPERATIONS = {
    ("account", "GET", None, "list"): Operation("list_shares", "l", "s"),
    ("share", "PUT", "share", None): Operation("create_share", "cw", "c"),
    ("share", "GET", "share", None): Operation("get_share_properties", "r", "c"),
    ("share", "HEAD", "share", None): Operation("get_share_properties", "r", "c"),
    ("share", "DELETE", "share", None): Operation("delete_share", "d", "c"),
    ("share", "GET", "directory", "list"): Operation("list_directory", "l", "c"),
    ("path", "GET", "directory", "list"): Operation("list_directory", "l", "c"),
    ("share", "GET", "directory", None): Operation("get_directory_properties", "r", "o"),
    ("share", "HEAD", "directory", None): Operation("get_directory_properties", "r", "o"),
    ("path", "GET", "directory", None): Operation("get_directory_properties", "r", "o"),
    ("path", "HEAD", "directory", None): Operation("get_directory_properties", "r", "o"),
    ("path", "PUT", "directory", None): Operation("create_directory", "cw", "o"),
    ("path", "DELETE", "directory", None): Operation("delete_directory", "d", "o"),
    ("path", "PUT", None, None): Operation("create_file", "cw", "o"),
    ("path", "PUT", None, "range"): Operation("put_range", "w", "o"),
    ("path", "PUT", None, "rename"): Operation("rename_file", "w", "o"),
    ("path", "GET", None, None): Operation("download_file", "r", "o"),
    ("path", "HEAD", None, None): Operation("get_file_properties", "r", "o"),
    ("path", "DELETE", None, None): Operation("delete_file", "d", "o"),
}


def find_operation(req: Request) -> Operation:
    scope = "account" if req.share is None else "path" if req.path else "share"
    key = (scope, req.method, req.q.get("restype"), req.q.get("comp"))
    if key not in OPERATIONS:
        raise AzureError("StandinNotImplemented", f"No handler for {key}.")
    return OPERATIONS[key]


def verify_credentials(standin: FileShareStandin, req: Request, op: Operation) -> None:
    """Raise AzureError unless the request has a valid Shared Key signature or a SAS allowing `op`."""
    if req.header("Authorization"):
        verify_shared_key(standin, req)
    elif "sig" in req.q:
        verify_sas(standin, req, op)
    else:
        raise AzureError("NoAuthenticationInformation")


def verify_shared_key(standin: FileShareStandin, req: Request) -> None:
    scheme, _, credential = req.header("Authorization").partition(" ")
    account, _, signature = credential.partition(":")
    if scheme != "SharedKey" or account != standin.account_name:
        raise AzureError("AuthenticationFailed", f"Expected 'SharedKey {standin.account_name}:<signature>' or a SAS.")
    date = req.header("x-ms-date") or req.header("Date")
    try:
        skew = abs(now() - parsedate_to_datetime(date))
    except (TypeError, ValueError):
        raise AzureError("AuthenticationFailed", "The request has no valid x-ms-date or Date header.") from None
    if skew > CLOCK_SKEW:
        raise AzureError("AuthenticationFailed", f"Request date header too old: '{date}'")
    string_to_sign = shared_key_string_to_sign(req, standin.account_name)
    if not hmac.compare_digest(sign(standin.account_key, string_to_sign), signature):
        raise AzureError(
            "AuthenticationFailed",
            f"The MAC signature found in the HTTP request '{signature}' is not the same as any "
            f"computed signature. Server used following string to sign: '{string_to_sign}'.",
        )


def verify_sas(standin: FileShareStandin, req: Request, op: Operation) -> None:
    q = req.q
    is_account_sas = "ss" in q or "srt" in q
    if "si" in q:
        raise AzureError("AuthenticationFailed", "The stand-in does not support stored access policies (si).")
    if not is_account_sas and q.get("sr") not in ("s", "f"):
        raise AzureError("AuthenticationFailed", "A File service SAS needs sr=s (share) or sr=f (file).")
    string_to_sign = (
        account_sas_string_to_sign(standin.account_name, q) if is_account_sas else file_sas_string_to_sign(req, q)
    )
    if not hmac.compare_digest(sign(standin.account_key, string_to_sign), q["sig"]):
        raise AzureError("AuthenticationFailed", f"Signature did not match. String to sign used was {string_to_sign}")

    try:
        start, expiry = parse_sas_time(q["st"]) if q.get("st") else None, parse_sas_time(q["se"])
    except (KeyError, ValueError):
        raise AzureError("AuthenticationFailed", "Signed expiry (se) is missing or not an ISO 8601 time.") from None
    current = now()
    if start and expiry <= start:
        raise AzureError(
            "AuthenticationFailed",
            f"Signed expiry time [{rfc1123(expiry)}] must be after signed start time [{rfc1123(start)}]",
        )
    if expiry < current or (start and start > current):
        raise AzureError(
            "AuthenticationFailed",
            f"Signature not valid in the specified time frame: Start [{rfc1123(start) if start else ''}]"
            f" - Expiry [{rfc1123(expiry)}] - Current [{rfc1123(current)}]",
        )

    if q.get("spr") == "https" and standin.ssl_context is None:
        raise AzureError("AuthorizationProtocolMismatch")
    if q.get("sip") and not ip_allowed(q["sip"], req.client_ip):
        raise AzureError("AuthorizationSourceIPMismatch", f"Source IP {req.client_ip} is outside {q['sip']}.")
    if is_account_sas and "f" not in q.get("ss", ""):
        raise AzureError("AuthorizationServiceMismatch")
    if is_account_sas and op.resource_type not in q.get("srt", ""):
        raise AzureError("AuthorizationResourceTypeMismatch")
    if not any(letter in q.get("sp", "") for letter in op.permissions):
        raise AzureError("AuthorizationPermissionMismatch")


# --------------------------------------------------------------------------- listings and ranges


def paginate(names: list[str], q: dict[str, str]) -> tuple[list[str], str]:
    """A page of names in order, from ``marker`` (a page's first name); NextMarker is the next page's first."""
    try:
        size = int(q.get("maxresults", MAX_LIST_RESULTS))
    except ValueError:
        size = 0
    if size < 1:
        raise AzureError("OutOfRangeQueryParameterValue")
    remaining = sorted(n for n in names if n >= q.get("marker", ""))
    return remaining[:size], remaining[size] if len(remaining) > size else ""


def enumeration_xml(attributes: dict[str, str], q: dict[str, str], items: str, next_marker: str) -> bytes:
    """<EnumerationResults> of a list call; `items` is the already-escaped <Shares> or <Entries> part."""
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<EnumerationResults{attrs}><Prefix>{escape(q.get('prefix', ''))}</Prefix>"
        f"<Marker>{escape(q.get('marker', ''))}</Marker>"
        f"<MaxResults>{q.get('maxresults', MAX_LIST_RESULTS)}</MaxResults>"
        f"{items}<NextMarker>{escape(next_marker)}</NextMarker></EnumerationResults>"
    ).encode()


def listing_entry(entry: Entry, include: set[str]) -> str:
    """A <File> or <Directory> element of a List Directories and Files response."""
    props = "" if entry.is_dir else f"<Content-Length>{len(entry.data)}</Content-Length>"
    if "timestamps" in include:
        stamp = iso7(entry.last_modified)
        props += (
            f"<CreationTime>{iso7(entry.created)}</CreationTime><LastAccessTime>{stamp}</LastAccessTime>"
            f"<LastWriteTime>{stamp}</LastWriteTime><ChangeTime>{stamp}</ChangeTime>"
            f"<Last-Modified>{rfc1123(entry.last_modified)}</Last-Modified>"
        )
    if "etag" in include:
        props += f"<Etag>{escape(entry.etag)}</Etag>"
    extra = f"<Attributes>{'Directory' if entry.is_dir else 'Archive'}</Attributes>" if "attributes" in include else ""
    extra += f"<PermissionKey>{PERMISSION_KEY}</PermissionKey>" if "permissionkey" in include else ""
    tag = "Directory" if entry.is_dir else "File"
    return (
        f"<{tag}><FileId>{entry.file_id}</FileId><Name>{escape(entry.name)}</Name>"
        f"<Properties>{props}</Properties>{extra}</{tag}>"
    )


def parse_range(value: str) -> tuple[int, int | None]:
    """'bytes=10-19' -> (10, 19); 'bytes=10-' -> (10, None)."""
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", value.strip())
    if not match or (match[2] and int(match[2]) < int(match[1])):
        raise AzureError("InvalidHeaderValue", f"Bad range {value!r}.")
    return int(match[1]), int(match[2]) if match[2] else None


# --------------------------------------------------------------------------- server


class FileShareStandin(StandinServer):
    """Stand-in for the Azure Files (File Share) REST API, because Azure Files has no emulator.

    Holds shares of directories and files in memory and serves them over HTTP(S)
    on 127.0.0.1 to the real azure-storage-file-share client. Every request must
    carry a valid Shared Key signature for ``account_key`` or a SAS signed with it.

    Attributes: ``account_name``, ``account_key``, ``account_url`` (give it to
    ShareServiceClient), ``credential`` (the Shared Key dict), ``shares`` (name ->
    Share), ``requests`` (every Request received, e.g. to check Put Range sizes),
    ``lock`` (hold it to read the state while the server runs).
    """

    def __init__(
        self, account_name: str, account_key: str, *, ssl_context=None, max_file_size: int = 256 * 1024 * 1024
    ):
        super().__init__(FileShareRequestHandler, ssl_context=ssl_context)
        base64.b64decode(account_key, validate=True)  # fail early on a malformed key
        self.account_name, self.account_key = account_name, account_key
        self.max_file_size = max_file_size  # Azure allows 4 TiB; here files live in memory
        self.shares: dict[str, Share] = {}
        self.requests: list[Request] = []
        self.lock = threading.RLock()

    @property
    def account_url(self) -> str:
        return f"{self.base_url}/{self.account_name}"

    @property
    def credential(self) -> dict[str, str]:
        return {"account_name": self.account_name, "account_key": self.account_key}

    def reset(self) -> None:
        """Forget all shares and recorded requests (to reuse one running server across tests)."""
        with self.lock:
            self.shares.clear()
            self.requests.clear()

    def file_bytes(self, share: str, path: str) -> bytes:
        """The stored content of a file, for assertions."""
        with self.lock:
            _, _, entry = self.lookup(share, path.strip("/").split("/"))
            if entry is None or entry.is_dir:
                raise KeyError(f"{share}/{path}")
            return bytes(entry.data)

    def lookup(self, share_name: str | None, path: list[str]) -> tuple[Share, Entry, Entry | None]:
        """(share, parent directory, entry or None); raises ShareNotFound or ParentNotFound."""
        share = self.shares.get(share_name or "")
        if share is None:
            raise AzureError("ShareNotFound")
        parent = share.root
        for name in path[:-1]:
            child = parent.children.get(name.lower())
            if child is None or not child.is_dir:
                raise AzureError("ParentNotFound")
            parent = child
        return share, parent, parent.children.get(path[-1].lower()) if path else share.root


class FileShareRequestHandler(StandinHandler):
    """Parses a request, checks its credentials, then runs the op_<name> method of its operation.

    Each op_* method runs under the stand-in's lock and returns (status, headers, body).
    """

    server_version = "Windows-Azure-File/1.0 Microsoft-HTTPAPI/2.0 (stand-in)"

    def do_GET(self):
        standin: FileShareStandin = self.server.standin
        request_id = str(uuid.uuid4())
        req = parse_request(self)
        with standin.lock:
            standin.requests.append(req)
        try:
            if req.account != standin.account_name:
                raise AzureError("InvalidUri", f"Use a path-style URL: {standin.account_url}/<share>/<path>.")
            op = find_operation(req)
            verify_credentials(standin, req, op)
            if any(req.header(h) for h in CONDITION_HEADERS):
                raise AzureError("ConditionHeadersNotSupported")
            with standin.lock:
                status, headers, payload = getattr(self, "op_" + op.name)(standin, req)
        except Exception as exc:  # any failure becomes an Azure-shaped error response
            err = exc if isinstance(exc, AzureError) else AzureError("InternalError", f"Stand-in bug: {exc!r}")
            status, payload = err.status, err.xml(request_id)
            headers = {"x-ms-error-code": err.code, "Content-Type": "application/xml", **err.headers}
        self.send_response(status)
        self.send_header("x-ms-request-id", request_id)
        self.send_header("x-ms-version", req.header("x-ms-version") or "2026-10-06")
        if self.command == "HEAD":  # reports the resource's length, sends no body
            headers.setdefault("Content-Length", "0")
        else:
            headers["Content-Length"] = str(len(payload))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_PUT = do_HEAD = do_DELETE = do_POST = do_GET

    # ----------------------------------------------------------------- shares

    def op_list_shares(self, standin, req):
        q = req.q
        page, next_marker = paginate([n for n in standin.shares if n.startswith(q.get("prefix", ""))], q)
        with_metadata = "metadata" in q.get("include", "").lower().split(",")
        items = ""
        for share in (standin.shares[name] for name in page):
            metadata = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in share.metadata.items())
            items += (
                f"<Share><Name>{escape(share.name)}</Name><Properties>"
                f"<Last-Modified>{rfc1123(share.last_modified)}</Last-Modified><Etag>{escape(share.etag)}</Etag>"
                f"<Quota>{share.quota}</Quota><AccessTier>TransactionOptimized</AccessTier></Properties>"
                + (f"<Metadata>{metadata}</Metadata>" if with_metadata else "")
                + "</Share>"
            )
        xml = enumeration_xml(
            {"ServiceEndpoint": standin.account_url + "/"}, q, f"<Shares>{items}</Shares>", next_marker
        )
        return 200, {"Content-Type": "application/xml"}, xml

    def op_create_share(self, standin, req):
        if not SHARE_NAME.match(req.share):
            raise AzureError("InvalidResourceName")
        if req.share in standin.shares:
            raise AzureError("ShareAlreadyExists")
        share = Share(req.share, metadata=req.metadata())
        share.quota = int(req.header("x-ms-share-quota") or share.quota)
        standin.shares[req.share] = share
        return 201, {"ETag": share.etag, "Last-Modified": rfc1123(share.last_modified)}, b""

    def op_get_share_properties(self, standin, req):
        share, _, _ = standin.lookup(req.share, [])
        return (
            200,
            {
                "ETag": share.etag,
                "Last-Modified": rfc1123(share.last_modified),
                "x-ms-share-quota": str(share.quota),
                "x-ms-access-tier": "TransactionOptimized",
                **{f"x-ms-meta-{k}": v for k, v in share.metadata.items()},
            },
            b"",
        )

    def op_delete_share(self, standin, req):
        standin.lookup(req.share, [])
        del standin.shares[req.share]
        return 202, {}, b""

    # ----------------------------------------------------------------- directories

    def existing(self, standin, req, is_dir: bool) -> tuple[Entry, Entry]:
        """(parent, entry) of the request path; ResourceNotFound if missing or of the other kind."""
        _, parent, entry = standin.lookup(req.share, req.path)
        if entry is None or entry.is_dir != is_dir:
            raise AzureError("ResourceNotFound")
        return parent, entry

    def op_create_directory(self, standin, req):
        _, parent, entry = standin.lookup(req.share, req.path)
        if entry is not None:
            raise AzureError("ResourceAlreadyExists")
        directory = Entry(name=req.path[-1], is_dir=True, parent_id=parent.file_id, metadata=req.metadata())
        parent.children[directory.name.lower()] = directory
        return 201, {**directory.headers(), "x-ms-request-server-encrypted": "true"}, b""

    def op_get_directory_properties(self, standin, req):
        _, directory = self.existing(standin, req, is_dir=True)
        return 200, {**directory.headers(), "x-ms-server-encrypted": "true"}, b""

    def op_delete_directory(self, standin, req):
        parent, directory = self.existing(standin, req, is_dir=True)
        if directory.children:
            raise AzureError("DirectoryNotEmpty")
        del parent.children[directory.name.lower()]
        return 202, {}, b""

    def op_list_directory(self, standin, req):
        _, directory = self.existing(standin, req, is_dir=True)
        q = req.q
        include = {i.strip().lower() for i in q.get("include", "").split(",")}
        by_name = {e.name: e for e in directory.children.values() if e.name.startswith(q.get("prefix", ""))}
        page, next_marker = paginate(list(by_name), q)
        attributes = {
            "ServiceEndpoint": standin.account_url + "/",
            "ShareName": req.share,
            "DirectoryPath": "/".join(req.path),
        }
        entries = "".join(listing_entry(by_name[name], include) for name in page)
        items = f"<DirectoryId>{directory.file_id}</DirectoryId><Entries>{entries}</Entries>"
        return 200, {"Content-Type": "application/xml"}, enumeration_xml(attributes, q, items, next_marker)

    # ----------------------------------------------------------------- files

    def op_create_file(self, standin, req):
        """Create File. An existing file is replaced (emptied, resized), as Azure does."""
        if req.header("x-ms-type").lower() != "file":
            raise AzureError("InvalidHeaderValue", "x-ms-type must be 'file'.")
        if not req.header("x-ms-content-length").isdigit():
            raise AzureError("MissingRequiredHeader", "x-ms-content-length")
        size = int(req.header("x-ms-content-length"))
        if size > standin.max_file_size:
            raise AzureError(
                "InvalidHeaderValue", f"Files are limited to {standin.max_file_size} bytes in the stand-in."
            )
        _, parent, existing = standin.lookup(req.share, req.path)
        if existing is not None and existing.is_dir:
            raise AzureError("ResourceAlreadyExists")
        if existing is not None and "sig" in req.q and "w" not in req.q.get("sp", ""):
            raise AzureError("AuthorizationPermissionMismatch")  # 'c' alone creates but cannot overwrite
        file = Entry(
            name=req.path[-1],
            is_dir=False,
            parent_id=parent.file_id,
            data=bytearray(size),
            content_settings={h: req.header(x) for x, h in CONTENT_SETTINGS.items() if req.header(x)},
            metadata=req.metadata(),
        )
        parent.children[file.name.lower()] = file
        return 201, {**file.headers(), "x-ms-request-server-encrypted": "true"}, b""

    def op_put_range(self, standin, req):
        _, file = self.existing(standin, req, is_dir=False)
        start, end = parse_range(req.header("x-ms-range") or req.header("Range"))
        if end is None:
            raise AzureError("InvalidHeaderValue", "Put Range needs bytes=start-end.")
        if end >= len(file.data):
            raise AzureError("InvalidRange", headers={"Content-Range": f"bytes */{len(file.data)}"})
        length, write = end - start + 1, req.header("x-ms-write").lower()
        headers = {"x-ms-request-server-encrypted": "true"}
        if write == "clear":
            file.data[start : end + 1] = bytes(length)
        elif write == "update":
            if length > MAX_RANGE_BYTES:
                raise AzureError("RequestBodyTooLarge")
            if len(req.body) != length:
                raise AzureError("InvalidHeaderValue", f"Body has {len(req.body)} bytes, range has {length}.")
            headers["Content-MD5"] = md5_b64(req.body)
            if req.header("Content-MD5") not in ("", headers["Content-MD5"]):
                raise AzureError("Md5Mismatch")
            file.data[start : end + 1] = req.body
        else:
            raise AzureError("InvalidHeaderValue", "x-ms-write must be 'update' or 'clear'.")
        file.touch()
        return 201, {"ETag": file.etag, "Last-Modified": rfc1123(file.last_modified), **headers}, b""

    @staticmethod
    def file_headers(file: Entry) -> dict[str, str]:
        return {
            "Content-Type": "application/octet-stream",
            **file.content_settings,
            **file.headers(),
            "x-ms-type": "File",
            "x-ms-server-encrypted": "true",
            "Accept-Ranges": "bytes",
        }

    def op_get_file_properties(self, standin, req):
        _, file = self.existing(standin, req, is_dir=False)
        return 200, {**self.file_headers(file), "Content-Length": str(len(file.data))}, b""

    def op_download_file(self, standin, req):
        _, file = self.existing(standin, req, is_dir=False)
        headers, size = self.file_headers(file), len(file.data)
        if "sig" in req.q and req.q.get("rscd"):  # a SAS's signed override, as Azure applies it
            headers["Content-Disposition"] = req.q["rscd"]
        requested = req.header("x-ms-range") or req.header("Range")
        if not requested:
            return 200, headers, bytes(file.data)
        start, end = parse_range(requested)
        if start >= size:  # also for any range of an empty file; the SDK then retries without one
            raise AzureError("InvalidRange", headers={"Content-Range": f"bytes */{size}"})
        end = size - 1 if end is None else min(end, size - 1)
        payload = bytes(file.data[start : end + 1])
        if "Content-MD5" in headers:  # the whole file's MD5 moves to x-ms-content-md5 for a range
            headers["x-ms-content-md5"] = headers.pop("Content-MD5")
        if req.header("x-ms-range-get-content-md5").lower() == "true":
            headers["Content-MD5"] = md5_b64(payload)
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return 206, headers, payload

    def op_delete_file(self, standin, req):
        parent, file = self.existing(standin, req, is_dir=False)
        del parent.children[file.name.lower()]
        return 202, {}, b""

    def op_rename_file(self, standin, req):
        """Rename File: move x-ms-file-rename-source (a URL in the same share) to the request path."""
        segments = [s for s in unquote(urlsplit(req.header("x-ms-file-rename-source")).path).split("/") if s]
        if segments[:1] == [standin.account_name]:
            segments = segments[1:]  # path-style URL
        if len(segments) < 2 or segments[0] != req.share:
            raise AzureError("InvalidHeaderValue", "x-ms-file-rename-source must name a file in the same share.")
        _, source_parent, source = standin.lookup(req.share, segments[1:])
        if source is None or source.is_dir:
            raise AzureError("ResourceNotFound")
        _, parent, target = standin.lookup(req.share, req.path)
        replace = req.header("x-ms-file-rename-replace-if-exists").lower() == "true"
        if target is not None and target is not source and (target.is_dir or not replace):
            raise AzureError("ResourceAlreadyExists")
        del source_parent.children[source.name.lower()]
        source.name, source.parent_id = req.path[-1], parent.file_id
        if req.header("x-ms-content-type"):
            source.content_settings["Content-Type"] = req.header("x-ms-content-type")
        source.metadata = req.metadata() or source.metadata
        parent.children[source.name.lower()] = source
        return 200, {**source.headers(), "x-ms-request-server-encrypted": "true"}, b""
