"""Run a batch of claimed subscriptions that share a market and a bot version, for one run time.

One candle fetch and one bot call serve the whole batch; then each subscription runs in its own transaction,
so one subscription's failure (bad config, insufficient funds, a bot bug) never stops the others.

Nothing a single subscription does or holds can stop the batch: every step that concerns one subscription runs
guarded (`_guarded`), and whatever it raises — a domain error, a row that bypassed validation (a testnet the
exchange does not have), a lost database or cache connection, a bug — is recorded on that subscription
(`last_error`, or its status reason when it is stopped) while the others go on. A step shared by the group (the bot
version, the candles, the bot call) that fails is recorded on each subscription of the group, and the other
groups go on. `run_batch` itself never raises for one subscription's or one group's sake.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.networks import network_problem
from bots.runtime import (
    BotAnswer,
    BotRequest,
    BotUnavailable,
    decide_many,
    required_candles,
    validate_bot_config,
)
from bots.selectors import bot_version_for_run
from common.db import connections_reset
from core import timeframes
from core.config_schemas import validate_trading_configs
from core.fill_model import to_decimal
from core.sdk import ConfigError, Decision
from subscriptions.credentials import CredentialUnusable
from subscriptions.models import PerformanceLog, Subscription
from trading import clock
from trading.engine import health, records
from trading.engine.live import live_run
from trading.engine.outcome import RunOutcome
from trading.engine.paper import paper_run
from trading.exceptions import (
    ConfigurationRefused,
    CredentialInvalid,
    ExchangeNotSupported,
    MarketDataUnavailable,
    OrderRejected,
    RunInProgress,
    StaleMarketData,
    TradingError,
)
from trading.exchanges.base import TransientExchangeError
from trading.market_data import CandleWindow, closed_candles

logger = logging.getLogger(__name__)

# The services a run depends on that can drop away under it: the database connection (MariaDB "server has gone
# away", a killed connection, a deadlock; SQLite "database is locked") and the shared cache (Redis: rate limits,
# candle cache and its lock). Their loss says nothing about the subscription: it is recorded and the run retried.
CONNECTION_LOST = (OperationalError, InterfaceError, RedisError)
CONNECTION_LOST_MESSAGE = "The platform's {what} was unavailable during this run (connection lost); it is retried soon."
UNEXPECTED_MESSAGE = "This run failed on an internal error ({name}); it is tried again, and the team is notified."


@dataclass(frozen=True)
class RunReport:
    subscription_id: int
    run_at: datetime
    outcome: str  # "BUY", "SELL", "HOLD", "STOP_LOSS", "TAKE_PROFIT", "skipped", "error", "retry"
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
    """Run one group; never raises. A failure of the shared steps is recorded on each subscription not yet run."""
    reports: dict[int, RunReport] = {}
    try:
        _run_group_steps(group, run_at=run_at, now=now, reports=reports)
    except Exception as exc:  # noqa: BLE001 - recorded on each subscription below; the other groups go on
        for subscription in group:
            if subscription.pk not in reports:
                reports[subscription.pk] = _failed_on(subscription.pk, run_at, exc)
    return [reports[subscription.pk] for subscription in group if subscription.pk in reports]


def _run_group_steps(
    group: list[Subscription], *, run_at: datetime, now: datetime, reports: dict[int, RunReport]
) -> None:
    first = group[0]
    version = bot_version_for_run(bot_id=first.bot_id, pinned_version_id=first.bot_version_id)
    if version is None:
        for s in group:
            reports[s.pk] = _fail(s, run_at, "The bot has no approved version to run.")
        return
    runnable: list[tuple[Subscription, dict, int]] = []
    for subscription in group:
        try:
            config = _bot_config(version, subscription)
            required = required_candles(version, config)
        except (ConfigError, BotUnavailable) as exc:
            reports[subscription.pk] = _fail(subscription, run_at, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - e.g. a config stored without validation: this one alone fails
            reports[subscription.pk] = _failed_on(subscription.pk, run_at, exc)
            continue
        runnable.append((subscription, config, required))
    if not runnable:
        return
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
        for s, _, _ in runnable:
            reports[s.pk] = _fail(s, run_at, str(exc))
        return
    requests = [BotRequest(s.pk, config, dict(s.bot_state or {})) for s, config, _ in runnable]
    try:
        answers = decide_many(version, requests, window.candles)
    except BotUnavailable as exc:
        for s, _, _ in runnable:
            reports[s.pk] = _fail(s, run_at, str(exc))
        return
    for subscription, _, _ in runnable:
        reports[subscription.pk] = _guarded(
            subscription.pk,
            run_at,
            lambda pk=subscription.pk: _run_one(pk, window=window, answer=answers[pk], run_at=run_at),
        )


def _guarded(subscription_id: int, run_at: datetime, call) -> RunReport:
    """`call()`'s report; whatever it raises is recorded on this subscription alone (_failed_on)."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - one subscription's fault never stops the others
        return _failed_on(subscription_id, run_at, exc)


