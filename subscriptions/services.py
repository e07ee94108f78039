"""Writes of the subscriptions app: subscribing, changing settings, and status changes through one transition map;
each audited."""

from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Exchange, ExchangeCredential, User
from accounts.networks import network_problem
from accounts.services import audit_log_record
from bots.models import Bot
from bots.runtime import BotUnavailable, bot_class
from bots.selectors import bot_version_for_run
from core import timeframes
from core.config_schemas import validate_trading_configs
from core.sdk import ConfigError, validate_config
from subscriptions.exceptions import IllegalSubscriptionTransition, SubscriptionInvalid
from subscriptions.models import Subscription, TradeMode
from subscriptions.selectors import market_pairs, market_timeframes

S = Subscription.Status
S_NETWORK = Subscription.NetworkType
SUPPORTED_TIMEFRAMES = timeframes.SUPPORTED_TIMEFRAMES
# The longest trade_evaluation_period accepted, in minutes (a week).
MAX_EVALUATION_PERIOD_MINUTES = 7 * 24 * 60
# ACTIVE ⇄ PAUSED; ERROR can be resumed once its cause is fixed; CANCELLED and EXPIRED are final.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.ACTIVE: {S.PAUSED, S.CANCELLED, S.EXPIRED, S.ERROR},
    S.PAUSED: {S.ACTIVE, S.CANCELLED, S.EXPIRED},
    S.ERROR: {S.ACTIVE, S.PAUSED, S.CANCELLED, S.EXPIRED},
    S.CANCELLED: set(),
    S.EXPIRED: set(),
}

ACTION_NAMES = {S.ACTIVE: "resume", S.PAUSED: "pause", S.CANCELLED: "cancel", S.EXPIRED: "expire", S.ERROR: "error"}
PAST_TENSE = {
    S.ACTIVE: "resumed",
    S.PAUSED: "paused",
    S.CANCELLED: "cancelled",
    S.EXPIRED: "expired",
    S.ERROR: "stopped",
}


