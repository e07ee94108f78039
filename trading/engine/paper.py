"""Paper execution: simulated fills on real market data, with the account and fill model backtests use.

Within a run for the candle that closed at `close_at`, events happen in the backtest's order:
1. a paper order decided on an earlier candle and still pending fills at the open of the candle after it (a limit
   order is placed there and worked against that candle, and against the next ones while it rests, as backtests
   do; unfilled after `limit_expiry_candles` it is cancelled and the run's log says so);
2. the stop loss / take profit of the open position is checked against the candle that just closed;
3. the bot's decision on that candle, if it would act, becomes an order that fills at the next candle's open
   (now, when the in-progress candle's open is known; otherwise at the next run, step 1).
The account state is kept exactly (`PaperAccount.exact_state`), so the same candles and config give the same
trades as `core.backtest.run_backtest`.
"""

from decimal import Decimal

from django.conf import settings

from core import timeframes
from core.backtest.account import EXPIRED, RESTING, Position, RestingOrder, SimulatedAccount
from core.fill_model import ExitReason, exit_trigger, fee, to_decimal
from core.sdk import Action, Decision
from core.trade_settings import LIMIT, ExecutionSettings, RiskSettings
from subscriptions.models import PerformanceLog, Subscription, Trade
from trading.engine import records
from trading.engine.orders import client_order_id
from trading.engine.outcome import Fill, RunOutcome
from trading.market_data import CandleWindow
from trading.models import Order, PaperAccount


def _fee_rate() -> Decimal:
    return to_decimal(settings.PAPER_FEE_RATE)


def paper_account_for(subscription: Subscription) -> PaperAccount:
    """The subscription's paper account, locked (created with the configured starting balance on first use)."""
    starting = to_decimal(settings.PAPER_STARTING_BALANCE)
    PaperAccount.objects.get_or_create(
        subscription=subscription,
        defaults={"starting_balance": starting, "quote_balance": starting, "exact_state": {"balance": str(starting)}},
    )
    return PaperAccount.objects.select_for_update().get(subscription=subscription)


def _load(paper: PaperAccount, execution: ExecutionSettings, risk: RiskSettings) -> SimulatedAccount:
    state = paper.exact_state or {}
    account = SimulatedAccount(
        balance=Decimal(state.get("balance", str(paper.quote_balance))),
        fee_rate=_fee_rate(),
        slippage_rate=execution.slippage_rate or Decimal(0),
        execution=execution,
        risk=risk,
    )
    position = state.get("position")
    if position:
        account.position = Position(
            quantity=Decimal(position["quantity"]),
            entry_price=Decimal(position["entry_price"]),
            entry_fee=Decimal(position["entry_fee"]),
            entry_time_ms=int(position["entry_time_ms"]),
            entry_index=0,
            stop_loss_price=Decimal(position["stop_loss_price"]) if position["stop_loss_price"] else None,
            take_profit_price=Decimal(position["take_profit_price"]) if position["take_profit_price"] else None,
        )
    resting = state.get("resting")
    if resting:
        account.resting = RestingOrder(
            side=resting["side"],
            price=Decimal(resting["price"]),
            quantity=Decimal(resting["quantity"]),
            candles_left=int(resting["candles_left"]),
            placed_time_ms=int(resting["placed_time_ms"]),
            last_checked_ms=resting["last_checked_ms"],
        )
    return account


def _save(paper: PaperAccount, account: SimulatedAccount) -> None:
    position = account.position
    paper.exact_state = {
        "balance": str(account.balance),
        "position": None
        if position is None
        else {
            "quantity": str(position.quantity),
            "entry_price": str(position.entry_price),
            "entry_fee": str(position.entry_fee),
            "entry_time_ms": position.entry_time_ms,
            "stop_loss_price": None if position.stop_loss_price is None else str(position.stop_loss_price),
            "take_profit_price": None if position.take_profit_price is None else str(position.take_profit_price),
        },
        "resting": None
        if account.resting is None
        else {
            "side": account.resting.side,
            "price": str(account.resting.price),
            "quantity": str(account.resting.quantity),
            "candles_left": account.resting.candles_left,
            "placed_time_ms": account.resting.placed_time_ms,
            "last_checked_ms": account.resting.last_checked_ms,
        },
    }
    paper.quote_balance = account.balance
    paper.base_balance = position.quantity if position else Decimal(0)
    paper.save(update_fields=["exact_state", "quote_balance", "base_balance", "updated_at"])


