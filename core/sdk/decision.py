"""What a bot returns for one closed candle: ``Decision(action, size, reason, indicators)``.

Decisions cross process boundaries (the sandbox sends them as JSON, the platform stores the
indicators in ``performance_logs.signal_data``), so everything in one is JSON-safe:
- ``size.value`` is a ``Decimal`` and travels as a string, so no digits are lost;
- ``indicators`` hold only numbers or ``None``: NaN and infinities become ``None`` (JSON has no NaN).

A decision is also bounded, because every one is stored (``performance_logs``, ``orders.decision``) and the
engine computes with its size: a reason of at most ``MAX_REASON_CHARS`` characters, at most ``MAX_INDICATORS``
indicators named in at most ``MAX_INDICATOR_NAME_CHARS`` characters, indicator values within
±``MAX_INDICATOR_ABS`` (beyond, like NaN, they become ``None``), and a size value between ``MIN_SIZE_VALUE``
and ``MAX_SIZE_VALUE`` (a ``PERCENTAGE`` at most 100). ``Decision.from_json`` reads decisions that come from
untrusted code (the sandbox) and refuses anything a valid ``Decision.to_json()`` could not have produced.
"""
from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

MAX_REASON_CHARS = 500
MAX_INDICATORS = 50
MAX_INDICATOR_NAME_CHARS = 64
MAX_INDICATOR_ABS = 1e15
# Amounts and quantities beyond a quadrillion are no order anyone places; with 8 decimal places the engine's
# arithmetic stays within Decimal's default 28 digits. A value below 1e-18 is no amount either.
MAX_SIZE_VALUE = Decimal("1e15")
MIN_SIZE_VALUE = Decimal("1e-18")
# The longest size value text from_json reads ("0.000000000000000001" is 20 characters).
MAX_SIZE_TEXT_CHARS = 40
DECISION_KEYS = frozenset({"action", "size", "reason", "indicators"})


class DecisionInvalid(ValueError):
    """A decision read by ``Decision.from_json`` breaks its schema or its bounds. The message is safe to show."""


class Action(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


class SizeType(StrEnum):
    """How ``Size.value`` is read.

    - ``PERCENTAGE``: percent (0 < value <= 100) of the free quote balance for a BUY, of the open position for a SELL;
    - ``USDT_AMOUNT``: an amount of the quote currency (the order's notional, fees on top);
    - ``QUANTITY``: an amount of the base currency.
    """

    PERCENTAGE = "PERCENTAGE"
    USDT_AMOUNT = "USDT_AMOUNT"
    QUANTITY = "QUANTITY"


def to_decimal(value: Any) -> Decimal:
    """``Decimal`` from an int, a numeric string, a ``Decimal`` or a float (via its shortest repr, so 0.1 -> '0.1')."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not an amount")
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


@dataclass(frozen=True)
class Size:
    """An order size the bot suggests; the platform caps it by the subscription's execution and risk settings."""

    type: SizeType
    value: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", SizeType(self.type))
        value = to_decimal(self.value)
        if not value.is_finite() or value <= 0:
            raise ValueError(f"size value must be a positive number, got {self.value!r}")
        if not MIN_SIZE_VALUE <= value <= MAX_SIZE_VALUE:
            raise ValueError(f"size value must be between {MIN_SIZE_VALUE} and {MAX_SIZE_VALUE:.0e}, got {value:.6g}")
        if self.type is SizeType.PERCENTAGE and value > 100:
            raise ValueError(f"a PERCENTAGE size is at most 100, got {value}")
        object.__setattr__(self, "value", value)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type.value, "value": format(self.value, "f")}

    @classmethod
    def from_json(cls, data: Any) -> Size:
        """Inverse of ``to_json``, strict: ``{"type": <SizeType>, "value": <decimal text or int>}`` and nothing
        else. Raises ``DecisionInvalid``."""
        if not isinstance(data, dict) or set(data) != {"type", "value"}:
            raise DecisionInvalid("a size is an object with exactly 'type' and 'value'")
        kind, value = data["type"], data["value"]
        if not isinstance(kind, str) or kind not in SizeType.__members__:
            raise DecisionInvalid("the size type must be one of " + ", ".join(SizeType))
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise DecisionInvalid("the size value must be a decimal string")
        if isinstance(value, int) and abs(value) > MAX_SIZE_VALUE:
            raise DecisionInvalid(f"the size value must be at most {MAX_SIZE_VALUE:.0e}")
        text = str(value)
        if len(text) > MAX_SIZE_TEXT_CHARS:
            raise DecisionInvalid(f"the size value has more than {MAX_SIZE_TEXT_CHARS} characters")
        try:
            return cls(SizeType(kind), Decimal(text))
        except (ArithmeticError, ValueError, TypeError) as error:
            raise DecisionInvalid(f"bad size: {error}") from None


