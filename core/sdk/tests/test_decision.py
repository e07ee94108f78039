import json
from decimal import Decimal

import numpy as np
import pytest

from bots.sdk import Action, Decision, DecisionInvalid, Size, SizeType
from core.sdk.decision import MAX_INDICATORS, MAX_REASON_CHARS, MAX_SIZE_VALUE


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


# -- bounds: a decision is stored on every run and the engine computes with its size ------------------------------

HONEST = {"action": "BUY", "size": {"type": "USDT_AMOUNT", "value": "250.5"}, "reason": "cross",
          "indicators": {"sma": 101.5, "n": 3, "gap": None}}


def test_it_reads_an_honest_decision_back():
    decision = Decision.from_json(HONEST)

    assert decision.to_json() == HONEST


FORGED_DECISIONS = {
    "a list": [HONEST],
    "a string action outside the enum": HONEST | {"action": "SHORT_EVERYTHING"},
    "a lowercase action": HONEST | {"action": "buy"},
    "an action that is a list": HONEST | {"action": ["BUY"]},
    "an extra key": HONEST | {"leverage": 100},
    "a size of 1e999999": HONEST | {"size": {"type": "USDT_AMOUNT", "value": "1e999999"}},
    "a size of a million digits": HONEST | {"size": {"type": "QUANTITY", "value": "9" * 1_000_000}},
    "a size beyond a quadrillion": HONEST | {"size": {"type": "QUANTITY", "value": "1e16"}},
    "a tiny size": HONEST | {"size": {"type": "QUANTITY", "value": "1e-999999"}},
    "a NaN size": HONEST | {"size": {"type": "QUANTITY", "value": "NaN"}},
    "a negative size": HONEST | {"size": {"type": "QUANTITY", "value": "-5"}},
    "a percentage over 100": HONEST | {"size": {"type": "PERCENTAGE", "value": "100.01"}},
    "a float size": HONEST | {"size": {"type": "QUANTITY", "value": 1.5}},
    "a huge integer size": HONEST | {"size": {"type": "QUANTITY", "value": 10**30}},
    "a size with an extra key": HONEST | {"size": {"type": "QUANTITY", "value": "1", "x": 1}},
    "a size of an unknown type": HONEST | {"size": {"type": "BTC", "value": "1"}},
    "a size that is a string": HONEST | {"size": "100%"},
    "a 15 MB reason": HONEST | {"reason": "x" * 15_000_000},
    "a reason one character too long": HONEST | {"reason": "x" * (MAX_REASON_CHARS + 1)},
    "a reason that is a number": HONEST | {"reason": 5},
    "600,000 indicators": HONEST | {"indicators": {f"i{n}": 1.0 for n in range(600_000)}},
    "51 indicators": HONEST | {"indicators": {f"i{n}": 1.0 for n in range(MAX_INDICATORS + 1)}},
    "a 65-character indicator name": HONEST | {"indicators": {"x" * 65: 1.0}},
    "an empty indicator name": HONEST | {"indicators": {"": 1.0}},
    "an infinite indicator": HONEST | {"indicators": {"x": float("inf")}},
    "a NaN indicator": HONEST | {"indicators": {"x": float("nan")}},
    "an indicator beyond 1e15": HONEST | {"indicators": {"x": 1e16}},
    "a huge integer indicator": HONEST | {"indicators": {"x": 10**100}},
    "a string indicator": HONEST | {"indicators": {"x": "1.0"}},
    "a bool indicator": HONEST | {"indicators": {"x": True}},
    "a nested indicator": HONEST | {"indicators": {"x": {"y": 1}}},
    "indicators that are a list": HONEST | {"indicators": [["x", 1]]},
}


@pytest.mark.parametrize("data", FORGED_DECISIONS.values(), ids=FORGED_DECISIONS.keys())
def test_from_json_refuses_a_forged_decision_with_decision_invalid_only(data):
    with pytest.raises(DecisionInvalid):
        Decision.from_json(data)


def test_from_json_refuses_deep_or_non_finite_json_text():
    for text in ["[" * 100_000 + "]" * 100_000, '{"action": "BUY", "indicators": {"x": NaN}}', "x" * 100_000,
                 '{"action": "HOLD", "indicators": {"x": 1e999999}}']:
        with pytest.raises(DecisionInvalid):
            Decision.from_json(text)


def test_a_bot_cannot_build_an_unbounded_decision():
    with pytest.raises(ValueError, match="at most 500"):
        Decision.hold(reason="x" * 501)
    with pytest.raises(ValueError, match="at most 50"):
        Decision.hold(indicators={f"i{n}": n for n in range(51)})
    with pytest.raises(ValueError, match="size value must be between"):
        Size(SizeType.USDT_AMOUNT, MAX_SIZE_VALUE * 10)


def test_an_out_of_range_indicator_becomes_none_like_nan():
    decision = Decision.hold(indicators={"obv": 1e16, "big": 10**40, "fine": -1e15})

    assert decision.indicators == {"obv": None, "big": None, "fine": -1e15}
