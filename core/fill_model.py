"""The fill model shared by backtests and paper trading: how a market order fills, what it costs, when a
stop loss or a take profit triggers. Pure ``Decimal`` arithmetic, no Django, no I/O.

The rules (also in docs/statistics.md):
- An order decided on a closed candle fills at the *next* candle's open, moved against us by the
  slippage rate: a BUY pays ``open × (1 + slippage_rate)``, a SELL receives ``open × (1 − slippage_rate)``.
- The fee is ``notional × fee_rate`` in the quote currency, on each side.
- Quantities are rounded *down* to the market's step, so an order never spends more than it has.
- A limit order (``limit_price``, ``limit_fill``) rests at ``reference × (1 ∓ offset)``: it fills at its own
  price, without slippage, on a candle whose low (BUY) / high (SELL) reaches it, else not at all on that candle.
- Spot, long only: a position is protected by an optional stop-loss price below it and an optional
  take-profit price above it, checked against each candle's open, high and low (see ``exit_trigger``).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any, Protocol

from core.sdk.decision import to_decimal  # one conversion rule for bots and fills

BUY = "BUY"
SELL = "SELL"


class ExitReason(StrEnum):
    SIGNAL = "SIGNAL"
    STOP_LOSS = "STOP_LOSS"
    TAKE_PROFIT = "TAKE_PROFIT"
    END = "END"  # a backtest closed the position still open after its last candle
    DUST = "DUST"  # a rest too small for the exchange to sell (below its minimums), booked as closed (live runs)


class ProtectedPosition(Protocol):
    """What ``exit_trigger`` reads from a position: its protective prices (``None`` when not set)."""

    stop_loss_price: Decimal | None
    take_profit_price: Decimal | None


class PriceBar(Protocol):
    """What ``exit_trigger`` reads from a candle. Floats are accepted and converted exactly via their repr.
    Read-only, so a ``Candle`` (a named tuple) is one."""

    @property
    def open(self) -> Any: ...

    @property
    def high(self) -> Any: ...

    @property
    def low(self) -> Any: ...


def fill_price(side: str, next_open: Decimal, slippage_rate: Decimal) -> Decimal:
    """The price a market order fills at: the reference price moved against the trader by ``slippage_rate``.

    ``side`` is ``"BUY"`` or ``"SELL"``; ``slippage_rate`` is a fraction (0.0005 = 0.05 %).
    """
    next_open = to_decimal(next_open)
    slippage_rate = to_decimal(slippage_rate)
    if slippage_rate < 0:
        raise ValueError("slippage_rate cannot be negative")
    if side == BUY:
        return next_open * (1 + slippage_rate)
    if side == SELL:
        return next_open * (1 - slippage_rate)
    raise ValueError(f"side must be BUY or SELL, got {side!r}")


def fee(notional: Decimal, fee_rate: Decimal) -> Decimal:
    """The trading fee in the quote currency: ``notional × fee_rate`` (``fee_rate`` 0.001 = 0.1 %)."""
    fee_rate = to_decimal(fee_rate)
    if fee_rate < 0:
        raise ValueError("fee_rate cannot be negative")
    return to_decimal(notional) * fee_rate


def quantize_down(value: Decimal, step: Decimal | None) -> Decimal:
    """``value`` rounded down (towards zero) to a multiple of ``step``; ``step`` None or 0 leaves it unchanged.

    Works for any step, not only powers of ten (a lot size of 0.005 rounds 1.0127 to 1.010).
    """
    value = to_decimal(value)
    if step is None:
        return value
    step = to_decimal(step)
    if step == 0:
        return value
    if step < 0:
        raise ValueError("step cannot be negative")
    steps = (value / step).to_integral_value(rounding=ROUND_DOWN)
    # quantize to the step's exponent so 0.12300000 prints as the exchange would send it. The step is finite here
    # (NaN and infinity fail the arithmetic above), so its exponent is an int.
    exponent = step.as_tuple().exponent
    return (steps * step).quantize(step) if isinstance(exponent, int) and exponent < 0 else steps * step


def limit_price(side: str, reference_price: Decimal, offset_pct: Decimal, price_step: Decimal | None = None) -> Decimal:
    """The price of a limit order placed when the market is at ``reference_price``: ``offset_pct`` percent below it
    for a BUY, above it for a SELL, so the order waits for a better price than the current one.

    With ``price_step`` (the market's tick) the price is rounded *away from the market* (down for a BUY, up for a
    SELL): the order never pays more, or sells for less, than the offset asked for.
    """
    reference_price = to_decimal(reference_price)
    offset = to_decimal(offset_pct) / 100
    if offset < 0:
        raise ValueError("offset_pct cannot be negative")
    if side == BUY:
        return quantize_down(reference_price * (1 - offset), price_step)
    if side == SELL:
        raw = reference_price * (1 + offset)
        rounded = quantize_down(raw, price_step)
        return rounded + to_decimal(price_step) if price_step and rounded < raw else rounded
    raise ValueError(f"side must be BUY or SELL, got {side!r}")


def limit_fill(side: str, price: Decimal, candle: PriceBar) -> Decimal | None:
    """The price a resting limit order fills at during ``candle``, or ``None`` when the candle never reached it.

    A BUY fills when the candle's low is at or below its price, a SELL when the high is at or above it, and always
    at the order's own price: it was resting on the book, so whoever crossed it traded at its price (the same
    answer on a gap: a resting order is not improved by the market jumping through it). No partial fills are
    simulated: candles say nothing about the volume at one price.
    """
    price = to_decimal(price)
    if side == BUY:
        return price if to_decimal(candle.low) <= price else None
    if side == SELL:
        return price if to_decimal(candle.high) >= price else None
    raise ValueError(f"side must be BUY or SELL, got {side!r}")


def stop_loss_price(entry_price: Decimal, stop_loss_pct: Decimal | None) -> Decimal | None:
    """The stop level ``entry × (1 − pct/100)`` for a long position; ``None`` when no stop is set.

    ``stop_loss_pct`` is a percent (5 = 5 %), as users enter it.
    """
    if stop_loss_pct is None:
        return None
    return to_decimal(entry_price) * (1 - to_decimal(stop_loss_pct) / 100)


def take_profit_price(entry_price: Decimal, take_profit_pct: Decimal | None) -> Decimal | None:
    """The target level ``entry × (1 + pct/100)`` for a long position; ``None`` when no target is set."""
    if take_profit_pct is None:
        return None
    return to_decimal(entry_price) * (1 + to_decimal(take_profit_pct) / 100)


def exit_trigger(position: ProtectedPosition, candle: PriceBar) -> tuple[ExitReason, Decimal] | None:
    """Whether ``candle`` closes a long ``position`` by its stop loss or take profit, and at what price.

    Returns ``(ExitReason.STOP_LOSS | ExitReason.TAKE_PROFIT, trigger_price)`` or ``None``. The trigger
    price is before slippage; the caller applies ``fill_price(SELL, ...)`` to it.

    - A candle that *opens* past a level (a gap) fills at the open, not at the level: the market never
      traded at the level, so the order executes at the first price there is.
    - If both the stop loss and the take profit lie within one candle's range, the stop loss is assumed
      to have been hit first. Candles do not say which extreme came first; assuming the worst keeps
      backtests from flattering a strategy.
    """
    stop = position.stop_loss_price
    target = position.take_profit_price
    if stop is None and target is None:
        return None
    open_price = to_decimal(candle.open)
    if stop is not None and open_price <= stop:
        return ExitReason.STOP_LOSS, open_price
    if target is not None and open_price >= target:
        return ExitReason.TAKE_PROFIT, open_price
    if stop is not None and to_decimal(candle.low) <= stop:
        return ExitReason.STOP_LOSS, stop
    if target is not None and to_decimal(candle.high) >= target:
        return ExitReason.TAKE_PROFIT, target
    return None


def realized_pnl(
    *, quantity: Decimal, entry_price: Decimal, entry_fee: Decimal, exit_price: Decimal, exit_fee: Decimal
) -> tuple[Decimal, Decimal]:
    """P&L of selling `quantity` bought at `entry_price`: (pnl, cost), both in the quote currency, net of fees.

    `entry_fee` is the entry fee carried by this quantity; cost = quantity × entry_price + entry_fee and
    pnl = quantity × exit_price − exit_fee − cost. Backtests, paper and live trades all use this one formula.
    """
    cost = quantity * entry_price + entry_fee
    return quantity * exit_price - exit_fee - cost, cost
