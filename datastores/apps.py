from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DatastoresConfig(AppConfig):
    name = "datastores"
    verbose_name = "Datastores"

    def ready(self) -> None:
        from studio.cache import create_cache_table

        # Every `migrate` (the start command, scripts/run, the tests' databases) makes the cache table too.
        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="studio.cache.create_cache_table")
