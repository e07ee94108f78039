"""A subscription's ``execution_config`` and ``risk_config`` (JSON in the database) as typed settings.

execution_config keys (all optional):
- ``buy_order_type``: ``PERCENTAGE`` (of the free quote balance, default) or ``USDT_AMOUNT`` (quote notional);
- ``buy_order_value``: the percent (0 < v <= 100, default 100) or the quote amount;
- ``sell_order_type``: ``ALL`` (default) or ``PERCENTAGE`` (of the open position);
- ``sell_order_value``: the percent for ``PERCENTAGE`` (0 < v <= 100);
- ``quantity_step``: the market's lot step, quantities are rounded down to it (default 0.00000001);
- ``order_type``: ``market`` (default) or ``limit``;
- ``limit_offset_percent``: for ``limit`` orders, how far from the reference price (the open of the candle after
  the decision, i.e. the price when the order is placed) the limit lies, in percent: a BUY at
  ``open × (1 − pct/100)``, a SELL at ``open × (1 + pct/100)``. Default 0.1, 0 allowed (a limit at the open);
- ``limit_expiry_candles``: how many candles a limit order may rest before it is cancelled (default 1: it fills on
  the candle after the decision or not at all);
- ``slippage_percent``: the slippage assumed for simulated fills (paper and backtests), percent, default 0.

risk_config keys (all optional; ``None`` or 0 means "not set"):
- ``stop_loss_percent``: stop ``pct`` percent below the entry price (5 = 5 %, < 100);
- ``take_profit_percent``: target ``pct`` percent above the entry price;
- ``max_position_size``: the largest notional (quote currency) one entry may have;
- ``max_open_trades``: the most positions the owner may hold open at once on one exchange account (default 1;
  a single subscription holds at most one).

Unknown keys are rejected rather than ignored: a misspelt ``stop_loss_pct`` silently running a backtest
without a stop would be worse than an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.fill_model import to_decimal
from core.sdk import ConfigError

PERCENTAGE = "PERCENTAGE"
USDT_AMOUNT = "USDT_AMOUNT"
ALL = "ALL"
MARKET = "market"
LIMIT = "limit"
DEFAULT_QUANTITY_STEP = Decimal("0.00000001")  # 8 decimals, as the trades table stores quantities
DEFAULT_LIMIT_OFFSET_PCT = Decimal("0.1")
DEFAULT_LIMIT_EXPIRY_CANDLES = 1
MAX_LIMIT_EXPIRY_CANDLES = 100


def _number(
    errors: list[dict[str, str]], field: str, value: Any, *, positive: bool = True, percent: bool = False
) -> Decimal | None:
    try:
        number = to_decimal(value)
    except (TypeError, ValueError):
        errors.append({"field": field, "message": f"must be a number, got {value!r}"})
        return None
    if not number.is_finite() or (positive and number <= 0):
        errors.append({"field": field, "message": f"must be a positive number, got {value!r}"})
        return None
    if percent and number > 100:
        errors.append({"field": field, "message": f"is a percent and must be at most 100, got {value!r}"})
        return None
    return number


def _check_keys(errors: list[dict[str, str]], section: str, config: Mapping[str, Any], allowed: set[str]) -> None:
    for key in sorted(set(config) - allowed):
        errors.append({"field": f"{section}.{key}", "message": f"unknown setting; known: {', '.join(sorted(allowed))}"})


@dataclass(frozen=True)
class ExecutionSettings:
    buy_order_type: str = PERCENTAGE
    buy_order_value: Decimal = Decimal("100")
    sell_order_type: str = ALL
    sell_order_value: Decimal | None = None
    quantity_step: Decimal = DEFAULT_QUANTITY_STEP
    order_type: str = MARKET
    slippage_pct: Decimal | None = None
    limit_offset_pct: Decimal = DEFAULT_LIMIT_OFFSET_PCT
    limit_expiry_candles: int = DEFAULT_LIMIT_EXPIRY_CANDLES

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> ExecutionSettings:
        """Parse ``execution_config``; raise ``ConfigError`` with fields like ``execution_config.buy_order_type``."""
        config = dict(config or {})
        errors: list[dict[str, str]] = []
        _check_keys(
            errors,
            "execution_config",
            config,
            {
                "buy_order_type",
                "buy_order_value",
                "sell_order_type",
                "sell_order_value",
                "quantity_step",
                "order_type",
                "slippage_percent",
                "limit_offset_percent",
                "limit_expiry_candles",
            },
        )
        buy_type = config.get("buy_order_type") or PERCENTAGE
        if buy_type not in (PERCENTAGE, USDT_AMOUNT):
            errors.append({"field": "execution_config.buy_order_type", "message": "must be PERCENTAGE or USDT_AMOUNT"})
        buy_value = config.get("buy_order_value")
        if buy_value is None:
            buy_value = Decimal("100") if buy_type == PERCENTAGE else None
            if buy_type == USDT_AMOUNT:
                errors.append({"field": "execution_config.buy_order_value", "message": "is required for USDT_AMOUNT"})
        else:
            buy_value = _number(errors, "execution_config.buy_order_value", buy_value, percent=buy_type == PERCENTAGE)
        sell_type = config.get("sell_order_type") or ALL
        sell_value = None
        if sell_type not in (ALL, PERCENTAGE):
            errors.append({"field": "execution_config.sell_order_type", "message": "must be ALL or PERCENTAGE"})
        elif sell_type == PERCENTAGE:
            if config.get("sell_order_value") is None:
                errors.append({"field": "execution_config.sell_order_value", "message": "is required for PERCENTAGE"})
            else:
                sell_value = _number(
                    errors, "execution_config.sell_order_value", config["sell_order_value"], percent=True
                )
        step = config.get("quantity_step")
        step = DEFAULT_QUANTITY_STEP if step is None else _number(errors, "execution_config.quantity_step", step)
        order_type = config.get("order_type") or MARKET
        if order_type not in (MARKET, LIMIT):
            errors.append({"field": "execution_config.order_type", "message": "must be market or limit"})
        offset = config.get("limit_offset_percent")
        if offset is None:
            offset = DEFAULT_LIMIT_OFFSET_PCT
        elif not _is_zero(offset):
            # A limit below the price for a BUY (above for a SELL) only: a negative offset would be a market order
            # paying more than the price, and 50 % or more is no longer a limit anyone expects to fill.
            offset = _number(errors, "execution_config.limit_offset_percent", offset)
            if offset is not None and offset >= 50:
                errors.append({"field": "execution_config.limit_offset_percent", "message": "must be less than 50"})
        else:
            offset = Decimal(0)
        expiry = config.get("limit_expiry_candles")
        if expiry is None:
            expiry = DEFAULT_LIMIT_EXPIRY_CANDLES
        elif isinstance(expiry, bool) or not isinstance(expiry, int) or not 1 <= expiry <= MAX_LIMIT_EXPIRY_CANDLES:
            errors.append(
                {
                    "field": "execution_config.limit_expiry_candles",
                    "message": f"must be a whole number from 1 to {MAX_LIMIT_EXPIRY_CANDLES}",
                }
            )
        slippage = config.get("slippage_percent")
        if slippage is not None and not _is_zero(slippage):
            slippage = _number(errors, "execution_config.slippage_percent", slippage, percent=True)
        else:
            slippage = None
        if errors:
            raise ConfigError(errors)
        assert buy_value is not None and step is not None  # _number added an error wherever it gave None
        return cls(buy_type, buy_value, sell_type, sell_value, step, order_type, slippage, offset or Decimal(0), expiry)

    @property
    def is_limit(self) -> bool:
        return self.order_type == LIMIT

    @property
    def slippage_rate(self) -> Decimal | None:
        """The slippage as a fraction (0.0005 for 0.05 %), or None when the config does not set it."""
        return None if self.slippage_pct is None else self.slippage_pct / 100


@dataclass(frozen=True)
class RiskSettings:
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None
    max_position_size: Decimal | None = None
    max_open_trades: int = 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> RiskSettings:
        """Parse ``risk_config``; ``None``/0 values mean "not set". Raises ``ConfigError``."""
        config = dict(config or {})
        errors: list[dict[str, str]] = []
        _check_keys(
            errors,
            "risk_config",
            config,
            {"stop_loss_percent", "take_profit_percent", "max_position_size", "max_open_trades"},
        )
        max_open_trades = config.get("max_open_trades") or 1
        if isinstance(max_open_trades, bool) or not isinstance(max_open_trades, int) or not 1 <= max_open_trades <= 100:
            errors.append({"field": "risk_config.max_open_trades", "message": "must be a whole number from 1 to 100"})
            max_open_trades = 1
        values: dict[str, Decimal | None] = {}
        for key in ("stop_loss_percent", "take_profit_percent", "max_position_size"):
            raw = config.get(key)
            unset = raw is None or (not isinstance(raw, bool) and _is_zero(raw))
            values[key] = None if unset else _number(errors, f"risk_config.{key}", raw)
        if values["stop_loss_percent"] is not None and values["stop_loss_percent"] >= 100:
            errors.append({"field": "risk_config.stop_loss_percent", "message": "must be less than 100"})
        if errors:
            raise ConfigError(errors)
        return cls(
            values["stop_loss_percent"], values["take_profit_percent"], values["max_position_size"], max_open_trades
        )


def _is_zero(value: Any) -> bool:
    try:
        return to_decimal(value) == 0
    except (TypeError, ValueError):
        return False
