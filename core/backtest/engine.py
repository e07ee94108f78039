"""The backtest engine: walk a bot's decisions over historical candles through the shared fill model.

The rules (docs/statistics.md has them with examples):
- ``simulate`` is the one loop; it takes a ``DecisionSource`` and only ever reads decisions from it. Every fill,
  trade, equity point and statistic is computed here, never taken from the bot (an uploaded bot's process only
  answers decisions: ``bots.sandbox.streaming``).
- In process (``run_backtest``, trusted code): a ``VectorBot``'s ``populate()`` runs once over the whole array and
  row ``i`` is the decision for candle ``i``; a per-candle ``Bot`` gets ``decide(candles[:i + 1])``. Only candles
  ``i >= startup_candles`` are decided (the earlier ones are the indicators' warm-up) and the window of the equity
  curve and statistics starts there.
- A decision on candle ``i`` fills at candle ``i + 1``'s open ± slippage (``core.fill_model``);
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
from dataclasses import replace
from decimal import Decimal
from typing import Any, Protocol

from core.config_schemas import validate_trading_configs
from core.fill_model import (
    ExitReason,
    exit_trigger,
    to_decimal,
)
from core.sdk import Action, Bot, Candles, ConfigError, Decision, Signals, VectorBot
from core.trade_settings import ExecutionSettings, RiskSettings

from .account import SimulatedAccount
from .result import BacktestResult, EquityPoint
from .stats import compute_stats

ProgressCallback = Callable[[int, int], None]


class InsufficientCandles(ValueError):
    """Fewer candles than the bot's warm-up plus one candle to decide on and one to fill at."""


def _parse_settings(
    execution_config: dict[str, Any] | None, risk_config: dict[str, Any] | None
) -> tuple[ExecutionSettings, RiskSettings]:
    """Both settings, validated by the published schemas (core.config_schemas), or one ``ConfigError`` listing the
    problems of both (a form shows them all at once).

    A Python caller may give numbers as numeric strings or Decimals, and a market's lot step as
    ``execution_config["quantity_step"]`` (a positive number; no setting of a subscription, so not in the schema).
    """
    execution_config = _numbers_parsed(execution_config)
    quantity_step = execution_config.pop("quantity_step", None)
    errors: list[dict[str, str]] = []
    if quantity_step is not None and not _is_positive(quantity_step):
        errors.append(
            {"field": "execution_config.quantity_step", "message": f"must be a positive number, got {quantity_step!r}"}
        )
    try:
        _, _, execution, risk = validate_trading_configs(execution_config, _numbers_parsed(risk_config))
    except ConfigError as error:
        raise ConfigError(error.errors + errors) from None
    if errors:
        raise ConfigError(errors)
    if quantity_step is not None:
        execution = replace(execution, quantity_step=to_decimal(quantity_step))
    return execution, risk


