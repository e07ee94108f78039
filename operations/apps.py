from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What an operator runs and watches: integrity checks, backups, slow queries, health, metrics, staff pages."""

    name = "operations"
    label = "operations"
