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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from common.db import connections_reset
from core import timeframes
from core.backtest.account import SimulatedAccount
from core.fill_model import (
    ExitReason,
    exit_trigger,
    limit_price,
    quantize_down,
    to_decimal,
)
from core.sdk import Action, Decision
from core.trade_settings import LIMIT, MARKET, ExecutionSettings, RiskSettings
from subscriptions.credentials import CredentialUnusable, credential_for
from subscriptions.models import PerformanceLog, Subscription, Trade
from trading.engine import protection, records
from trading.engine.exchange_orders import (
    minimums_problem,
    order_cancel,
    order_intent_store,
    order_place,
    order_record_result,
    order_resolve,
    outcome_note,
)
from trading.engine.outcome import RunOutcome
from trading.exceptions import CredentialInvalid, ExchangeNotSupported, RunInProgress
from trading.exchanges.base import ExchangeAdapter, MarketRules, TransientExchangeError
from trading.exchanges.clients import adapter_for
from trading.market_data import CandleWindow
from trading.models import Order

logger = logging.getLogger(__name__)


@dataclass
class _Run:
    """What every step of one exchange run works with; the steps add to `outcome`."""

    subscription: Subscription
    adapter: ExchangeAdapter
    rules: MarketRules
    run_at: datetime
    execution: ExecutionSettings
    risk: RiskSettings
    outcome: RunOutcome = field(default_factory=RunOutcome)


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
) -> RunOutcome:
    """One exchange run for `run_at`. Runs outside any transaction (each step commits its own); raises
    CredentialInvalid (the caller stops the subscription), TransientExchangeError (the task retries),
    CredentialUnusable (no key it may use), and RunInProgress (another worker is placing this run's order: the run
    is its).

    Order of events: settle orders of unknown outcome; settle protective orders the exchange filled while we were
    away; work resting limit orders (record fills, cancel the expired); book a position too small to sell as dust;
    the per-run stop loss / take profit check
    when the position has no protective order on the exchange; the bot's decision; protect a new position."""
    adapter = adapter_for(credential_for(subscription))
    run = _Run(
        subscription=subscription,
        adapter=adapter,
        rules=adapter.market_rules(subscription.trading_pair),
        run_at=run_at,
        execution=execution,
        risk=risk,
    )
    _settle_earlier_orders(run)
    protection.settle(run.outcome, subscription=subscription, adapter=adapter)
    _work_resting_orders(run)

    candle = window.candles[len(window.candles) - 1]
    price = window.next_open or to_decimal(float(candle.close))
    _close_dust(run, price=price)
    open_trade, resting = _exit_on_stop_loss_or_take_profit(
        run, candle, _open_trade(subscription), _resting_order(subscription)
    )
    _act_on_decision(run, decision, open_trade, resting, price=price)

    # A position without a protective order on an exchange that supports one gets one (a new entry, the rest of a
    # partial exit, a limit entry filled since the last run).
    protection.protect(
        run.outcome, subscription=subscription, adapter=adapter, rules=run.rules, run_at=run_at, risk=risk
    )
    run.outcome.balance = _free_quote_balance(run)
    return run.outcome


def _settle_earlier_orders(run: _Run) -> None:
    """Earlier orders whose outcome is still unknown are settled before anything new is decided. Not this run's own:
    another worker running the same candle may be sending one right now, and four lookups that miss it would declare
    it LOST under that worker; _submit and protection.protect deal with this run's intents."""
    earlier = run.subscription.orders.filter(status__in=[Order.Status.PENDING, Order.Status.SENT]).exclude(
        candle_at=run.run_at
    )
    for order in earlier:
        order_resolve(order=order, adapter=run.adapter)


def _open_trade(subscription: Subscription) -> Trade | None:
    return subscription.trades.filter(status=Trade.Status.OPEN).first()


def _resting_order(subscription: Subscription) -> Order | None:
    """The entry or exit limit order resting on the exchange, if any (one at a time)."""
    return subscription.orders.filter(
        status=Order.Status.OPEN, purpose__in=[Order.Purpose.ENTRY, Order.Purpose.EXIT]
    ).first()


def _exit_on_stop_loss_or_take_profit(
    run: _Run, candle, open_trade: Trade | None, resting: Order | None
) -> tuple[Trade | None, Order | None]:
    """Stop loss / take profit, checked on the candle that just closed, unless the exchange holds a protective order
    for the position (it acts between runs, and protection.settle recorded what it did). Returns the open trade and
    the resting order the decision then meets: as given, unless an exit was sent."""
    subscription = run.subscription
    if (
        open_trade is None
        or protection.is_protected(subscription)
        or timeframes.to_ms(open_trade.entry_time) > int(candle.time)
    ):
        return open_trade, resting
    trigger = exit_trigger(open_trade, candle)
    if trigger is None or not _clear_resting_exit(run, resting):
        return open_trade, resting
    reason, _ = trigger
    stop_loss = reason is ExitReason.STOP_LOSS
    _submit(
        run,
        side="SELL",
        purpose=Order.Purpose.STOP_LOSS if stop_loss else Order.Purpose.TAKE_PROFIT,
        amount=_sell_amount(run.adapter, run.rules, open_trade.quantity),
        decision=None,
        action=PerformanceLog.Action.STOP_LOSS if stop_loss else PerformanceLog.Action.TAKE_PROFIT,
    )
    return _open_trade(subscription), None


