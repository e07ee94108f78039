"""The simulated account shared by backtests and paper trading: quote balance, one long position, closed trades.

Backtests (``core.backtest.engine``) and paper subscriptions (``trading.engine``) both size, fill and close through
this class and ``core.fill_model``, so the same candles and config give the same trades in both.

Limit orders (``execution.order_type == "limit"``): a decision places a ``RestingOrder`` at the open of the candle
after it, priced ``limit_offset_percent`` away from that open. ``execute(..., bar=candle)`` then works it against
each candle, that first one included: it fills at its own price when the candle reaches it (``limit_fill``), or is
cancelled after ``limit_expiry_candles`` candles. While it rests, ``wants()`` is False, so no second order is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.fill_model import (
    BUY,
    SELL,
    ExitReason,
    PriceBar,
    fee,
    fill_price,
    limit_fill,
    limit_price,
    quantize_down,
    realized_pnl,
    stop_loss_price,
    take_profit_price,
    to_decimal,
)
from core.sdk import Action, Decision, Size, SizeType
from core.trade_settings import ALL, PERCENTAGE, ExecutionSettings, RiskSettings

from .result import Trade


@dataclass
class Position:
    quantity: Decimal
    entry_price: Decimal
    entry_fee: Decimal  # the part of the entry fee not yet charged to a closed trade
    entry_time_ms: int
    entry_index: int
    stop_loss_price: Decimal | None
    take_profit_price: Decimal | None


@dataclass
class RestingOrder:
    """A simulated limit order on the book. ``quantity`` is fixed when it is placed (what the balance could buy at
    ``price``, or the part of the position to sell)."""

    side: str
    price: Decimal
    quantity: Decimal
    candles_left: int
    placed_time_ms: int
    last_checked_ms: int | None = None


# What ``execute`` / ``work_resting`` did with a resting limit order on the candle it was given.
FILLED = "filled"
RESTING = "resting"
EXPIRED = "expired"
CANCELLED = "cancelled"


class SimulatedAccount:
    """The simulated quote balance, the open position and the closed trades. All money is ``Decimal``."""

    def __init__(
        self,
        balance: Decimal,
        fee_rate: Decimal,
        slippage_rate: Decimal,
        execution: ExecutionSettings,
        risk: RiskSettings,
    ) -> None:
        self.balance = balance
        self.fee_rate = fee_rate
        self.slippage_rate = slippage_rate
        self.execution = execution
        self.risk = risk
        self.position: Position | None = None
        self.resting: RestingOrder | None = None
        self.last_placed: RestingOrder | None = None  # the newest limit order placed, whatever became of it
        self.trades: list[Trade] = []

    def buy_notional(self, size: Size | None, price: Decimal) -> Decimal:
        """The notional to buy: the execution setting, capped by the bot's suggested size, ``max_position_size``
        and by what the free balance can pay *including the fee* (notional ≤ balance / (1 + fee_rate))."""
        free = self.balance
        if self.execution.buy_order_type == PERCENTAGE:
            requested = free * self.execution.buy_order_value / 100
        else:
            requested = self.execution.buy_order_value
        if size is not None:
            suggested = {
                SizeType.PERCENTAGE: free * size.value / 100,
                SizeType.USDT_AMOUNT: size.value,
                SizeType.QUANTITY: size.value * price,
            }[size.type]
            requested = min(requested, suggested)
        if self.risk.max_position_size is not None:
            requested = min(requested, self.risk.max_position_size)
        return max(min(requested, free / (1 + self.fee_rate)), Decimal(0))

    def sell_quantity(self, size: Size | None, price: Decimal) -> Decimal:
        """The quantity to sell: the execution setting, capped by the bot's suggested size; the whole position
        when that reaches it (or rounds down to nothing), otherwise rounded down to the lot step.
        Only called while there is a position."""
        assert self.position is not None
        held = self.position.quantity
        requested = held
        if self.execution.sell_order_type != ALL:
            assert self.execution.sell_order_value is not None  # ExecutionSettings requires it for PERCENTAGE
            requested = held * self.execution.sell_order_value / 100
        if size is not None:
            suggested = {
                SizeType.PERCENTAGE: held * size.value / 100,
                SizeType.QUANTITY: size.value,
                SizeType.USDT_AMOUNT: size.value / price,
            }[size.type]
            requested = min(requested, suggested)
        if requested >= held:
            return held
        quantity = quantize_down(requested, self.execution.quantity_step)
        # Less than one lot step: sell the whole (dust-sized) position rather than leave it stuck forever.
        return quantity if quantity > 0 else held

    def open_position(self, size: Size | None, reference_price: Decimal, index: int, time_ms: int) -> None:
        price = fill_price(BUY, reference_price, self.slippage_rate)
        quantity = quantize_down(self.buy_notional(size, price) / price, self.execution.quantity_step)
        self._open(quantity, price, index, time_ms)

    def _open(self, quantity: Decimal, price: Decimal, index: int, time_ms: int) -> None:
        if quantity <= 0:
            return  # too little money for one lot step: no order
        notional = quantity * price
        entry_fee = fee(notional, self.fee_rate)
        self.balance -= notional + entry_fee
        self.position = Position(
            quantity=quantity,
            entry_price=price,
            entry_fee=entry_fee,
            entry_time_ms=time_ms,
            entry_index=index,
            stop_loss_price=stop_loss_price(price, self.risk.stop_loss_pct),
            take_profit_price=take_profit_price(price, self.risk.take_profit_pct),
        )

    def close_position(self, quantity: Decimal, price: Decimal, index: int, time_ms: int, reason: ExitReason) -> None:
        """Sell ``quantity`` of the position at ``price`` (slippage already applied) and record the trade."""
        position = self.position
        if quantity <= 0:
            return
        assert position is not None  # a positive quantity to sell comes from the open position
        notional = quantity * price
        exit_fee = fee(notional, self.fee_rate)
        # A partial exit carries its share of the entry fee; the last exit takes what is left, so the
        # fees of all the parts add up exactly to the fee paid.
        entry_fee = position.entry_fee
        if quantity != position.quantity:
            entry_fee = position.entry_fee * quantity / position.quantity
        pnl, cost = realized_pnl(
            quantity=quantity,
            entry_price=position.entry_price,
            entry_fee=entry_fee,
            exit_price=price,
            exit_fee=exit_fee,
        )
        self.balance += notional - exit_fee
        self.trades.append(
            Trade(
                entry_time_ms=position.entry_time_ms,
                exit_time_ms=time_ms,
                entry_price=position.entry_price,
                exit_price=price,
                quantity=quantity,
                fee=entry_fee + exit_fee,
                pnl=pnl,
                pnl_pct=float(pnl / cost),
                exit_reason=reason,
                entry_index=position.entry_index,
                exit_index=index,
            )
        )
        position.quantity -= quantity
        position.entry_fee -= entry_fee
        if position.quantity == 0:
            self.position = None

    def execute(
        self, decision: Decision | None, reference_price: Decimal, index: int, time_ms: int, bar: PriceBar | None = None
    ) -> str | None:
        """Act on a BUY/SELL decided on the previous candle, at this candle's open (``reference_price``).

        Market orders fill at once. A limit order is placed (``RestingOrder``); with ``bar`` (this candle, once it
        is closed) the resting order is then worked against it. ``decision`` None only works a resting order.
        Returns what happened to the resting order on ``bar`` (FILLED, RESTING, EXPIRED, CANCELLED), or None
        when there was none.
        """
        if decision is not None and self.wants(decision.action):
            if self.execution.is_limit:
                self._place_limit(decision, reference_price, time_ms)
            elif decision.action is Action.BUY:
                self.open_position(decision.size, reference_price, index, time_ms)
            else:
                price = fill_price(SELL, reference_price, self.slippage_rate)
                self.close_position(self.sell_quantity(decision.size, price), price, index, time_ms, ExitReason.SIGNAL)
        if self.resting is not None and bar is not None:
            return self.work_resting(bar, index, time_ms)
        return None

    def _place_limit(self, decision: Decision, reference_price: Decimal, time_ms: int) -> None:
        side = BUY if decision.action is Action.BUY else SELL
        price = limit_price(side, reference_price, self.execution.limit_offset_pct)
        if side == BUY:
            quantity = quantize_down(self.buy_notional(decision.size, price) / price, self.execution.quantity_step)
        else:
            quantity = self.sell_quantity(decision.size, price)
        if quantity <= 0:
            return  # too little money for one lot step: no order, as for a market order
        self.resting = self.last_placed = RestingOrder(
            side, price, quantity, self.execution.limit_expiry_candles, time_ms
        )

    def work_resting(self, bar: PriceBar, index: int, time_ms: int) -> str:
        """Fill the resting limit order if ``bar`` (the candle opened at ``time_ms``) reached its price, else count
        the candle against its expiry. Returns FILLED, RESTING, EXPIRED or CANCELLED (a SELL left with nothing to
        sell, a stop loss having closed the position first). Only called while an order rests."""
        order = self.resting
        assert order is not None
        if order.side == SELL and self.position is None:
            self.resting = None
            return CANCELLED
        price = limit_fill(order.side, order.price, bar)
        if price is not None:
            self.resting = None
            if order.side == BUY:
                self._open(order.quantity, price, index, time_ms)
            else:
                assert self.position is not None  # a SELL without a position was cancelled above
                quantity = min(order.quantity, self.position.quantity)
                self.close_position(quantity, price, index, time_ms, ExitReason.SIGNAL)
            return FILLED
        order.candles_left -= 1
        order.last_checked_ms = time_ms
        if order.candles_left <= 0:
            self.resting = None
            return EXPIRED
        return RESTING

    def sell_all(self, reference_price: Decimal, index: int, time_ms: int, reason: ExitReason) -> None:
        """Close the whole position (a stop loss, a take profit, the end of a backtest); only called in one."""
        assert self.position is not None
        price = fill_price(SELL, reference_price, self.slippage_rate)
        self.close_position(self.position.quantity, price, index, time_ms, reason)
        if self.resting is not None and self.resting.side == SELL:
            # The position is gone: a limit sell still resting has nothing to sell (on an exchange it is
            # cancelled before the market sell).
            self.resting = None

    def equity(self, close_price: float) -> Decimal:
        if self.position is None:
            return self.balance
        return self.balance + self.position.quantity * to_decimal(close_price)

    def wants(self, action: Action) -> bool:
        """Whether a decision would do anything now: BUY when flat, SELL when in a position, and neither while a
        limit order rests (one order at a time)."""
        if self.resting is not None:
            return False
        return (action is Action.BUY and self.position is None) or (action is Action.SELL and self.position is not None)