def _numbers_parsed(config: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of ``config`` with its numeric strings as Decimals (the schema wants numbers; a word stays a word)."""
    return {key: _number_or_text(value) for key, value in (config or {}).items()}


def _number_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        number = to_decimal(value)
    except ValueError:
        return value
    return number if number.is_finite() else value


def _is_positive(value: Any) -> bool:
    try:
        number = to_decimal(value)
    except (TypeError, ValueError):
        return False
    return number.is_finite() and number > 0


def _build_bot(bot: type[Bot] | Bot | str, config: dict[str, Any] | None) -> Bot:
    if isinstance(bot, str):
        from core.builtin import get_builtin  # late import: the engine itself does not need the built-ins

        bot = get_builtin(bot)
    if isinstance(bot, type) and issubclass(bot, Bot):
        return bot.from_config(config)
    if isinstance(bot, Bot):
        if config is not None:
            raise TypeError("pass a bot class (or slug) with config, or a ready bot instance without config")
        return bot
    raise TypeError(f"bot must be a Bot subclass, a Bot instance or a built-in slug, got {bot!r}")


class DecisionSource(Protocol):
    """Where the simulation gets the bot's decisions from: the bot itself in this process (``run_backtest``), or a
    sandboxed process the host streams candles to (``bots.sandbox``). The source only ever hands out decisions;
    fills, trades, the equity curve and the statistics are always computed here, by ``simulate``.

    ``name`` (the bot class's name, for messages) and ``startup_candles`` (the warm-up of the configured bot) are
    known before the walk. ``simulate`` calls ``action(i)`` exactly once for each ``i`` from ``startup_candles`` to
    the next-to-last candle, in increasing order, and ``decision(i)`` only right after ``action(i)``, when the
    simulated account acts on that decision (so a source may build the full ``Decision`` lazily).
    """

    name: str
    startup_candles: int

    def action(self, index: int) -> Action: ...

    def decision(self, index: int) -> Decision: ...


class _SignalsSource:
    """A ``VectorBot`` run in this process: ``populate()`` once over the whole array, row ``i`` for candle ``i``."""

    def __init__(self, bot: VectorBot, candles: Candles) -> None:
        self.name = type(bot).__name__
        self.startup_candles = max(int(bot.startup_candles), 0)
        self._bot = bot
        self._candles = candles
        self._signals: Signals | None = None

    def action(self, index: int) -> Action:
        if self._signals is None:  # on the first decision, after the settings and the candle count were checked
            self._signals = self._bot.signals(self._candles)
        return _ACTIONS[int(self._signals.action[index])]

    def decision(self, index: int) -> Decision:
        assert self._signals is not None  # decision(i) only ever follows action(i)
        return self._bot.decision_at(self._signals, index)


class _DecideSource:
    """A per-candle ``Bot`` run in this process: ``decide(candles[:i + 1])``.

    Only the platform's own (built-in) bots run in process, so they get cheap views of the series; uploaded bots run
    in the sandbox, whose process never holds a candle after the one decided on (``bots.sandbox.streaming``).
    """

    def __init__(self, bot: Bot, candles: Candles) -> None:
        self.name = type(bot).__name__
        self.startup_candles = max(int(bot.startup_candles), 0)
        self._bot = bot
        self._candles = candles
        self._last: Decision | None = None

    def action(self, index: int) -> Action:
        decision = self._bot.decide(self._candles[: index + 1])
        if not isinstance(decision, Decision):
            raise TypeError(f"{self.name}.decide() must return a Decision, got {decision!r}")
        self._last = decision
        return decision.action

    def decision(self, index: int) -> Decision:
        assert self._last is not None  # decision(i) only ever follows action(i)
        return self._last


_ACTIONS = {1: Action.BUY, -1: Action.SELL, 0: Action.HOLD}


def run_backtest(
    bot: type[Bot] | Bot | str,
    candles: Candles,
    *,
    config: dict[str, Any] | None = None,
    starting_balance: Decimal = Decimal("10000"),
    fee_rate: Decimal = Decimal("0.001"),
    slippage_rate: Decimal = Decimal("0"),
    execution_config: dict[str, Any] | None = None,
    risk_config: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    vectorized: bool | None = None,
    timeframe_ms: int | None = None,
) -> BacktestResult:
    """Backtest ``bot`` in this process over ``candles`` and return trades, equity curve and statistics.

    ``bot`` is a ``Bot`` subclass (built with ``config``, validated and defaults filled), a built-in slug,
    or a ready instance (then ``config`` must be None). ``vectorized``: None uses ``populate()`` for a
    ``VectorBot`` and ``decide()`` otherwise; False forces ``decide(candles[:i + 1])`` per candle (slow;
    used to prove both forms agree). ``timeframe_ms`` defaults to the candles' median spacing (used to
    annualise Sharpe/Sortino). ``progress(done, total)`` is called about a hundred times over the run.

    Only for trusted code (the built-in bots, tests): an uploaded bot is backtested with
    ``bots.sandbox.SandboxedBot.backtest``, which feeds the same ``simulate`` from the sandbox.

    Raises ``ConfigError`` (bad bot/execution/risk config) and ``InsufficientCandles``.
    """
    instance = _build_bot(bot, config)
    if vectorized is None:
        vectorized = isinstance(instance, VectorBot)
    source: DecisionSource
    if not vectorized:
        source = _DecideSource(instance, candles)
    elif isinstance(instance, VectorBot):
        source = _SignalsSource(instance, candles)
    else:
        raise TypeError(f"{type(instance).__name__} is not a VectorBot; it cannot be backtested vectorized")
    return simulate(
        candles,
        source,
        starting_balance=starting_balance,
        fee_rate=fee_rate,
        slippage_rate=slippage_rate,
        execution_config=execution_config,
        risk_config=risk_config,
        progress=progress,
        timeframe_ms=timeframe_ms,
    )


def simulate(
    candles: Candles,
    source: DecisionSource,
    *,
    starting_balance: Decimal = Decimal("10000"),
    fee_rate: Decimal = Decimal("0.001"),
    slippage_rate: Decimal = Decimal("0"),
    execution_config: dict[str, Any] | None = None,
    risk_config: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    timeframe_ms: int | None = None,
) -> BacktestResult:
    """The one simulation loop: walk ``candles``, act on ``source``'s decisions through the simulated account and the
    fill model, and compute the statistics from the fills simulated here. See the module docstring for the rules.

    Raises ``ConfigError`` (bad execution/risk config) and ``InsufficientCandles`` before asking ``source`` for any
    decision; whatever ``source`` raises propagates.
    """
    execution, risk = _parse_settings(execution_config, risk_config)
    starting_balance = to_decimal(starting_balance)
    account = SimulatedAccount(
        balance=starting_balance,
        fee_rate=to_decimal(fee_rate),
        # The config's slippage, when it sets one, wins over the argument (so a subscription's config and a
        # backtest of it agree).
        slippage_rate=execution.slippage_rate if execution.slippage_rate is not None else to_decimal(slippage_rate),
        execution=execution,
        risk=risk,
    )
    start = max(int(source.startup_candles), 0)
    count = len(candles)
    if count < start + 2:
        raise InsufficientCandles(
            f"{count} candles: {source.name} needs {start} warm-up candles plus at least 2 to trade"
        )

    times, opens, closes = candles.time, candles.open, candles.close
    last = count - 1
    total = count - start
    report_every = max(total // 100, 1)
    equity_curve: list[EquityPoint] = []
    pending: Decision | None = None
    for index in range(start, count):
        time_ms = int(times[index])
        if pending is not None or account.resting is not None:
            account.execute(pending, to_decimal(float(opens[index])), index, time_ms, bar=candles[index])
            pending = None
        position = account.position
        if position is not None and (position.stop_loss_price is not None or position.take_profit_price is not None):
            trigger = exit_trigger(position, candles[index])
            if trigger is not None:
                reason, trigger_price = trigger
                account.sell_all(trigger_price, index, time_ms, reason)
        equity_curve.append(EquityPoint(time_ms, account.equity(float(closes[index])), account.position is not None))

        if index < last:
            action = source.action(index)
            # Ask for the full Decision only when it would act: most rows are HOLD, and this keeps the walk cheap.
            if action is not Action.HOLD and account.wants(action):
                pending = source.decision(index)
                if pending.action is not action:
                    raise TypeError(f"{source.name}: the decision on candle {index} changed its action")
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
