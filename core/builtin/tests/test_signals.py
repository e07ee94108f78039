"""Each built-in's rule on a hand-built series where the crossing candle is known exactly."""
import numpy as np

from bots.sdk import Action
from bots.sdk.testing import candles_from_closes
from core.builtin import BollingerBreakout, MacdTrend, RsiReversion, SmaCrossover


def signal_rows(signals):
    rows = np.nonzero(signals.action)[0]
    return {int(row): int(signals.action[row]) for row in rows}


def test_sma_crossover_buys_on_the_crossing_candle_and_sells_on_the_cross_below():
    # SMA(2) and SMA(4) of a flat 10 are equal; at candle 6 the close jumps to 14:
    # SMA2 = (10 + 14) / 2 = 12 > SMA4 = (10 + 10 + 10 + 14) / 4 = 11, after SMA2 == SMA4 at candle 5.
    # At candle 10 the close drops to 6: SMA2 = (14 + 6) / 2 = 10 < SMA4 = (14 + 14 + 14 + 6) / 4 = 12,
    # after SMA2 == SMA4 == 14 at candle 9.
    candles = candles_from_closes([10] * 6 + [14] * 4 + [6] * 5)
    bot = SmaCrossover.from_config({"fast": 2, "slow": 4})

    signals = bot.populate(candles)

    assert signal_rows(signals) == {6: 1, 10: -1}
    assert signals.indicators["sma_fast"][6] == 12.0
    assert signals.indicators["sma_slow"][6] == 11.0
    decision = bot.decide(candles[:7])
    assert decision.action is Action.BUY
    assert decision.indicators == {"sma_fast": 12.0, "sma_slow": 11.0}
    assert decision.reason == "SMA(2) crossed above SMA(4)"
    assert bot.decide(candles[:11]).action is Action.SELL
    assert bot.decide(candles[:8]).action is Action.HOLD


def test_rsi_reversion_buys_when_rsi_leaves_oversold_and_sells_when_it_leaves_overbought():
    # 25 falling closes put RSI(2) at 0; the first rise (candle 25) makes average gain = average loss, RSI 50,
    # crossing up through 30. Ten rises push RSI towards 100; the first fall (candle 35) brings it back to
    # about 50, crossing down through 70.
    closes = [100 - i for i in range(25)] + [77 + i for i in range(10)] + [85 - i for i in range(10)]
    bot = RsiReversion.from_config({"period": 2})

    signals = bot.populate(candles_from_closes(closes))

    assert signal_rows(signals) == {25: 1, 35: -1}
    assert signals.indicators["rsi"][24] == 0.0
    assert signals.indicators["rsi"][25] == 50.0


def test_rsi_reversion_uses_its_levels():
    closes = [100 - i for i in range(25)] + [77 + i for i in range(10)] + [85 - i for i in range(10)]
    # With oversold at 60, the RSI of 50 at candle 25 is not a cross; candle 26 (RSI 75) is.
    bot = RsiReversion.from_config({"period": 2, "oversold": 60, "overbought": 99})

    assert signal_rows(bot.populate(candles_from_closes(closes))) == {26: 1, 35: -1}


def test_macd_trend_buys_on_the_cross_above_and_sells_on_the_cross_below():
    # Flat closes give MACD = signal = 0. A step from 10 to 12 at candle 20 lifts EMA(2) faster than EMA(4):
    # MACD = 2 × (0.6 − 1/3) = 0.533 > signal = 2/3 × 0.533 = 0.356. As MACD decays, the signal line catches
    # up and passes it at candle 22: MACD 0.358 < signal 0.389.
    candles = candles_from_closes([10.0] * 20 + [12.0] * 10)
    bot = MacdTrend.from_config({"fast": 2, "slow": 4, "signal": 2})

    signals = bot.populate(candles)

    assert signal_rows(signals) == {20: 1, 22: -1}
    assert np.isclose(signals.indicators["macd"][20], 2 * (0.6 - 1 / 3))
    assert np.isclose(signals.indicators["macd_signal"][20], 2 / 3 * 2 * (0.6 - 1 / 3))
    assert set(bot.decide(candles[:21]).indicators) == {"macd", "macd_signal", "macd_hist"}


def test_bollinger_breakout_buys_above_the_upper_band_and_sells_below_the_middle():
    # Flat 10s: all bands are 10. Candle 10 closes at 13: middle = 11, upper = 11 + sqrt(2) = 12.41 < 13.
    # Candle 13 closes at 9 after three 13s: middle = (13 + 13 + 9) / 3 = 11.67 > 9, and the previous close
    # (13) was not below its middle (13).
    candles = candles_from_closes([10.0] * 10 + [13, 13, 13, 9, 9, 9])
    bot = BollingerBreakout.from_config({"period": 3, "stddev": 1})

    signals = bot.populate(candles)

    assert signal_rows(signals) == {10: 1, 13: -1}
    assert np.isclose(signals.indicators["bb_upper"][10], 11 + np.sqrt(2))
    assert signals.indicators["bb_middle"][10] == 11.0


def test_warm_up_rows_never_signal():
    candles = candles_from_closes([10.0 + (i % 3) for i in range(12)])

    for bot in (SmaCrossover.from_config({"fast": 2, "slow": 10}), BollingerBreakout.from_config({"period": 10})):
        assert not bot.populate(candles).action[: bot.startup_candles].any()
