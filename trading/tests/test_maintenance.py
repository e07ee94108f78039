"""The periodic check of exchange keys against the fake Binance (how a verdict is stored: accounts/tests)."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditLog
from accounts.services import credential_create
from trading.maintenance import WITHDRAWALS_REFUSED, credentials_validate
from trading.tests.conftest import API_KEY, API_SECRET, make_testnet_subscription

# --- credential validation against the fake Binance ----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_it_marks_a_working_key_valid(alice, fake_binance, alice_key):
    now = timezone.now()
    assert credentials_validate(now=now) == 1

    alice_key.refresh_from_db()
    assert alice_key.validation_status == "valid" and alice_key.validation_error == ""
    assert alice_key.last_validated == now
    assert fake_binance.requests(path="/api/v3/account")[-1].api_key == API_KEY
    assert AuditLog.objects.filter(action="credential.validate", record_id=alice_key.pk).get().new_values == {
        "validation_status": "valid"
    }
    # Already valid: not checked again unless asked to.
    account_calls = len(fake_binance.requests(path="/api/v3/account"))
    assert credentials_validate(now=now) == 0
    assert len(fake_binance.requests(path="/api/v3/account")) == account_calls


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_wrong_secret_and_stops_the_subscriptions_that_use_the_key(
    alice, bob, sma_bot, fake_binance, mailoutbox
):
    wrong_secret = "wrong-secret-0123456789abcdefWXYZ"
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    credential = credential_create(
        user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=wrong_secret, is_testnet=True
    )
    uses_key = make_testnet_subscription(alice, sma_bot)
    paper = make_testnet_subscription(alice, sma_bot, is_paper=True)
    mainnet = make_testnet_subscription(alice, sma_bot, network_type="mainnet")
    bobs = make_testnet_subscription(bob, sma_bot)

    now = timezone.now()
    assert credentials_validate(now=now) == 1

    credential.refresh_from_db()
    assert credential.validation_status == "invalid" and credential.last_validated == now
    assert "refused the API key" in credential.validation_error
    uses_key.refresh_from_db()
    assert uses_key.status == "ERROR" and "failed validation" in uses_key.status_reason
    for untouched in (paper, mainnet, bobs):
        untouched.refresh_from_db()
        assert untouched.status == "ACTIVE"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["alice@example.com"]
    assert "stopped" in mailoutbox[0].subject
    shown = [credential.validation_error, uses_key.status_reason, uses_key.last_error, mailoutbox[0].body]
    shown += [str(a.new_values) for a in AuditLog.objects.all()]
    assert not any(API_KEY in text or wrong_secret in text or API_SECRET in text for text in shown)


@pytest.fixture
def alice_mainnet_key(alice, fake_binance):
    """Alice's mainnet key; the fake answers for Binance's live URLs too (EXCHANGE_API_BASE_URLS re-roots them)."""
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    return credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret=API_SECRET, is_testnet=False)


@pytest.mark.django_db(transaction=True)
def test_it_refuses_a_key_that_can_withdraw(alice, sma_bot, fake_binance, alice_mainnet_key, mailoutbox):
    fake_binance.set_restrictions(API_KEY, enableWithdrawals=True)
    subscription = make_testnet_subscription(alice, sma_bot, network_type="mainnet")

    now = timezone.now()
    assert credentials_validate(now=now) == 1

    alice_mainnet_key.refresh_from_db()
    assert alice_mainnet_key.validation_status == "invalid"
    assert alice_mainnet_key.validation_error == WITHDRAWALS_REFUSED
    assert "without withdrawal permission" in alice_mainnet_key.validation_error
    subscription.refresh_from_db()
    assert subscription.status == "ERROR" and "withdraw" in subscription.status_reason
    assert len(mailoutbox) == 1
    assert API_KEY not in mailoutbox[0].body and API_SECRET not in mailoutbox[0].body


@pytest.mark.django_db(transaction=True)
def test_it_accepts_a_mainnet_key_without_withdrawals(alice, fake_binance, alice_mainnet_key):
    now = timezone.now()
    assert credentials_validate(now=now) == 1

    alice_mainnet_key.refresh_from_db()
    assert alice_mainnet_key.validation_status == "valid"
    assert len(fake_binance.requests(path="/sapi/v1/account/apiRestrictions")) == 1


@pytest.mark.django_db(transaction=True)
def test_it_does_not_ask_the_testnet_about_withdrawals(alice, fake_binance, alice_key):
    # Binance's spot testnet has no /sapi endpoints (ccxt refuses them in sandbox mode) and holds no real money.
    fake_binance.set_restrictions(API_KEY, enableWithdrawals=True)

    now = timezone.now()
    assert credentials_validate(now=now) == 1

    alice_key.refresh_from_db()
    assert alice_key.validation_status == "valid"
    assert fake_binance.requests(path="/sapi/v1/account/apiRestrictions") == []


@pytest.mark.django_db(transaction=True)
def test_it_catches_a_valid_key_that_later_gained_withdrawals_on_a_full_recheck(alice, fake_binance, alice_mainnet_key):
    now = timezone.now()
    credentials_validate(now=now)
    fake_binance.set_restrictions(API_KEY, enableWithdrawals=True)

    assert credentials_validate(now=now, only_pending=True) == 0
    alice_mainnet_key.refresh_from_db()
    assert alice_mainnet_key.validation_status == "valid"

    assert credentials_validate(now=now + timedelta(days=1), only_pending=False) == 1
    alice_mainnet_key.refresh_from_db()
    assert alice_mainnet_key.validation_status == "invalid"
    assert alice_mainnet_key.validation_error == WITHDRAWALS_REFUSED
    assert alice_mainnet_key.last_validated == now + timedelta(days=1)


@pytest.mark.django_db(transaction=True)
def test_it_stops_subscriptions_only_when_the_key_becomes_invalid(alice, sma_bot, fake_binance, mailoutbox):
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    credential_create(user=alice, exchange="BINANCE", api_key=API_KEY, api_secret="not-the-secret-0123456789")
    make_testnet_subscription(alice, sma_bot)
    now = timezone.now()
    credentials_validate(now=now)

    later = make_testnet_subscription(alice, sma_bot)
    assert credentials_validate(now=now + timedelta(hours=1), only_pending=False) == 1

    later.refresh_from_db()
    assert later.status == "ACTIVE"  # credential_for refuses the invalid key when it runs: no second email here
    assert len(mailoutbox) == 1
    assert AuditLog.objects.filter(action="credential.validate").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_stops_a_marketplace_principals_subscriptions_with_its_key(alice, sma_bot, fake_binance, mailoutbox):
    principal = "rrkah-fqaaa-aaaaa-aaaaq-cai"
    fake_binance.add_account(API_KEY, API_SECRET, {"USDT": "10000"})
    credential_create(
        user=alice, exchange="BINANCE", api_key=API_KEY, api_secret="not-the-secret-0123456789", principal_id=principal
    )
    principals = make_testnet_subscription(alice, sma_bot, user_principal_id=principal)
    alices_own = make_testnet_subscription(alice, sma_bot)

    now = timezone.now()
    assert credentials_validate(now=now) == 1

    principals.refresh_from_db()
    alices_own.refresh_from_db()
    assert principals.status == "ERROR"
    assert alices_own.status == "ACTIVE"  # her own subscriptions use her own key, not the principal's
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("outage", ["closed_port", "http_503"])
def test_it_leaves_the_key_pending_when_the_exchange_is_unreachable(
    alice, sma_bot, fake_binance, alice_key, settings, mailoutbox, outage
):
    if outage == "closed_port":
        settings.EXCHANGE_API_BASE_URLS = {"BINANCE": f"http://127.0.0.1:{_closed_port()}"}
    else:
        fake_binance.arm_fault("http_5xx", method="GET", path="/api/v3/account", status=503)
    subscription = make_testnet_subscription(alice, sma_bot)

    now = timezone.now()
    assert credentials_validate(now=now) == 0

    alice_key.refresh_from_db()
    assert alice_key.validation_status == "pending"
    assert alice_key.last_validated is None and alice_key.validation_error == ""
    subscription.refresh_from_db()
    assert subscription.status == "ACTIVE" and mailoutbox == []
    # The next run, with the exchange back, gives the verdict.
    settings.EXCHANGE_API_BASE_URLS = {"BINANCE": fake_binance.base_url}
    assert credentials_validate(now=now) == 1
