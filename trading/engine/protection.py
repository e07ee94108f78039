"""Protective orders: a position's stop loss and take profit resting on the exchange itself, so the position is
protected between runs, where the exchange supports it (its adapter's `protective_orders`; Binance: one OCO).

Life of a protection, every step through the order intents of `exchange_orders.py` (stored first, claimed, looked
up by client id on an unknown outcome, never resent):
- `protect`: a position without one gets its legs (purpose STOP_LOSS, type "stop"; purpose TAKE_PROFIT, type
  "limit") after its entry filled, or after a partial exit left a rest. A refusal is logged; the engine's per-run
  check then guards the position instead.
- `settle`: at the start of each run, a leg the exchange filled while we were away closes the trade (exit reason
  stop loss / take profit, at the exchange's price and time, counters updated in the same transaction); the other
  leg, expired by the exchange, is recorded as cancelled.
- `release`: before the bot's own SELL, the legs are cancelled and read back. Only when every leg is final does the
  sell go out; if a leg filled first, the trade is already closed and nothing is sold (no double exit). A cancel
  whose outcome is unknown is read back at once; if the exchange cannot be asked, the run is retried
  (TransientExchangeError) and the sell waits: it is never sent while a leg may still fill.
"""

from datetime import datetime
from decimal import ROUND_UP, Decimal

from django.db import transaction

from core.fill_model import quantize_down
from core.trade_settings import LIMIT, MARKET, RiskSettings
from subscriptions.models import Subscription, Trade
from trading.engine import exchange_orders
from trading.engine.orders import ORDER_LIST, STOP_LOSS_LEG, TAKE_PROFIT_LEG, client_order_id
from trading.engine.outcome import RunOutcome
from trading.exceptions import OrderOutcomeUnknown, OrderRejected
from trading.exchanges.base import ExchangeAdapter, MarketRules, TransientExchangeError
from trading.exchanges.registry import adapter_class
from trading.models import Order

STOP = "stop"
PROTECTIVE_PURPOSES = (Order.Purpose.STOP_LOSS, Order.Purpose.TAKE_PROFIT)
UNSETTLED = (Order.Status.PENDING, Order.Status.SENT, Order.Status.OPEN)


def supported(subscription: Subscription) -> bool:
    return adapter_class(subscription.exchange_type).protective_orders is not None


def _legs(subscription: Subscription):
    """Protective legs that may still act on the exchange (resting, or sent with an outcome not yet known)."""
    return (
        subscription.orders.filter(purpose__in=PROTECTIVE_PURPOSES, status__in=UNSETTLED)
        .exclude(order_type=MARKET)
        .order_by("pk")
    )


def is_protected(subscription: Subscription) -> bool:
    """Whether the exchange holds (or may hold) a protective order for the subscription's position."""
    return _legs(subscription).exists()


def settle(outcome: RunOutcome, *, subscription: Subscription, adapter: ExchangeAdapter) -> None:
    """Record what the exchange did with resting protective legs since the last run."""

    for leg in _legs(subscription).filter(status=Order.Status.OPEN):
        result = adapter.find_order(subscription.trading_pair, leg.client_order_id)
        if result is None or not (result.is_final or result.filled > 0):
            continue
        leg = exchange_orders.order_record_result(order_id=leg.pk, result=result)
        if leg.status == Order.Status.FILLED:
            exchange_orders.outcome_note(outcome, leg, leg.purpose)


def release(outcome: RunOutcome, *, subscription: Subscription, adapter: ExchangeAdapter, risk: RiskSettings) -> bool:
    """Cancel the position's protective legs before the bot's own exit. True when none may act any more (the
    caller re-reads the trade: a leg may have closed it first). Raises TransientExchangeError when a leg's state
    cannot be known now: the run is retried rather than risk two exits."""

    legs = list(_legs(subscription))
    for leg in legs:
        if leg.status == Order.Status.OPEN:
            # Cancelling one leg of an OCO cancels the list; the second cancel finds nothing open and reads the
            # leg back instead, which records it as the exchange has it.
            exchange_orders.order_cancel(order=leg, adapter=adapter, risk=risk)
    remaining = list(_legs(subscription))
    if remaining:
        raise TransientExchangeError(
            f"The protective order {remaining[0].client_order_id} could not be cancelled yet; the exit is retried."
        )
    if legs:
        outcome.notes.append("Protective orders cancelled before the bot's exit.")
    return True


