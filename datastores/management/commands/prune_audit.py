from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from datastores.audit import prune


class Command(BaseCommand):
    help = "Delete audit entries older than AUDIT_RETENTION_DAYS (with it unset, entries are kept forever)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.AUDIT_RETENTION_DAYS:
            self.stdout.write("AUDIT_RETENTION_DAYS is not set: every audit entry is kept.")
            return
        deleted = prune()
        self.stdout.write(
            self.style.SUCCESS(f"Deleted {deleted} audit entries older than {settings.AUDIT_RETENTION_DAYS} days.")
        )
