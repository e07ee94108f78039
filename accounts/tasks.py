"""Celery tasks of the accounts app: thin shells around services."""

from celery import shared_task


@shared_task(name="accounts.ping", queue="maintenance")
def ping() -> str:
    """A no-op a deployment can enqueue to check that a worker consumes the maintenance queue."""
    return "pong"
