"""Backtests and lookahead checks of a sandboxed bot, computed on the host from the decisions the sandbox answers.

The sandbox never produces a number the platform shows: its process only answers decisions (action, size, reason,
indicators). Fills, trades, the equity curve and every statistic come from ``core.backtest.simulate`` running here,
so a bot that answers a forged result has nothing to put it in.

The bot must also decide on the past only, and in one process it could reach a later candle in many ways (a view's
``.base``, the garbage collector, a caller's frame, a module global kept from an earlier call). So the process that
decides candle ``i`` must never have held a candle after ``i``:

- **Streamed** (per-candle bots, or ``vectorized=False``): a *fresh* process (the bot loaded, never sent a candle)
  gets ``bot_start`` and then one ``step`` per candle carrying only the new candle; it decides on a fresh copy of
  what it has, so it holds nothing after the candle it decides on. The process is stopped afterwards.
- **Populated, then verified** (``VectorBot``): the warm process computes every row at once (``populate``: it sees
  the whole series, so nothing it answers is trusted), the host simulates on those rows, and then a fresh process
  is streamed the candles up to each row to recompute: every row the simulation acted on, plus a random sample of
  the other rows (chosen here with ``secrets`` after the warm process answered, so it cannot know which of its
  rows will be checked). A row that differs raises ``SandboxLookahead``: the backtest has no result.

A lookahead check (``sandboxed_lookahead``, the validation's report) is the same comparison over every BUY/SELL row
and a sample of the HOLD rows, reported as a ``LookaheadResult`` instead of raised.
"""
from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.backtest import simulate
from core.sdk import Action, Candles, Decision, LookaheadResult
from core.sdk.lookahead import decision_difference

from .channel import Channel
from .errors import SandboxLookahead, SandboxProtocolError, SandboxTimeout
from .wire import candle_rows

if TYPE_CHECKING:
    from .process import SandboxedBot

# Rows the simulation did not act on that a backtest's verification recomputes too, chosen at random: a bot that
# peeks to stay out of a bad trade shows itself on such a row. More rows cost one streamed decision each.
HOLD_SAMPLES = 48
MAX_STARTUP_CANDLES = 10_000_000
_ACTIONS = {1: Action.BUY, -1: Action.SELL, 0: Action.HOLD}


class Budget:
    """One call's wall-clock and CPU limits, shared by the many requests it makes to one or two processes."""

    def __init__(self, *, wall_s: float, cpu_s: float) -> None:
        self.wall_s = wall_s
        self.cpu_s = cpu_s
        self.deadline = time.monotonic() + wall_s
        self._cpu_at_start: dict[int, float] = {}

    def request(self, channel: Channel, op: str, payload: dict) -> Any:
        """``channel.request`` within what is left of the budget. Raises what it raises (``SandboxTimeout`` naming
        the whole call's limit)."""
        wall_left = self.deadline - time.monotonic()
        used = channel.cpu_s - self._cpu_at_start.setdefault(id(channel), channel.cpu_s)
        cpu_left = self.cpu_s - used
        if wall_left <= 0 or cpu_left <= 0:
            channel.kill()
            raise self._timeout("wall" if wall_left <= 0 else "cpu")
        try:
            return channel.request(op, payload, timeout_s=wall_left, cpu_seconds=cpu_left)
        except SandboxTimeout as error:
            raise self._timeout(error.kind) from None

    def _timeout(self, kind: str) -> SandboxTimeout:
        limit_s = self.wall_s if kind == "wall" else self.cpu_s
        what = "wall-clock" if kind == "wall" else "CPU"
        return SandboxTimeout(
            f"the bot did not finish within {limit_s:g} s ({what} limit of the call); its process was stopped",
            kind=kind, limit_s=limit_s,
        )


def _bad_answer(channel: Channel, message: str) -> SandboxProtocolError:
    channel.kill()
    return SandboxProtocolError(message, stderr_tail=channel.stderr.text())


