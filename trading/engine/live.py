"""Exchange execution (testnet and mainnet): orders that are never duplicated and never lost, by design.

Every order goes through three steps, each in its own transaction where the database is involved:
1. the intent is stored (`orders` row, status PENDING) with our client order id, unique per subscription, run time
   and side, and committed before the exchange hears of it;
2. it is sent (no transaction is held open over the network);
3. the row is updated with what the exchange said, and the trade is written, in one transaction.
A crash between 1 and 3 leaves a PENDING/SENT row; `order_resolve` (run before the next decision of that
subscription and by the periodic reconciliation) looks it up by client id and records it, or marks it LOST after
bounded lookups that all say the exchange never saw it. A timeout or 5xx on creation never triggers a resend.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from accounts.models import ExchangeCredential
from accounts.services import credential_reveal
from core import timeframes
from core.backtest.account import SimulatedAccount
from core.backtest.settings import LIMIT, MARKET, ExecutionSettings, RiskSettings
from core.fill_model import (
    ExitReason,
    exit_trigger,
    limit_price,
    quantize_down,
    to_decimal,
)
from core.sdk import Action, Decision
from subscriptions.models import PerformanceLog, Subscription, Trade
from trading.engine import protection, records
from trading.engine.exchange_orders import (
    LiveOutcome,
    minimums_problem,
    order_cancel,
    order_intent_store,
    order_place,
    order_record_result,
    order_resolve,
    outcome_note,
)
from trading.engine.health import connections_reset
from trading.exceptions import ConfigurationRefused, CredentialInvalid, ExchangeNotSupported, RunInProgress
from trading.exchanges.base import MarketRules
from trading.exchanges.ccxt_adapter import CcxtAdapter, TransientExchangeError
from trading.market_data import CandleWindow
from trading.models import Order

logger = logging.getLogger(__name__)


def credential_for(subscription: Subscription) -> ExchangeCredential:
    """The active key for the subscription's exchange and network. Raises ConfigurationRefused when there is none
    usable: mainnet needs a key that passed validation."""
    testnet = subscription.network_type == Subscription.NetworkType.TESTNET
    owner = (
        {"principal_id": subscription.user_principal_id}
        if subscription.user_principal_id
        else {"user_id": subscription.user_id, "principal_id": None}
    )
    if subscription.user_principal_id and subscription.marketplace_registration_id:
        # Only a key the same partner marketplace stored for the principal: another partner's key never trades for
        # this partner's subscription (docs/partner-api.md).
        owner["marketplace_registration__partner__marketplace_registrations"] = subscription.marketplace_registration_id
    credential = ExchangeCredential.objects.filter(
        exchange=subscription.exchange_type, is_testnet=testnet, is_active=True, **owner
    ).first()
    network = "testnet" if testnet else "mainnet"
    if credential is None:
        raise ConfigurationRefused(f"No active {subscription.exchange_type} {network} API key is connected.")
    if credential.validation_status == ExchangeCredential.ValidationStatus.INVALID:
        raise ConfigurationRefused(f"The {network} API key is invalid: {credential.validation_error or 'replace it'}.")
    if not testnet and credential.validation_status != ExchangeCredential.ValidationStatus.VALID:
        raise ConfigurationRefused("Mainnet trading needs an API key that passed validation; validate it first.")
    return credential


def subscriptions_using(credential: ExchangeCredential) -> list[int]:
    """ACTIVE non-paper subscriptions that credential_for would give this credential."""
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


def adapter_for(subscription: Subscription, credential: ExchangeCredential) -> CcxtAdapter:
    return CcxtAdapter(
        subscription.exchange_type,
        credential_reveal(credential),
        testnet=subscription.network_type == Subscription.NetworkType.TESTNET,
        key_id=str(credential.pk),
        timeout_ms=settings.EXCHANGE_TIMEOUT_MS,
    )


# --- sizing ----------------------------------------------------------------------------------------------------


def _buy_amount(
    rules: MarketRules,
    free_quote: Decimal,
    price: Decimal,
    decision: Decision,
    execution: ExecutionSettings,
    risk: RiskSettings,
) -> Decimal:
    """The base amount to buy: the backtest's sizing on the real free balance, rounded to the market's step."""
    account = SimulatedAccount(
        balance=free_quote, fee_rate=rules.taker_fee_rate, slippage_rate=Decimal(0), execution=execution, risk=risk
    )
    return quantize_down(account.buy_notional(decision.size, price) / price, rules.amount_step)


# --- the run ---------------------------------------------------------------------------------------------------


def live_run(
    *,
    subscription: Subscription,
    window: CandleWindow,
    decision: Decision | None,
    run_at: datetime,
    execution: ExecutionSettings,
    risk: RiskSettings,
) -> LiveOutcome:
    """One exchange run for `run_at`. Runs outside any transaction (each step commits its own); raises
    CredentialInvalid (the caller stops the subscription), TransientExchangeError (the task retries),
    ConfigurationRefused, and RunInProgress (another worker is placing this run's order: the run is its).

    Order of events: settle orders of unknown outcome; settle protective orders the exchange filled while we were
    away; work resting limit orders (record fills, cancel the expired); book a position too small to sell as dust;
    the per-run stop loss / take profit check
    when the position has no protective order on the exchange; the bot's decision; protect a new position."""
    outcome = LiveOutcome()
    credential = credential_for(subscription)
    adapter = adapter_for(subscription, credential)
    rules = adapter.market_rules(subscription.trading_pair)

    # Earlier orders whose outcome is still unknown are settled before anything new is decided. Not this run's own:
    # another worker running the same candle may be sending one right now, and four lookups that miss it would
    # declare it LOST under that worker; _submit and protection.protect deal with this run's intents.
    earlier = subscription.orders.filter(status__in=[Order.Status.PENDING, Order.Status.SENT]).exclude(candle_at=run_at)
    for order in earlier:
        order_resolve(order=order, adapter=adapter)
    protection.settle(outcome, subscription=subscription, adapter=adapter)
    _work_resting_orders(outcome, subscription=subscription, adapter=adapter, run_at=run_at, risk=risk)

    candle = window.candles[len(window.candles) - 1]
    candle_open_ms = int(candle.time)
    price = window.next_open or to_decimal(float(candle.close))
    _close_dust(outcome, subscription=subscription, adapter=adapter, rules=rules, price=price, run_at=run_at)
    open_trade = subscription.trades.filter(status=Trade.Status.OPEN).first()
    resting = subscription.orders.filter(
        status=Order.Status.OPEN, purpose__in=[Order.Purpose.ENTRY, Order.Purpose.EXIT]
    ).first()

    # Stop loss / take profit, checked on the candle that just closed, unless the exchange holds a protective order
    # for the position (it acts between runs, and settle() above recorded what it did).
    if (
        open_trade is not None
        and not protection.is_protected(subscription)
        and timeframes.to_ms(open_trade.entry_time) <= candle_open_ms
    ):
        trigger = exit_trigger(open_trade, candle)
        if trigger is not None and _clear_resting_exit(outcome, resting, adapter=adapter, risk=risk):
            reason, _ = trigger
            purpose = Order.Purpose.STOP_LOSS if reason is ExitReason.STOP_LOSS else Order.Purpose.TAKE_PROFIT
            amount = _sell_amount(adapter, rules, open_trade.quantity)
            action = (
                PerformanceLog.Action.STOP_LOSS if reason is ExitReason.STOP_LOSS else PerformanceLog.Action.TAKE_PROFIT
            )
            _submit(
                outcome,
                subscription=subscription,
                run_at=run_at,
                side="SELL",
                purpose=purpose,
                amount=amount,
                decision=None,
                rules=rules,
                adapter=adapter,
                risk=risk,
                action=action,
            )
            open_trade = subscription.trades.filter(status=Trade.Status.OPEN).first()
            resting = None

    wants_buy = decision is not None and decision.action is Action.BUY and open_trade is None
    wants_sell = decision is not None and decision.action is Action.SELL and open_trade is not None
    if (wants_buy or wants_sell) and resting is not None:
        outcome.notes.append(
            f"{decision.action.value} skipped: the {resting.side} limit order {resting.client_order_id} is still open."
        )
    elif wants_buy:
        if _open_trades_on_account(subscription) >= risk.max_open_trades:
            outcome.notes.append(f"BUY skipped: {risk.max_open_trades} trade(s) already open on this account.")
        else:
            order_price = (
                limit_price("BUY", price, execution.limit_offset_pct, rules.price_step)
                if (execution.is_limit)
                else price
            )
            free = adapter.free_balances()
            amount = _buy_amount(rules, free.get(rules.quote, Decimal(0)), order_price, decision, execution, risk)
            problem = minimums_problem(rules, amount, order_price)
            if problem:
                outcome.notes.append(f"BUY skipped: {problem}")
            else:
                _submit(
                    outcome,
                    subscription=subscription,
                    run_at=run_at,
                    side="BUY",
                    purpose=Order.Purpose.ENTRY,
                    amount=amount,
                    decision=decision,
                    rules=rules,
                    adapter=adapter,
                    risk=risk,
                    action=PerformanceLog.Action.BUY,
                    execution=execution,
                    price=order_price if execution.is_limit else None,
                )
    elif wants_sell and protection.release(outcome, subscription=subscription, adapter=adapter, risk=risk):
        # The protective order is gone (cancelled, or it filled first: then the trade is closed and there is
        # nothing left to sell, never a second exit).
        open_trade = subscription.trades.filter(status=Trade.Status.OPEN).first()
        if open_trade is not None:
            order_price = (
                limit_price("SELL", price, execution.limit_offset_pct, rules.price_step)
                if (execution.is_limit)
                else price
            )
            account = SimulatedAccount(
                balance=Decimal(0),
                fee_rate=rules.taker_fee_rate,
                slippage_rate=Decimal(0),
                execution=execution,
                risk=risk,
            )
            account.position = _position_of(open_trade)
            amount = _sell_amount(adapter, rules, account.sell_quantity(decision.size, order_price))
            _submit(
                outcome,
                subscription=subscription,
                run_at=run_at,
                side="SELL",
                purpose=Order.Purpose.EXIT,
                amount=amount,
                decision=decision,
                rules=rules,
                adapter=adapter,
                risk=risk,
                action=PerformanceLog.Action.SELL,
                execution=execution,
                price=order_price if execution.is_limit else None,
            )

    # A position without a protective order on an exchange that supports one gets one (a new entry, the rest of a
    # partial exit, a limit entry filled since the last run).
    protection.protect(outcome, subscription=subscription, adapter=adapter, rules=rules, run_at=run_at, risk=risk)

    try:
        outcome.balance = adapter.free_balances().get(rules.quote, Decimal(0))
    except TransientExchangeError:
        outcome.balance = Decimal(0)
    return outcome


def _submit(
    outcome: LiveOutcome,
    *,
    subscription: Subscription,
    run_at: datetime,
    side: str,
    purpose: str,
    amount: Decimal,
    decision: Decision | None,
    rules: MarketRules,
    adapter: CcxtAdapter,
    risk: RiskSettings,
    action: str,
    execution: ExecutionSettings | None = None,
    price: Decimal | None = None,
) -> None:
    """Store the intent, send it if nobody has yet, and note the result for the decision log. With `price`, a
    limit order good till `limit_expiry_candles` candles from now."""
    expires_at = None
    if price is not None:
        expires_at = run_at + timedelta(
            seconds=timeframes.seconds(subscription.timeframe) * execution.limit_expiry_candles
        )
    order = order_intent_store(
        subscription=subscription,
        run_at=run_at,
        side=side,
        purpose=purpose,
        quantity=amount,
        decision=decision,
        rules=rules,
        order_type=LIMIT if price is not None else MARKET,
        price=price,
        expires_at=expires_at,
    )
    if order.status == Order.Status.PENDING:
        order = order_place(order=order, adapter=adapter, amount=amount, risk=risk)
    elif order.status == Order.Status.SENT:
        # Another worker runs this same candle (a redelivered task beside the original) and claimed the order: ask
        # the exchange once. Found: recorded, and this run goes on with it. Not found (yet): that worker is still
        # sending it, and owns the run; noting "outcome unknown" here would show a false error on an order that
        # fills a moment later.
        result = adapter.find_order(subscription.trading_pair, order.client_order_id)
        if result is None:
            raise RunInProgress(f"Order {order.client_order_id} is being sent by another worker.")
        order = order_record_result(order_id=order.pk, result=result, risk=risk)
    outcome_note(outcome, order, action)


def _work_resting_orders(
    outcome: LiveOutcome, *, subscription: Subscription, adapter: CcxtAdapter, run_at: datetime, risk: RiskSettings
) -> None:
    """Limit orders of earlier runs: record those the exchange filled, cancel those past their expiry (keeping what
    filled before, the rest cancelled), leave the others resting."""
    for order in subscription.orders.filter(
        status=Order.Status.OPEN, purpose__in=[Order.Purpose.ENTRY, Order.Purpose.EXIT]
    ).order_by("candle_at"):
        result = adapter.find_order(subscription.trading_pair, order.client_order_id)
        if result is not None and result.is_final:
            order = order_record_result(order_id=order.pk, result=result, risk=risk)
        elif order.expires_at is None or run_at >= order.expires_at:
            order = order_cancel(order=order, adapter=adapter, risk=risk)
            if order.status == Order.Status.CANCELLED:
                outcome.notes.append(
                    f"{order.side} limit order {order.client_order_id} at {order.limit_price} expired unfilled and "
                    "was cancelled."
                )
        if order.status == Order.Status.FILLED:
            action = PerformanceLog.Action.BUY if order.side == "BUY" else PerformanceLog.Action.SELL
            outcome_note(outcome, order, action)
            if order.error:
                outcome.notes.append(f"{order.side} limit order {order.client_order_id}: {order.error}")


def _close_dust(
    outcome: LiveOutcome,
    *,
    subscription: Subscription,
    adapter: CcxtAdapter,
    rules: MarketRules,
    price: Decimal,
    run_at: datetime,
) -> None:
    """Close an open position that no order could ever sell: what is left below the market's minimum amount or
    order value (a limit sell that filled only in part, a partial entry). While it stays open the bot may never buy
    again and every sell is refused, so the subscription would sit ACTIVE and do nothing. It is booked as closed at
    `price` with exit reason DUST and no fee, and the run's note says so; the coins stay on the account.

    Left alone while an order still works on the position (a resting limit order, protective orders)."""
    trade = subscription.trades.filter(status=Trade.Status.OPEN).first()
    if trade is None or subscription.orders.filter(status=Order.Status.OPEN).exists():
        return
    if protection.is_protected(subscription):
        return
    problem = minimums_problem(rules, _sell_amount(adapter, rules, trade.quantity), price)
    if not problem:
        return
    with transaction.atomic():
        locked = Trade.objects.select_for_update().filter(pk=trade.pk, status=Trade.Status.OPEN).first()
        if locked is None:
            return
        records.trade_close(
            trade=locked,
            quantity=locked.quantity,
            exit_price=price,
            exit_time=run_at,
            exit_fee=Decimal(0),
            reason=ExitReason.DUST.value,
        )
    outcome.notes.append(
        f"The rest of the position, {trade.quantity} {rules.base}, is too small to sell ({problem}): booked as "
        f"closed at {price} (dust; it stays on your exchange account), so the bot can trade again."
    )


def _clear_resting_exit(outcome: LiveOutcome, resting: Order | None, *, adapter: CcxtAdapter, risk) -> bool:
    """Cancel a resting limit sell before a market exit replaces it. True when nothing rests any more and the
    position is still open; False (noted) when the cancel's outcome is unknown or the limit sell filled first."""
    if resting is None or resting.side != "SELL":
        return True
    order = order_cancel(order=resting, adapter=adapter, risk=risk)
    if order.status == Order.Status.OPEN:
        outcome.notes.append(f"Exit postponed: the limit sell {order.client_order_id} could not be cancelled yet.")
        return False
    return order.subscription.trades.filter(status=Trade.Status.OPEN).exists()


def _sell_amount(adapter: CcxtAdapter, rules: MarketRules, wanted: Decimal) -> Decimal:
    """What we may sell: the position's quantity, but never more than the free base balance (fees, dust)."""
    free_base = adapter.free_balances().get(rules.base, Decimal(0))
    return quantize_down(min(wanted, free_base), rules.amount_step)


def _position_of(trade: Trade):
    from core.backtest.account import Position

    return Position(
        quantity=trade.quantity,
        entry_price=trade.entry_price,
        entry_fee=trade.entry_fee,
        entry_time_ms=timeframes.to_ms(trade.entry_time),
        entry_index=0,
        stop_loss_price=trade.stop_loss_price,
        take_profit_price=trade.take_profit_price,
    )


def _open_trades_on_account(subscription: Subscription) -> int:
    """Open trades of the owner's non-paper subscriptions on the same exchange and network."""
    return Trade.objects.filter(
        status=Trade.Status.OPEN,
        subscription__user_id=subscription.user_id,
        subscription__user_principal_id=subscription.user_principal_id,
        subscription__exchange_type=subscription.exchange_type,
        subscription__network_type=subscription.network_type,
        subscription__is_paper=False,
    ).count()


def reconcile_orders(*, older_than_s: int = 30) -> int:
    """Settle every order left PENDING/SENT (worker killed, network down) across subscriptions. Returns how many
    were settled. Run at worker start and periodically."""
    from django.utils import timezone

    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_s)
    settled = 0
    pending = Order.objects.filter(
        status__in=[Order.Status.PENDING, Order.Status.SENT], updated_at__lte=cutoff, subscription__is_paper=False
    ).select_related("subscription")
    for order in pending:
        try:
            adapter = adapter_for(order.subscription, credential_for(order.subscription))
            # One lookup per pass: an order is declared LOST only after LOOKUP_ATTEMPTS passes, spread in time.
            order = order_resolve(order=order, adapter=adapter, wait=False, max_lookups=1)
        except (ConfigurationRefused, CredentialInvalid, ExchangeNotSupported, TransientExchangeError) as exc:
            logger.warning("cannot reconcile order %s yet: %s", order.client_order_id, exc)
            continue
        except Exception:  # noqa: BLE001 - one subscription's order never stops the others' reconciliation
            logger.exception("reconciling order %s failed; the next pass tries again", order.client_order_id)
            connections_reset()
            continue
        settled += order.status not in (Order.Status.PENDING, Order.Status.SENT)
    return settled
