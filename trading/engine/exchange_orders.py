"""Orders on an exchange, one at a time: store the intent, send it, record the answer, resolve an unknown outcome by
client id, cancel. Shared by the live run (live.py) and the protective orders (protection.py); the guarantees (never
duplicated, never lost) are described in live.py's docstring.
"""

import time
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from core import timeframes
from core.fill_model import ExitReason, quantize_down, stop_loss_price, take_profit_price
from core.sdk import Decision
from core.trade_settings import MARKET, RiskSettings
from subscriptions.models import Subscription, Trade
from trading.engine import records
from trading.engine.orders import client_order_id
from trading.engine.outcome import Fill, RunOutcome
from trading.exceptions import OrderOutcomeUnknown, OrderRejected
from trading.exchanges.base import ExchangeAdapter, MarketRules, OrderResult, TransientExchangeError
from trading.models import Order

LOOKUP_ATTEMPTS = 4
LOOKUP_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)


def order_record_result(*, order_id: int, result: OrderResult, risk: RiskSettings | None = None) -> Order:
    """Write what the exchange reported for an order, and the trade it opened or closed. Idempotent: an order
    already recorded as final is left as it is (a redelivered run and the reconciliation may both get here)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("subscription").get(pk=order_id)
        # LOST is not final here: if the exchange reports the order after all, what it reports wins.
        if order.status in (Order.Status.FILLED, Order.Status.REJECTED, Order.Status.CANCELLED):
            return order
        order.exchange_order_id = result.exchange_order_id
        order.filled_quantity = result.filled
        order.average_price = result.average_price
        price = result.average_price or Decimal(0)
        order.fee_quote = result.fee_quote + result.fee_base * price
        if result.filled <= 0:
            order.status = Order.Status.OPEN if not result.is_final else Order.Status.CANCELLED
            order.save()
            return order
        if not result.is_final and order.order_type != MARKET:
            # A resting order partly filled: its trade is written once, when it is final (filled, or the rest
            # cancelled at its expiry), so a position never changes size under a run that is reading it.
            order.status = Order.Status.OPEN
            order.save()
            return order
        requested = order.requested_quantity or result.requested
        if order.order_type != MARKET and requested and result.filled < requested:
            order.error = f"Partially filled: {result.filled} of {requested}; the rest was cancelled."
        subscription = order.subscription
        if order.side == "BUY":
            # A buy's fee charged in the base asset reduces what we hold. What is left below one lot step can never
            # be sold on its own: it is booked as part of the entry cost, so the trade holds whole steps only.
            received = result.filled - result.fee_base
            quantity = quantize_down(received, order.amount_step)
            risk = risk or _risk_of(subscription)
            order.trade = records.trade_open(
                subscription=subscription,
                quantity=quantity,
                entry_price=price,
                entry_time=_fill_time(order, result),
                entry_fee=order.fee_quote + (received - quantity) * price,
                stop_loss_price=stop_loss_price(price, risk.stop_loss_pct),
                take_profit_price=take_profit_price(price, risk.take_profit_pct),
                exchange_order_id=result.exchange_order_id,
                exchange_trade_id=result.exchange_trade_id,
            )
        else:
            open_trade = subscription.trades.select_for_update().filter(status=Trade.Status.OPEN).first()
            if open_trade is not None:
                order.trade = records.trade_close(
                    trade=open_trade,
                    quantity=result.filled,
                    exit_price=price,
                    exit_time=_fill_time(order, result),
                    exit_fee=order.fee_quote,
                    reason=_exit_reason(order),
                )
        order.status = Order.Status.FILLED if result.is_final or result.filled > 0 else Order.Status.OPEN
        order.save()
        if order.status == Order.Status.FILLED:
            # A run that could not learn this order's outcome showed it as unknown ("Sent, outcome unknown"); now
            # that it is known to have filled, that message is false: clear it.
            Subscription.objects.filter(pk=subscription.pk, last_error__contains=order.client_order_id).update(
                last_error=""
            )
        return order


def _fill_time(order: Order, result: OrderResult) -> datetime:
    """When an order traded: a market order at its run (as paper and backtests book it); a resting order (limit,
    protective) when the exchange says it traded, which may be hours after it was placed."""
    if order.order_type != MARKET and result.filled_at_ms:
        return timeframes.from_ms(int(result.filled_at_ms))
    return order.candle_at


def _risk_of(subscription: Subscription) -> RiskSettings:
    return RiskSettings.from_config(subscription.risk_config)


def _exit_reason(order: Order) -> str:
    reasons: dict[str, ExitReason] = {
        Order.Purpose.STOP_LOSS: ExitReason.STOP_LOSS,
        Order.Purpose.TAKE_PROFIT: ExitReason.TAKE_PROFIT,
    }
    return reasons.get(order.purpose, ExitReason.SIGNAL).value


def order_resolve(
    *, order: Order, adapter: ExchangeAdapter, wait: bool = True, max_lookups: int | None = None
) -> Order:
    """Settle an order whose outcome is unknown (PENDING/SENT) by looking it up with our client id.

    Found: recorded. Not found by every one of LOOKUP_ATTEMPTS lookups: LOST (the exchange never saw it). A lookup
    that fails on the network proves nothing: the order stays SENT for the next reconciliation.
    """
    attempts_left = max(LOOKUP_ATTEMPTS - order.lookup_attempts, 1)
    if max_lookups is not None:
        attempts_left = min(attempts_left, max_lookups)
    for attempt in range(attempts_left):
        try:
            result = adapter.find_order(order.subscription.trading_pair, order.client_order_id)
        except TransientExchangeError:
            Order.objects.filter(pk=order.pk).update(status=Order.Status.SENT)
            order.refresh_from_db()
            return order
        if result is not None:
            return order_record_result(order_id=order.pk, result=result)
        Order.objects.filter(pk=order.pk, status__in=[Order.Status.PENDING, Order.Status.SENT]).update(
            lookup_attempts=order.lookup_attempts + attempt + 1, status=Order.Status.SENT
        )
        if wait and attempt + 1 < attempts_left:
            time.sleep(LOOKUP_BACKOFF_S[min(attempt, len(LOOKUP_BACKOFF_S) - 1)])
    order.refresh_from_db()
    if order.lookup_attempts >= LOOKUP_ATTEMPTS and order.status == Order.Status.SENT:
        Order.objects.filter(pk=order.pk, status=Order.Status.SENT).update(
            status=Order.Status.LOST, error="The exchange never received this order (checked by its client id)."
        )
        order.refresh_from_db()
    return order


def order_place(*, order: Order, adapter: ExchangeAdapter, amount: Decimal, risk: RiskSettings) -> Order:
    """Step 2 and 3: send a committed intent and record the answer.

    The intent is claimed first with a compare-and-set PENDING -> SENT: of two workers holding the same intent
    (a redelivered task running beside the original), only one ever sends it.
    """
    symbol = order.subscription.trading_pair
    if not Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(status=Order.Status.SENT):
        order.refresh_from_db()
        return order
    try:
        result = adapter.create_order(
            symbol, order.order_type, order.side, amount, order.limit_price, order.client_order_id
        )
    except OrderOutcomeUnknown as exc:
        Order.objects.filter(pk=order.pk).update(error=str(exc))
        order.refresh_from_db()
        return order_resolve(order=order, adapter=adapter)
    except OrderRejected as exc:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.REJECTED, error=str(exc)[:2000])
        order.refresh_from_db()
        return order
    return order_record_result(order_id=order.pk, result=result, risk=risk)


def order_intent_store(
    *,
    subscription: Subscription,
    run_at: datetime,
    side: str,
    purpose: str,
    quantity: Decimal,
    decision: Decision | None,
    rules: MarketRules,
    order_type: str = MARKET,
    price: Decimal | None = None,
    expires_at: datetime | None = None,
) -> Order:
    """Step 1: store the intent and commit it. If it exists already (a rerun of this candle), return that one.

    Keyed on the client order id, which is deterministic per (subscription, run time, side) and unique: two
    workers storing the same intent race on that unique key, and the loser reads the winner's row."""
    with transaction.atomic():
        order, _ = Order.objects.get_or_create(
            client_order_id=client_order_id(
                subscription_id=subscription.pk,
                candle_at=run_at,
                side=side,
                exchange=subscription.exchange_type,
                paper=False,
            ),
            defaults={
                "subscription": subscription,
                "candle_at": run_at,
                "side": side,
                "purpose": purpose,
                "order_type": order_type,
                "limit_price": price,
                "expires_at": expires_at,
                "requested_quantity": quantity,
                "amount_step": rules.amount_step,
                "decision": decision.to_json() if decision else None,
            },
        )
    return order


