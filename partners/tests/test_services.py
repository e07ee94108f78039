"""partners.services: registrations, principals' users, keys and subscriptions; every write audited, nothing stored
on bad input."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from accounts import api_keys, crypto
from accounts.exceptions import CredentialError
from accounts.models import AuditLog, ExchangeCredential, User
from accounts.tests.factories import UserFactory
from bots.models import Bot
from bots.tests.factories import BotFactory
from partners import services
from partners.exceptions import CredentialConflict, PrincipalInvalid, PrincipalUnavailable, RegistrationInvalid
from partners.models import BotMarketplaceRegistration
from partners.tests.conftest import ALICE_P, API_KEY, API_SECRET, BOB_P
from subscriptions.exceptions import SubscriptionInvalid
from subscriptions.models import Subscription


def _store(registration, principal=ALICE_P, **fields):
    values = {"exchange": "BINANCE", "network": "testnet", "api_key": API_KEY, "api_secret": API_SECRET}
    values.update(fields)
    return services.principal_credential_store(registration=registration, principal_id=principal, **values)


def _subscribe(registration, principal=ALICE_P, **fields):
    now = timezone.now()
    values = {
        "network_type": "testnet",
        "exchange_type": "BINANCE",
        "trading_pair": "BTC/USDT",
        "timeframe": "1h",
        "expires_at": now + timedelta(days=7),
        "strategy_config": {"fast": 5, "slow": 20},
        "now": now,
    }
    values.update(fields)
    return services.principal_subscription_create(registration=registration, principal_id=principal, **values)


# --- Registrations ---------------------------------------------------------------------------------------------


def test_it_registers_an_approved_bot_and_keeps_only_the_keys_hash(acme, sma):
    partner, _ = acme
    registration, clear_key = services.registration_create(
        partner=partner,
        bot=sma,
        marketplace_name=" Acme SMA ",
        marketplace_description="Trend following.",
        price_on_marketplace=Decimal("19.5"),
    )
    registration.refresh_from_db()
    assert clear_key.startswith(api_keys.MARKETPLACE_KEY_PREFIX)
    assert registration.api_key == api_keys.hash_key(clear_key) and clear_key not in registration.api_key
    assert registration.partner == partner and registration.user_principal_id == partner.user_principal_id
    assert (registration.marketplace_name, registration.price_on_marketplace) == ("Acme SMA", Decimal("19.50"))
    assert registration.commission_rate == Decimal("0.1000")
    assert registration.is_active and registration.status == "approved"
    audit = AuditLog.objects.get(action="marketplace_registration.create")
    assert audit.user == partner and audit.record_id == registration.pk
    assert clear_key not in str(audit.new_values) and registration.api_key not in str(audit.new_values)


def test_it_refuses_a_registration_from_a_non_partner_or_of_an_unapproved_bot(acme, alice, sma):
    with pytest.raises(RegistrationInvalid, match="not a partner"):
        services.registration_create(partner=alice, bot=sma, marketplace_name="X", price_on_marketplace=Decimal(1))
    pending = BotFactory(status=Bot.Status.PENDING)
    with pytest.raises(RegistrationInvalid) as caught:
        services.registration_create(
            partner=acme[0], bot=pending, marketplace_name="X", price_on_marketplace=Decimal(1)
        )
    assert caught.value.errors == {"bot": ["Only bots approved for the catalog can be registered."]}
    # A principal alone is not enough: the permission is staff's to grant.
    no_permission = UserFactory(user_principal_id="rrkah-fqaaa-aaaaa-aaaaq-cai")
    with pytest.raises(RegistrationInvalid):
        services.registration_create(partner=no_permission, bot=sma, marketplace_name="X", price_on_marketplace=1)
    assert not BotMarketplaceRegistration.objects.exists()


def test_it_refuses_a_second_active_registration_of_the_same_bot(acme_reg, acme, sma):
    with pytest.raises(RegistrationInvalid, match="already have an active registration"):
        services.registration_create(partner=acme[0], bot=sma, marketplace_name="Again", price_on_marketplace=1)
    services.registration_deactivate(registration=acme_reg[0], actor=acme[0])
    again, _ = services.registration_create(
        partner=acme[0], bot=sma, marketplace_name="Again", price_on_marketplace=Decimal(1)
    )
    assert again.is_active and BotMarketplaceRegistration.objects.count() == 2


def test_it_deactivates_a_registration_and_pauses_what_it_runs(acme_reg, acme):
    registration, _ = acme_reg
    _store(registration)
    running = _subscribe(registration)
    cancelled = _subscribe(registration)
    cancelled.status = Subscription.Status.CANCELLED
    cancelled.save()
    services.registration_deactivate(registration=registration, actor=acme[0])
    registration.refresh_from_db()
    running.refresh_from_db()
    cancelled.refresh_from_db()
    assert not registration.is_active and registration.status == "deactivated"
    assert running.status == "PAUSED" and "deactivated" in running.status_reason
    assert cancelled.status == "CANCELLED"
    audit = AuditLog.objects.get(action="marketplace_registration.deactivate")
    assert audit.new_values["paused_subscriptions"] == [running.pk]
    with pytest.raises(RegistrationInvalid, match="already deactivated"):
        services.registration_deactivate(registration=registration, actor=acme[0])


# --- Principals ------------------------------------------------------------------------------------------------


def test_it_creates_a_principals_user_once(acme):
    user = services.principal_user_get_or_create(principal_id=ALICE_P, actor=acme[0])
    assert user.user_principal_id == ALICE_P and user.role == User.Role.USER
    assert user.email.endswith("@principals.invalid") and ALICE_P not in user.email
    assert not user.has_usable_password() and user.api_key is None
    assert services.principal_user_get_or_create(principal_id=ALICE_P) == user
    assert User.objects.filter(user_principal_id=ALICE_P).count() == 1
    assert AuditLog.objects.filter(action="principal.create").count() == 1


def test_it_refuses_a_principal_that_is_a_site_account(acme):
    with pytest.raises(PrincipalUnavailable):
        services.principal_user_get_or_create(principal_id=acme[0].user_principal_id)
    with pytest.raises(PrincipalInvalid):
        services.principal_user_get_or_create(principal_id="2vxsx-fae")


# --- Keys ------------------------------------------------------------------------------------------------------


def test_it_stores_a_principals_key_encrypted(acme_reg, acme):
    registration, _ = acme_reg
    credential = _store(registration)
    credential.refresh_from_db()
    assert credential.principal_id == ALICE_P and credential.marketplace_registration == registration
    assert credential.user.user_principal_id == ALICE_P and credential.is_testnet
    assert API_KEY not in credential.api_key_encrypted and crypto.decrypt(credential.api_key_encrypted) == API_KEY
    assert credential.api_key_hint == API_KEY[-4:] and credential.validation_status == "pending"
    audit = AuditLog.objects.get(action="credential.create")
    assert audit.user == acme[0] and audit.new_values["principal_id"] == ALICE_P
    assert API_KEY not in str(audit.new_values) and API_SECRET not in str(audit.new_values)


def test_it_replaces_a_key_in_one_transaction(acme_reg, acme):
    registration, _ = acme_reg
    first = _store(registration)
    second = _store(registration, api_key="replacementKey-000000-ABCD", api_secret="replacementSecret-000000")
    assert not ExchangeCredential.objects.filter(pk=first.pk).exists()
    assert ExchangeCredential.objects.get().pk == second.pk and second.api_key_hint == "ABCD"
    assert [a.action for a in AuditLog.objects.filter(action__startswith="credential.").order_by("pk")] == [
        "credential.create",
        "credential.delete",
        "credential.create",
    ]


def test_it_keeps_the_old_key_when_the_replacement_is_bad(acme_reg):
    registration, _ = acme_reg
    first = _store(registration)
    with pytest.raises(CredentialError):
        _store(registration, api_key="short", api_secret="short")
    assert ExchangeCredential.objects.get().pk == first.pk


def test_it_shares_a_principals_keys_between_one_partners_registrations(acme, sma):
    first, _ = services.registration_create(
        partner=acme[0], bot=sma, marketplace_name="A", price_on_marketplace=Decimal(1)
    )
    other_bot = BotFactory(status=Bot.Status.APPROVED)
    second, _ = services.registration_create(
        partner=acme[0], bot=other_bot, marketplace_name="B", price_on_marketplace=Decimal(1)
    )
    _store(first)
    replaced = _store(second, api_key="secondRegistrationKey-0001")
    assert ExchangeCredential.objects.get().pk == replaced.pk


def test_it_refuses_a_key_another_partner_holds(acme_reg, globex_reg):
    _store(acme_reg[0])
    with pytest.raises(CredentialConflict) as caught:
        _store(globex_reg[0], api_key="globexKeyForAlice-0001")
    assert caught.value.status_code == 409 and "Another marketplace" in str(caught.value)
    assert ExchangeCredential.objects.get().marketplace_registration == acme_reg[0]
    # Another network, or another principal, is free.
    _store(globex_reg[0], network="mainnet")
    _store(globex_reg[0], principal=BOB_P)
    assert ExchangeCredential.objects.count() == 3


def test_it_refuses_a_key_while_another_partners_subscriptions_would_use_it(acme_reg, globex_reg, acme):
    credential = _store(acme_reg[0])
    _subscribe(acme_reg[0])
    services.principal_credential_delete(credential=credential, actor=acme[0])
    with pytest.raises(CredentialConflict, match="subscriptions"):
        _store(globex_reg[0])
    assert not ExchangeCredential.objects.exists()


# --- Subscriptions ---------------------------------------------------------------------------------------------


def test_it_subscribes_a_principal_for_a_window(acme_reg, acme):
    registration, _ = acme_reg
    _store(registration)
    start = timezone.now() + timedelta(days=1)
    subscription = _subscribe(
        registration, started_at=start, expires_at=start + timedelta(days=3), trade_evaluation_period=30
    )
    subscription.refresh_from_db()
    assert subscription.user.user_principal_id == ALICE_P and subscription.user_principal_id == ALICE_P
    assert subscription.marketplace_registration == registration and subscription.bot == registration.bot
    assert (subscription.started_at, subscription.expires_at) == (start, start + timedelta(days=3))
    assert subscription.trade_evaluation_period == 30 and subscription.network_type == "testnet"
    assert not subscription.is_paper and subscription.status == "ACTIVE"
    audit = AuditLog.objects.get(action="subscription.create")
    assert audit.user == acme[0] and audit.new_values["user_principal_id"] == ALICE_P


def test_it_refuses_a_subscription_without_this_partners_key(acme_reg, globex_reg):
    with pytest.raises(SubscriptionInvalid) as caught:
        _subscribe(acme_reg[0])
    assert "network_type" in caught.value.errors and "mode" not in caught.value.errors
    _store(globex_reg[0])  # another partner's key for alice is never used by acme
    with pytest.raises(SubscriptionInvalid) as caught:
        _subscribe(acme_reg[0])
    assert caught.value.errors["network_type"] == [
        "Add the principal's Binance testnet API key through the partner API first."
    ]
    assert not Subscription.objects.exists()
    # Nothing is left behind by the refusal: not even alice's principal user (created by globex's key store only).
    assert User.objects.filter(user_principal_id=ALICE_P).count() == 1


def test_it_needs_a_validated_key_for_mainnet(acme_reg):
    _store(acme_reg[0], network="mainnet")
    with pytest.raises(SubscriptionInvalid, match="passed validation"):
        _subscribe(acme_reg[0], network_type="mainnet")
    ExchangeCredential.objects.update(validation_status="valid")
    assert _subscribe(acme_reg[0], network_type="mainnet").network_type == "mainnet"


def test_it_refuses_a_deactivated_registration(acme_reg, acme):
    _store(acme_reg[0])
    services.registration_deactivate(registration=acme_reg[0], actor=acme[0])
    with pytest.raises(RegistrationInvalid):
        _subscribe(acme_reg[0])
    with pytest.raises(RegistrationInvalid):
        _store(acme_reg[0])
    assert not Subscription.objects.exists()


def test_it_refuses_a_partner_without_permission_any_more(acme_reg, acme):
    from partners.selectors import registration_refusal

    acme[0].user_permissions.remove(Permission.objects.get(codename="add_botmarketplaceregistration"))
    registration = BotMarketplaceRegistration.objects.select_related("bot", "partner").get(pk=acme_reg[0].pk)
    assert "disabled" in registration_refusal(registration)
