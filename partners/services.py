"""Writes of the partner marketplace API: registrations, the principals' users, keys and subscriptions.

Every function is keyword-only and atomic; those touching keys, money or access write an audit row naming the
partner account. The subscription and credential rules themselves stay in subscriptions.services and
accounts.services: these functions add the partner's scoping around them (docs/partner-api.md).
"""

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from accounts import api_keys
from accounts.models import Exchange, ExchangeCredential, User
from accounts.networks import network_problem
from accounts.services import audit_log_record, credential_create, credential_delete
from bots.models import Bot
from partners.exceptions import CredentialConflict, PartnerError, PrincipalUnavailable, RegistrationInvalid
from partners.models import BotMarketplaceRegistration
from partners.principals import end_user_principal_validate, is_principal_user, principal_email
from partners.selectors import is_partner
from subscriptions import services as subscription_services
from subscriptions.exceptions import SubscriptionInvalid
from subscriptions.models import Subscription

NETWORKS = {"testnet": True, "mainnet": False}
STATUS_APPROVED = "approved"
STATUS_DEACTIVATED = "deactivated"
# What a deactivation pauses: subscriptions that nobody could manage any more once the key stops working.
RUNNING = (Subscription.Status.ACTIVE, Subscription.Status.ERROR)


# --- Registrations ---------------------------------------------------------------------------------------------


@transaction.atomic
def registration_create(
    *,
    partner: User,
    bot: Bot,
    marketplace_name: str,
    price_on_marketplace: Decimal,
    marketplace_description: str = "",
    request: HttpRequest | None = None,
) -> tuple[BotMarketplaceRegistration, str]:
    """Register an approved `bot` on the partner's marketplace; returns (registration, its bot API key in clear).

    The clear key is returned this once: only its SHA-256 hash is stored. The commission rate is the platform's
    default. Raises RegistrationInvalid (nothing stored) when `partner` is not a partner marketplace, the bot is not
    approved, the partner already has an active registration of it, or a field is bad.
    """
    if not is_partner(partner):
        raise RegistrationInvalid("This account is not a partner marketplace; ask the staff for access.")
    if bot.status != Bot.Status.APPROVED:
        raise RegistrationInvalid("Only bots approved for the catalog can be registered.", field="bot")
    name = (marketplace_name or "").strip()
    if not name or len(name) > 255:
        raise RegistrationInvalid(
            "Give the bot's name on your marketplace (at most 255 characters).", field="marketplace_name"
        )
    if price_on_marketplace is None or price_on_marketplace < 0:
        raise RegistrationInvalid("The price cannot be negative.", field="price_on_marketplace")
    # Locks the partner's row: two concurrent registrations of the same bot by one partner serialise here.
    User.objects.select_for_update().filter(pk=partner.pk).first()
    if BotMarketplaceRegistration.objects.filter(partner=partner, bot=bot, is_active=True).exists():
        raise RegistrationInvalid(
            "You already have an active registration of this bot; use its key or deactivate it first.", field="bot"
        )
    clear_key = api_keys.generate(api_keys.MARKETPLACE_KEY_PREFIX)
    registration = BotMarketplaceRegistration.objects.create(
        partner=partner,
        user_principal_id=partner.user_principal_id,
        bot=bot,
        api_key=api_keys.hash_key(clear_key),
        status=STATUS_APPROVED,
        marketplace_name=name,
        marketplace_description=(marketplace_description or "").strip(),
        price_on_marketplace=price_on_marketplace.quantize(Decimal("0.01")),
        is_active=True,
    )
    audit_log_record(
        actor=partner,
        action="marketplace_registration.create",
        instance=registration,
        new_values={
            "bot": bot.slug,
            "marketplace_name": name,
            "price_on_marketplace": str(registration.price_on_marketplace),
            "commission_rate": str(registration.commission_rate),
        },
        request=request,
    )
    return registration, clear_key


