from dataclasses import dataclass
from decimal import Decimal

import pytest

from core.fill_model import (
    BUY,
    SELL,
    ExitReason,
    exit_trigger,
    fee,
    fill_price,
    quantize_down,
    stop_loss_price,
    take_profit_price,
    to_decimal,
)


@dataclass
class Position:
    stop_loss_price: Decimal | None = Decimal("90")
    take_profit_price: Decimal | None = Decimal("120")


@dataclass
class Bar:
    open: object
    high: object
    low: object


def test_a_buy_pays_the_slippage_and_a_sell_gives_it_up():
    assert fill_price(BUY, Decimal("100"), Decimal("0.001")) == Decimal("100.100")
    assert fill_price(SELL, Decimal("100"), Decimal("0.001")) == Decimal("99.900")
    assert fill_price(BUY, Decimal("37141.96"), Decimal("0")) == Decimal("37141.96")


def test_fill_price_refuses_an_unknown_side_or_negative_slippage():
    with pytest.raises(ValueError):
        fill_price("HOLD", Decimal("1"), Decimal("0"))
    with pytest.raises(ValueError):
        fill_price(BUY, Decimal("1"), Decimal("-0.1"))


def test_the_fee_is_the_notional_times_the_rate():
    assert fee(Decimal("9990.00999"), Decimal("0.001")) == Decimal("9.99000999")


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [
        ("1.23456789", "0.001", "1.234"),
        ("1.0127", "0.005", "1.010"),
        ("99.900099900099", "0.00000001", "99.90009990"),
        ("0.000000009", "0.00000001", "0E-8"),
        ("17", "5", "15"),
        ("1.23456789", None, "1.23456789"),
    ],
)
def test_quantities_round_down_to_the_step(value, step, expected):
    result = quantize_down(Decimal(value), Decimal(step) if step else None)

    assert result == Decimal(expected)
    assert str(result) == expected


def test_stop_and_target_prices_are_percent_away_from_the_entry():
    assert stop_loss_price(Decimal("200"), Decimal("5")) == Decimal("190")
    assert take_profit_price(Decimal("200"), Decimal("7.5")) == Decimal("215")
    assert stop_loss_price(Decimal("200"), None) is None


def test_no_trigger_inside_the_band():
    assert exit_trigger(Position(), Bar(100, 119, 91)) is None


def test_the_stop_loss_fills_at_the_stop_price():
    assert exit_trigger(Position(), Bar(100, 105, 89)) == (ExitReason.STOP_LOSS, Decimal("90"))


def test_the_take_profit_fills_at_the_target_price():
    assert exit_trigger(Position(), Bar(100, 125, 95)) == (ExitReason.TAKE_PROFIT, Decimal("120"))


def test_when_both_lie_inside_one_candle_the_stop_loss_is_assumed_first():
    assert exit_trigger(Position(), Bar(100, 130, 80)) == (ExitReason.STOP_LOSS, Decimal("90"))


def test_a_gap_past_the_stop_fills_at_the_open():
    assert exit_trigger(Position(), Bar(85, 95, 80)) == (ExitReason.STOP_LOSS, Decimal("85"))


def test_a_gap_past_the_target_fills_at_the_open():
    assert exit_trigger(Position(), Bar(125, 130, 119)) == (ExitReason.TAKE_PROFIT, Decimal("125"))


def test_an_unprotected_position_never_triggers():
    assert exit_trigger(Position(None, None), Bar(1, 1000, 0.001)) is None
    assert exit_trigger(Position(None, Decimal("120")), Bar(100, 110, 1)) is None


def test_float_candles_convert_through_their_repr():
    assert to_decimal(37141.96) == Decimal("37141.96")
    assert exit_trigger(Position(Decimal("89.99"), None), Bar(100.0, 101.0, 89.99)) == (
        ExitReason.STOP_LOSS,
        Decimal("89.99"),
    )
