"""The one place the SDK talks HTTP to the studio's REST API (/api/v1/): a bearer token on every
request, and every error answer turned into the matching exception with the studio's message."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from typing import Any

import httpx

from . import __version__
from .config import Settings
from .exceptions import (
    AuthenticationFailed,
    Conflict,
    PermissionDenied,
    ResourceNotFound,
    StorageServiceError,
    StudioError,
    StudioUnreachable,
    TooManyRequests,
    ValidationFailed,
)

STATUS_ERRORS: dict[int, type[StudioError]] = {
    400: ValidationFailed,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: ResourceNotFound,
    409: Conflict,
    429: TooManyRequests,
    502: StorageServiceError,
    504: StorageServiceError,
}


def _verify() -> ssl.SSLContext | bool:
    """Trust a private CA named by REQUESTS_CA_BUNDLE or SSL_CERT_FILE, as requests and azure-core do."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
    if bundle:
        return ssl.create_default_context(cafile=bundle)
    return True


def error_for(response: httpx.Response, not_found: type[StudioError] = ResourceNotFound) -> StudioError:
    """The exception for an error answer, with the studio's message (problem details' ``detail``)."""
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    message = str(
        body.get("detail") or body.get("message") or response.reason_phrase or "The studio refused the request."
    )
    status = response.status_code
    kind = not_found if status == 404 else STATUS_ERRORS.get(status)
    if kind is None:
        kind = StorageServiceError if status >= 500 else StudioError
        if status >= 500 and not body:
            message = f"The studio failed ({status} {response.reason_phrase})."
    field = body.get("field") if isinstance(body.get("field"), str) else None
    errors = body.get("errors") if isinstance(body.get("errors"), list) else None
    return kind(message, status=status, field=field, errors=errors)


class Api:
    """An HTTP session with the studio's API. Paths are relative to ``<url>api/v1/``."""

    def __init__(self, settings: Settings, *, timeout: float = 60.0) -> None:
        self.settings = settings
        self.base_url = settings.url
        self._client = httpx.Client(
            base_url=settings.url + "api/v1/",
            headers={
                "Authorization": f"Bearer {settings.token}",
                "User-Agent": f"datastore-studio-python/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            verify=_verify(),
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def request(
        self, method: str, path: str, *, not_found: type[StudioError] = ResourceNotFound, **kwargs: Any
    ) -> httpx.Response:
        """Send one request; an error answer raises the matching StudioError."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise StudioUnreachable(f"The studio at {self.base_url} did not answer in time.") from None
        except httpx.TransportError as error:
            raise StudioUnreachable(f"Could not reach the studio at {self.base_url}: {type(error).__name__}.") from None
        if response.status_code >= 400:
            raise error_for(response, not_found)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return its JSON body (None for 204)."""
        response = self.request(method, path, **kwargs)
        return None if response.status_code == 204 or not response.content else response.json()

    def pages(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paged listing, following ``next_cursor``."""
        query = dict(params or {})
        query.setdefault("limit", 200)
        while True:
            page = self.json("GET", path, params=query, **kwargs)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    def stream(self, method: str, path: str, *, not_found: type[StudioError] = ResourceNotFound, **kwargs: Any) -> Any:
        """A streamed response, as a context manager; an error answer raises on entry."""
        return _Streamed(self, method, path, not_found, kwargs)


class _Streamed:
    def __init__(self, api: Api, method: str, path: str, not_found: type[StudioError], kwargs: dict[str, Any]) -> None:
        self._context = api._client.stream(method, path, **kwargs)
        self._api, self._not_found = api, not_found

    def __enter__(self) -> httpx.Response:
        try:
            response = self._context.__enter__()
        except httpx.TimeoutException:
            raise StudioUnreachable(f"The studio at {self._api.base_url} did not answer in time.") from None
        except httpx.TransportError as error:
            raise StudioUnreachable(
                f"Could not reach the studio at {self._api.base_url}: {type(error).__name__}."
            ) from None
        if response.status_code >= 400:
            response.read()
            self._context.__exit__(None, None, None)
            raise error_for(response, self._not_found)
        return response

    def __exit__(self, *exc_info: Any) -> None:
        self._context.__exit__(*exc_info)