def protect(
    outcome: RunOutcome,
    *,
    subscription: Subscription,
    adapter: ExchangeAdapter,
    rules: MarketRules,
    run_at: datetime,
    risk: RiskSettings,
) -> None:
    """Place the open position's stop loss / take profit on the exchange, if it supports them and it has none."""

    if not supported(subscription) or (risk.stop_loss_pct is None and risk.take_profit_pct is None):
        return
    trade = subscription.trades.filter(status=Trade.Status.OPEN).first()
    if trade is None or is_protected(subscription):
        return
    if trade.stop_loss_price is None and trade.take_profit_price is None:
        # A trade opened before its risk settings had a stop or a target (they may be edited while a position is
        # open) has no level to rest: the settings apply from the next entry.
        return
    free_base = adapter.free_balances().get(rules.base, Decimal(0))
    amount = quantize_down(min(trade.quantity, free_base), rules.amount_step)
    stop = quantize_down(trade.stop_loss_price, rules.price_step) if trade.stop_loss_price else None
    target = _round_up(trade.take_profit_price, rules.price_step) if trade.take_profit_price else None
    level = stop if stop is not None else target
    assert level is not None  # one of the two prices is set (checked above)
    if amount <= 0 or exchange_orders.minimums_problem(rules, amount, level):
        outcome.notes.append("No protective order: the position is below the market's minimums.")
        return
    legs = _intents(subscription, trade, run_at, amount, stop, target, rules)
    if any(leg.status != Order.Status.PENDING for leg in legs):
        return  # this run placed (or tried) them already; the per-run check guards what they do not
    # Compare-and-set on every leg at once: of two workers holding these intents, one sends them.
    if Order.objects.filter(pk__in=[leg.pk for leg in legs], status=Order.Status.PENDING).update(
        status=Order.Status.SENT
    ) != len(legs):
        return
    by_purpose = {leg.purpose: leg for leg in legs}
    stop_leg, target_leg = by_purpose.get(Order.Purpose.STOP_LOSS), by_purpose.get(Order.Purpose.TAKE_PROFIT)
    try:
        adapter.create_protective_orders(
            subscription.trading_pair,
            amount,
            stop_price=stop,
            take_profit_price=target,
            stop_client_id=stop_leg.client_order_id if stop_leg else "",
            take_profit_client_id=target_leg.client_order_id if target_leg else "",
            list_client_id=legs[0].group_client_id or "",
        )
    except OrderOutcomeUnknown as exc:
        Order.objects.filter(pk__in=[leg.pk for leg in legs]).update(error=str(exc))
    except OrderRejected as exc:
        Order.objects.filter(pk__in=[leg.pk for leg in legs]).update(
            status=Order.Status.REJECTED, error=str(exc)[:2000]
        )
        outcome.notes.append(f"Protective order refused ({exc}); the stop loss / take profit are checked each run.")
        return
    for leg in legs:
        # Read back by client id (also what settles an unknown outcome: found -> recorded, else looked up again).
        leg.refresh_from_db()
        exchange_orders.order_resolve(order=leg, adapter=adapter)


def _intents(subscription, trade, run_at, amount, stop, target, rules) -> list[Order]:
    def leg_id(letter: str) -> str:
        return client_order_id(
            subscription_id=subscription.pk,
            candle_at=run_at,
            side=letter,
            exchange=subscription.exchange_type,
            paper=False,
        )

    group = leg_id(ORDER_LIST) if stop is not None and target is not None else None
    wanted = []
    if stop is not None:
        wanted.append(
            {
                "purpose": Order.Purpose.STOP_LOSS,
                "order_type": STOP,
                "stop_price": stop,
                "client_order_id": leg_id(STOP_LOSS_LEG),
            }
        )
    if target is not None:
        wanted.append(
            {
                "purpose": Order.Purpose.TAKE_PROFIT,
                "order_type": LIMIT,
                "limit_price": target,
                "client_order_id": leg_id(TAKE_PROFIT_LEG),
            }
        )
    legs = []
    with transaction.atomic():
        for fields in wanted:
            leg, _ = Order.objects.get_or_create(
                client_order_id=fields.pop("client_order_id"),
                defaults={
                    "subscription": subscription,
                    "candle_at": run_at,
                    "side": "SELL",
                    "requested_quantity": amount,
                    "amount_step": rules.amount_step,
                    "group_client_id": group,
                    "trade": trade,
                    **fields,
                },
            )
            legs.append(leg)
    return legs


def _round_up(price: Decimal, step: Decimal | None) -> Decimal:
    """A take profit is rounded up to the tick: never sell below the target asked for."""
    if not step:
        return price
    return (price / step).to_integral_value(rounding=ROUND_UP) * step