def _act_on_decision(
    run: _Run, decision: Decision | None, open_trade: Trade | None, resting: Order | None, *, price: Decimal
) -> None:
    """The bot's BUY (when flat) or SELL (when in a position); not while a limit order of ours still rests."""
    subscription = run.subscription
    if decision is None:
        return
    wants_buy = decision.action is Action.BUY and open_trade is None
    wants_sell = decision.action is Action.SELL and open_trade is not None
    if (wants_buy or wants_sell) and resting is not None:
        run.outcome.notes.append(
            f"{decision.action.value} skipped: the {resting.side} limit order {resting.client_order_id} is still open."
        )
    elif wants_buy:
        _buy(run, decision, price=price)
    elif wants_sell and protection.release(run.outcome, subscription=subscription, adapter=run.adapter, risk=run.risk):
        # The protective order is gone (cancelled, or it filled first: then the trade is closed and there is
        # nothing left to sell, never a second exit).
        open_trade = _open_trade(subscription)
        if open_trade is not None:
            _sell(run, decision, open_trade, price=price)


def _order_price(run: _Run, side: str, price: Decimal) -> Decimal:
    """The limit price for a limit order (the configured offset from `price`, on the tick); `price` for a market one."""
    if run.execution.is_limit:
        return limit_price(side, price, run.execution.limit_offset_pct, run.rules.price_step)
    return price


def _buy(run: _Run, decision: Decision, *, price: Decimal) -> None:
    """Size a buy on the free quote balance and send it, unless the account holds its maximum of open trades or the
    amount misses the market's minimums (noted)."""
    risk, rules = run.risk, run.rules
    if _open_trades_on_account(run.subscription) >= risk.max_open_trades:
        run.outcome.notes.append(f"BUY skipped: {risk.max_open_trades} trade(s) already open on this account.")
        return
    order_price = _order_price(run, "BUY", price)
    free = run.adapter.free_balances()
    amount = _buy_amount(rules, free.get(rules.quote, Decimal(0)), order_price, decision, run.execution, risk)
    problem = minimums_problem(rules, amount, order_price)
    if problem:
        run.outcome.notes.append(f"BUY skipped: {problem}")
        return
    _submit(
        run,
        side="BUY",
        purpose=Order.Purpose.ENTRY,
        amount=amount,
        decision=decision,
        action=PerformanceLog.Action.BUY,
        price=order_price if run.execution.is_limit else None,
    )


def _sell(run: _Run, decision: Decision, open_trade: Trade, *, price: Decimal) -> None:
    """Sell the part of the position the decision asks for (the backtest's sizing), within the free base balance."""
    order_price = _order_price(run, "SELL", price)
    account = SimulatedAccount(
        balance=Decimal(0),
        fee_rate=run.rules.taker_fee_rate,
        slippage_rate=Decimal(0),
        execution=run.execution,
        risk=run.risk,
    )
    account.position = _position_of(open_trade)
    _submit(
        run,
        side="SELL",
        purpose=Order.Purpose.EXIT,
        amount=_sell_amount(run.adapter, run.rules, account.sell_quantity(decision.size, order_price)),
        decision=decision,
        action=PerformanceLog.Action.SELL,
        price=order_price if run.execution.is_limit else None,
    )


def _free_quote_balance(run: _Run) -> Decimal:
    """The balance the decision log shows: the free quote balance after the run (0 when it cannot be read now)."""
    try:
        return run.adapter.free_balances().get(run.rules.quote, Decimal(0))
    except TransientExchangeError:
        return Decimal(0)


