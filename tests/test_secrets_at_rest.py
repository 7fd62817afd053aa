"""Secrets are encrypted at rest, and key rotation keeps every datastore readable."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from datastores.models import Datastore
from datastores.services import datastore_register
from datastores.storage import AuthType, StoredSettingsInvalid, backend_for

from .support import AZURITE_KEY, remember_secret

pytestmark = pytest.mark.django_db


def register_blob(workspace, name, *, account_key, endpoint="core.windows.net"):
    backend = backend_for("AzureBlob")
    values = backend.clean_values(
        AuthType.ACCOUNT_KEY,
        {
            "account_name": "myaccount",
            "container_name": "data",
            "endpoint": endpoint,
            "account_key": account_key,
            "skip_validation": True,
        },
    )
    return datastore_register(
        workspace=workspace, name=name, storage_type="AzureBlob", auth_type=AuthType.ACCOUNT_KEY, values=values
    )


def raw_row(datastore_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM datastores_datastore WHERE id = %s", [datastore_id])
        return repr(cursor.fetchone())


def test_a_raw_database_row_never_holds_the_account_key(workspace):
    key = remember_secret(Fernet.generate_key().decode().replace("-", "+").replace("_", "/"))
    datastore = register_blob(workspace, "plainly_not", account_key=key)
    row = raw_row(datastore.pk)
    assert key not in row
    assert "myaccount" in row  # the non-secret settings are there, so the row was read
    assert Datastore.objects.get(pk=datastore.pk).connection()["account_key"] == key


def test_the_workspace_blobstore_key_is_not_in_its_row_either(workspace):
    blobstore = workspace.datastores.get(name="workspaceblobstore")
    assert AZURITE_KEY not in raw_row(blobstore.pk)
    assert blobstore.connection()["account_key"] == AZURITE_KEY


def test_rotation_re_encrypts_so_the_old_key_can_be_dropped(workspace, settings):
    old_key, new_key = settings.DATASTORE_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    key = remember_secret(Fernet.generate_key().decode().replace("-", "+").replace("_", "/"))
    datastore = register_blob(workspace, "rotated", account_key=key)
    before = Datastore.objects.get(pk=datastore.pk).encrypted_secrets

    settings.DATASTORE_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_datastore_keys")
    settings.DATASTORE_ENCRYPTION_KEYS = [new_key]

    for stored in Datastore.objects.all():
        assert stored.connection()  # every datastore of the workspace still decrypts
    rotated = Datastore.objects.get(pk=datastore.pk)
    assert rotated.encrypted_secrets != before
    assert rotated.connection()["account_key"] == key


def test_without_rotation_dropping_the_old_key_makes_secrets_unreadable(workspace, settings):
    old_key = settings.DATASTORE_ENCRYPTION_KEYS[0]
    datastore = register_blob(workspace, "not_rotated", account_key=remember_secret("QUFB" * 11))
    settings.DATASTORE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(StoredSettingsInvalid, match="cannot be decrypted"):
        Datastore.objects.get(pk=datastore.pk).connection()
    settings.DATASTORE_ENCRYPTION_KEYS = [old_key]
    assert Datastore.objects.get(pk=datastore.pk).connection()["account_key"] == "QUFB" * 11
