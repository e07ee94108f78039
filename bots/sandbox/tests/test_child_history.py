"""The child's candle history for streamed decisions: it holds what was sent, and hands out fresh copies only."""
import pytest

from bots.sandbox.child import History, RequestError


def rows(start, count):
    return [[1_600_000_000_000 + 3_600_000 * i, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 1.0] for i in
            range(start, start + count)]


def test_it_appends_one_candle_or_a_batch_past_its_capacity():
    history = History()
    history.extend(rows(0, 3))
    for i in range(3, 600):
        history.extend(rows(i, 1))
    candles = history.candles()

    assert len(candles) == len(history) == 600
    assert candles.close.tolist() == [100.5 + i for i in range(600)]
    assert int(candles.time[-1]) == 1_600_000_000_000 + 3_600_000 * 599


def test_it_hands_out_fresh_read_only_copies_that_lead_nowhere():
    history = History()
    history.extend(rows(0, 10))
    first = history.candles()
    history.extend(rows(10, 1))

    for column in (first.time, first.open, first.high, first.low, first.close, first.volume):
        assert column.base is None and not column.flags.writeable
    assert len(first) == 10  # a copy: later candles never show up in it
    assert len(history.candles()) == 11


@pytest.mark.parametrize("bad", [
    [[1, 2, 3]],
    [[1, 2, 3, 4, 5, float("nan")]],
    [["x", 2, 3, 4, 5, 6]],
    [[1.5, 2, 3, 4, 5, 6]],
    [[2e12, 2, 3, 4, 5, 6], [2e12 + 0.5, 2, 3, 4, 5, 6]],
    [],
    "rows",
])
def test_it_refuses_rows_that_are_not_candles(bad):
    history = History()
    history.extend(rows(0, 2))
    with pytest.raises(RequestError):
        history.extend(bad)
    assert len(history) == 2


@pytest.mark.parametrize("batch", [1, 3])
def test_it_refuses_candles_that_do_not_come_after_the_last(batch):
    history = History()
    history.extend(rows(5, 2))
    with pytest.raises(RequestError):
        history.extend(rows(6, batch))
    assert len(history) == 2
