"""Run a batch of claimed subscriptions that share a market and a bot version, for one run time.

One candle fetch and one bot call serve the whole batch; then each subscription runs in its own transaction,
so one subscription's failure (bad config, insufficient funds, a bot bug) never stops the others.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from bots.sdk import Action, ConfigError, Decision
from bots.selectors import bot_version_for_run
from subscriptions.models import Subscription
from trading import clock, timeframes
from trading.bot_runtime import (
    BotAnswer,
    BotRequest,
    BotUnavailable,
    decide_many,
    required_candles,
    validate_bot_config,
)
from trading.config_schemas import validate_trading_configs
from trading.engine import health, records
from trading.engine.live import live_run
from trading.engine.paper import paper_run
from trading.exceptions import (
    ConfigurationRefused,
    CredentialInvalid,
    MarketDataUnavailable,
    OrderRejected,
    StaleMarketData,
    TradingError,
)
from trading.exchanges.ccxt_adapter import TransientExchangeError
from trading.fill_model import to_decimal
from trading.market_data import CandleWindow, closed_candles
from trading.models import PerformanceLog

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunReport:
    subscription_id: int
    run_at: datetime
    outcome: str  # "BUY", "SELL", "HOLD", "STOP_LOSS", "TAKE_PROFIT", "skipped", "error"
    detail: str = ""


def candle_close_for(run_at: datetime, timeframe: str) -> datetime:
    """The close of the newest candle closed at `run_at`: runs act on closed candles only."""
    return timeframes.last_close(run_at, timeframe)


def run_batch(*, subscription_ids: list[int], run_at: datetime, now: datetime | None = None) -> list[RunReport]:
    """Run every subscription in `subscription_ids` for `run_at`. Returns one report per subscription."""
    now = now or clock.now()
    subscriptions = list(Subscription.objects.filter(pk__in=subscription_ids).select_related("bot").order_by("pk"))
    groups: dict[tuple, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions:
        key = (
            subscription.exchange_type,
            subscription.trading_pair,
            subscription.timeframe,
            subscription.bot_id,
            subscription.bot_version_id,
        )
        groups[key].append(subscription)
    reports: list[RunReport] = []
    for group in groups.values():
        reports += _run_group(group, run_at=run_at, now=now)
    return reports


def _run_group(group: list[Subscription], *, run_at: datetime, now: datetime) -> list[RunReport]:
    first = group[0]
    version = bot_version_for_run(bot_id=first.bot_id, pinned_version_id=first.bot_version_id)
    reports: list[RunReport] = []
    if version is None:
        return [_fail(s, run_at, "The bot has no approved version to run.") for s in group]
    runnable: list[tuple[Subscription, dict]] = []
    for subscription in group:
        try:
            config = _bot_config(version, subscription)
            required = required_candles(version, config)
        except (ConfigError, BotUnavailable) as exc:
            reports.append(_fail(subscription, run_at, str(exc)))
            continue
        runnable.append((subscription, config, required))
    if not runnable:
        return reports
    close_at = candle_close_for(run_at, first.timeframe)
    try:
        window = closed_candles(
            first.exchange_type,
            first.trading_pair,
            first.timeframe,
            close_at=close_at,
            count=max(required for _, _, required in runnable),
            now=now,
        )
    except (StaleMarketData, MarketDataUnavailable) as exc:
        return reports + [_fail(s, run_at, str(exc)) for s, _, _ in runnable]
    requests = [BotRequest(s.pk, config, dict(s.bot_state or {})) for s, config, _ in runnable]
    try:
        answers = decide_many(version, requests, window.candles)
    except BotUnavailable as exc:
        return reports + [_fail(s, run_at, str(exc)) for s, _, _ in runnable]
    for subscription, _, _ in runnable:
        reports.append(_run_one(subscription.pk, window=window, answer=answers[subscription.pk], run_at=run_at))
    return reports


def _bot_config(version, subscription: Subscription) -> dict:
    base = dict(version.default_config or {})
    base.update(subscription.strategy_config or {})
    return validate_bot_config(version, base)


def _run_one(subscription_id: int, *, window: CandleWindow, answer: BotAnswer, run_at: datetime) -> RunReport:
    with transaction.atomic():
        # The row lock serialises this run with pause/cancel and with a redelivered copy of the same task.
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        if subscription.status != Subscription.Status.ACTIVE:
            return RunReport(subscription_id, run_at, "skipped", f"status {subscription.status}")
        if subscription.completed_candle_at and subscription.completed_candle_at >= run_at:
            return RunReport(subscription_id, run_at, "skipped", "already ran for this candle")
        if answer.error:
            return _fail(subscription, run_at, answer.error)
        try:
            _, _, execution, risk = validate_trading_configs(subscription.execution_config, subscription.risk_config)
            _refuse_unsupported(subscription)
        except (ConfigError, TradingError) as exc:
            return _fail(subscription, run_at, str(exc), stop=True)
        if subscription.is_paper:
            outcome = paper_run(
                subscription=subscription, window=window, decision=answer.decision, execution=execution, risk=risk
            )
            return _complete(
                subscription, window, answer, run_at, outcome.events, outcome.balance, "paper", outcome.notes
            )

    # Exchange runs hold no transaction over the network: each order step commits on its own (see live.py).
    mode = subscription.network_type
    try:
        outcome = live_run(
            subscription=subscription,
            window=window,
            decision=answer.decision,
            run_at=run_at,
            execution=execution,
            risk=risk,
        )
    except CredentialInvalid as exc:
        health.credential_failed(subscription_id=subscription.pk, message=str(exc))
        return RunReport(subscription_id, run_at, "error", str(exc))
    except (ConfigurationRefused, OrderRejected) as exc:
        return _fail(subscription, run_at, str(exc), stop=isinstance(exc, ConfigurationRefused))
    except TransientExchangeError as exc:
        # Network, timeout, rate limit: the caller retries this subscription with backoff. Nothing is lost: the
        # run is not marked complete, and its orders are intents that a retry settles instead of resending.
        health.run_failed(subscription_id=subscription.pk, message=f"{exc} Retrying.")
        return RunReport(subscription_id, run_at, "retry", str(exc))
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        return _complete(subscription, window, answer, run_at, outcome.events, outcome.balance, mode, outcome.notes)


def _complete(subscription, window, answer, run_at, events, balance, mode, notes) -> RunReport:
    """Log the decision and mark the run done (inside the caller's transaction, with the row locked)."""
    _log_decision(subscription, window, answer.decision, events, balance, mode=mode, notes=notes)
    subscription.bot_state = answer.state
    subscription.last_run_at = timezone.now()
    subscription.completed_candle_at = run_at
    # An order the exchange refused is worth showing; it does not stop the subscription.
    subscription.last_error = "; ".join(notes)[:2000]
    subscription.consecutive_failures = 0
    subscription.save(
        update_fields=["bot_state", "last_run_at", "completed_candle_at", "last_error", "consecutive_failures"]
    )
    action = events[-1]["action"] if events else Action.HOLD.value
    return RunReport(subscription.pk, run_at, action, "; ".join(notes))


def _refuse_unsupported(subscription: Subscription) -> None:
    if subscription.trade_mode != Subscription.TradeMode.SPOT:
        raise ConfigurationRefused(f"{subscription.trade_mode} trading is not supported yet; only Spot is.")
    timeframes.seconds(subscription.timeframe)


def _log_decision(
    subscription,
    window: CandleWindow,
    decision: Decision | None,
    events: list[dict],
    balance: Decimal,
    *,
    mode: str,
    notes: list[str],
) -> None:
    """One log row per decision (HOLD included) and one per fill it caused, with the bot's indicators."""
    last_close = to_decimal(float(window.candles.close[-1]))
    signal = {
        "mode": mode,
        "candle_close": window.close_at.isoformat(),
        "reason": decision.reason if decision else "",
        "indicators": (decision.to_json().get("indicators") or {}) if decision else {},
        "decided": decision.action.value if decision else "HOLD",
    }
    if notes:
        signal["notes"] = notes
    if not events:
        records.decision_log(
            subscription=subscription,
            action=PerformanceLog.Action.HOLD,
            timestamp=window.close_at,
            price=last_close,
            quantity=Decimal(0),
            balance=balance,
            signal_data=signal,
        )
    for event in events:
        records.decision_log(
            subscription=subscription,
            action=event["action"],
            timestamp=window.close_at,
            price=event["price"],
            quantity=event["quantity"],
            balance=balance,
            signal_data=signal | {"trade_id": event["trade"].pk if event["trade"] else None},
        )


def _fail(subscription: Subscription, run_at: datetime, message: str, *, stop: bool = False) -> RunReport:
    """Record a failed run on the subscription (and stop it when retrying cannot help)."""
    health.run_failed(subscription_id=subscription.pk, message=message, stop=stop)
    logger.warning("run of subscription %s for %s failed: %s", subscription.pk, run_at.isoformat(), message)
    return RunReport(subscription.pk, run_at, "error", message)
