from typing import Any

from django.core.management.base import BaseCommand, CommandError

from datastores.crypto import SecretsUnreadable
from datastores.services import datastore_secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored datastore secret under the first key of DATASTORE_ENCRYPTION_KEYS. "
        "Put the new key first, run this, then drop the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = datastore_secrets_rotate()
        except SecretsUnreadable as error:
            raise CommandError(f"{error} Nothing was changed.") from None
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the secrets of {count} datastore(s) under the first key."))
