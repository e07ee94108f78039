"""The bot SDK: what a bot author imports. Pure Python + numpy + TA-Lib; no Django.

    from core.sdk import Candles, Decision, Action, Size, SizeType, Bot, VectorBot, Signals

See docs/bot-sdk.md for the contract and a complete example.
"""
from .bot import Bot, VectorBot, config_error
from .candles import Candle, Candles
from .config import ConfigError, validate_config, validate_schema
from .decision import Action, Decision, DecisionInvalid, Size, SizeType
from .lookahead import LookaheadResult, check_lookahead
from .signals import BUY, HOLD, SELL, Signals, actions_from, crossed_above, crossed_below

__all__ = [
    "BUY",
    "HOLD",
    "SELL",
    "Action",
    "Bot",
    "Candle",
    "Candles",
    "ConfigError",
    "Decision",
    "DecisionInvalid",
    "LookaheadResult",
    "Signals",
    "Size",
    "SizeType",
    "VectorBot",
    "actions_from",
    "check_lookahead",
    "config_error",
    "crossed_above",
    "crossed_below",
    "validate_config",
    "validate_schema",
]
