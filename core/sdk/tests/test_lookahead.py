import numpy as np

from bots.sdk import Bot, Decision, Signals, VectorBot, check_lookahead
from bots.sdk.testing import candles_from_closes


class PeeksAtNextClose(VectorBot):
    """Cheats: BUY when the *next* close is 5 % higher (like ``close.shift(-1)``); no indicators."""

    slug = "peeker"
    startup_candles = 5

    def populate(self, candles):
        next_close = np.append(candles.close[1:], np.nan)
        action = (next_close > candles.close * 1.05).astype(np.int8)
        return Signals(action)


class ReportsNextClose(VectorBot):
    """Cheats only in an indicator: its 'next_close' column is the next candle's close."""

    slug = "reports-next-close"
    startup_candles = 5

    def populate(self, candles):
        return Signals(np.zeros(len(candles), dtype=np.int8), {"next_close": np.append(candles.close[1:], np.nan)})


class NormalisesByTheFutureMax(VectorBot):
    """Cheats subtly: divides by the maximum of the whole array, which includes later candles."""

    slug = "future-max"
    startup_candles = 3

    def populate(self, candles):
        scaled = candles.close / candles.close.max()
        return Signals((scaled > 0.99).astype(np.int8), {"scaled": scaled})


class Honest(VectorBot):
    slug = "honest"
    startup_candles = 2

    def populate(self, candles):
        change = np.diff(candles.close, prepend=np.nan)
        return Signals((change > 0).astype(np.int8) - (change < 0).astype(np.int8), {"change": change})


def _series_with_a_jump_after(index, length=80):
    """Closes that drift by ±0.1 % and jump 10 % right after candle ``index``."""
    closes = [100.0 + (0.1 if step % 2 else -0.1) for step in range(length)]
    for step in range(index + 1, length):
        closes[step] *= 1.10
    return candles_from_closes(closes)


def test_it_catches_a_bot_peeking_at_the_next_close():
    candles = _series_with_a_jump_after(42)

    result = check_lookahead(PeeksAtNextClose, None, candles)

    assert not result.clean
    assert result.first_index == 42
    assert result.first_time_ms == int(candles.time[42])
    assert result.column == "action"
    assert (result.full_value, result.truncated_value) == (1.0, 0.0)


def test_it_catches_a_peeking_indicator_at_the_first_checked_candle():
    candles = _series_with_a_jump_after(42)

    result = check_lookahead(ReportsNextClose, None, candles, sample_points=7)

    assert not result.clean
    assert result.first_index == ReportsNextClose.startup_candles
    assert result.column == "next_close"


def test_it_catches_a_whole_array_statistic():
    candles = _series_with_a_jump_after(60)

    result = check_lookahead(NormalisesByTheFutureMax, {}, candles, sample_points=None)

    assert not result.clean
    assert result.first_index == NormalisesByTheFutureMax.startup_candles
    assert result.column == "action"  # on the first offending row both differ; the action is reported first
    assert result.to_json()["first_index"] == 3


def test_an_honest_bot_is_clean_at_every_index():
    candles = _series_with_a_jump_after(42)

    result = check_lookahead(Honest, None, candles, sample_points=None)

    assert result.clean
    assert result.first_index is None
    assert result.checked_indices == tuple(range(2, len(candles) - 1))


def test_per_candle_bots_are_clean_by_construction():
    class PerCandle(Bot):
        def decide(self, candles):
            return Decision.hold()

    assert check_lookahead(PerCandle, None, candles_from_closes([1, 2, 3])).clean