def _failed_on(subscription_id: int, run_at: datetime, exc: Exception) -> RunReport:
    """Record `exc`, raised while running this subscription, on it alone.

    A lost connection: the broken connections are dropped (the next query opens a fresh one), the loss is shown on
    the subscription and the report says "retry", so the task runs it again with backoff; the run is not marked
    complete and its orders are intents, so the retry settles instead of resending. Any other error: logged with
    its traceback for the team, shown to the owner by its type only (its text may hold anything), report "error";
    the run is not complete, so the scheduler claims it again when its lease runs out.
    """
    if isinstance(exc, CONNECTION_LOST):
        what = "cache" if isinstance(exc, RedisError) else "database"
        logger.warning("run of subscription %s for %s lost the %s: %r", subscription_id, run_at.isoformat(), what, exc)
        # Outside any transaction here (each step of a run commits its own): a connection the error left unusable
        # is closed, and the next query connects again.
        connections_reset()
        return _record_failure(subscription_id, run_at, CONNECTION_LOST_MESSAGE.format(what=what), outcome="retry")
    logger.error("run of subscription %s for %s failed unexpectedly", subscription_id, run_at.isoformat(), exc_info=exc)
    return _record_failure(subscription_id, run_at, UNEXPECTED_MESSAGE.format(name=type(exc).__name__))


def _record_failure(subscription_id: int, run_at: datetime, message: str, *, outcome: str = "error") -> RunReport:
    """Show `message` on the subscription; if even that fails (the database is still away), log it and go on."""
    try:
        health.run_failed(subscription_id=subscription_id, message=message)
    except Exception:  # noqa: BLE001 - nothing more can be recorded now; the retry or the lease runs it again
        logger.exception("could not record the failure of subscription %s", subscription_id)
        connections_reset()
    return RunReport(subscription_id, run_at, outcome, message)


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
            return _complete(subscription, window, answer, run_at, outcome, mode="paper")

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
    except (CredentialUnusable, ExchangeNotSupported, OrderRejected) as exc:
        # No key it may trade with, or a network the exchange does not have (a row from before it was refused): it
        # can never run as it is, and is stopped with why. A refused order only fails this run.
        return _fail(subscription, run_at, str(exc), stop=not isinstance(exc, OrderRejected))
    except TransientExchangeError as exc:
        # Network, timeout, rate limit: the caller retries this subscription with backoff. Nothing is lost: the
        # run is not marked complete, and its orders are intents that a retry settles instead of resending.
        health.run_failed(subscription_id=subscription.pk, message=f"{exc} Retrying.")
        return RunReport(subscription_id, run_at, "retry", str(exc))
    except RunInProgress as exc:
        return RunReport(subscription_id, run_at, "skipped", str(exc))
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        # Checked again under the lock: two workers running the same batch (a redelivered task) both get past the
        # first check while neither has finished; only the first to get here logs the decision.
        if subscription.completed_candle_at and subscription.completed_candle_at >= run_at:
            return RunReport(subscription_id, run_at, "skipped", "already ran for this candle")
        return _complete(subscription, window, answer, run_at, outcome, mode=mode)


def _complete(
    subscription: Subscription,
    window: CandleWindow,
    answer: BotAnswer,
    run_at: datetime,
    outcome: RunOutcome,
    *,
    mode: str,
) -> RunReport:
    """Log the decision and mark the run done (inside the caller's transaction, with the row locked)."""
    notes = outcome.notes
    _log_decision(subscription, window, answer.decision, outcome, mode=mode)
    subscription.bot_state = answer.state
    subscription.last_run_at = timezone.now()
    subscription.completed_candle_at = run_at
    # An order the exchange refused is worth showing; it does not stop the subscription.
    subscription.last_error = "; ".join(notes)[:2000]
    subscription.consecutive_failures = 0
    subscription.save(
        update_fields=["bot_state", "last_run_at", "completed_candle_at", "last_error", "consecutive_failures"]
    )
    return RunReport(subscription.pk, run_at, outcome.action, "; ".join(notes))


def _refuse_unsupported(subscription: Subscription) -> None:
    """Raise ConfigurationRefused for what the platform can never run; the subscription is stopped with why. The
    services refuse these when a subscription is made; rows from before (or written around them) meet them here."""
    if subscription.trade_mode != Subscription.TradeMode.SPOT:
        raise ConfigurationRefused(f"{subscription.trade_mode} trading is not supported yet; only Spot is.")
    if not subscription.is_paper:
        problem = network_problem(
            subscription.exchange_type, testnet=subscription.network_type == Subscription.NetworkType.TESTNET
        )
        if problem:
            raise ConfigurationRefused(problem)
    timeframes.seconds(subscription.timeframe)


def _log_decision(
    subscription,
    window: CandleWindow,
    decision: Decision | None,
    outcome: RunOutcome,
    *,
    mode: str,
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
    if outcome.notes:
        signal["notes"] = outcome.notes
    if not outcome.fills:
        records.decision_log(
            subscription=subscription,
            action=PerformanceLog.Action.HOLD,
            timestamp=window.close_at,
            price=last_close,
            quantity=Decimal(0),
            balance=outcome.balance,
            signal_data=signal,
        )
    for fill in outcome.fills:
        records.decision_log(
            subscription=subscription,
            action=fill.action,
            timestamp=window.close_at,
            price=fill.price,
            quantity=fill.quantity,
            balance=outcome.balance,
            signal_data=signal | {"trade_id": fill.trade.pk if fill.trade else None},
        )


def _fail(subscription: Subscription, run_at: datetime, message: str, *, stop: bool = False) -> RunReport:
    """Record a failed run on the subscription (and stop it when retrying cannot help)."""
    health.run_failed(subscription_id=subscription.pk, message=message, stop=stop)
    logger.warning("run of subscription %s for %s failed: %s", subscription.pk, run_at.isoformat(), message)
    return RunReport(subscription.pk, run_at, "error", message)
