"""The backtest engine: walk a bot's decisions over historical candles through the shared fill model.

The rules (docs/statistics.md has them with examples):
- Decisions come from the same path as live runs: a ``VectorBot``'s ``populate()`` runs once over the
  whole array and row ``i`` is the decision for candle ``i``; a per-candle ``Bot`` gets
  ``decide(candles[:i + 1])``. Only candles ``i >= startup_candles`` are decided (the earlier ones are
  the indicators' warm-up) and the window of the equity curve and statistics starts there.
- A decision on candle ``i`` fills at candle ``i + 1``'s open ± slippage (``trading.fill_model``);
  a decision on the last candle has no next open and is dropped.
- Fees are ``fee_rate × notional`` in the quote currency, on each side.
- Spot, long only, one open position at a time: a BUY while in a position and a SELL while flat are ignored.
- Sizing: see ``_Account.buy_notional`` / ``sell_quantity``; defaults buy with 100 % of the free balance
  (fee included) and sell the whole position.
- While a position is open, each candle (the entry candle included) is checked for the stop loss /
  take profit (``exit_trigger``: a gap fills at the open, stop loss first if both are inside a candle).
- A position still open after the last candle is sold at the last close (± slippage, fee charged),
  exit reason ``END``; the last equity point is then the final balance.

Within a candle the order of events is: fill the pending order at the open, check the stop loss / take
profit, mark equity at the close, then decide on the closed candle.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from bots.sdk import Action, Bot, Candles, ConfigError, Decision, Size, SizeType, VectorBot
from trading.fill_model import (
    BUY,
    SELL,
    ExitReason,
    exit_trigger,
    fee,
    fill_price,
    quantize_down,
    stop_loss_price,
    take_profit_price,
    to_decimal,
)

from .result import BacktestResult, EquityPoint, Trade
from .settings import ALL, PERCENTAGE, ExecutionSettings, RiskSettings
from .stats import compute_stats

ProgressCallback = Callable[[int, int], None]


class InsufficientCandles(ValueError):
    """Fewer candles than the bot's warm-up plus one candle to decide on and one to fill at."""


@dataclass
class _Position:
    quantity: Decimal
    entry_price: Decimal
    entry_fee: Decimal  # the part of the entry fee not yet charged to a closed trade
    entry_time_ms: int
    entry_index: int
    stop_loss_price: Decimal | None
    take_profit_price: Decimal | None


class _Account:
    """The simulated quote balance, the open position and the closed trades. All money is ``Decimal``."""

    def __init__(self, balance: Decimal, fee_rate: Decimal, slippage_rate: Decimal,
                 execution: ExecutionSettings, risk: RiskSettings) -> None:
        self.balance = balance
        self.fee_rate = fee_rate
        self.slippage_rate = slippage_rate
        self.execution = execution
        self.risk = risk
        self.position: _Position | None = None
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
        when that reaches it (or rounds down to nothing), otherwise rounded down to the lot step."""
        held = self.position.quantity
        requested = held
        if self.execution.sell_order_type != ALL:
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
        if quantity <= 0:
            return  # too little money for one lot step: no order
        notional = quantity * price
        entry_fee = fee(notional, self.fee_rate)
        self.balance -= notional + entry_fee
        self.position = _Position(
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
        notional = quantity * price
        exit_fee = fee(notional, self.fee_rate)
        # A partial exit carries its share of the entry fee; the last exit takes what is left, so the
        # fees of all the parts add up exactly to the fee paid.
        entry_fee = position.entry_fee
        if quantity != position.quantity:
            entry_fee = position.entry_fee * quantity / position.quantity
        cost = quantity * position.entry_price + entry_fee
        pnl = notional - exit_fee - cost
        self.balance += notional - exit_fee
        self.trades.append(Trade(
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
        ))
        position.quantity -= quantity
        position.entry_fee -= entry_fee
        if position.quantity == 0:
            self.position = None

    def execute(self, decision: Decision, reference_price: Decimal, index: int, time_ms: int) -> None:
        """Fill a BUY/SELL decided on the previous candle at this candle's open (``reference_price``)."""
        if decision.action is Action.BUY and self.position is None:
            self.open_position(decision.size, reference_price, index, time_ms)
        elif decision.action is Action.SELL and self.position is not None:
            price = fill_price(SELL, reference_price, self.slippage_rate)
            self.close_position(self.sell_quantity(decision.size, price), price, index, time_ms, ExitReason.SIGNAL)

    def sell_all(self, reference_price: Decimal, index: int, time_ms: int, reason: ExitReason) -> None:
        price = fill_price(SELL, reference_price, self.slippage_rate)
        self.close_position(self.position.quantity, price, index, time_ms, reason)

    def equity(self, close_price: float) -> Decimal:
        if self.position is None:
            return self.balance
        return self.balance + self.position.quantity * to_decimal(close_price)

    def wants(self, action: Action) -> bool:
        """Whether a decision would do anything now: BUY when flat, SELL when in a position."""
        return (action is Action.BUY and self.position is None) or (action is Action.SELL and self.position is not None)


