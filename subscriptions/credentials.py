"""Which exchange credential trades for a subscription: the one rule, read by the subscribe service (to refuse a
subscription up front), by the engine (before every exchange run) and when a key is refused (to stop every
subscription that uses it).

The rule: an active key on the subscription's exchange and network, owned by the subscription's owner; for a
marketplace principal, the principal's key stored by the same partner (another partner's key for the principal never
trades for this partner's subscription, docs/partner-api.md). Mainnet needs a key that passed validation; an invalid
key never trades.
"""

from django.db.models import Q

from accounts.models import Exchange, ExchangeCredential, User
from subscriptions.exceptions import SubscriptionError
from subscriptions.models import Subscription

V = ExchangeCredential.ValidationStatus


class CredentialUnusable(SubscriptionError):
    """The subscription has no key it may trade with; `str(exc)` says why, for its owner."""


def _active_key(
    *, exchange: str, testnet: bool, user_id: int, principal_id: str | None, registration_id: int | None
) -> ExchangeCredential | None:
    """The active key of the owner (a user, or a marketplace principal: an empty principal counts as none)."""
    keys = ExchangeCredential.objects.filter(exchange=exchange, is_testnet=testnet, is_active=True)
    if principal_id and registration_id:
        keys = keys.owned_by(registration=registration_id, principal_id=principal_id)
    elif principal_id:  # a principal's subscription imported from the original system, which kept no registration
        keys = keys.filter(principal_id=principal_id)
    else:
        keys = keys.owned_by(user_id)
    return keys.first()


def _refusal(credential: ExchangeCredential | None, *, testnet: bool) -> str:
    """Why the key may not trade: "missing", "invalid" or "unvalidated"; "" when it may."""
    if credential is None:
        return "missing"
    if credential.validation_status == V.INVALID:
        return "invalid"
    if not testnet and credential.validation_status != V.VALID:
        return "unvalidated"
    return ""


def credential_for(subscription: Subscription) -> ExchangeCredential:
    """The key that trades for `subscription`. Raises CredentialUnusable (with words for the owner) when there is
    none it may use."""
    testnet = subscription.network_type == Subscription.NetworkType.TESTNET
    credential = _active_key(
        exchange=subscription.exchange_type,
        testnet=testnet,
        user_id=subscription.user_id,
        principal_id=subscription.user_principal_id,
        registration_id=subscription.marketplace_registration_id,
    )
    network = "testnet" if testnet else "mainnet"
    refusal = _refusal(credential, testnet=testnet)
    if refusal == "missing":
        raise CredentialUnusable(f"No active {subscription.exchange_type} {network} API key is connected.")
    if refusal == "invalid":
        raise CredentialUnusable(f"The {network} API key is invalid: {credential.validation_error or 'replace it'}.")
    if refusal == "unvalidated":
        raise CredentialUnusable("Mainnet trading needs an API key that passed validation; validate it first.")
    return credential


def credential_problem(*, user: User, exchange_type: str, mode: str, marketplace_registration=None) -> str:
    """Why `user` could not trade `mode` ("testnet" or "mainnet") on `exchange_type` with their keys, in words for
    the subscribe form; "" when they could. The same rule as credential_for, asked before the subscription exists.

    For a marketplace principal (`user.user_principal_id` with `marketplace_registration`), the key is the
    principal's one stored by the same partner."""
    testnet = mode == "testnet"
    label = Exchange(exchange_type).label
    if marketplace_registration is not None:
        principal_id, registration_id = user.user_principal_id, marketplace_registration.pk
        whose, where = "The principal's", "through the partner API"
    else:
        principal_id, registration_id = None, None
        whose, where = "Your", "on the credentials page"
    credential = _active_key(
        exchange=exchange_type,
        testnet=testnet,
        user_id=user.pk,
        principal_id=principal_id,
        registration_id=registration_id,
    )
    refusal = _refusal(credential, testnet=testnet)
    if refusal == "missing":
        return f"Add {whose.lower()} {label} {mode} API key {where} first."
    if refusal == "invalid":
        return f"{whose} {label} {mode} API key was refused by the exchange; replace it first."
    if refusal == "unvalidated":
        return f"Real-money trading needs a {label} mainnet key that passed validation; it has not yet."
    return ""


def subscriptions_using(credential: ExchangeCredential) -> list[int]:
    """The ids of the ACTIVE non-paper subscriptions credential_for would give this credential, in id order."""
    network = Subscription.NetworkType.TESTNET if credential.is_testnet else Subscription.NetworkType.MAINNET
    subscriptions = Subscription.objects.filter(
        exchange_type=credential.exchange, network_type=network, is_paper=False, status=Subscription.Status.ACTIVE
    )
    if credential.principal_id:
        subscriptions = subscriptions.filter(user_principal_id=credential.principal_id)
        if credential.marketplace_registration_id:
            subscriptions = subscriptions.filter(
                marketplace_registration__partner__marketplace_registrations=credential.marketplace_registration_id
            )
    else:
        # credential_for treats an empty principal like none.
        subscriptions = subscriptions.filter(user_id=credential.user_id).filter(
            Q(user_principal_id__isnull=True) | Q(user_principal_id="")
        )
    return list(subscriptions.order_by("pk").values_list("pk", flat=True))
