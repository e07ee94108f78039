"""How a key check's verdict is stored (the check itself: trading/tests/test_maintenance.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.maintenance import credential_verdict_store
from accounts.models import ExchangeCredential
from accounts.services import credential_create
from trading.tests.conftest import API_KEY, API_SECRET


@pytest.mark.django_db
def test_it_stores_no_verdict_on_a_key_edited_during_the_check(alice):
    credential = credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=API_SECRET)
    as_read = ExchangeCredential.objects.get(pk=credential.pk)
    ExchangeCredential.objects.filter(pk=credential.pk).update(updated_at=timezone.now() + timedelta(seconds=1))

    now = timezone.now()
    stored = credential_verdict_store(credential=as_read, status="invalid", error="refused", now=now)

    assert stored is None
    credential.refresh_from_db()
    assert credential.validation_status == "pending" and credential.last_validated is None
