"""Database connection care shared by every app's sweeps and workers."""

from django.db import connections


def connections_reset() -> None:
    """Close the database connections an error left unusable, so the next query opens a fresh one (Django's
    close_old_connections, minus connections inside a transaction: closing those would break the caller's
    transaction, and a test's). Call it after catching a lost connection."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
