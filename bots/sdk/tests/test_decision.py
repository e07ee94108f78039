import json
from decimal import Decimal

import numpy as np
import pytest

from bots.sdk import Action, Decision, Size, SizeType


def test_nan_and_infinite_indicators_become_none():
    decision = Decision(Action.BUY, indicators={"rsi": float("nan"), "sma": np.float64(101.5), "n": np.int64(3),
                                                "inf": float("inf")})

    assert decision.indicators == {"rsi": None, "sma": 101.5, "n": 3, "inf": None}
    assert type(decision.indicators["sma"]) is float
    json.dumps(decision.to_json(), allow_nan=False)


def test_it_round_trips_through_json_with_an_exact_size():
    decision = Decision("SELL", Size(SizeType.PERCENTAGE, Decimal("33.3333")), "take profit", {"macd": -1.25})

    data = decision.to_json()
    again = Decision.from_json(json.dumps(data))

    assert data == {
        "action": "SELL",
        "size": {"type": "PERCENTAGE", "value": "33.3333"},
        "reason": "take profit",
        "indicators": {"macd": -1.25},
    }
    assert again == decision
    assert again.size.value == Decimal("33.3333")


def test_hold_has_no_size_in_json():
    assert Decision.hold().to_json() == {"action": "HOLD", "size": None, "reason": "", "indicators": {}}


def test_it_refuses_non_numeric_indicators():
    with pytest.raises(TypeError, match="numbers"):
        Decision(Action.HOLD, indicators={"trend": "up"})


def test_it_refuses_unknown_actions():
    with pytest.raises(ValueError):
        Decision("SHORT")


@pytest.mark.parametrize(
    ("size_type", "value"),
    [(SizeType.PERCENTAGE, "150"), (SizeType.PERCENTAGE, "0"), (SizeType.USDT_AMOUNT, "-5"), ("LOTS", "1")],
)
def test_it_refuses_bad_sizes(size_type, value):
    with pytest.raises(ValueError):
        Size(size_type, Decimal(value))


def test_a_size_from_a_float_keeps_its_shortest_repr():
    assert Size(SizeType.USDT_AMOUNT, 0.1).value == Decimal("0.1")
