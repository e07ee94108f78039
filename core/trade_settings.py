"""A subscription's ``execution_config`` and ``risk_config`` (JSON in the database) as typed settings.

The keys, their ranges and their defaults are those of the published JSON Schemas (core.config_schemas), the one
validator of both configs: ``core.config_schemas.validate_trading_configs`` validates a config and then parses it
here, and so does the backtest engine. Parsing checks nothing again; it only turns the values into Decimals and
applies the meanings the schemas cannot say:
- ``buy_order_value`` defaults to 100 (percent of the free quote balance);
- ``sell_order_value`` counts only for a ``PERCENTAGE`` sell;
- ``limit_offset_percent`` and ``limit_expiry_candles`` default to 0.1 and 1 when left empty;
- ``slippage_percent`` 0 and risk values ``None`` or 0 mean "not set";
- ``quantity_step``, the market's lot step that quantities are rounded down to (default 0.00000001), is no
  setting of a subscription: only a backtest of a market with a coarser step passes it (core.backtest.engine).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.fill_model import to_decimal

PERCENTAGE = "PERCENTAGE"
ALL = "ALL"
MARKET = "market"
LIMIT = "limit"
DEFAULT_QUANTITY_STEP = Decimal("0.00000001")  # 8 decimals, as the trades table stores quantities
DEFAULT_LIMIT_OFFSET_PCT = Decimal("0.1")
DEFAULT_LIMIT_EXPIRY_CANDLES = 1


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
        """Parse an ``execution_config`` the published schema accepted (plus an optional ``quantity_step``); a
        missing or empty key takes its default. Checks nothing: see the module docstring."""
        config = config or {}
        sell_order_type = config.get("sell_order_type") or ALL
        sell_order_value = config.get("sell_order_value") if sell_order_type == PERCENTAGE else None
        return cls(
            buy_order_type=config.get("buy_order_type") or PERCENTAGE,
            buy_order_value=_required(config.get("buy_order_value"), Decimal("100")),
            sell_order_type=sell_order_type,
            sell_order_value=_decimal(sell_order_value, None),
            quantity_step=_required(config.get("quantity_step"), DEFAULT_QUANTITY_STEP),
            order_type=config.get("order_type") or MARKET,
            slippage_pct=_decimal(config.get("slippage_percent"), None, zero_is_unset=True),
            limit_offset_pct=_required(config.get("limit_offset_percent"), DEFAULT_LIMIT_OFFSET_PCT),
            limit_expiry_candles=config.get("limit_expiry_candles") or DEFAULT_LIMIT_EXPIRY_CANDLES,
        )

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
        """Parse a ``risk_config`` the published schema accepted; ``None`` or 0 means "not set". Checks nothing."""
        config = config or {}
        return cls(
            stop_loss_pct=_decimal(config.get("stop_loss_percent"), None, zero_is_unset=True),
            take_profit_pct=_decimal(config.get("take_profit_percent"), None, zero_is_unset=True),
            max_position_size=_decimal(config.get("max_position_size"), None, zero_is_unset=True),
            max_open_trades=config.get("max_open_trades") or 1,
        )


def _decimal(value: Any, default: Decimal | None, *, zero_is_unset: bool = False) -> Decimal | None:
    """``value`` as a Decimal; ``default`` when it is None (or 0 with ``zero_is_unset``)."""
    if value is None:
        return default
    number = to_decimal(value)
    return default if zero_is_unset and number == 0 else number


def _required(value: Any, default: Decimal) -> Decimal:
    """``value`` as a Decimal; ``default`` when it is None."""
    return default if value is None else to_decimal(value)