def minimums_problem(rules: MarketRules, amount: Decimal, price: Decimal) -> str:
    """Why the exchange would refuse this amount, or "" when it meets the market's minimums."""
    if amount <= 0:
        return "The balance is too small for one lot of this market."
    if rules.min_amount is not None and amount < rules.min_amount:
        return f"{amount} {rules.base} is below the market's minimum amount {rules.min_amount}."
    if rules.min_notional is not None and amount * price < rules.min_notional:
        return f"{amount * price:.2f} {rules.quote} is below the market's minimum order value {rules.min_notional}."
    return ""


def order_cancel(*, order: Order, adapter: ExchangeAdapter, risk: RiskSettings | None = None) -> Order:
    """Cancel an order resting on the exchange and record what it filled before (a partial fill becomes the
    position or closes part of it). Safe to repeat: a cancel whose reply was lost is settled by reading the order,
    and an order the exchange filled or cancelled meanwhile is recorded as it is.

    Returns the order: CANCELLED or FILLED when settled, still OPEN when the exchange could not be asked."""
    symbol = order.subscription.trading_pair
    try:
        result = adapter.cancel_order(symbol, order.client_order_id)
        if result is None:
            result = adapter.find_order(symbol, order.client_order_id)
    except TransientExchangeError as exc:
        # Unknown whether the cancel arrived: the order stays OPEN and the next run asks again.
        Order.objects.filter(pk=order.pk).update(error=str(exc)[:2000])
        order.refresh_from_db()
        return order
    except OrderRejected as exc:
        Order.objects.filter(pk=order.pk).update(error=str(exc)[:2000])
        order.refresh_from_db()
        return order
    if result is None:
        return order
    return order_record_result(order_id=order.pk, result=result, risk=risk)


def outcome_note(outcome: RunOutcome, order: Order, action: str) -> None:
    """Turn an order's final state into a fill or a note (rejected, lost, unknown)."""
    if order.status == Order.Status.FILLED and order.trade_id:
        outcome.fills.append(
            Fill(
                action=action,
                price=order.average_price or Decimal(0),
                quantity=order.filled_quantity,
                trade=order.trade,
                order=order,
            )
        )
    else:
        outcome.notes.append(
            f"{order.side} order {order.client_order_id}: {order.get_status_display()}"
            + (f" — {order.error}" if order.error else "")
        )
