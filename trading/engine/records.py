"""What a run writes: trades (opened, closed, split on partial exits), decision logs, subscription counters."""

import json
from datetime import datetime
from decimal import Decimal

from django.db.models import F

from core.fill_model import realized_pnl
from core.sdk.decision import MAX_INDICATORS, MAX_REASON_CHARS
from subscriptions.models import PerformanceLog, Side, Subscription, Trade

PERCENT_PLACES = Decimal("0.0001")
# One decision log row's signal_data, as JSON: a decision is bounded already (core.sdk.decision: 500 characters of
# reason, 50 indicators); this is the last line, so that no caller can store a bot's output unbounded on every run.
MAX_SIGNAL_DATA_BYTES = 16 * 1024
MAX_NOTES = 10
MAX_NOTE_CHARS = 500


def trade_open(
    *,
    subscription: Subscription,
    quantity: Decimal,
    entry_price: Decimal,
    entry_time: datetime,
    entry_fee: Decimal,
    stop_loss_price: Decimal | None,
    take_profit_price: Decimal | None,
    exchange_order_id: str | None = None,
    exchange_trade_id: str | None = None,
) -> Trade:
    return Trade.objects.create(
        subscription=subscription,
        side=Side.BUY,
        trading_pair=subscription.trading_pair,
        quantity=quantity,
        entry_price=entry_price,
        entry_time=entry_time,
        entry_fee=entry_fee,
        stop_loss_price=stop_loss_price,
        take_profit_price=take_profit_price,
        exchange_order_id=exchange_order_id,
        exchange_trade_id=exchange_trade_id,
    )


def trade_close(
    *,
    trade: Trade,
    quantity: Decimal,
    exit_price: Decimal,
    exit_time: datetime,
    exit_fee: Decimal,
    reason: str,
) -> Trade:
    """Close `quantity` of an open trade (the caller holds its row lock) and count it on the subscription.

    A partial exit closes a new row for the part sold, carrying its share of the entry fee, and leaves the rest
    open on the original row: one closed trade row per exit, as backtests report them.
    Returns the closed row.
    """
    if quantity >= trade.quantity:
        quantity, entry_fee_share, closed = trade.quantity, trade.entry_fee, trade
    else:
        entry_fee_share = trade.entry_fee * quantity / trade.quantity
        closed = Trade(
            subscription_id=trade.subscription_id,
            side=trade.side,
            trading_pair=trade.trading_pair,
            entry_price=trade.entry_price,
            entry_time=trade.entry_time,
            stop_loss_price=trade.stop_loss_price,
            take_profit_price=trade.take_profit_price,
            exchange_trade_id=trade.exchange_trade_id,
        )
        trade.quantity -= quantity
        trade.entry_fee -= entry_fee_share
        trade.save(update_fields=["quantity", "entry_fee"])
    pnl, cost = realized_pnl(
        quantity=quantity,
        entry_price=closed.entry_price,
        entry_fee=entry_fee_share,
        exit_price=exit_price,
        exit_fee=exit_fee,
    )
    closed.quantity = quantity
    closed.entry_fee = entry_fee_share
    closed.exit_price = exit_price
    closed.exit_time = exit_time
    closed.exit_fee = exit_fee
    closed.exit_reason = reason
    closed.pnl = pnl
    closed.pnl_percentage = (pnl / cost * 100).quantize(PERCENT_PLACES) if cost else Decimal(0)
    closed.status = Trade.Status.CLOSED
    # exchange_order_id stays the entry order's id; the exit order is linked through orders.trade.
    closed.save()
    # F() expressions: the counters are incremented in the database, in the same transaction as the trade, so two
    # writers can never lose an update.
    Subscription.objects.filter(pk=trade.subscription_id).update(
        total_trades=F("total_trades") + 1,
        winning_trades=F("winning_trades") + (1 if pnl > 0 else 0),
        total_pnl=F("total_pnl") + pnl,
    )
    return closed


def decision_log(
    *,
    subscription: Subscription,
    action: str,
    timestamp: datetime,
    price: Decimal,
    quantity: Decimal,
    balance: Decimal,
    signal_data: dict,
) -> PerformanceLog:
    """One performance_logs row: every decision is logged, HOLD included, with what the bot used (`signal_data`,
    cut to its bounds by `signal_data_bounded`)."""
    return PerformanceLog.objects.create(
        subscription=subscription,
        action=action,
        timestamp=timestamp,
        price=price,
        quantity=quantity,
        balance=balance,
        signal_data=signal_data_bounded(signal_data),
    )


def signal_data_bounded(signal_data: dict) -> dict:
    """`signal_data` with the bot's reason, its indicators and the run's notes cut to their bounds, and at most
    MAX_SIGNAL_DATA_BYTES of JSON in all (past that, only the small fields are kept, with `"truncated": true`)."""
    data = dict(signal_data)
    if isinstance(data.get("reason"), str):
        data["reason"] = data["reason"][:MAX_REASON_CHARS]
    indicators = data.get("indicators")
    if isinstance(indicators, dict) and len(indicators) > MAX_INDICATORS:
        data["indicators"] = dict(list(indicators.items())[:MAX_INDICATORS])
        data["truncated"] = True
    if isinstance(data.get("notes"), list):
        data["notes"] = [str(note)[:MAX_NOTE_CHARS] for note in data["notes"][:MAX_NOTES]]
    if len(json.dumps(data, default=str)) > MAX_SIGNAL_DATA_BYTES:
        small = {
            key: value for key, value in data.items()
            if key not in ("indicators", "notes", "reason") and len(json.dumps(value, default=str)) <= 200
        }
        data = small | {"reason": data.get("reason", "")[:200] if isinstance(data.get("reason"), str) else "",
                        "truncated": True}
    return data