class _Recorder:
    """Applies one account operation and mirrors what it did into trades rows and fills."""

    def __init__(self, subscription: Subscription, account: SimulatedAccount, outcome: RunOutcome) -> None:
        self.subscription = subscription
        self.account = account
        self.outcome = outcome

    def open_trade(self) -> Trade | None:
        return self.subscription.trades.select_for_update().filter(status=Trade.Status.OPEN).first()

    def apply(self, operation, *, action: str, order: Order | None = None) -> None:
        before_trades = len(self.account.trades)
        before_fills = len(self.outcome.fills)
        had_position = self.account.position is not None
        result = operation()
        if order is not None and order.order_type == LIMIT and self.account.last_placed is not None:
            order.limit_price = self.account.last_placed.price
        for closed in self.account.trades[before_trades:]:
            open_trade = self.open_trade()
            assert open_trade is not None  # the account closed a position: its trade row is still open
            exit_fee = fee(closed.quantity * closed.exit_price, self.account.fee_rate)
            row = records.trade_close(
                trade=open_trade,
                quantity=closed.quantity,
                exit_price=closed.exit_price,
                exit_time=timeframes.from_ms(closed.exit_time_ms),
                exit_fee=exit_fee,
                reason=str(closed.exit_reason),
            )
            self._fill(action, closed.exit_price, closed.quantity, order, trade=row)
        position = self.account.position
        if position is not None and not had_position:
            row = records.trade_open(
                subscription=self.subscription,
                quantity=position.quantity,
                entry_price=position.entry_price,
                entry_time=timeframes.from_ms(position.entry_time_ms),
                entry_fee=position.entry_fee,
                stop_loss_price=position.stop_loss_price,
                take_profit_price=position.take_profit_price,
            )
            self._fill(action, position.entry_price, position.quantity, order, trade=row)
        if order is not None:
            if len(self.outcome.fills) > before_fills:
                order.status = Order.Status.FILLED
                order.trade = self.outcome.fills[-1].trade
            elif result == RESTING:
                order.status = Order.Status.OPEN
            elif result == EXPIRED:
                order.status, order.error = Order.Status.CANCELLED, "The limit price was not reached: cancelled."
                self.outcome.notes.append(
                    f"{order.side} limit order at {order.limit_price} expired unfilled after "
                    f"{self.account.execution.limit_expiry_candles} candle(s) and was cancelled."
                )
            else:
                # Nothing to do by the time it could fill (e.g. a stop loss closed the position first).
                order.status, order.error = Order.Status.CANCELLED, "Nothing to fill when its candle opened."
            order.save(
                update_fields=[
                    "status",
                    "trade",
                    "error",
                    "filled_quantity",
                    "average_price",
                    "limit_price",
                    "updated_at",
                ]
            )

    def _fill(self, action: str, price: Decimal, quantity: Decimal, order: Order | None, *, trade: Trade) -> None:
        self.outcome.fills.append(Fill(action=action, price=price, quantity=quantity, trade=trade, order=order))
        if order is not None:
            order.filled_quantity = quantity
            order.average_price = price


def _pending_orders(subscription: Subscription, close_at) -> list[Order]:
    return list(
        subscription.orders.select_for_update()
        .filter(status=Order.Status.PENDING, candle_at__lt=close_at)
        .order_by("candle_at")
    )


