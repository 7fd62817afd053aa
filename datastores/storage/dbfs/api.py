"""The DBFS REST API 2.0 of one Databricks workspace, through a guarded requests session
(network.py: checked addresses, no redirects, bounded time), the token sent as an auth object."""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings

from .. import network
from ..endpoints import Address, parse_url


class DbfsApiError(Exception):
    """A DBFS REST call failed: `status` and `error_code` as Databricks sent them, or `kind`."""

    def __init__(self, *, status: int | None = None, error_code: str = "", kind: str = ""):
        super().__init__(kind or f"{status} {error_code}")
        self.status, self.error_code, self.kind = status, error_code, kind  # kind: "transport"


class BearerToken(requests.auth.AuthBase):
    """An auth object, not a header: requests then never swaps in ~/.netrc credentials."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class DbfsApi:
    """The DBFS REST API 2.0 of one workspace: bounded timeouts, no redirects followed."""

    def __init__(self, workspace_url: str, token: str):
        self.address: Address = parse_url(workspace_url)
        self.base = self.address.url("api", "2.0", "dbfs") + "/"
        self.session = network.session()
        self.session.auth = BearerToken(token)

    def close(self) -> None:
        self.session.close()

    def get(self, operation: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", operation, params=params)

    def post(self, operation: str, **body: Any) -> dict[str, Any]:
        return self.request("POST", operation, json=body)

    def request(self, method: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        timeout = settings.STORAGE_TIMEOUT_SECONDS
        try:
            response = self.session.request(
                method, self.base + operation, timeout=(min(timeout, 10), timeout), allow_redirects=False, **kwargs
            )
        except requests.RequestException as failure:
            raise DbfsApiError(kind="transport") from failure
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict):
            return body
        error_code = str(body.get("error_code", "")) if isinstance(body, dict) else ""
        raise DbfsApiError(status=response.status_code, error_code=error_code)
