"""The per-candle and the vectorized form of one rule must trade identically."""
import numpy as np
import pytest
import talib

from bots.sdk import Action, Bot, Candles, Decision
from core.backtest import run_backtest
from core.builtin import BUILTIN_BOTS, SmaCrossover

from .helpers import DATA


class PerCandleSmaCrossover(Bot):
    """The sma-crossover rule written per candle: it only ever looks at the last two SMA values."""

    slug = "per-candle-sma"
    config_schema = SmaCrossover.config_schema

    def __init__(self, config, state=None):
        super().__init__(config, state)
        self.startup_candles = self.config["slow"]

    def decide(self, candles):
        fast = talib.SMA(candles.close, timeperiod=self.config["fast"])[-2:]
        slow = talib.SMA(candles.close, timeperiod=self.config["slow"])[-2:]
        if fast[0] <= slow[0] and fast[1] > slow[1]:
            return Decision(Action.BUY, reason="cross up")
        if fast[0] >= slow[0] and fast[1] < slow[1]:
            return Decision(Action.SELL, reason="cross down")
        return Decision.hold()


@pytest.fixture(scope="module")
def btc_1h():
    return Candles.from_csv(DATA / "binance" / "BTC_USDT-1h.csv")


@pytest.mark.parametrize("risk_config", [None, {"stop_loss_percent": 3, "take_profit_percent": 6}])
def test_a_hand_written_per_candle_bot_trades_like_the_vectorized_one(btc_1h, risk_config):
    config = {"fast": 10, "slow": 30}

    vectorized = run_backtest(SmaCrossover, btc_1h, config=config, risk_config=risk_config, slippage_rate="0.0005")
    per_candle = run_backtest(PerCandleSmaCrossover, btc_1h, config=config, risk_config=risk_config,
                              slippage_rate="0.0005")

    assert len(vectorized.trades) > 20
    assert per_candle.trades == vectorized.trades
    assert per_candle.equity_curve == vectorized.equity_curve
    assert per_candle.stats == vectorized.stats


@pytest.mark.parametrize("slug", sorted(BUILTIN_BOTS))
def test_each_built_in_trades_the_same_through_decide_and_populate(slug, btc_1h):
    candles = btc_1h[:1200]

    vectorized = run_backtest(slug, candles)
    per_candle = run_backtest(slug, candles, vectorized=False)

    assert per_candle.trades == vectorized.trades
    assert per_candle.stats == vectorized.stats
    assert np.all([p.equity == v.equity for p, v in zip(per_candle.equity_curve, vectorized.equity_curve,
                                                         strict=True)])
