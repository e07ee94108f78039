"""Lookahead check for vectorized bots (the idea of freqtrade's ``lookahead-analysis``).

A ``VectorBot`` computes all rows at once, so nothing stops ``populate`` from reading a later candle
(``close[i + 1]``, a centred window, a max over the whole array ...). Such a bot backtests beautifully
and cannot be reproduced live, where candle ``i + 1`` does not exist yet.

The check: compute the signals once on the full history, then again on truncated histories
``candles[:i + 1]`` for a set of indices ``i``; row ``j <= i`` of the truncated run must equal row ``j``
of the full run (the action exactly, every indicator to 1e-9 relative, NaN equal to NaN). A bot that
only uses candles ``0..i`` for row ``i`` passes by construction.

Which indices are checked: every index where the full run signals BUY or SELL (a peeking bot shows
itself where it trades), plus ``sample_points`` evenly spaced indices (``None``: every index). Once a
checked index fails, the unchecked indices since the last clean one are checked too, so the reported
``first_index`` is the first offending candle from there on. Rows before ``startup_candles`` are
warm-up and never traded on, so they are not compared.

This in-process check is a tool for bot authors and for the platform's own bots: in one process a hostile bot
can defeat it (find the whole series through the garbage collector or a caller's frame, cache it in a module
global during the full run and replay it in the truncated ones). The platform checks uploaded bots with
``bots.sandbox.streaming``: the full run in one process, the truncated runs in a fresh process that is streamed
the candles one truncation after the other and never holds a candle after the row it recomputes; both compare
rows with ``decision_difference`` below. Each truncated history here is a fresh copy (``Candles.head``), so at
least ``.base`` leads nowhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .bot import Bot, VectorBot
from .candles import Candles
from .decision import Action, Decision
from .signals import Signals

RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class LookaheadResult:
    """``clean`` is True when no checked index differed; otherwise ``first_index``/``first_time_ms`` name the
    first candle whose row changed, ``column`` which output ("action" or an indicator name) and the two values."""

    clean: bool
    first_index: int | None = None
    first_time_ms: int | None = None
    column: str | None = None
    full_value: float | None = None
    truncated_value: float | None = None
    checked_indices: tuple[int, ...] = ()
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        def safe(value: float | None) -> float | None:
            return None if value is None or not np.isfinite(value) else float(value)

        return {
            "clean": self.clean,
            "first_index": self.first_index,
            "first_time_ms": self.first_time_ms,
            "column": self.column,
            "full_value": safe(self.full_value),
            "truncated_value": safe(self.truncated_value),
            "checked": len(self.checked_indices),
            "message": self.message,
        }


@dataclass(frozen=True)
class _Difference:
    index: int
    column: str
    full_value: float
    truncated_value: float


def _first_difference(full: Signals, truncated: Signals, start: int, end: int) -> _Difference | None:
    """The earliest row in ``start..end`` (inclusive) where ``truncated`` differs from ``full``, or None."""
    rows = slice(start, end + 1)
    best: _Difference | None = None
    mismatched = np.nonzero(full.action[rows] != truncated.action[rows])[0]
    if len(mismatched):
        row = start + int(mismatched[0])
        best = _Difference(row, "action", float(full.action[row]), float(truncated.action[row]))
    for name in sorted(set(full.indicators) | set(truncated.indicators)):
        if name not in full.indicators or name not in truncated.indicators:
            # An indicator that exists only with (or without) future data is lookahead by itself.
            return _Difference(end, name, float("nan"), float("nan")) if best is None or end < best.index else best
        full_values = full.indicators[name][rows]
        truncated_values = truncated.indicators[name][rows]
        equal = np.isclose(
            full_values, truncated_values, rtol=RELATIVE_TOLERANCE, atol=ABSOLUTE_TOLERANCE, equal_nan=True
        )
        mismatched = np.nonzero(~equal)[0]
        if len(mismatched):
            row = start + int(mismatched[0])
            if best is None or row < best.index:
                best = _Difference(row, name, float(full.indicators[name][row]), float(truncated.indicators[name][row]))
    return best


_ACTION_CODES = {Action.BUY: 1.0, Action.SELL: -1.0, Action.HOLD: 0.0}


def decision_difference(full: Decision, truncated: Decision) -> tuple[str, float | None, float | None] | None:
    """How ``truncated`` (decided without the later candles) differs from ``full`` (the same row decided with the
    whole history), or None when they agree: the first of ``("action", code, code)`` (+1 BUY, -1 SELL, 0 HOLD),
    ``("size", value, value)`` or ``(indicator name, value, value)``. Indicators agree to ``RELATIVE_TOLERANCE``
    (an indicator only one of them has differs; ``None``, a NaN in the bot, equals ``None``). The reason text is
    not compared."""
    if full.action is not truncated.action:
        return "action", _ACTION_CODES[full.action], _ACTION_CODES[truncated.action]
    if full.size != truncated.size:
        return "size", _size_value(full), _size_value(truncated)
    for name in sorted(set(full.indicators) | set(truncated.indicators)):
        if name not in full.indicators or name not in truncated.indicators:
            return name, full.indicators.get(name), truncated.indicators.get(name)
        left, right = full.indicators[name], truncated.indicators[name]
        if left is None or right is None:
            if left is not right:
                return name, left, right
            continue
        if not np.isclose(left, right, rtol=RELATIVE_TOLERANCE, atol=ABSOLUTE_TOLERANCE):
            return name, float(left), float(right)
    return None


def _size_value(decision: Decision) -> float | None:
    return float(decision.size.value) if decision.size is not None else None


def _indices_to_check(full: Signals, start: int, stop: int, sample_points: int | None) -> list[int]:
    if sample_points is None:
        return list(range(start, stop + 1))
    signal_rows = start + np.nonzero(full.action[start : stop + 1])[0]
    evenly = np.linspace(start, stop, num=max(int(sample_points), 2)).round().astype(int)
    return sorted(set(signal_rows.tolist()) | set(evenly.tolist()))


def check_lookahead(
    bot_cls: type[Bot], config: dict[str, Any] | None, candles: Candles, sample_points: int | None = 50
) -> LookaheadResult:
    """Check that ``bot_cls`` (with ``config``, validated here) never uses a candle after the one it decides.

    Per-candle bots (``Bot`` but not ``VectorBot``) are clean by construction: ``decide`` is only ever given
    closed candles. Each truncated run uses a fresh bot instance, so ``state`` cannot leak between runs.
    """
    if not issubclass(bot_cls, VectorBot):
        return LookaheadResult(True, message="per-candle bot: decide() only ever sees closed candles")

    def signals_for(history: Candles) -> Signals:
        return bot_cls.from_config(config).signals(history)

    def truncated(length: int) -> Candles:
        return candles.head(length)

    bot = bot_cls.from_config(config)
    full = bot.signals(candles)
    start = max(int(bot.startup_candles), 0)
    # Truncating at the last candle gives the full history back, so the last useful check is n - 2.
    stop = len(candles) - 2
    if stop < start:
        return LookaheadResult(True, message="not enough candles after the warm-up to check anything")

    checked: list[int] = []
    last_clean = start - 1
    for index in _indices_to_check(full, start, stop, sample_points):
        checked.append(index)
        difference = _first_difference(full, signals_for(truncated(index + 1)), start, index)
        if difference is None:
            last_clean = index
            continue
        # Look at the indices skipped since the last clean check: the first offending one may be among them.
        # (A bot peeking k candles ahead is only caught by a truncation within k candles of the row.)
        for earlier in range(last_clean + 1, index):
            checked.append(earlier)
            found = _first_difference(full, signals_for(truncated(earlier + 1)), start, earlier)
            if found is not None:
                if found.index < difference.index:
                    difference = found
                break
        return LookaheadResult(
            clean=False,
            first_index=difference.index,
            first_time_ms=int(candles.time[difference.index]),
            column=difference.column,
            full_value=difference.full_value,
            truncated_value=difference.truncated_value,
            checked_indices=tuple(sorted(checked)),
            message=(
                f"row {difference.index} ('{difference.column}') changes when later candles are added: "
                f"{difference.full_value} with the full history, {difference.truncated_value} without the future"
            ),
        )
    return LookaheadResult(True, checked_indices=tuple(checked), message=f"{len(checked)} truncation points agree")