def json_safe_number(value: Any) -> int | float | None:
    """A JSON-safe number: numpy scalars become Python numbers, NaN/inf become ``None``.

    Raises ``TypeError`` for anything that is not a real number (strings, lists, ...).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        # bool is an int subclass; JSON would keep it a bool, but indicators are numbers by contract.
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, (numbers.Real, Decimal)):
        try:
            number = float(value)
        except OverflowError:  # a Fraction or Decimal beyond float's range
            return None
        return number if math.isfinite(number) else None
    raise TypeError(f"indicator values must be numbers or None, got {type(value).__name__}: {value!r}")


@dataclass(frozen=True)
class Decision:
    """The bot's decision for the last closed candle it was shown.

    ``size`` is only a suggestion (``None``: use the subscription's execution settings); it is ignored for HOLD.
    ``indicators`` is normalised on construction (see ``json_safe_number``; a value beyond ±``MAX_INDICATOR_ABS``
    becomes ``None``); keys must be strings. Raises ``ValueError`` when a bound of the module docstring is broken.
    """

    action: Action
    size: Size | None = None
    reason: str = ""
    indicators: Mapping[str, int | float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", Action(self.action))
        if self.size is not None and not isinstance(self.size, Size):
            raise TypeError(f"size must be a Size or None, got {type(self.size).__name__}")
        if not isinstance(self.reason, str):
            raise TypeError("reason must be a string")
        if len(self.reason) > MAX_REASON_CHARS:
            raise ValueError(f"reason is {len(self.reason)} characters; at most {MAX_REASON_CHARS}")
        indicators = dict(self.indicators)
        if len(indicators) > MAX_INDICATORS:
            raise ValueError(f"{len(indicators)} indicators; at most {MAX_INDICATORS}")
        clean = {}
        for key, value in indicators.items():
            if not isinstance(key, str):
                raise TypeError(f"indicator names must be strings, got {type(key).__name__}")
            if not 0 < len(key) <= MAX_INDICATOR_NAME_CHARS:
                raise ValueError(f"indicator names are 1 to {MAX_INDICATOR_NAME_CHARS} characters, got {key[:80]!r}")
            number = json_safe_number(value)
            clean[key] = None if number is not None and abs(number) > MAX_INDICATOR_ABS else number
        object.__setattr__(self, "indicators", clean)

    @classmethod
    def hold(cls, reason: str = "", indicators: Mapping[str, int | float | None] | None = None) -> Decision:
        return cls(Action.HOLD, None, reason, indicators or {})

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict: ``{"action", "size": {"type", "value": str} | null, "reason", "indicators"}``."""
        return {
            "action": self.action.value,
            "size": self.size.to_json() if self.size else None,
            "reason": self.reason,
            "indicators": dict(self.indicators),
        }

    @classmethod
    def from_json(cls, data: Any) -> Decision:
        """Inverse of ``to_json``; also accepts JSON text. Strict, because decisions come from untrusted code:
        ``action`` one of ``Action``; ``size`` null or ``Size.to_json()``; ``reason`` a string; ``indicators``
        an object of names to finite numbers or null; no other key; every bound of the module docstring (an
        out-of-range indicator is refused here, not turned into ``None``). Raises ``DecisionInvalid`` only."""
        if isinstance(data, (str, bytes)):
            if len(data) > 64 * 1024:
                raise DecisionInvalid("the decision's JSON is longer than 64 KiB")
            try:
                data = json.loads(data, parse_constant=_refuse_constant)
            except (ValueError, RecursionError) as error:
                raise DecisionInvalid(f"the decision is not JSON: {str(error)[:100]}") from None
        if not isinstance(data, dict):
            raise DecisionInvalid("a decision is a JSON object")
        unknown = set(data) - DECISION_KEYS
        if unknown:
            raise DecisionInvalid(f"unknown decision keys: {', '.join(sorted(map(str, unknown)))[:200]}")
        action = data.get("action")
        if not isinstance(action, str) or action not in Action.__members__:
            raise DecisionInvalid("the action must be one of " + ", ".join(Action))
        size = data.get("size")
        reason = data.get("reason", "")
        if not isinstance(reason, str):
            raise DecisionInvalid("the reason must be a string")
        if len(reason) > MAX_REASON_CHARS:
            raise DecisionInvalid(f"the reason is {len(reason)} characters; at most {MAX_REASON_CHARS}")
        indicators = data.get("indicators") or {}
        if not isinstance(indicators, dict):
            raise DecisionInvalid("the indicators must be an object of names to numbers")
        if len(indicators) > MAX_INDICATORS:
            raise DecisionInvalid(f"{len(indicators)} indicators; at most {MAX_INDICATORS}")
        for value in indicators.values():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DecisionInvalid("indicator values must be numbers or null")
            if isinstance(value, int) and abs(value) > MAX_INDICATOR_ABS:
                raise DecisionInvalid(f"indicator values must be within ±{MAX_INDICATOR_ABS:.0e}")
            if isinstance(value, float) and not (math.isfinite(value) and abs(value) <= MAX_INDICATOR_ABS):
                raise DecisionInvalid(f"indicator values must be finite and within ±{MAX_INDICATOR_ABS:.0e}")
        try:
            return cls(
                action=Action(action),
                size=Size.from_json(size) if size is not None else None,
                reason=reason,
                indicators=indicators,
            )
        except DecisionInvalid:
            raise
        except (ArithmeticError, ValueError, TypeError) as error:
            raise DecisionInvalid(str(error)[:300]) from None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a decision may hold")
