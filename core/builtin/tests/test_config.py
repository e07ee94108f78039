import pytest

from bots.sdk import ConfigError
from core.builtin import BollingerBreakout, MacdTrend, RsiReversion, SmaCrossover


def errors_of(bot_cls, config):
    with pytest.raises(ConfigError) as caught:
        bot_cls.from_config(config)
    return caught.value.errors


def test_missing_settings_take_the_defaults():
    assert SmaCrossover.from_config({}).config == {"fast": 10, "slow": 30}
    assert RsiReversion.from_config({"period": 7}).config == {"period": 7, "oversold": 30, "overbought": 70}
    assert MacdTrend.from_config(None).config == {"fast": 12, "slow": 26, "signal": 9}
    assert BollingerBreakout.from_config({}).config == {"period": 20, "stddev": 2.0}


def test_fast_must_be_below_slow():
    assert errors_of(SmaCrossover, {"fast": 30, "slow": 30}) == [
        {"field": "fast", "message": "must be less than slow (30)"}
    ]
    assert errors_of(MacdTrend, {"fast": 30}) == [{"field": "fast", "message": "must be less than slow (26)"}]


def test_oversold_must_be_below_overbought():
    assert errors_of(RsiReversion, {"oversold": 80}) == [
        {"field": "oversold", "message": "must be less than overbought (70)"}
    ]


def test_bad_types_and_ranges_are_reported_per_field():
    assert errors_of(SmaCrossover, {"fast": "10"}) == [{"field": "fast", "message": "'10' is not of type 'integer'"}]
    assert errors_of(SmaCrossover, {"fast": 1}) == [{"field": "fast", "message": "1 is less than the minimum of 2"}]
    assert errors_of(RsiReversion, {"overbought": 101}) == [
        {"field": "overbought", "message": "101 is greater than the maximum of 100"}
    ]
    assert errors_of(BollingerBreakout, {"stddev": 0}) == [
        {"field": "stddev", "message": "0 is less than or equal to the minimum of 0"}
    ]
    assert errors_of(MacdTrend, {"signal": 2.5}) == [{"field": "signal", "message": "2.5 is not of type 'integer'"}]


def test_unknown_settings_are_refused():
    assert errors_of(BollingerBreakout, {"period": 20, "width": 2}) == [
        {"field": "width", "message": "unknown setting 'width'"}
    ]


def test_schema_errors_come_before_cross_field_rules():
    # A bad type is reported as such; the fast < slow rule only runs on a config that passed the schema.
    assert errors_of(SmaCrossover, {"fast": "x", "slow": 5})[0]["field"] == "fast"
