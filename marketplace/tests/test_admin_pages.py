"""Every admin page renders for staff with a bounded number of queries, and none shows a secret."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import credential_create
from accounts.tests.factories import AuditLogFactory
from bots.tests.factories import BotPerformanceFactory, BotReviewFactory, BotVersionFactory
from partners.tests.factories import BotMarketplaceRegistrationFactory
from subscriptions.tests.factories import ClosedTradeFactory, PerformanceLogFactory

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def _populate(rows: int, owner) -> None:
    for _ in range(rows):
        BotReviewFactory()
        BotVersionFactory()
        BotPerformanceFactory()
        BotMarketplaceRegistrationFactory()
        ClosedTradeFactory()
        PerformanceLogFactory()
        AuditLogFactory()


def _changelists():
    return [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]


@pytest.mark.django_db
def test_it_lists_every_model_with_a_query_count_that_does_not_grow(staff_client, alice):
    _populate(2, alice)
    small = {}
    for url in _changelists():
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(url).status_code == 200, url
        small[url] = len(queries)
    _populate(6, alice)
    for url in _changelists():
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(url).status_code == 200, url
        assert len(queries) <= small[url], f"{url}: {small[url]} queries with few rows, {len(queries)} with more"


@pytest.mark.django_db
def test_it_never_shows_a_credential_secret_in_the_admin(staff_client, alice):
    credential = credential_create(user=alice, exchange="BINANCE", api_key=KEY, api_secret=SECRET)
    pages = [
        reverse("admin:accounts_exchangecredential_changelist"),
        reverse("admin:accounts_exchangecredential_change", args=[credential.pk]),
        reverse("admin:accounts_auditlog_changelist"),
    ]
    for url in pages:
        html = staff_client.get(url).content.decode()
        assert SECRET not in html and KEY not in html, url
        assert credential.api_key_encrypted not in html and credential.api_secret_encrypted not in html, url
    assert KEY[-4:] in staff_client.get(pages[0]).content.decode()
