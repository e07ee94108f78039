"""SQLite, the embedded default, serves pages while the worker writes (marketplace/settings/base.py: WAL, a busy
timeout, IMMEDIATE transactions).

The probe runs in a subprocess on a file database (in-memory test databases have neither WAL nor a second
connection's locks): a thread writes like the engine does (performance-log rows in transactions, in a loop) while
the trader pauses and resumes through the pages. Before the settings, a pause answered "database is locked" (500).

Run by hand, `python marketplace/tests/test_sqlite_concurrency.py DB_PATH --plain` shows the failure without the
settings.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
ROUNDS = 8


def _run_probe(db_path: Path, *extra: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "DATABASE_URL": f"sqlite:///{db_path}",
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }
    env.pop("CACHE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True, timeout=300)
    done = subprocess.run(
        [sys.executable, __file__, str(db_path), *extra],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif("mysql" in os.environ.get("DATABASE_URL", ""), reason="about the embedded SQLite default")
def test_it_pauses_and_resumes_while_the_worker_writes(tmp_path):
    outcome = _run_probe(tmp_path / "db.sqlite3")
    assert outcome["journal_mode"] == "wal"
    assert outcome["writer_commits"] > 0 and outcome["writer_errors"] == []
    assert outcome["statuses"] == [302] * (2 * ROUNDS), outcome
    assert outcome["stored_status"] == "PAUSED"
    assert outcome["audited_pauses"] == ROUNDS


# --- The probe (runs in the subprocess) -------------------------------------------------------------------------


def probe(plain: bool) -> dict:
    import threading
    import time
    from datetime import UTC, datetime
    from decimal import Decimal

    import django
    from django.conf import settings

    if plain:  # the defaults before the fix, to see the failure
        settings.DATABASES["default"]["OPTIONS"] = {}
    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # as the test runner does: the "testserver" host, the locmem mail outbox

    from django.db import connection, transaction
    from django.test import Client
    from django.urls import reverse

    from accounts.models import AuditLog
    from subscriptions.models import Subscription
    from subscriptions.tests.factories import SubscriptionFactory
    from trading.engine.records import decision_log

    subscription = SubscriptionFactory(status=Subscription.Status.ACTIVE)
    with connection.cursor() as cursor:
        journal_mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]

    stop = threading.Event()
    writer = {"commits": 0, "errors": []}

    def engine_run():
        # The worker's shape: read the subscription, then write its decisions, in one transaction held a while.
        try:
            while not stop.is_set():
                try:
                    with transaction.atomic():
                        current = Subscription.objects.get(pk=subscription.pk)
                        for _ in range(20):
                            decision_log(
                                subscription=current,
                                action="HOLD",
                                timestamp=datetime.now(UTC),
                                price=Decimal("35000"),
                                quantity=Decimal("0"),
                                balance=Decimal("10000"),
                                signal_data={"fast": 1.0},
                            )
                        time.sleep(0.02)
                    writer["commits"] += 1
                    # Between two transactions the worker fetches candles or talks to the exchange. (SQLite's busy
                    # wait is not fair: a writer that never pauses would starve everyone else until the timeout.)
                    time.sleep(0.01)
                except Exception as error:  # noqa: BLE001 - reported to the test, which fails on any
                    writer["errors"].append(repr(error))
        finally:
            connection.close()

    thread = threading.Thread(target=engine_run)
    thread.start()
    client = Client(raise_request_exception=False)
    client.force_login(subscription.user)
    statuses = []
    try:
        for _ in range(ROUNDS):
            for name in ("subscriptions:resume", "subscriptions:pause"):
                response = client.post(reverse(name, args=[subscription.pk]))
                statuses.append(response.status_code)
    finally:
        stop.set()
        thread.join()
    subscription.refresh_from_db()
    return {
        "journal_mode": journal_mode,
        "writer_commits": writer["commits"],
        "writer_errors": writer["errors"][:3],
        "statuses": statuses,
        "stored_status": subscription.status,
        "audited_pauses": AuditLog.objects.filter(action__icontains="pause", record_id=subscription.pk).count(),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(BASE_DIR))
    print(json.dumps(probe(plain="--plain" in sys.argv[2:])))
