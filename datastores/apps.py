from django.apps import AppConfig


class DatastoresConfig(AppConfig):
    name = "datastores"
    verbose_name = "Datastores"
