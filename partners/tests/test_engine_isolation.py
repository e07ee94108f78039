"""The engine itself keeps partners apart: a principal's key stored by one partner never trades for another's."""

from datetime import datetime

import pytest

from accounts.tests.factories import ExchangeCredentialFactory
from partners.services import principal_subscription_create, principal_user_get_or_create
from partners.tests.conftest import ALICE_P, window
from subscriptions.credentials import CredentialUnusable, credential_for, subscriptions_using
from trading.engine.health import run_failed


def _subscribe(registration):
    return principal_subscription_create(
        registration=registration,
        principal_id=ALICE_P,
        network_type="testnet",
        exchange_type="BINANCE",
        trading_pair="BTC/USDT",
        timeframe="1h",
        started_at=None,
        expires_at=datetime.fromisoformat(window()["expires_at"]),
    )


@pytest.mark.django_db
def test_it_uses_only_a_key_the_same_partner_stored(acme_reg, globex_reg):
    acme_registration, _ = acme_reg
    globex_registration, _ = globex_reg
    principal = principal_user_get_or_create(principal_id=ALICE_P)
    acme_key = ExchangeCredentialFactory(
        user=principal, principal_id=ALICE_P, marketplace_registration=acme_registration, exchange="BINANCE"
    )
    subscription = _subscribe(acme_registration)
    assert credential_for(subscription) == acme_key
    assert subscriptions_using(acme_key) == [subscription.pk]

    # The same principal's key, had it been stored by globex (the services refuse that; the engine must not rely
    # on them): acme's subscription cannot trade with it.
    acme_key.marketplace_registration = globex_registration
    acme_key.save(update_fields=["marketplace_registration"])
    with pytest.raises(CredentialUnusable):
        credential_for(subscription)
    assert subscriptions_using(acme_key) == []


@pytest.mark.django_db
def test_it_emails_the_partner_when_a_principals_subscription_stops(
    acme, acme_reg, mailoutbox, django_capture_on_commit_callbacks
):
    registration, _ = acme_reg
    principal = principal_user_get_or_create(principal_id=ALICE_P)
    ExchangeCredentialFactory(
        user=principal, principal_id=ALICE_P, marketplace_registration=registration, exchange="BINANCE"
    )
    subscription = _subscribe(registration)
    with django_capture_on_commit_callbacks(execute=True):
        run_failed(subscription_id=subscription.pk, message="The exchange refused the order.", stop=True)
    subscription.refresh_from_db()
    assert subscription.status == "ERROR"
    assert [message.to for message in mailoutbox] == [[acme[0].email]]
