"""The example bots in docs/bot-sdk.md are complete and correct: run them."""
import re
from pathlib import Path

import pytest

from bots.sdk import Bot, Candles, ConfigError, check_lookahead, validate_schema
from core.backtest import run_backtest

ROOT = Path(__file__).resolve().parents[3]


def example(name):
    text = (ROOT / "docs" / "bot-sdk.md").read_text()
    match = re.search(rf"```python\n# example: {re.escape(name)}\n(.*?)```", text, re.DOTALL)
    assert match, f"example {name} not found in docs/bot-sdk.md"
    namespace = {}
    exec(compile(match.group(1), f"docs/bot-sdk.md:{name}", "exec"), namespace)  # noqa: S102 - our own docs
    return next(value for value in namespace.values()
                if isinstance(value, type) and issubclass(value, Bot) and value.__module__ == "builtins")


@pytest.fixture(scope="module")
def btc_1h():
    return Candles.from_csv(ROOT / "data" / "candles" / "binance" / "BTC_USDT-1h.csv")


def test_the_vectorized_example_backtests_and_does_not_look_ahead(btc_1h):
    bot_cls = example("ema_rsi_trend.py")
    validate_schema(bot_cls.config_schema)

    assert check_lookahead(bot_cls, {"fast": 12}, btc_1h).clean
    result = run_backtest(bot_cls, btc_1h, config={"fast": 12}, risk_config={"stop_loss_percent": 3})
    assert result.trades
    assert run_backtest(bot_cls, btc_1h[:600], config={"fast": 12}, vectorized=False).trades == (
        run_backtest(bot_cls, btc_1h[:600], config={"fast": 12}).trades
    )
    with pytest.raises(ConfigError):
        bot_cls.from_config({"fast": 30})


def test_the_per_candle_example_uses_state_and_sizes(btc_1h):
    bot_cls = example("dip_buyer.py")
    validate_schema(bot_cls.config_schema)

    result = run_backtest(bot_cls, btc_1h)

    assert result.trades
    # It buys with 25 % of the free balance: the first entry's notional is about 2500 of 10000.
    first = result.trades[0]
    assert 2400 < first.quantity * first.entry_price <= 2500
