"""A logging filter that strips secrets from every record: SAS signatures, account
keys, bearer tokens, passwords and every secret field a storage type declares, in
the message and in the exception text."""

from __future__ import annotations

import logging
import re
from functools import cache

REDACTED = "[redacted]"
GENERIC_SECRET_NAMES = ("password", "passwd", "secret", "client_secret", "access_token", "token")


def _patterns() -> list[re.Pattern[str]]:
    from .storage import BACKENDS

    # Read the registry on every record: a storage type may be registered after the first one.
    declared = frozenset(
        name
        for backend in BACKENDS.values()
        for auth_type in backend.auth_types
        for name in backend.secret_names(auth_type)
    )
    return _compiled(declared)


@cache
def _compiled(declared: frozenset[str]) -> list[re.Pattern[str]]:
    names = "|".join(sorted(map(re.escape, declared | set(GENERIC_SECRET_NAMES)), key=len, reverse=True))
    return [
        re.compile(r"(?i)(\bsig=)[^&\s'\"<>]+"),
        re.compile(r"(?i)(\bAccountKey=)[^;\s'\"<>]+"),
        re.compile(r"(?i)(\bBearer\s+)[A-Za-z0-9._~+/=-]+"),
        re.compile(rf"(?i)(['\"]?\b(?:{names})['\"]?\s*[:=]\s*['\"]?)[^\s,'\"&;}}]+"),
    ]


def redact(text: str) -> str:
    for pattern in _patterns():
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites the record's message and exception text with secrets replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
