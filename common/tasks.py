"""Queueing a Celery task by its registered name, once the current transaction commits.

A service that queues work names the task (``"bots.run_backtest"``) instead of importing the task module: the
task module imports the service it wraps, and the dependency goes one way. The name is the task's public contract
(beat schedules and routes use it too).
"""

from typing import Any

from celery import Task, current_app
from django.db import transaction


def _task(name: str) -> Task:
    app = current_app
    if name not in app.tasks:
        # A worker imports every app's tasks module at start; a web process does it here, on first need.
        app.loader.import_default_modules()
    return app.tasks[name]


def enqueue_on_commit(name: str, *args: Any) -> None:
    """Queue task `name` with `args` after the transaction commits (at once outside one); never before, so a
    worker cannot start on rows it cannot see yet. Raises KeyError then for a name no app registers."""
    transaction.on_commit(lambda: _task(name).delay(*args))