def _decision(channel: Channel, data: Any) -> Decision:
    try:
        return Decision.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _bad_answer(channel, f"the bot's process answered an invalid decision: {error}") from None


def _start_bot(budget: Budget, channel: Channel, config: dict | None) -> int:
    """``bot_start``: the configured bot's warm-up. Raises ``ConfigError`` for a config the bot refuses."""
    result = budget.request(channel, "bot_start", {"config": config})
    startup = result.get("startup_candles") if isinstance(result, dict) else None
    if type(startup) is not int or not 0 <= startup <= MAX_STARTUP_CANDLES:
        raise _bad_answer(channel, "the bot's process answered bot_start without a sane startup_candles")
    return startup


def _class_name(bot: SandboxedBot) -> str:
    return bot._info.bot_class.rpartition(":")[2].rpartition(".")[2] or "the bot"


class StreamedDecisions:
    """A ``DecisionSource`` over a fresh process: each ``step`` sends only the candles after the last one sent, up
    to the one to decide; the process decides on what it has. The caller owns (and stops) ``channel``."""

    def __init__(self, budget: Budget, channel: Channel, candles: Candles, name: str) -> None:
        self.budget = budget
        self.channel = channel
        self.candles = candles
        self.name = name
        self.startup_candles = 0
        self._sent = 0
        self._rows: list[list] | None = None
        self._last: Decision | None = None

    def start(self, config: dict | None) -> None:
        self.startup_candles = _start_bot(self.budget, self.channel, config)

    def decide_at(self, index: int) -> Decision:
        """The decision on candle ``index`` (after every candle sent so far), sending candles ``..index``."""
        if index < self._sent:
            raise ValueError(f"candle {index} was sent already: a stream only moves forward")
        if self._rows is None:
            self._rows = candle_rows(self.candles)  # once: slicing a list per step is cheaper than converting
        rows = self._rows[self._sent : index + 1]
        self._sent = index + 1
        self._last = _decision(self.channel, self.budget.request(self.channel, "step", {"candles": rows}))
        return self._last

    def action(self, index: int) -> Action:
        return self.decide_at(index).action

    def decision(self, index: int) -> Decision:
        return self._last


class PopulatedDecisions:
    """A ``DecisionSource`` from one ``populate`` of the whole series in the warm process (asked at the first
    ``action``). Untrusted: ``acted`` lists the rows the simulation acted on, for ``verify_backtest``."""

    def __init__(self, budget: Budget, channel: Channel, candles: Candles, name: str) -> None:
        self.budget = budget
        self.channel = channel
        self.candles = candles
        self.name = name
        self.startup_candles = 0
        self.actions: list[Action] | None = None
        self.acted: list[int] = []
        self._rows: dict[int, Any] = {}

    def start(self, config: dict | None) -> None:
        self.startup_candles = _start_bot(self.budget, self.channel, config)

    def populate(self) -> None:
        result = self.budget.request(self.channel, "populate", {"candles": candle_rows(self.candles)})
        actions = result.get("actions") if isinstance(result, dict) else None
        if not isinstance(actions, list) or len(actions) != len(self.candles) or not all(
            type(code) is int and code in _ACTIONS for code in actions
        ):
            raise _bad_answer(self.channel, "the bot's process answered populate without one action per candle")
        self.actions = [_ACTIONS[code] for code in actions]
        self._rows = self._row_map(result.get("rows"))
        if any(action is not Action.HOLD and index not in self._rows for index, action in enumerate(self.actions)):
            raise _bad_answer(self.channel, "the bot's process answered populate without the decision of a signal row")

    def _row_map(self, rows: Any) -> dict[int, Any]:
        if not isinstance(rows, list) or not all(
            isinstance(row, list) and len(row) == 2 and type(row[0]) is int and 0 <= row[0] < len(self.candles)
            for row in rows
        ):
            raise _bad_answer(self.channel, "the bot's process answered rows that are not [index, decision] pairs")
        return {index: decision for index, decision in rows}

    def action(self, index: int) -> Action:
        if self.actions is None:
            self.populate()
        return self.actions[index]

    def row(self, index: int) -> Decision:
        """The full decision of row ``index`` as populated; its action must be the row's action."""
        decision = _decision(self.channel, self._rows.get(index))
        if decision.action is not self.actions[index]:
            raise _bad_answer(self.channel, f"the bot's process answered two different actions for row {index}")
        return decision

    def decision(self, index: int) -> Decision:
        self.acted.append(index)
        return self.row(index)

    def fetch_rows(self, indices: list[int]) -> dict[int, Decision]:
        """The populated decisions of ``indices`` (HOLD rows included), asked after ``populate`` answered."""
        if not indices:
            return {}
        result = self.budget.request(self.channel, "rows", {"indices": indices})
        self._rows.update(self._row_map(result.get("rows") if isinstance(result, dict) else None))
        return {index: self.row(index) for index in indices}


