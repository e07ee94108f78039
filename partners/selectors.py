"""Reads of the partner marketplace API, each scoped to the partner or registration asking.

The isolation rules (docs/partner-api.md) live here: a registration sees only the subscriptions it made for a
principal; a principal's keys are seen by the registrations of the partner that stored them, never by another
partner's. Anything out of scope is a 404, exactly as if it did not exist.
"""

from django.db.models import QuerySet
from django.http import Http404

from accounts import api_keys
from accounts.models import ExchangeCredential, User
from bots.models import Bot
from partners.models import BotMarketplaceRegistration
from subscriptions.models import PerformanceLog, Subscription, Trade
from subscriptions.selectors import subscription_decisions

PARTNER_PERMISSION = "partners.add_botmarketplaceregistration"
# Largest primary key the database holds (BIGINT): a larger id in a URL is simply not found.
MAX_PK = 2**63 - 1


def is_partner(user: User) -> bool:
    """A partner marketplace: an active account with its own principal id and the permission staff grant."""
    return bool(
        user.is_authenticated and user.is_active and user.user_principal_id and user.has_perm(PARTNER_PERMISSION)
    )


def registration_list(*, partner: User) -> QuerySet[BotMarketplaceRegistration]:
    """The partner's registrations, newest first, with their bot: one query whatever their number."""
    return (
        BotMarketplaceRegistration.objects.filter(partner=partner)
        .select_related("bot")
        .order_by("-registered_at", "-pk")
    )


def registration_get(*, partner: User, pk: int) -> BotMarketplaceRegistration:
    """One of the partner's registrations; raises Http404 for anyone else's."""
    if pk > MAX_PK:
        raise Http404
    registration = registration_list(partner=partner).filter(pk=pk).first()
    if registration is None:
        raise Http404
    return registration


def registration_for_key(clear_key: str) -> BotMarketplaceRegistration | None:
    """The registration whose bot API key is `clear_key`, with its bot and partner, or None.

    Read from the database on every request, never cached: a deactivation takes effect on the very next one.
    """
    stored_hash = api_keys.hash_key(clear_key)
    registration = (
        BotMarketplaceRegistration.objects.select_related("bot", "partner").filter(api_key=stored_hash).first()
    )
    # The indexed lookup found the row; matches() repeats the comparison in constant time.
    if registration is None or not api_keys.matches(clear_key, registration.api_key):
        return None
    return registration


def registration_refusal(registration: BotMarketplaceRegistration) -> str:
    """Why the registration's key may not be used now ("" when it may)."""
    partner = registration.partner
    if not registration.is_active or registration.status != "approved":
        return "This marketplace registration is deactivated."
    if registration.bot.status != Bot.Status.APPROVED:
        return "This registration's bot is no longer in the catalog."
    if partner is None or not is_partner(partner):
        return "The partner account behind this registration is disabled."
    return ""


def principal_credentials(*, registration: BotMarketplaceRegistration, principal_id: str):
    """The principal's keys stored by this registration's partner (any of its registrations), by exchange."""
    return ExchangeCredential.objects.owned_by(registration=registration, principal_id=principal_id).order_by(
        "exchange", "-is_testnet", "pk"
    )


def principal_credential_get(
    *, registration: BotMarketplaceRegistration, principal_id: str, exchange: str, is_testnet: bool
) -> ExchangeCredential:
    """The principal's key for one exchange and network as this partner stored it; raises Http404 otherwise."""
    credential = (
        principal_credentials(registration=registration, principal_id=principal_id)
        .filter(exchange=exchange, is_testnet=is_testnet)
        .first()
    )
    if credential is None:
        raise Http404
    return credential


def principal_subscriptions(*, registration: BotMarketplaceRegistration, principal_id: str) -> QuerySet[Subscription]:
    """The subscriptions this registration made for the principal, newest first, bot joined: one query."""
    return (
        Subscription.objects.owned_by(registration=registration, principal_id=principal_id)
        .select_related("bot")
        .order_by("-started_at", "-pk")
    )


def principal_subscription_get(*, registration: BotMarketplaceRegistration, principal_id: str, pk: int) -> Subscription:
    """One subscription this registration made for the principal; raises Http404 for any other."""
    if pk > MAX_PK:
        raise Http404
    subscription = principal_subscriptions(registration=registration, principal_id=principal_id).filter(pk=pk).first()
    if subscription is None:
        raise Http404
    return subscription


def principal_subscription_trades(*, subscription: Subscription) -> QuerySet[Trade]:
    """The subscription's trades, open and closed, newest entry first (paginate it)."""
    return Trade.objects.filter(subscription=subscription).order_by("-entry_time", "-pk")


def principal_subscription_performance(*, subscription: Subscription) -> QuerySet[PerformanceLog]:
    """Every decision the engine logged for the subscription (HOLD included), newest first (paginate it)."""
    return subscription_decisions(subscription=subscription)