def _parse_settings(execution_config: dict | None, risk_config: dict | None) -> tuple[ExecutionSettings, RiskSettings]:
    """Both settings, or one ``ConfigError`` listing the problems of both (a form shows them all at once)."""
    errors: list[dict] = []
    execution = risk = None
    try:
        execution = ExecutionSettings.from_config(execution_config)
    except ConfigError as error:
        errors += error.errors
    try:
        risk = RiskSettings.from_config(risk_config)
    except ConfigError as error:
        errors += error.errors
    if errors:
        raise ConfigError(errors)
    return execution, risk


def _build_bot(bot: type[Bot] | Bot | str, config: dict | None) -> Bot:
    if isinstance(bot, str):
        from bots.builtin import get_builtin  # late import: the engine itself does not need the built-ins

        bot = get_builtin(bot)
    if isinstance(bot, type) and issubclass(bot, Bot):
        return bot.from_config(config)
    if isinstance(bot, Bot):
        if config is not None:
            raise TypeError("pass a bot class (or slug) with config, or a ready bot instance without config")
        return bot
    raise TypeError(f"bot must be a Bot subclass, a Bot instance or a built-in slug, got {bot!r}")


def run_backtest(
    bot: type[Bot] | Bot | str,
    candles: Candles,
    *,
    config: dict | None = None,
    starting_balance: Decimal = Decimal("10000"),
    fee_rate: Decimal = Decimal("0.001"),
    slippage_rate: Decimal = Decimal("0"),
    execution_config: dict | None = None,
    risk_config: dict | None = None,
    progress: ProgressCallback | None = None,
    vectorized: bool | None = None,
    timeframe_ms: int | None = None,
) -> BacktestResult:
    """Backtest ``bot`` over ``candles`` and return trades, equity curve and statistics.

    ``bot`` is a ``Bot`` subclass (built with ``config``, validated and defaults filled), a built-in slug,
    or a ready instance (then ``config`` must be None). ``vectorized``: None uses ``populate()`` for a
    ``VectorBot`` and ``decide()`` otherwise; False forces ``decide(candles[:i + 1])`` per candle (slow;
    used to prove both forms agree). ``timeframe_ms`` defaults to the candles' median spacing (used to
    annualise Sharpe/Sortino). ``progress(done, total)`` is called about a hundred times over the run.

    Raises ``ConfigError`` (bad bot/execution/risk config) and ``InsufficientCandles``.
    """
    instance = _build_bot(bot, config)
    execution, risk = _parse_settings(execution_config, risk_config)
    starting_balance = to_decimal(starting_balance)
    account = _Account(
        balance=starting_balance,
        fee_rate=to_decimal(fee_rate),
        slippage_rate=to_decimal(slippage_rate),
        execution=execution,
        risk=risk,
    )
    start = max(int(instance.startup_candles), 0)
    count = len(candles)
    if count < start + 2:
        raise InsufficientCandles(
            f"{count} candles: {type(instance).__name__} needs {start} warm-up candles plus at least 2 to trade"
        )
    if vectorized is None:
        vectorized = isinstance(instance, VectorBot)
    if vectorized and not isinstance(instance, VectorBot):
        raise TypeError(f"{type(instance).__name__} is not a VectorBot; it cannot be backtested vectorized")
    signals = instance.signals(candles) if vectorized else None

    times, opens, closes = candles.time, candles.open, candles.close
    last = count - 1
    total = count - start
    report_every = max(total // 100, 1)
    equity_curve: list[EquityPoint] = []
    pending: Decision | None = None
    for index in range(start, count):
        time_ms = int(times[index])
        if pending is not None:
            account.execute(pending, to_decimal(float(opens[index])), index, time_ms)
            pending = None
        position = account.position
        if position is not None and (position.stop_loss_price is not None or position.take_profit_price is not None):
            trigger = exit_trigger(position, candles[index])
            if trigger is not None:
                reason, trigger_price = trigger
                account.sell_all(trigger_price, index, time_ms, reason)
        equity_curve.append(EquityPoint(time_ms, account.equity(float(closes[index])), account.position is not None))

        if index < last:
            if signals is not None:
                code = int(signals.action[index])
                # Build a Decision only when it would act: most rows are HOLD, and this keeps the walk cheap.
                if code and account.wants(Action.BUY if code > 0 else Action.SELL):
                    pending = instance.decision_at(signals, index)
            else:
                decision = instance.decide(candles[: index + 1])
                if not isinstance(decision, Decision):
                    raise TypeError(f"{type(instance).__name__}.decide() must return a Decision, got {decision!r}")
                if account.wants(decision.action):
                    pending = decision
        done = index - start + 1
        if progress is not None and (done % report_every == 0 or done == total):
            progress(done, total)

    if account.position is not None:
        account.sell_all(to_decimal(float(closes[last])), last, int(times[last]), ExitReason.END)
        # The last point was marked before the exit fee; end the curve at the balance actually left.
        equity_curve[-1] = EquityPoint(int(times[last]), account.balance, True)

    stats = compute_stats(
        account.trades,
        equity_curve,
        starting_balance=starting_balance,
        timeframe_ms=timeframe_ms if timeframe_ms is not None else candles[start:].timeframe_ms,
    )
    return BacktestResult(account.trades, equity_curve, stats)
