"""Start-up refuses to run without real keys when DEBUG is off: there is no plaintext fallback."""

from pathlib import Path

from cryptography.fernet import Fernet

from .support import start_django

ROOT = Path(__file__).resolve().parent.parent
STRONG_SECRET_KEY = "x7" * 20 + "Kq9!mZ3#pL"


def test_it_refuses_to_start_without_encryption_keys():
    result = start_django(SECRET_KEY=STRONG_SECRET_KEY)
    assert result.returncode != 0
    assert "DATASTORE_ENCRYPTION_KEYS is not set" in result.stderr


def test_it_refuses_an_encryption_key_that_is_not_a_fernet_key():
    result = start_django(SECRET_KEY=STRONG_SECRET_KEY, DATASTORE_ENCRYPTION_KEYS="not-a-key")
    assert result.returncode != 0
    assert "key number 1 is not a valid Fernet key" in result.stderr


def test_it_refuses_a_missing_or_weak_secret_key():
    key = Fernet.generate_key().decode()
    for weak in ("", "short", "django-insecure-" + "a1b2c3d4e5" * 6):
        result = start_django(SECRET_KEY=weak, DATASTORE_ENCRYPTION_KEYS=key)
        assert result.returncode != 0
        assert "SECRET_KEY is missing or weak" in result.stderr


def test_it_starts_with_a_strong_secret_key_and_a_valid_encryption_key():
    result = start_django(SECRET_KEY=STRONG_SECRET_KEY, DATASTORE_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert result.returncode == 0, result.stderr
