"""The published JSON Schemas of a subscription's `execution_config` and `risk_config`, and their validation.

The keys are those of the original system (so its configs keep working): `buy_order_type` PERCENTAGE | USDT_AMOUNT,
`buy_order_value`, `sell_order_type` PERCENTAGE | ALL, `sell_order_value`; `stop_loss_percent`,
`take_profit_percent`, `max_position_size`; plus `order_type` (with `limit_offset_percent` and
`limit_expiry_candles` for limit orders), `slippage_percent` and `max_open_trades`.
Percent values are percents as users type them (5 means 5 %). Forms are built from these schemas and the API
publishes them. They are the one validator of both configs: `validate_trading_configs` checks a config against its
schema, giving one clear error per field, and only then parses it (core.trade_settings, which checks nothing
again); rules between two keys are the schemas' `allOf` conditions.
"""

from typing import Any

from core.sdk import ConfigError, validate_config
from core.trade_settings import ExecutionSettings, RiskSettings

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"

EXECUTION_CONFIG_SCHEMA = {
    "$schema": SCHEMA_URI,
    "title": "Execution settings",
    "type": "object",
    "properties": {
        "buy_order_type": {
            "title": "Buy size",
            "type": "string",
            "enum": ["PERCENTAGE", "USDT_AMOUNT"],
            "default": "PERCENTAGE",
            "description": "PERCENTAGE of the free quote balance, or a fixed USDT_AMOUNT (quote currency).",
        },
        "buy_order_value": {
            "title": "Buy value",
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 100,
            "description": "The percent (up to 100) or the quote amount.",
        },
        "sell_order_type": {
            "title": "Sell size",
            "type": "string",
            "enum": ["ALL", "PERCENTAGE"],
            "default": "ALL",
            "description": "Sell the whole position, or a PERCENTAGE of it.",
        },
        "sell_order_value": {
            "title": "Sell percent",
            "type": ["number", "null"],
            "exclusiveMinimum": 0,
            "maximum": 100,
            "default": None,
        },
        "order_type": {
            "title": "Order type",
            "type": "string",
            "enum": ["market", "limit"],
            "default": "market",
            "description": (
                "market: filled at once at the next price (plus the assumed slippage in paper mode and backtests). "
                "limit: a good-till-cancelled order at the price when it is placed moved by the limit offset; it "
                "fills at its limit price if the market reaches it within the expiry, otherwise it is cancelled "
                "(a part already filled is kept as the position)."
            ),
        },
        "limit_offset_percent": {
            "title": "Limit offset (%)",
            "type": ["number", "null"],
            "minimum": 0,
            "exclusiveMaximum": 50,
            "default": 0.1,
            "description": (
                "Limit orders only. How far from the current price the limit lies: a buy this many percent below "
                "the price when it is placed, a sell this many percent above it. 0 places it at the price. Empty: 0.1."
            ),
        },
        "limit_expiry_candles": {
            "title": "Limit order lifetime (candles)",
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": 100,
            "default": 1,
            "description": (
                "Limit orders only. How many candles an unfilled limit order rests before it is cancelled "
                "(1: it fills on the candle after the decision or not at all). Empty: 1."
            ),
        },
        "slippage_percent": {
            "title": "Assumed slippage (%)",
            "type": "number",
            "minimum": 0,
            "maximum": 5,
            "default": 0,
            "description": "Applied to simulated (paper) fills, as in backtests.",
        },
    },
    "additionalProperties": False,
    # After `properties`, so that the defaults are filled when these conditions are checked.
    "allOf": [
        {
            # A percentage of the free balance is at most all of it.
            "if": {"properties": {"buy_order_type": {"const": "PERCENTAGE"}}},
            "then": {"properties": {"buy_order_value": {"maximum": 100}}},
        },
        {
            # Selling a percentage needs the percent.
            "if": {"properties": {"sell_order_type": {"const": "PERCENTAGE"}}},
            "then": {"properties": {"sell_order_value": {"type": "number"}}},
        },
    ],
}

RISK_CONFIG_SCHEMA = {
    "$schema": SCHEMA_URI,
    "title": "Risk settings",
    "type": "object",
    "properties": {
        "stop_loss_percent": {
            "title": "Stop loss (%)",
            "type": ["number", "null"],
            "minimum": 0,
            "exclusiveMaximum": 100,
            "default": None,
            "description": "Sell when the price falls this far below the entry. Empty: none.",
        },
        "take_profit_percent": {
            "title": "Take profit (%)",
            "type": ["number", "null"],
            "minimum": 0,
            "maximum": 10000,
            "default": None,
            "description": "Sell when the price rises this far above the entry. Empty: none.",
        },
        "max_position_size": {
            "title": "Largest position (quote)",
            "type": ["number", "null"],
            "minimum": 0,
            "default": None,
            "description": "Caps the notional of one entry, whatever the bot suggests.",
        },
        "max_open_trades": {
            "title": "Most open trades",
            "type": "integer",
            "minimum": 1,
            "maximum": 100,
            "default": 1,
            "description": "Across your subscriptions on the same exchange account.",
        },
    },
    "additionalProperties": False,
}


def _prefixed(section: str, error: ConfigError) -> list[dict[str, str]]:
    return [
        {
            "field": f"{section}.{e['field']}"
            if e["field"] and not e["field"].startswith(section)
            else e["field"] or section,
            "message": e["message"],
        }
        for e in error.errors
    ]


def validate_trading_configs(
    execution_config: dict[str, Any] | None, risk_config: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any], ExecutionSettings, RiskSettings]:
    """Validate both configs against their schemas, fill defaults, parse them.

    Returns (execution_config, risk_config, ExecutionSettings, RiskSettings); raises one ConfigError listing every
    bad field of both, named `execution_config.<key>` / `risk_config.<key>`.
    """
    errors: list[dict[str, str]] = []
    filled: dict[str, dict[str, Any]] = {}
    for section, schema, config in (
        ("execution_config", EXECUTION_CONFIG_SCHEMA, execution_config),
        ("risk_config", RISK_CONFIG_SCHEMA, risk_config),
    ):
        try:
            filled[section] = validate_config(schema, config)
        except ConfigError as error:
            errors += _prefixed(section, error)
    if errors:
        raise ConfigError(errors)
    execution, risk = filled["execution_config"], filled["risk_config"]
    return execution, risk, ExecutionSettings.from_config(execution), RiskSettings.from_config(risk)