@transaction.atomic
def registration_deactivate(
    *, registration: BotMarketplaceRegistration, actor: User, request: HttpRequest | None = None
) -> BotMarketplaceRegistration:
    """Deactivate a registration (the partner's own choice or staff's): its key fails from the next request on.

    Its running subscriptions (ACTIVE or ERROR) are paused with a reason: once the key is dead nobody could stop
    them. Raises RegistrationInvalid if it is already deactivated. The row is locked so two deactivations (or a
    deactivation and a subscription being created with the key) do not interleave.
    """
    locked = BotMarketplaceRegistration.objects.select_for_update().get(pk=registration.pk)
    if not locked.is_active:
        raise RegistrationInvalid("This registration is already deactivated.")
    old_values = {"is_active": True, "status": locked.status}
    locked.is_active = False
    locked.status = STATUS_DEACTIVATED
    locked.save(update_fields=["is_active", "status"])
    paused = []
    for subscription in locked.subscriptions.filter(status__in=RUNNING).order_by("pk"):
        subscription_services.subscription_pause(
            subscription=subscription,
            actor=actor,
            reason="The marketplace registration that created it was deactivated.",
            request=request,
        )
        paused.append(subscription.pk)
    audit_log_record(
        actor=actor,
        action="marketplace_registration.deactivate",
        instance=locked,
        old_values=old_values,
        new_values={"is_active": False, "status": STATUS_DEACTIVATED, "paused_subscriptions": paused},
        request=request,
    )
    registration.is_active, registration.status = locked.is_active, locked.status
    return locked


def _registration_usable(registration: BotMarketplaceRegistration) -> None:
    if not registration.is_active:
        raise RegistrationInvalid("This marketplace registration is deactivated.")


# --- Principals ------------------------------------------------------------------------------------------------


# Inserts tried before giving up; a second one is needed only when an address is somehow taken already.
PRINCIPAL_CREATE_ATTEMPTS = 3


@transaction.atomic
def principal_user_get_or_create(*, principal_id: str, actor: User | None = None) -> User:
    """The user row standing for an end user's principal, found by its principal id and created on first use
    (unusable password, role USER, a placeholder address from principal_email()).

    Raises PrincipalInvalid for a malformed or non-end-user principal, PrincipalUnavailable when the principal is
    a site account's own (e.g. a partner's). Two first uses at once: the unique user_principal_id lets one insert
    win; the other reads the winner's row. A row already holding the placeholder address (a person's account from
    before the domain was reserved) never stands in the way: another address is drawn.
    """
    end_user_principal_validate(principal_id)
    user = User.objects.filter(user_principal_id=principal_id).first()
    for _attempt in range(PRINCIPAL_CREATE_ATTEMPTS):
        if user is not None:
            break
        try:
            with transaction.atomic():  # a savepoint: the losing insert of a race rolls back alone
                user = User.objects.create_user(email=principal_email(), password=None, user_principal_id=principal_id)
        except IntegrityError:
            # Either another request created this principal's user (read it) or the address was taken (draw again).
            user = User.objects.filter(user_principal_id=principal_id).first()
        else:
            audit_log_record(
                actor=actor, action="principal.create", instance=user, new_values={"user_principal_id": principal_id}
            )
    if user is None:
        raise PrincipalUnavailable("This principal cannot be set up right now: try again.", field="principal")
    if not is_principal_user(user):
        raise PrincipalUnavailable(
            "This principal belongs to an account of this site, not to a marketplace user.", field="principal"
        )
    return user


def credential_slot(*, exchange: str, network: str) -> bool:
    """Check an exchange code and a network name from a URL; returns is_testnet. Raises PartnerError (a 400
    naming the field) for an unknown exchange, or a network other than testnet / mainnet."""
    if exchange not in Exchange.values:
        raise PartnerError(f"Choose one of {', '.join(Exchange.values)}.", field="exchange")
    if network not in NETWORKS:
        raise PartnerError("Choose testnet or mainnet.", field="network")
    return NETWORKS[network]


# --- A principal's exchange keys -------------------------------------------------------------------------------


