from pathlib import Path

import numpy as np
import pytest

from bots.sdk import Candle, Candles
from bots.sdk.testing import candles_from_closes

DATA = Path(__file__).resolve().parents[3] / "data" / "candles"
BINANCE_BTC_1H = DATA / "binance" / "BTC_USDT-1h.csv"
COINBASE_BTC_1H = DATA / "coinbase" / "BTC_USD-1h.csv"


def test_it_reads_the_binance_csv():
    candles = Candles.from_csv(BINANCE_BTC_1H)

    assert len(candles) == 3000
    assert candles.time.dtype == np.int64
    assert candles.close.dtype == np.float64
    first = candles[0]
    assert isinstance(first, Candle)
    assert first.time == 1612461600000
    assert first.open == 36884.34
    assert first.high == 37422.37
    assert first.low == 36761.89
    assert first.close == 37141.96
    assert first.volume == 2972.451426
    # The file has a few missing hours; the timeframe is still one hour.
    assert candles.timeframe_ms == 3_600_000


def test_it_reads_the_coinbase_csv():
    candles = Candles.from_csv(COINBASE_BTC_1H)

    assert len(candles) == 20111
    assert candles[0].close == 2509.17
    assert candles.timeframe_ms == 3_600_000


def test_its_arrays_are_read_only():
    candles = candles_from_closes([1, 2, 3])

    with pytest.raises(ValueError):
        candles.close[0] = 5.0
    with pytest.raises(AttributeError):
        candles.close = np.zeros(3)


def test_slicing_returns_candles_sharing_the_arrays():
    candles = Candles.from_csv(BINANCE_BTC_1H)

    head = candles[:10]

    assert isinstance(head, Candles)
    assert len(head) == 10
    assert head.close[-1] == candles.close[9]
    assert np.shares_memory(head.close, candles.close)
    assert not head.close.flags.writeable
    assert isinstance(candles[::2], Candles) and len(candles[::2]) == 1500
    assert candles[-1].time == int(candles.time[-1])


def test_from_rows_accepts_sequences_mappings_and_strings():
    rows = [
        (1000, "1.5", "2", "1", "1.75", "10"),
        {"timestamp_ms": 2000, "open": 1.75, "high": 2.5, "low": 1.5, "close": 2.25, "volume": 3},
    ]

    candles = Candles.from_rows(rows)

    assert candles.time.tolist() == [1000, 2000]
    assert candles.close.tolist() == [1.75, 2.25]
    assert candles.to_rows()[0] == (1000, 1.5, 2.0, 1.0, 1.75, 10.0)


def test_it_refuses_unsorted_or_duplicate_times():
    with pytest.raises(ValueError, match="strictly increasing"):
        Candles.from_rows([(2000, 1, 1, 1, 1, 1), (1000, 1, 1, 1, 1, 1)])
    with pytest.raises(ValueError, match="strictly increasing"):
        Candles.from_rows([(1000, 1, 1, 1, 1, 1), (1000, 1, 1, 1, 1, 1)])


def test_it_refuses_nan_prices_and_ragged_columns():
    with pytest.raises(ValueError, match="NaN"):
        Candles([1, 2], [1, 1], [1, 1], [1, 1], [1, float("nan")], [1, 1])
    with pytest.raises(ValueError, match="'close'"):
        Candles([1, 2], [1, 1], [1, 1], [1, 1], [1], [1, 1])


def test_it_refuses_a_csv_without_the_expected_header(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,open,high,low,close\n1,1,1,1,1\n")

    with pytest.raises(ValueError, match="timestamp_ms"):
        Candles.from_csv(path)


def test_an_empty_candles_has_no_timeframe():
    empty = Candles([], [], [], [], [], [])

    assert len(empty) == 0
    assert empty.timeframe_ms is None