def _time(candles: Candles, index: int) -> str:
    return datetime.fromtimestamp(int(candles.time[index]) / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _describe(decision: Decision) -> str:
    size = f" {decision.size.type.value} {decision.size.value}" if decision.size is not None else ""
    return f"{decision.action.value}{size}"


def _sample(rows: list[int], count: int | None) -> list[int]:
    """``count`` of ``rows`` at random (all of them for None), drawn with ``secrets``: nothing in the sandbox can
    predict them."""
    if count is None or count >= len(rows):
        return list(rows)
    return secrets.SystemRandom().sample(rows, count)


def verify_backtest(
    bot: SandboxedBot, budget: Budget, populated: PopulatedDecisions, config: dict | None,
    *, samples: int = HOLD_SAMPLES,
) -> int:
    """Recompute, in a fresh process that never holds a later candle, every row the simulation acted on and
    ``samples`` random other rows; raise ``SandboxLookahead`` at the first that differs (an acted row in action or
    size, another row in action). Returns how many rows were checked."""
    candles = populated.candles
    acted = set(populated.acted)
    decided = range(populated.startup_candles, len(candles) - 1)
    checks = sorted(acted | set(_sample([index for index in decided if index not in acted], samples)))
    fresh = bot._take_fresh()
    try:
        stream = StreamedDecisions(budget, fresh, candles, populated.name)
        with fresh.session(budget.cpu_s):
            _verify_rows(stream, populated, config, checks, acted)
    finally:
        fresh.kill()
    return len(checks)


def _verify_rows(
    stream: StreamedDecisions, populated: PopulatedDecisions, config: dict | None, checks: list[int], acted: set[int]
) -> None:
    """Stream ``checks`` (sorted) to the fresh process and compare each with the populated row."""
    candles = populated.candles
    stream.start(config)
    if stream.startup_candles != populated.startup_candles:
        raise SandboxLookahead(
            "the bot's warm-up differs between two runs of the same config: its decisions cannot be verified",
            index=0, time_ms=int(candles.time[0]),
        )
    for index in checks:
        truncated = stream.decide_at(index)
        if index in acted:
            full = populated.row(index)
            same = full.action is truncated.action and full.size == truncated.size
            shown = _describe(full)
        else:
            same = truncated.action is populated.actions[index]
            shown = populated.actions[index].value
        if not same:
            raise SandboxLookahead(
                f"the bot's decision on candle {index} ({_time(candles, index)}) changes when the later candles "
                f"are not there: {shown} with the whole series, {_describe(truncated)} without. Its signals use "
                "future candles (look-ahead), or are not reproducible; the backtest has no result.",
                index=index, time_ms=int(candles.time[index]),
            )


def sandboxed_backtest(
    bot: SandboxedBot, candles: Candles, *, config: dict | None, starting_balance: Decimal | str,
    fee_rate: Decimal | str, slippage_rate: Decimal | str, execution_config: dict | None, risk_config: dict | None,
    vectorized: bool | None, timeframe_ms: int | None, progress, budget: Budget,
) -> dict:
    """``SandboxedBot.backtest`` (see there). Caller holds the bot's lock."""
    fresh: Channel | None = None
    if bot._info is None:
        fresh = bot._take_fresh()  # loading it tells us what the bot is
    settings = {
        "starting_balance": Decimal(str(starting_balance)),
        "fee_rate": Decimal(str(fee_rate)),
        "slippage_rate": Decimal(str(slippage_rate)),
        "execution_config": execution_config,
        "risk_config": risk_config,
        "progress": progress,
        "timeframe_ms": timeframe_ms,
    }
    name = _class_name(bot)
    try:
        if vectorized is None:
            vectorized = bot._info.vectorized
        if vectorized and not bot._info.vectorized:
            raise TypeError(f"{name} is not a VectorBot; it cannot be backtested vectorized")
        if not vectorized:
            fresh = fresh or bot._take_fresh()
            streamed = StreamedDecisions(budget, fresh, candles, name)
            with fresh.session(budget.cpu_s):
                streamed.start(config)
                return simulate(candles, streamed, **settings).to_json()
        populated = PopulatedDecisions(budget, bot._warm(budget.cpu_s), candles, name)
        populated.start(config)
        result = simulate(candles, populated, **settings)
        if fresh is not None:  # not needed any more: verification takes its own (this one, or a prepared one)
            bot._resources.fresh, fresh = fresh, None
        verify_backtest(bot, budget, populated, config)
        return result.to_json()
    finally:
        if fresh is not None:
            fresh.kill()


def sandboxed_lookahead(
    bot: SandboxedBot, candles: Candles, *, config: dict | None, sample_points: int | None, budget: Budget,
) -> dict:
    """``SandboxedBot.lookahead`` (see there). Caller holds the bot's lock."""
    warm = bot._warm(budget.cpu_s)
    if not bot._info.vectorized:
        return LookaheadResult(
            True, message="per-candle bot: its backtests are streamed to a process that never holds a later candle"
        ).to_json()
    populated = PopulatedDecisions(budget, warm, candles, _class_name(bot))
    populated.start(config)
    start, stop = populated.startup_candles, len(candles) - 2
    if stop < start:
        return LookaheadResult(True, message="not enough candles after the warm-up to check anything").to_json()
    populated.populate()
    rows = range(start, stop + 1)
    signals = [index for index in rows if populated.actions[index] is not Action.HOLD]
    holds = _sample([index for index in rows if populated.actions[index] is Action.HOLD], sample_points)
    full = {index: populated.row(index) for index in signals}
    full.update(populated.fetch_rows(sorted(holds)))
    checked: list[int] = []
    fresh = bot._take_fresh()
    try:
        stream = StreamedDecisions(budget, fresh, candles, populated.name)
        with fresh.session(budget.cpu_s):
            return _lookahead_rows(stream, candles, config, full, checked)
    finally:
        fresh.kill()


def _lookahead_rows(
    stream: StreamedDecisions, candles: Candles, config: dict | None, full: dict[int, Decision], checked: list[int]
) -> dict:
    """Stream the rows of ``full`` (in order) to the fresh process; the first that differs makes the result."""
    stream.start(config)
    for index in sorted(full):
        checked.append(index)
        difference = decision_difference(full[index], stream.decide_at(index))
        if difference is None:
            continue
        column, full_value, truncated_value = difference
        return LookaheadResult(
            clean=False,
            first_index=index,
            first_time_ms=int(candles.time[index]),
            column=column,
            full_value=full_value,
            truncated_value=truncated_value,
            checked_indices=tuple(checked),
            message=(
                f"row {index} ('{column}') changes when the later candles are not there: {full_value} with the "
                f"full history, {truncated_value} recomputed by a process that never saw the later candles"
            ),
        ).to_json()
    return LookaheadResult(
        True, checked_indices=tuple(checked),
        message=f"{len(checked)} rows recomputed without the later candles agree",
    ).to_json()
