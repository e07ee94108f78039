import numpy as np
import pytest

from bots.sdk import Action, Bot, ConfigError, Decision, Signals, VectorBot, config_error
from bots.sdk.testing import candles_from_closes


class UpDay(VectorBot):
    """BUY after a rising candle, SELL after a falling one."""

    slug = "up-day"
    startup_candles = 1
    config_schema = {
        "type": "object",
        "properties": {"min_move": {"type": "number", "minimum": 0, "default": 0}},
        "additionalProperties": False,
    }

    def populate(self, candles):
        change = np.diff(candles.close, prepend=np.nan)
        action = np.where(change > self.config["min_move"], 1, np.where(change < -self.config["min_move"], -1, 0))
        return Signals(action.astype(np.int8), {"change": change})


def test_decide_is_the_last_row_of_populate():
    candles = candles_from_closes([10, 11, 12, 11])
    bot = UpDay.from_config({})

    decisions = [bot.decide(candles[: index + 1]) for index in range(len(candles))]

    assert [d.action for d in decisions] == [Action.HOLD, Action.BUY, Action.BUY, Action.SELL]
    assert decisions[0].indicators == {"change": None}
    assert decisions[3].indicators == {"change": -1.0}
    assert decisions[3].reason == "up-day: SELL"
    assert decisions[0].reason == ""


def test_from_config_fills_defaults_and_keeps_state():
    bot = UpDay.from_config(None, state={"last": 1})

    assert bot.config == {"min_move": 0}
    assert bot.state == {"last": 1}


def test_signals_must_cover_every_candle():
    class Short(UpDay):
        def populate(self, candles):
            return Signals(np.zeros(len(candles) - 1, dtype=np.int8))

    with pytest.raises(ValueError, match="rows for"):
        Short.from_config({}).decide(candles_from_closes([1, 2, 3]))


def test_signals_refuse_other_action_codes_and_ragged_indicators():
    with pytest.raises(ValueError, match="BUY"):
        Signals(np.array([0, 2]))
    with pytest.raises(ValueError, match="indicator 'x'"):
        Signals(np.array([0, 1]), {"x": np.zeros(3)})


def test_check_config_runs_on_construction_too():
    class Picky(Bot):
        config_schema = {"type": "object", "properties": {"n": {"type": "integer", "default": 1}}}

        @classmethod
        def check_config(cls, config):
            if config["n"] > 5:
                raise config_error("n", "too big")

        def decide(self, candles):
            return Decision.hold()

    with pytest.raises(ConfigError) as caught:
        Picky.from_config({"n": 6})
    assert caught.value.errors == [{"field": "n", "message": "too big"}]
    with pytest.raises(ConfigError):
        Picky({"n": 6})


def test_a_bot_without_decide_says_so():
    with pytest.raises(NotImplementedError):
        Bot({}).decide(candles_from_closes([1]))


def test_describe_lists_catalog_metadata():
    assert UpDay.describe()["slug"] == "up-day"
    assert UpDay.describe()["startup_candles"] == 1