def _work_resting(recorder: _Recorder, subscription: Subscription, candles, times: list[int], *, after_ms) -> None:
    """Work the account's resting limit order against each closed candle of the window opened after `after_ms`."""
    account = recorder.account
    if account.resting is None or after_ms is None:
        return
    order = subscription.orders.select_for_update().filter(status=Order.Status.OPEN).order_by("-candle_at").first()
    for index, time_ms in enumerate(times):
        if account.resting is None:
            break
        if time_ms <= after_ms:
            continue
        decision = Decision.from_json(order.decision) if order is not None else None
        recorder.apply(
            lambda i=index: account.execute(None, to_decimal(float(candles.open[i])), i, times[i], bar=candles[i]),
            action=decision.action.value if decision else "BUY",
            order=order,
        )


def paper_run(
    *,
    subscription: Subscription,
    window: CandleWindow,
    decision: Decision | None,
    execution: ExecutionSettings,
    risk: RiskSettings,
) -> RunOutcome:
    """One paper run for the candle that closed at `window.close_at`. The caller holds the subscription's lock."""
    paper = paper_account_for(subscription)
    account = _load(paper, execution, risk)
    outcome = RunOutcome()
    recorder = _Recorder(subscription, account, outcome)
    candles = window.candles
    times = [int(t) for t in candles.time]

    # 1. Orders decided earlier whose next candle is now closed: fill at that candle's open (a market order), or
    #    place a limit order there and work it against that candle and the ones after it while it rests.
    for order in _pending_orders(subscription, window.close_at):
        fill_ms = timeframes.to_ms(order.candle_at)
        if fill_ms not in times:
            order.status, order.error = Order.Status.CANCELLED, "The candle it was to fill on is missing."
            order.save(update_fields=["status", "error", "updated_at"])
            continue
        index = times.index(fill_ms)
        pending_decision = Decision.from_json(order.decision)
        recorder.apply(
            lambda d=pending_decision, i=index: account.execute(
                d, to_decimal(float(candles.open[i])), i, times[i], bar=candles[i]
            ),
            action=pending_decision.action.value,
            order=order,
        )
        _work_resting(recorder, subscription, candles, times, after_ms=fill_ms)
    if account.resting is not None:
        _work_resting(recorder, subscription, candles, times, after_ms=account.resting.last_checked_ms)

    # 2. Stop loss / take profit on the candle that just closed (the entry candle included).
    last = len(candles) - 1
    position = account.position
    if position is not None and position.entry_time_ms <= times[last]:
        trigger = exit_trigger(position, candles[last])
        if trigger is not None:
            reason, trigger_price = trigger
            action = (
                PerformanceLog.Action.STOP_LOSS if reason is ExitReason.STOP_LOSS else PerformanceLog.Action.TAKE_PROFIT
            )
            recorder.apply(lambda: account.sell_all(trigger_price, last, times[last], reason), action=action)
            if account.resting is None:
                # A limit sell still resting had nothing left to sell: the exit above replaced it.
                subscription.orders.filter(status=Order.Status.OPEN).update(
                    status=Order.Status.CANCELLED, error="The position was closed by its stop loss or take profit."
                )

    # 3. The decision on the closed candle.
    if decision is not None and decision.action is not Action.HOLD and account.wants(decision.action):
        close_ms = timeframes.to_ms(window.close_at)
        order = Order.objects.create(
            subscription=subscription,
            candle_at=window.close_at,
            side=decision.action.value,
            purpose=Order.Purpose.ENTRY if decision.action is Action.BUY else Order.Purpose.EXIT,
            client_order_id=client_order_id(
                subscription_id=subscription.pk,
                candle_at=window.close_at,
                side=decision.action.value,
                exchange=subscription.exchange_type,
                paper=True,
            ),
            decision=decision.to_json(),
            order_type=execution.order_type,
        )
        # A limit order needs the next candle's range, not only its open: it is placed and worked at the next run
        # (step 1), as the backtest does on the next candle.
        if window.next_open is not None and not execution.is_limit:
            recorder.apply(
                lambda: account.execute(decision, window.next_open, last + 1, close_ms),
                action=decision.action.value,
                order=order,
            )

    _save(paper, account)
    outcome.balance = account.balance
    return outcome