def _submit(
    run: _Run,
    *,
    side: str,
    purpose: str,
    amount: Decimal,
    decision: Decision | None,
    action: str,
    price: Decimal | None = None,
) -> None:
    """Store the intent, send it if nobody has yet, and note the result for the decision log. With `price`, a
    limit order good till `limit_expiry_candles` candles from now."""
    subscription, run_at = run.subscription, run.run_at
    expires_at = None
    if price is not None:
        expires_at = run_at + timedelta(
            seconds=timeframes.seconds(subscription.timeframe) * run.execution.limit_expiry_candles
        )
    order = order_intent_store(
        subscription=subscription,
        run_at=run_at,
        side=side,
        purpose=purpose,
        quantity=amount,
        decision=decision,
        rules=run.rules,
        order_type=LIMIT if price is not None else MARKET,
        price=price,
        expires_at=expires_at,
    )
    if order.status == Order.Status.PENDING:
        order = order_place(order=order, adapter=run.adapter, amount=amount, risk=run.risk)
    elif order.status == Order.Status.SENT:
        # Another worker runs this same candle (a redelivered task beside the original) and claimed the order: ask
        # the exchange once. Found: recorded, and this run goes on with it. Not found (yet): that worker is still
        # sending it, and owns the run; noting "outcome unknown" here would show a false error on an order that
        # fills a moment later.
        result = run.adapter.find_order(subscription.trading_pair, order.client_order_id)
        if result is None:
            raise RunInProgress(f"Order {order.client_order_id} is being sent by another worker.")
        order = order_record_result(order_id=order.pk, result=result, risk=run.risk)
    outcome_note(run.outcome, order, action)


def _work_resting_orders(run: _Run) -> None:
    """Limit orders of earlier runs: record those the exchange filled, cancel those past their expiry (keeping what
    filled before, the rest cancelled), leave the others resting."""
    subscription, adapter, risk, outcome = run.subscription, run.adapter, run.risk, run.outcome
    for order in subscription.orders.filter(
        status=Order.Status.OPEN, purpose__in=[Order.Purpose.ENTRY, Order.Purpose.EXIT]
    ).order_by("candle_at"):
        result = adapter.find_order(subscription.trading_pair, order.client_order_id)
        if result is not None and result.is_final:
            order = order_record_result(order_id=order.pk, result=result, risk=risk)
        elif order.expires_at is None or run.run_at >= order.expires_at:
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


def _close_dust(run: _Run, *, price: Decimal) -> None:
    """Close an open position that no order could ever sell: what is left below the market's minimum amount or
    order value (a limit sell that filled only in part, a partial entry). While it stays open the bot may never buy
    again and every sell is refused, so the subscription would sit ACTIVE and do nothing. It is booked as closed at
    `price` with exit reason DUST and no fee, and the run's note says so; the coins stay on the account.

    Left alone while an order still works on the position (a resting limit order, protective orders)."""
    subscription, rules = run.subscription, run.rules
    trade = _open_trade(subscription)
    if trade is None or subscription.orders.filter(status=Order.Status.OPEN).exists():
        return
    if protection.is_protected(subscription):
        return
    problem = minimums_problem(rules, _sell_amount(run.adapter, rules, trade.quantity), price)
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
            exit_time=run.run_at,
            exit_fee=Decimal(0),
            reason=ExitReason.DUST.value,
        )
    run.outcome.notes.append(
        f"The rest of the position, {trade.quantity} {rules.base}, is too small to sell ({problem}): booked as "
        f"closed at {price} (dust; it stays on your exchange account), so the bot can trade again."
    )


def _clear_resting_exit(run: _Run, resting: Order | None) -> bool:
    """Cancel a resting limit sell before a market exit replaces it. True when nothing rests any more and the
    position is still open; False (noted) when the cancel's outcome is unknown or the limit sell filled first."""
    if resting is None or resting.side != "SELL":
        return True
    order = order_cancel(order=resting, adapter=run.adapter, risk=run.risk)
    if order.status == Order.Status.OPEN:
        run.outcome.notes.append(f"Exit postponed: the limit sell {order.client_order_id} could not be cancelled yet.")
        return False
    return order.subscription.trades.filter(status=Trade.Status.OPEN).exists()


def _sell_amount(adapter: ExchangeAdapter, rules: MarketRules, wanted: Decimal) -> Decimal:
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

    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    settled = 0
    pending = Order.objects.filter(
        status__in=[Order.Status.PENDING, Order.Status.SENT], updated_at__lte=cutoff, subscription__is_paper=False
    ).select_related("subscription")
    for order in pending:
        try:
            adapter = adapter_for(credential_for(order.subscription))
            # One lookup per pass: an order is declared LOST only after LOOKUP_ATTEMPTS passes, spread in time.
            order = order_resolve(order=order, adapter=adapter, wait=False, max_lookups=1)
        except (CredentialInvalid, CredentialUnusable, ExchangeNotSupported, TransientExchangeError) as exc:
            logger.warning("cannot reconcile order %s yet: %s", order.client_order_id, exc)
            continue
        except Exception:  # noqa: BLE001 - one subscription's order never stops the others' reconciliation
            logger.exception("reconciling order %s failed; the next pass tries again", order.client_order_id)
            connections_reset()
            continue
        settled += order.status not in (Order.Status.PENDING, Order.Status.SENT)
    return settled
