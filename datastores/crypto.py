"""Encryption of datastore secrets at rest (Fernet through MultiFernet).

The first key of DATASTORE_ENCRYPTION_KEYS encrypts; every key decrypts, so a
new key can be put in front and the stored secrets re-encrypted under it
(`manage.py rotate_datastore_keys`) before an old key is dropped.
"""

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretsUnreadable(Exception):
    """No configured key decrypts a stored secret."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.DATASTORE_ENCRYPTION_KEYS])


def encrypt_secrets(secrets: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()


def decrypt_secrets(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretsUnreadable(
            "The stored secrets cannot be decrypted with any key in DATASTORE_ENCRYPTION_KEYS."
        ) from None


def rotate_token(token: str) -> str:
    """Re-encrypt a token under the first key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretsUnreadable(
            "The stored secrets cannot be decrypted with any key in DATASTORE_ENCRYPTION_KEYS."
        ) from None
