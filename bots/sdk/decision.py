"""What a bot returns for one closed candle: ``Decision(action, size, reason, indicators)``.

Decisions cross process boundaries (the sandbox sends them as JSON, the platform stores the
indicators in ``performance_logs.signal_data``), so everything in one is JSON-safe:
- ``size.value`` is a ``Decimal`` and travels as a string, so no digits are lost;
- ``indicators`` hold only numbers or ``None``: NaN and infinities become ``None`` (JSON has no NaN).
"""
from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any


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
        if self.type is SizeType.PERCENTAGE and value > 100:
            raise ValueError(f"a PERCENTAGE size is at most 100, got {value}")
        object.__setattr__(self, "value", value)

    def to_json(self) -> dict:
        return {"type": self.type.value, "value": format(self.value, "f")}

    @classmethod
    def from_json(cls, data: dict) -> Size:
        return cls(SizeType(data["type"]), to_decimal(data["value"]))


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
        number = float(value)
        return number if math.isfinite(number) else None
    raise TypeError(f"indicator values must be numbers or None, got {type(value).__name__}: {value!r}")


@dataclass(frozen=True)
class Decision:
    """The bot's decision for the last closed candle it was shown.

    ``size`` is only a suggestion (``None``: use the subscription's execution settings); it is ignored for HOLD.
    ``indicators`` is normalised on construction (see ``json_safe_number``); keys must be strings.
    """

    action: Action
    size: Size | None = None
    reason: str = ""
    indicators: dict[str, int | float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", Action(self.action))
        if self.size is not None and not isinstance(self.size, Size):
            raise TypeError(f"size must be a Size or None, got {type(self.size).__name__}")
        if not isinstance(self.reason, str):
            raise TypeError("reason must be a string")
        clean = {}
        for key, value in dict(self.indicators).items():
            if not isinstance(key, str):
                raise TypeError(f"indicator names must be strings, got {key!r}")
            clean[key] = json_safe_number(value)
        object.__setattr__(self, "indicators", clean)

    @classmethod
    def hold(cls, reason: str = "", indicators: dict | None = None) -> Decision:
        return cls(Action.HOLD, None, reason, indicators or {})

    def to_json(self) -> dict:
        """A JSON-safe dict: ``{"action", "size": {"type", "value": str} | null, "reason", "indicators"}``."""
        return {
            "action": self.action.value,
            "size": self.size.to_json() if self.size else None,
            "reason": self.reason,
            "indicators": dict(self.indicators),
        }

    @classmethod
    def from_json(cls, data: dict | str) -> Decision:
        """Inverse of ``to_json``; also accepts JSON text. Raises ValueError, TypeError or KeyError on bad input."""
        if isinstance(data, (str, bytes)):
            data = json.loads(data)
        size = data.get("size")
        return cls(
            action=Action(data["action"]),
            size=Size.from_json(size) if size else None,
            reason=data.get("reason", ""),
            indicators=data.get("indicators") or {},
        )