@transaction.atomic
def subscription_transition(
    *,
    subscription: Subscription,
    target: str,
    actor: User | None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Subscription:
    """Move a subscription to `target` status. Raises IllegalSubscriptionTransition for a move the map forbids.

    The row is locked first: the scheduler may be claiming it at the same moment, and its status decides
    whether the claim goes on.
    """
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if target not in ALLOWED_TRANSITIONS[locked.status]:
        raise IllegalSubscriptionTransition(locked, PAST_TENSE[target])
    old_status = locked.status
    locked.status = target
    locked.status_reason = reason
    fields = ["status", "status_reason"]
    if target == S.ACTIVE:
        # Resuming never replays missed candles: the scheduler computes the next close from now.
        locked.next_run_at = None
        fields.append("next_run_at")
    locked.save(update_fields=fields)
    audit_log_record(
        actor=actor,
        action=f"subscription.{ACTION_NAMES[target]}",
        instance=locked,
        old_values={"status": old_status},
        new_values={"status": target, "reason": reason} if reason else {"status": target},
        request=request,
    )
    subscription.status, subscription.status_reason = locked.status, locked.status_reason
    return locked


def subscription_pause(*, subscription: Subscription, actor: User | None, reason: str = "", request=None):
    return subscription_transition(
        subscription=subscription, target=S.PAUSED, actor=actor, reason=reason, request=request
    )


def subscription_resume(*, subscription: Subscription, actor: User | None, request=None):
    return subscription_transition(subscription=subscription, target=S.ACTIVE, actor=actor, request=request)


def subscription_cancel(*, subscription: Subscription, actor: User | None, request=None):
    return subscription_transition(subscription=subscription, target=S.CANCELLED, actor=actor, request=request)


# --- Subscribing and changing a subscription's settings -------------------------------------------------------------

MODES = ("paper", "testnet", "mainnet")
PAID_PERIOD = timedelta(days=30)


class _Unchanged:
    """subscription_update_config's default for settings the caller leaves as they are."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = _Unchanged()


def _config_errors(section: str, error: ConfigError, *, named: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """ConfigError fields (`fast`, "" for the whole config) as `section.<field>`; a field already starting with
    `section` or one of `named` keeps its name."""
    errors: dict[str, list[str]] = {}
    for item in error.errors:
        name = item["field"] or ""
        if not name.startswith((section, *named)):
            name = f"{section}.{name}" if name else section
        errors.setdefault(name, []).append(item["message"])
    return errors


def _strategy_validate(subscription_bot: Bot, config: dict | None, pinned_version_id: int | None = None) -> dict:
    """The bot config with defaults filled, validated by the bot's own class when it can run here (its schema and
    its cross-field rules), else by its published schema. Raises ConfigError."""
    version = bot_version_for_run(bot_id=subscription_bot.pk, pinned_version_id=pinned_version_id)
    if version is not None:
        try:
            return bot_class(version).validate_config(config)
        except BotUnavailable:
            schema = version.config_schema or subscription_bot.config_schema
    else:
        schema = subscription_bot.config_schema
    return validate_config(schema or {"type": "object"}, config)


def _configs_validate(
    bot: Bot, strategy_config, execution_config, risk_config, errors: dict, pinned_version_id: int | None = None
) -> tuple[dict, dict, dict]:
    strategy = execution = risk = {}
    try:
        strategy = _strategy_validate(bot, strategy_config, pinned_version_id)
    except ConfigError as error:
        errors.update(_config_errors("strategy_config", error))
    try:
        execution, risk, _, _ = validate_trading_configs(execution_config, risk_config)
    except ConfigError as error:
        # validate_trading_configs names both sections itself; anything unnamed is about execution.
        for name, messages in _config_errors("execution_config", error, named=("risk_config",)).items():
            errors.setdefault(name, []).extend(messages)
    return strategy, execution, risk


def _credential_problem(user: User, exchange_type: str, mode: str, marketplace_registration=None) -> str:
    """Why `user` cannot trade `mode` on `exchange_type` with their keys ("" when they can). Mirrors what the engine
    requires (trading.engine.live.credential_for), so a subscription is refused now rather than stopped later.

    For a marketplace principal (`user.user_principal_id` with `marketplace_registration`), the key is the
    principal's one stored by the same partner: another partner's key for the principal is never used."""
    keys = ExchangeCredential.objects.filter(exchange=exchange_type, is_testnet=mode == "testnet", is_active=True)
    label = Exchange(exchange_type).label
    if marketplace_registration is not None:
        credential = keys.owned_by(registration=marketplace_registration, principal_id=user.user_principal_id).first()
        whose, where = "The principal's", "through the partner API"
    else:
        credential = keys.owned_by(user).first()
        whose, where = "Your", "on the credentials page"
    if credential is None:
        return f"Add {whose.lower()} {label} {mode} API key {where} first."
    status = ExchangeCredential.ValidationStatus
    if credential.validation_status == status.INVALID:
        return f"{whose} {label} {mode} API key was refused by the exchange; replace it first."
    if mode == "mainnet" and credential.validation_status != status.VALID:
        return f"Real-money trading needs a {label} mainnet key that passed validation; it has not yet."
    return ""


def _timeframes_errors(values, exchange_type: str, trading_pair: str, errors: dict) -> list[str] | None:
    """The optional extra timeframes (the seed's `timeframes` column), each supported and with market data for the
    pair; None when there are none. Adds to `errors` under "timeframes"."""
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        errors["timeframes"] = ["Give a list of timeframes."]
        return None
    if len(set(values)) != len(values):
        errors["timeframes"] = ["List each timeframe once."]
        return None
    available = market_timeframes(exchange_type, trading_pair) if exchange_type in Exchange.values else []
    missing = [value for value in values if value not in SUPPORTED_TIMEFRAMES or value not in available]
    if missing:
        errors["timeframes"] = [
            f"No market data for {', '.join(missing)} on {trading_pair}; choose from {', '.join(available) or 'none'}."
        ]
        return None
    return list(values) or None


def _evaluation_period_errors(minutes, errors: dict) -> None:
    if minutes is None:
        return
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_EVALUATION_PERIOD_MINUTES:
        errors["trade_evaluation_period"] = [
            f"Give whole minutes between 1 and {MAX_EVALUATION_PERIOD_MINUTES}, or nothing to run on every candle."
        ]


def _trade_mode_errors(trade_mode: str, errors: dict) -> None:
    if trade_mode not in TradeMode.values:
        errors["trade_mode"] = [f"Choose one of {', '.join(TradeMode.values)}."]
    elif trade_mode != TradeMode.SPOT:
        # The engine trades spot only (docs/engine.md): refuse now rather than stop the subscription later.
        errors["trade_mode"] = [f"{trade_mode} trading is not supported yet; only Spot is."]


def _window_errors(started_at: datetime, expires_at: datetime | None, now: datetime, errors: dict) -> None:
    """A rental window: the end after the start and not already past. The start may be in the future."""
    if expires_at is None:
        return
    if expires_at <= started_at:
        errors["expires_at"] = ["The end of the window must be after its start."]
    elif expires_at <= now:
        errors["expires_at"] = ["The end of the window is already past."]


@transaction.atomic
def subscription_create(
    *,
    user: User,
    bot: Bot,
    mode: str,
    exchange_type: str,
    trading_pair: str,
    timeframe: str,
    instance_name: str = "",
    strategy_config: dict | None = None,
    execution_config: dict | None = None,
    risk_config: dict | None = None,
    mainnet_confirmed: bool = False,
    trial: bool = False,
    request: HttpRequest | None = None,
    now: datetime | None = None,
    user_principal_id: str | None = None,
    marketplace_registration=None,
    started_at: datetime | None = None,
    expires_at: datetime | None = None,
    trade_evaluation_period: int | None = None,
    timeframes: list[str] | None = None,
    trade_mode: str = TradeMode.SPOT,
    actor: User | None = None,
) -> Subscription:
    """Subscribe `user` to `bot` and return the ACTIVE subscription; raises SubscriptionInvalid (nothing stored).

    - `mode`: "paper" (simulated fills, no key: is_paper), "testnet" or "mainnet" (network_type; needs the user's
      key for the exchange, and mainnet a validated one plus `mainnet_confirmed`).
    - The market must be one subscriptions.selectors.market_pairs offers, the timeframe one it has data for.
    - Configs are validated with their defaults filled (bot config by the bot; execution and risk settings by
      core.config_schemas.validate_trading_configs); the filled configs are stored.
    - A paid bot runs for PAID_PERIOD (expires_at; payment is not handled here), or, with `trial` on a bot that
      offers one and a user who never had one of this bot, for `trial_days` (is_trial, trial_expires_at).
    - next_run_at and bot_version stay None: the scheduler picks it up at its next tick and runs the bot's newest
      passed version. An audit row records it, naming `actor` (default `user`).

    For a partner marketplace's end user (docs/partner-api.md): `user` is the principal's user,
    `user_principal_id` its principal and `marketplace_registration` the registration subscribing it (to that
    registration's bot, which must be active); the key used is the principal's one stored by the same partner.
    Optional settings for every caller: a window `started_at` (default `now`; may be in the future) to `expires_at`
    (after the start and after `now`; it replaces the paid period, and cannot be combined with a trial),
    `trade_evaluation_period` (minutes between runs instead of one run per candle), `timeframes` (extra ones the
    market has data for) and `trade_mode` (Spot only; Margin and Futures are refused).
    """
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if (user_principal_id is None) != (marketplace_registration is None):
        raise ValueError("a marketplace subscription needs both user_principal_id and marketplace_registration")
    if marketplace_registration is not None:
        if user.user_principal_id != user_principal_id or marketplace_registration.bot_id != bot.pk:
            raise ValueError("subscribe the principal's own user to the registration's bot")
        if not marketplace_registration.is_active:
            errors["marketplace_registration"] = ["This marketplace registration is deactivated."]
    instance_name = (instance_name or "").strip() or bot.name
    if len(instance_name) > 255:
        errors["instance_name"] = ["Keep the name under 255 characters."]
    if bot.status != Bot.Status.APPROVED:
        errors["bot"] = ["This bot is not open for subscriptions."]
    elif bot_version_for_run(bot_id=bot.pk, pinned_version_id=None) is None:
        errors["bot"] = ["This bot has no version ready to run yet."]
    if mode not in MODES:
        errors["mode"] = ["Choose paper, testnet or mainnet."]
    if exchange_type not in Exchange.values:
        errors["exchange_type"] = ["Choose a supported exchange."]
    elif trading_pair not in market_pairs(exchange_type):
        errors["trading_pair"] = [f"{trading_pair or 'This pair'} is not available on {Exchange(exchange_type).label}."]
    if timeframe not in SUPPORTED_TIMEFRAMES:
        errors["timeframe"] = [f"Choose one of {', '.join(SUPPORTED_TIMEFRAMES)}."]
    elif "exchange_type" not in errors and "trading_pair" not in errors:
        available = market_timeframes(exchange_type, trading_pair)
        if timeframe not in available:
            errors["timeframe"] = [
                f"No {timeframe} market data for {trading_pair} here; choose {', '.join(available) or 'another pair'}."
            ]
    extra_timeframes = _timeframes_errors(timeframes, exchange_type, trading_pair, errors)
    _evaluation_period_errors(trade_evaluation_period, errors)
    _trade_mode_errors(trade_mode, errors)
    started_at = started_at or now
    _window_errors(started_at, expires_at, now, errors)
    strategy, execution, risk = _configs_validate(bot, strategy_config, execution_config, risk_config, errors)
    if mode in ("testnet", "mainnet") and "exchange_type" not in errors:
        # A network the exchange does not have (Kraken's testnet) first: no key could ever make it work.
        problem = network_problem(exchange_type, testnet=mode == "testnet") or _credential_problem(
            user, exchange_type, mode, marketplace_registration
        )
        if problem:
            errors["mode"] = [problem]
    if mode == "mainnet" and not mainnet_confirmed:
        errors["mainnet_confirmed"] = ["Confirm that this subscription trades real money."]
    paid = bot.price_per_month > 0
    trial = bool(trial and paid and bot.trial_days > 0)
    if trial and Subscription.objects.filter(user=user, bot=bot, is_trial=True).exists():
        errors["trial"] = ["You already had this bot's free trial."]
    if trial and expires_at is not None:
        errors["trial"] = ["A trial has its own length: leave the end of the window out."]
    if errors:
        raise SubscriptionInvalid(errors)

    trial_expires_at = now + timedelta(days=bot.trial_days) if trial else None
    if expires_at is None:
        expires_at = trial_expires_at if trial else (now + PAID_PERIOD if paid else None)
    subscription = Subscription.objects.create(
        user=user,
        user_principal_id=user_principal_id,
        marketplace_registration=marketplace_registration,
        bot=bot,
        bot_version=None,
        instance_name=instance_name,
        exchange_type=exchange_type,
        trading_pair=trading_pair,
        timeframe=timeframe,
        timeframes=extra_timeframes,
        trade_evaluation_period=trade_evaluation_period,
        trade_mode=trade_mode,
        strategy_config=strategy,
        execution_config=execution,
        risk_config=risk,
        is_paper=mode == "paper",
        network_type=S_NETWORK.MAINNET if mode == "mainnet" else S_NETWORK.TESTNET,
        is_testnet=mode != "mainnet",
        status=S.ACTIVE,
        is_trial=trial,
        started_at=started_at,
        trial_expires_at=trial_expires_at,
        expires_at=expires_at,
        next_run_at=None,
    )
    new_values = {
        "bot": bot.slug,
        "mode": mode,
        "market": f"{exchange_type} {trading_pair} {timeframe}",
        "price_per_month": str(bot.price_per_month),
        "is_trial": trial,
        "expires_at": subscription.expires_at.isoformat() if subscription.expires_at else None,
    }
    if started_at != now:
        new_values["started_at"] = started_at.isoformat()
    if marketplace_registration is not None:
        new_values.update(user_principal_id=user_principal_id, marketplace_registration=marketplace_registration.pk)
    audit_log_record(
        actor=actor or user, action="subscription.create", instance=subscription, new_values=new_values, request=request
    )
    return subscription


@transaction.atomic
def subscription_update_config(
    *,
    subscription: Subscription,
    actor: User,
    strategy_config: dict | None,
    execution_config: dict | None,
    risk_config: dict | None,
    instance_name: str | None = None,
    request: HttpRequest | None = None,
    started_at: datetime | object = UNCHANGED,
    expires_at: datetime | None | object = UNCHANGED,
    trade_evaluation_period: int | None | object = UNCHANGED,
    now: datetime | None = None,
) -> Subscription:
    """Change a subscription's name and configs, validated as in subscription_create; the next run uses them.

    The window (`started_at`, `expires_at`) and `trade_evaluation_period` change only when given (UNCHANGED keeps
    them): the end must stay after the start and, when it moves, after `now`; a marketplace subscription always
    keeps an end. A new start or period is picked up at the scheduler's next tick.

    Raises SubscriptionInvalid (nothing stored) for bad input or a cancelled/expired subscription. The row is
    locked: the engine reads these configs under the same lock while it runs.
    """
    now = now or timezone.now()
    locked = Subscription.objects.select_for_update().select_related("bot").get(pk=subscription.pk)
    errors: dict[str, list[str]] = {}
    if locked.status in (S.CANCELLED, S.EXPIRED):
        status = locked.get_status_display().lower()
        errors["subscription"] = [f"“{locked.instance_name}” is {status}: its settings cannot change."]
    name = locked.instance_name if instance_name is None else (instance_name.strip() or locked.bot.name)
    if len(name) > 255:
        errors["instance_name"] = ["Keep the name under 255 characters."]
    schedule = {}
    if started_at is not UNCHANGED:
        schedule["started_at"] = started_at or locked.started_at
    if expires_at is not UNCHANGED:
        schedule["expires_at"] = expires_at
        if expires_at is None and locked.marketplace_registration_id:
            errors["expires_at"] = ["A marketplace subscription needs the end of its window."]
    if trade_evaluation_period is not UNCHANGED:
        _evaluation_period_errors(trade_evaluation_period, errors)
        schedule["trade_evaluation_period"] = trade_evaluation_period
    if "started_at" in schedule or "expires_at" in schedule:
        new_start = schedule.get("started_at", locked.started_at)
        new_end = schedule.get("expires_at", locked.expires_at)
        if new_end is not None and new_end <= new_start:
            errors["expires_at"] = ["The end of the window must be after its start."]
        elif "expires_at" in schedule and new_end is not None and new_end <= now and new_end != locked.expires_at:
            errors["expires_at"] = ["The end of the window is already past."]
    strategy, execution, risk = _configs_validate(
        locked.bot, strategy_config, execution_config, risk_config, errors, locked.bot_version_id
    )
    if errors:
        raise SubscriptionInvalid(errors)
    fields = {"instance_name": name, "strategy_config": strategy, "execution_config": execution, "risk_config": risk}
    fields.update(schedule)
    old_values = {key: getattr(locked, key) for key in fields}
    changed = [key for key in fields if fields[key] != old_values[key]]
    for key, value in fields.items():
        setattr(locked, key, value)
        setattr(subscription, key, value)
    update_fields = list(fields)
    if {"started_at", "trade_evaluation_period"} & set(changed):
        # The next run time was computed from the old start or period: let the next tick compute it again.
        locked.next_run_at = subscription.next_run_at = None
        update_fields.append("next_run_at")
    locked.save(update_fields=update_fields)
    audit_log_record(
        actor=actor,
        action="subscription.update_config",
        instance=locked,
        old_values={key: _audit_value(old_values[key]) for key in changed},
        new_values={key: _audit_value(fields[key]) for key in changed},
        request=request,
    )
    return locked


def _audit_value(value):
    """A value as the audit log's JSON stores it (times as ISO 8601)."""
    return value.isoformat() if isinstance(value, datetime) else value
