"""Start-up refuses to run without real keys when DEBUG is off: there is no plaintext fallback."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from .support import STRONG_SECRET_KEY, start_django

ROOT = Path(__file__).resolve().parent.parent


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


def settings_values(names: list[str], **env_overrides) -> subprocess.CompletedProcess:
    """Start Django with this environment and print the named settings, one per line (repr)."""
    code = "import django; django.setup(); from django.conf import settings; " + "; ".join(
        f"print(repr({name}))" for name in names
    )
    from_files = {name.removesuffix("_FILE") for name in env_overrides if name.endswith("_FILE")}
    dropped = {"SECRET_KEY", "DATASTORE_ENCRYPTION_KEYS", *from_files}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(DEBUG="false", **env_overrides)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "tests",
        env={**env, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "studio.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_each_secret_can_come_from_a_file_as_docker_and_compose_secrets_do(tmp_path):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    files = {
        "SECRET_KEY": STRONG_SECRET_KEY,
        "DATASTORE_ENCRYPTION_KEYS": f"{first}\n{second}",  # one key per line
        "DATABASE_PASSWORD": "pa ss:word@1",
        "WORKSPACE_STORAGE_CONNECTION_STRING": (
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;EndpointSuffix=core.windows.net"
        ),
    }
    env = {}
    for name, value in files.items():
        (tmp_path / name).write_text(value + "\n")  # `echo value > file` ends it with a newline
        env[f"{name}_FILE"] = str(tmp_path / name)
    result = settings_values(
        [
            "settings.SECRET_KEY",
            "settings.DATASTORE_ENCRYPTION_KEYS",
            "settings.DATABASES['default']['PASSWORD']",
            "settings.DATABASES['default']['USER']",
            "settings.WORKSPACE_STORAGE_CONNECTION_STRING",
        ],
        DATABASE_URL="postgres://studio@db.example.com:5432/studio",
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        repr(STRONG_SECRET_KEY),
        repr([first, second]),
        repr("pa ss:word@1"),
        repr("studio"),
        repr(files["WORKSPACE_STORAGE_CONNECTION_STRING"]),
    ]


def test_it_refuses_a_secret_set_both_in_the_environment_and_as_a_file(tmp_path):
    (tmp_path / "key").write_text(STRONG_SECRET_KEY)
    result = start_django(
        SECRET_KEY=STRONG_SECRET_KEY,
        SECRET_KEY_FILE=str(tmp_path / "key"),
        DATASTORE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    assert result.returncode != 0
    assert "Both SECRET_KEY and SECRET_KEY_FILE are set" in result.stderr


def test_it_names_a_secret_file_it_cannot_read(tmp_path):
    result = start_django(
        SECRET_KEY_FILE=str(tmp_path / "missing"), DATASTORE_ENCRYPTION_KEYS=Fernet.generate_key().decode()
    )
    assert result.returncode != 0
    assert f"SECRET_KEY_FILE: cannot read {tmp_path / 'missing'} (No such file or directory)" in result.stderr