@sensitive_variables("api_key", "api_secret", "passphrase")
@transaction.atomic
def principal_credential_store(
    *,
    registration: BotMarketplaceRegistration,
    principal_id: str,
    exchange: str,
    network: str,
    api_key: str,
    api_secret: str,
    passphrase: str | None = None,
    request: HttpRequest | None = None,
) -> ExchangeCredential:
    """Store the principal's key for one exchange and network, replacing the partner's previous one in the same
    transaction (delete + create, both audited); returns the new credential (encrypted, validation pending).

    Raises CredentialConflict when another partner holds the principal's key for that exchange and network (one
    key per network: the seed's unique key) or still has live subscriptions of the principal there, which would
    otherwise trade with this key; CredentialError (accounts) for a malformed key; nothing is stored then.
    """
    _registration_usable(registration)
    is_testnet = credential_slot(exchange=exchange, network=network)
    # Refused before anything is touched (a testnet the exchange does not have); deleting such a key stays allowed.
    problem = network_problem(exchange, testnet=is_testnet)
    if problem:
        raise PartnerError(problem, field="network")
    partner = registration.partner
    principal_user = principal_user_get_or_create(principal_id=principal_id, actor=partner)
    # The lock serialises two replacements of the same key; a first-ever store is settled by the unique key below.
    existing = (
        ExchangeCredential.objects.select_for_update()
        .select_related("marketplace_registration")
        .filter(principal_id=principal_id, exchange=exchange, is_testnet=is_testnet)
        .first()
    )
    if existing is not None and (
        existing.marketplace_registration is None or existing.marketplace_registration.partner_id != partner.pk
    ):
        raise CredentialConflict(
            f"Another marketplace holds this principal's {Exchange(exchange).label} {network} key; "
            "a principal has one key per exchange and network."
        )
    others_running = (
        Subscription.objects.filter(
            user_principal_id=principal_id,
            exchange_type=exchange,
            network_type=network,
            status__in=[Subscription.Status.ACTIVE, Subscription.Status.PAUSED, Subscription.Status.ERROR],
        )
        .exclude(marketplace_registration__partner_id=partner.pk)
        .exists()
    )
    if others_running:
        raise CredentialConflict(
            f"Another marketplace has subscriptions of this principal on {Exchange(exchange).label} {network}; "
            "they would trade with this key."
        )
    if existing is not None:
        credential_delete(credential=existing, actor=partner, request=request)
    try:
        return credential_create(
            user=principal_user,
            principal_id=principal_id,
            marketplace_registration=registration,
            exchange=exchange,
            api_key=api_key,
            api_secret=api_secret,
            passphrase=passphrase,
            is_testnet=is_testnet,
            actor=partner,
            request=request,
        )
    except IntegrityError:
        # A concurrent first store of the same principal's key won the unique key (principal, exchange, network).
        raise CredentialConflict("This principal's key was stored by another request at the same moment.") from None


@transaction.atomic
def principal_credential_delete(*, credential: ExchangeCredential, actor: User, request=None) -> None:
    """Delete a principal's key (the caller found it with partners.selectors.principal_credential_get, so it is
    the partner's own). Subscriptions using it stop at their next run until a key is stored again."""
    credential_delete(credential=credential, actor=actor, request=request)


# --- A principal's subscriptions -------------------------------------------------------------------------------


@transaction.atomic
def principal_subscription_create(
    *,
    registration: BotMarketplaceRegistration,
    principal_id: str,
    network_type: str,
    exchange_type: str,
    trading_pair: str,
    timeframe: str,
    expires_at: datetime,
    started_at: datetime | None = None,
    instance_name: str = "",
    timeframes: list[str] | None = None,
    trade_evaluation_period: int | None = None,
    trade_mode: str = Subscription.TradeMode.SPOT,
    strategy_config: dict | None = None,
    execution_config: dict | None = None,
    risk_config: dict | None = None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Subscribe the principal to the registration's bot for the window `started_at` (default now) to `expires_at`,
    on testnet or mainnet with the principal's key stored by this partner (mainnet: a validated one).

    Choosing mainnet through the API is the confirmation the site's form asks for. Raises PrincipalInvalid /
    PrincipalUnavailable, RegistrationInvalid, or SubscriptionInvalid with fields named as the API's (`network_type`
    for the network and the key); nothing is stored then.
    """
    _registration_usable(registration)
    if network_type not in NETWORKS:
        raise PartnerError("Choose testnet or mainnet.", field="network_type")
    principal_user = principal_user_get_or_create(principal_id=principal_id, actor=registration.partner)
    try:
        return subscription_services.subscription_create(
            user=principal_user,
            bot=registration.bot,
            mode=network_type,
            exchange_type=exchange_type,
            trading_pair=trading_pair,
            timeframe=timeframe,
            instance_name=instance_name,
            strategy_config=strategy_config,
            execution_config=execution_config,
            risk_config=risk_config,
            mainnet_confirmed=True,
            user_principal_id=principal_id,
            marketplace_registration=registration,
            started_at=started_at,
            expires_at=expires_at,
            trade_evaluation_period=trade_evaluation_period,
            timeframes=timeframes,
            trade_mode=trade_mode,
            actor=registration.partner,
            request=request,
            now=now,
        )
    except SubscriptionInvalid as invalid:
        # The service names the network (and the key it needs) "mode"; the partner API calls it network_type.
        raise SubscriptionInvalid(
            {("network_type" if field == "mode" else field): messages for field, messages in invalid.errors.items()}
        ) from None
