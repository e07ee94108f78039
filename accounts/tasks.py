"""Celery tasks of the accounts app: thin shells around services."""

from celery import shared_task


@shared_task(name="accounts.ping")
def ping() -> str:
    """A no-op a deployment can enqueue to check that a worker consumes the maintenance queue."""
    return "pong"
